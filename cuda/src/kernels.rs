//! The PTX modules and the GPU side of a launch: load once when the device opens, keep the
//! function handles (candle's module cache), upload, launch, download.

use std::{
    ffi::{c_void, CString},
    sync::{Arc, Mutex},
    time::Duration,
};

use cudarc::{
    driver::{
        sys::{self, CUdevice_attribute, CUevent_flags, CUfunction_attribute, CUjit_option},
        CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, LaunchArgs, LaunchConfig,
        PushKernelArg,
    },
    nvrtc::Ptx,
};

use crate::{
    big::{Arg, BigJob, BigOutput, Buf, BIG_PTX},
    job::{Job, JobOutput},
    CudaError,
};

/// kernels/train.ptx: the whole training run, one block per model (its header documents every
/// argument, layout and the launch shape).
pub const TRAIN_PTX: &str = include_str!("../../kernels/train.ptx");
/// The entry point in [`TRAIN_PTX`].
pub const TRAIN_ENTRY: &str = "zl_train_f32";

/// Shared memory a block may use without opting in (all GPUs since sm_20).
const DEFAULT_SHARED_BYTES: u64 = 48 * 1024;

/// Bytes of each JIT log buffer. ptxas's verbose report on one kernel is a few lines, and an
/// error log longer than this is cut (the first errors are the ones that matter).
const JIT_LOG_BYTES: usize = 16 * 1024;

/// What the driver's JIT made of the training kernel here (`cuFuncGetAttribute`), and what the
/// JIT said while making it: the figures that tell whether the GPU runs the kernel that ptxas
/// reported offline (40 registers, no local memory) in scripts/check-ptx.sh.
#[derive(Clone, Debug)]
pub struct KernelInfo {
    /// Registers per thread.
    pub registers: i32,
    /// Local memory per thread, in bytes (non-zero means spills or a stack).
    pub local_bytes: i32,
    /// Static shared memory, in bytes (the kernel uses only dynamic shared memory).
    pub static_shared_bytes: i32,
    /// The most threads a block of this kernel may have on this GPU.
    pub max_threads_per_block: i32,
    /// The SASS's architecture, as major·10 + minor (90 on an H100 or H200).
    pub binary_version: i32,
    /// The PTX ISA version the kernel was compiled from, as major·10 + minor.
    pub ptx_version: i32,
    /// The JIT's info log (verbose: ptxas's own lines on registers and spills).
    pub jit_log: String,
}

/// An opened GPU with its loaded kernels.
pub(crate) struct Gpu {
    stream: Arc<CudaStream>,
    train: CudaFunction,
    pub name: String,
    pub compute_capability: (i32, i32),
    pub sm_count: usize,
    pub max_shared_bytes: u64,
    pub max_threads: u32,
    /// `cuDriverGetVersion`: the CUDA driver API version, as major·1000 + minor·10.
    pub driver_version: i32,
    pub kernel: KernelInfo,
    /// kernels/big.ptx, loaded at its first use, so that the training kernel never depends on it.
    big: Mutex<Option<Arc<CudaModule>>>,
}

/// The text of a NUL-terminated log buffer the driver wrote.
fn log_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).trim().to_string()
}

/// JIT-compiles the PTX `src` (kernels/`file`) in `ctx` with `cuModuleLoadDataEx` and the JIT's info and error
/// log buffers, because cudarc's `load_module` uses `cuModuleLoadData`, which gives no log: a
/// failure would read only `CUDA_ERROR_INVALID_PTX`. On failure the error carries the JIT's
/// error log; on success this returns its info log and unloads the module again. cudarc cannot
/// wrap a raw `CUmodule` (its fields are private), and the launches go through cudarc's tested
/// launch path, so `Gpu::open` loads the same text once more through cudarc; the driver's JIT
/// cache makes that second compile of one small kernel cheap.
fn jit_log(ctx: &CudaContext, src: &str, file: &'static str) -> Result<String, CudaError> {
    ctx.bind_to_thread()?;
    let src = CString::new(src)
        .map_err(|_| CudaError::Invalid(format!("kernels/{file} contains a NUL byte")))?;
    let mut info = vec![0u8; JIT_LOG_BYTES];
    let mut error = vec![0u8; JIT_LOG_BYTES];
    let mut options = [
        CUjit_option::CU_JIT_INFO_LOG_BUFFER,
        CUjit_option::CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
        CUjit_option::CU_JIT_ERROR_LOG_BUFFER,
        CUjit_option::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
        CUjit_option::CU_JIT_LOG_VERBOSE,
    ];
    // A size or a flag travels in the pointer-sized value itself, not behind it (the driver
    // API's convention for JIT options).
    let mut values: [*mut c_void; 5] = [
        info.as_mut_ptr().cast(),
        std::ptr::without_provenance_mut(JIT_LOG_BYTES),
        error.as_mut_ptr().cast(),
        std::ptr::without_provenance_mut(JIT_LOG_BYTES),
        std::ptr::without_provenance_mut(1),
    ];
    let mut module: sys::CUmodule = std::ptr::null_mut();
    // SAFETY: `ctx` is current on this thread (bound above); `src` is a NUL-terminated PTX text
    // that outlives the call; `options` and `values` have the same length, passed as the count;
    // each log buffer is JIT_LOG_BYTES long, the size given with it, and outlives the call (the
    // driver writes at most that many bytes, NUL included); `module` is a valid place for the
    // handle.
    let loaded = unsafe {
        sys::cuModuleLoadDataEx(
            &mut module,
            src.as_ptr().cast(),
            options.len() as u32,
            options.as_mut_ptr(),
            values.as_mut_ptr(),
        )
    }
    .result();
    match loaded {
        Ok(()) => {
            // SAFETY: `module` was loaded just above in the current context, and nothing else
            // holds it or any function from it.
            unsafe { sys::cuModuleUnload(module) }.result()?;
            Ok(log_text(&info))
        }
        Err(e) => {
            let mut log = log_text(&error);
            if log.is_empty() {
                log = log_text(&info);
            }
            if log.is_empty() {
                log = "(the JIT wrote no log)".into();
            }
            Err(CudaError::Jit {
                file,
                error: e,
                log: log.lines().map(str::trim).collect::<Vec<_>>().join(" | "),
            })
        }
    }
}

impl Gpu {
    /// Opens GPU `ordinal` and loads the modules. Checks for the driver library first: without it
    /// cudarc would panic at the first driver call.
    pub fn open(ordinal: usize) -> Result<Gpu, CudaError> {
        // SAFETY: is_culib_present only tries to dlopen libcuda (and closes it); it calls no
        // driver function and touches no state of ours.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(CudaError::NoDriver);
        }
        let count = match CudaContext::device_count() {
            Ok(n) => n.max(0) as usize,
            // cuInit reports a machine without a GPU as CUDA_ERROR_NO_DEVICE.
            Err(e) if e.0 == cudarc::driver::sys::CUresult::CUDA_ERROR_NO_DEVICE => 0,
            Err(e) => return Err(e.into()),
        };
        if ordinal >= count {
            return Err(CudaError::NoGpu { ordinal, count });
        }
        let ctx = CudaContext::new(ordinal)?;
        let mut driver_version = 0;
        // SAFETY: cuDriverGetVersion writes one int through a pointer valid for the call; the
        // driver is initialised (CudaContext::new called cuInit).
        unsafe { sys::cuDriverGetVersion(&mut driver_version) }.result()?;
        let stream = ctx.default_stream();
        let jit_log = jit_log(&ctx, TRAIN_PTX, "train.ptx")?;
        let module = ctx.load_module(Ptx::from_src(TRAIN_PTX))?;
        let train = module.load_function(TRAIN_ENTRY)?;
        // All of a block's data lives in shared memory; L1 serves only the first load and the
        // last store. Prefer the largest shared carveout, so that more blocks fit on an SM.
        train.set_attribute(
            CUfunction_attribute::CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT,
            100,
        )?;
        let attr = |a| ctx.attribute(a).map(|x| x.max(0));
        let compute_capability = ctx.compute_capability()?;
        let kernel = KernelInfo {
            registers: train.get_attribute(CUfunction_attribute::CU_FUNC_ATTRIBUTE_NUM_REGS)?,
            local_bytes: train
                .get_attribute(CUfunction_attribute::CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES)?,
            static_shared_bytes: train
                .get_attribute(CUfunction_attribute::CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES)?,
            max_threads_per_block: train
                .get_attribute(CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK)?,
            binary_version: train
                .get_attribute(CUfunction_attribute::CU_FUNC_ATTRIBUTE_BINARY_VERSION)?,
            ptx_version: train
                .get_attribute(CUfunction_attribute::CU_FUNC_ATTRIBUTE_PTX_VERSION)?,
            jit_log,
        };
        Ok(Gpu {
            name: ctx.name()?,
            compute_capability,
            sm_count: attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)? as usize,
            max_shared_bytes: attr(
                CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
            )? as u64,
            max_threads: kernel.max_threads_per_block.max(0) as u32,
            driver_version,
            kernel,
            train,
            stream,
            big: Mutex::new(None),
        })
    }

    /// Lets the kernel use `smem` bytes of dynamic shared memory (an opt-in above 48 KiB).
    fn allow_shared(&self, smem: u64) -> Result<(), CudaError> {
        if smem > DEFAULT_SHARED_BYTES {
            self.train.set_attribute(
                CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                smem as i32,
            )?;
        }
        Ok(())
    }

    /// How many blocks of `threads` threads and `smem` bytes of shared memory the whole GPU
    /// holds at once (the driver's occupancy calculator, times the SMs).
    pub fn resident_blocks(&self, threads: u32, smem: u64) -> Result<usize, CudaError> {
        self.allow_shared(smem)?;
        let per_sm = self.train.occupancy_max_active_blocks_per_multiprocessor(
            threads,
            smem as usize,
            None,
        )?;
        Ok(per_sm as usize * self.sm_count)
    }

    /// Uploads `job`, runs it as one launch of `threads` threads per block, and downloads the
    /// results. The kernel time is measured with CUDA events around the launch alone.
    pub fn run(&self, job: &Job, threads: u32) -> Result<JobOutput, CudaError> {
        let s = &self.stream;
        // cuMemAlloc rejects zero bytes: empty tables (0 epochs) travel as one unused element.
        fn nonempty<T: Copy + Default>(v: &[T]) -> Vec<T> {
            if v.is_empty() {
                vec![T::default()]
            } else {
                v.to_vec()
            }
        }
        let counts = s.clone_htod(&job.counts)?;
        let row_totals = s.clone_htod(&job.row_totals)?;
        let mut state = s.clone_htod(&job.state)?;
        let mut steps = s.clone_htod(&job.steps)?;
        let hyper = s.clone_htod(&job.hyper)?;
        let lr = s.clone_htod(&job.lr)?;
        let sched_off = s.clone_htod(&job.sched_off)?;
        let bc1 = s.clone_htod(&nonempty(&job.bc1))?;
        let bc2s = s.clone_htod(&nonempty(&job.bc2s))?;
        let mut losses = s.alloc_zeros::<f32>(job.losses_len().max(1))?;
        let mut final_loss = s.alloc_zeros::<f32>(job.n as usize)?;
        let smem = job.shared_bytes();
        self.allow_shared(smem)?;
        let cfg = LaunchConfig {
            grid_dim: (job.n, 1, 1),
            block_dim: (threads, 1, 1),
            shared_mem_bytes: smem as u32,
        };
        let no_losses: u64 = 0;
        let mut launch = s.launch_builder(&self.train);
        launch
            .arg(&counts)
            .arg(&row_totals)
            .arg(&job.total)
            .arg(&job.v)
            .arg(&job.d)
            .arg(&job.n)
            .arg(&job.epochs)
            .arg(&mut state)
            .arg(&mut steps)
            .arg(&hyper)
            .arg(&lr)
            .arg(&sched_off)
            .arg(&bc1)
            .arg(&bc2s);
        if job.record_losses {
            launch.arg(&mut losses);
        } else {
            launch.arg(&no_losses);
        }
        launch
            .arg(&mut final_loss)
            .record_kernel_launch(CUevent_flags::CU_EVENT_DEFAULT);
        // SAFETY: the sixteen arguments match zl_train_f32's parameters in order and type
        // (u64 device pointers, f32, u32; a null u64 for losses when not recorded, which the
        // kernel tests before writing). Every buffer holds what the header says for these v, d,
        // n and epochs: Job::new built them from the same numbers (bc1/bc2s hold epochs entries
        // from each sched_off, losses n·epochs), and the dynamic shared memory is the header's
        // formula for v and d, opted in above when over 48 KiB (Device checked it fits).
        let events = unsafe { launch.launch(cfg) }?;
        let kernel_time = match events {
            Some((start, end)) => Duration::from_secs_f64(start.elapsed_ms(&end)? as f64 / 1e3),
            None => Duration::ZERO,
        };
        let out = JobOutput {
            state: s.clone_dtoh(&state)?,
            steps: s.clone_dtoh(&steps)?,
            losses: if job.record_losses {
                s.clone_dtoh(&losses)?
            } else {
                vec![]
            },
            final_loss: s.clone_dtoh(&final_loss)?,
            kernel_time,
        };
        s.synchronize()?;
        Ok(out)
    }

    /// kernels/big.ptx's module, JIT-compiled at the first call (with the JIT's log on failure).
    fn big_module(&self) -> Result<Arc<CudaModule>, CudaError> {
        let mut slot = self.big.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = slot.as_ref() {
            return Ok(m.clone());
        }
        let ctx = self.stream.context();
        jit_log(ctx, BIG_PTX, "big.ptx")?;
        let m = ctx.load_module(Ptx::from_src(BIG_PTX))?;
        *slot = Some(m.clone());
        Ok(m)
    }

    /// Uploads `job`, runs its launches in order on one stream, and downloads the results. The
    /// time is from CUDA events around all the launches.
    pub fn run_big(&self, job: &BigJob) -> Result<BigOutput, CudaError> {
        let module = self.big_module()?;
        let s = &self.stream;
        let f32s = [
            (Buf::W, s.clone_htod(&job.weights)?),
            (Buf::M, s.clone_htod(&job.m)?),
            (Buf::Sq, s.clone_htod(&job.sq)?),
            (Buf::Grad, s.alloc_zeros::<f32>(job.grad_len)?),
            (Buf::Tile, s.alloc_zeros::<f32>(job.tile_len)?),
            (Buf::Count, s.clone_htod(&job.count)?),
            (Buf::RowTotals, s.clone_htod(&job.row_totals)?),
            (Buf::RowLoss, s.alloc_zeros::<f32>(job.v)?),
            (Buf::Losses, s.alloc_zeros::<f32>(job.epochs as usize + 1)?),
        ];
        let u32s = [
            (Buf::RowStart, s.clone_htod(&job.row_start)?),
            (Buf::Col, s.clone_htod(&job.col)?),
        ];
        fn find<T>(bufs: &[(Buf, CudaSlice<T>)], b: Buf) -> Option<&CudaSlice<T>> {
            bufs.iter().find(|(n, _)| *n == b).map(|(_, x)| x)
        }
        let mut functions: Vec<(&str, CudaFunction)> = vec![];
        for l in &job.launches {
            if !functions.iter().any(|(n, _)| *n == l.entry) {
                functions.push((l.entry, module.load_function(l.entry)?));
            }
        }
        let start = s.record_event(Some(CUevent_flags::CU_EVENT_DEFAULT))?;
        for l in &job.launches {
            let f = &functions
                .iter()
                .find(|(n, _)| *n == l.entry)
                .expect("loaded")
                .1;
            let mut launch: LaunchArgs<'_> = s.launch_builder(f);
            for a in &l.args {
                match a {
                    Arg::Buf(b) => match (find(&f32s, *b), find(&u32s, *b)) {
                        (Some(x), _) => launch.arg(x),
                        (_, Some(x)) => launch.arg(x),
                        _ => unreachable!("every buffer is allocated above"),
                    },
                    Arg::U32(x) => launch.arg(x),
                    Arg::F32(x) => launch.arg(x),
                };
            }
            let cfg = LaunchConfig {
                grid_dim: (l.grid, 1, 1),
                block_dim: (l.block, 1, 1),
                shared_mem_bytes: 0,
            };
            // SAFETY: BigJob::new built each launch's arguments in the order and types of its
            // entry's parameters in kernels/big.ptx (u64 device pointers, u32, f32), and every
            // buffer holds what that header says for the job's v, d, tile rows and epochs (the
            // kernels index only below those sizes: each thread returns past its element count).
            unsafe { launch.launch(cfg) }?;
        }
        let end = s.record_event(Some(CUevent_flags::CU_EVENT_DEFAULT))?;
        let out = BigOutput {
            weights: s.clone_dtoh(find(&f32s, Buf::W).expect("w"))?,
            m: s.clone_dtoh(find(&f32s, Buf::M).expect("m"))?,
            sq: s.clone_dtoh(find(&f32s, Buf::Sq).expect("sq"))?,
            losses: s.clone_dtoh(find(&f32s, Buf::Losses).expect("losses"))?,
            kernel_time: Duration::from_secs_f64(start.elapsed_ms(&end)? as f64 / 1e3),
        };
        s.synchronize()?;
        Ok(out)
    }
}
