//! The PTX modules and the GPU side of a launch: load once when the device opens, keep the
//! function handles (candle's module cache), upload, launch, download.

use std::{sync::Arc, time::Duration};

use cudarc::{
    driver::{
        sys::{CUdevice_attribute, CUevent_flags, CUfunction_attribute},
        CudaContext, CudaFunction, CudaStream, LaunchConfig, PushKernelArg,
    },
    nvrtc::Ptx,
};

use crate::{
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

/// An opened GPU with its loaded kernels.
pub(crate) struct Gpu {
    stream: Arc<CudaStream>,
    train: CudaFunction,
    pub name: String,
    pub compute_capability: (i32, i32),
    pub sm_count: usize,
    pub max_shared_bytes: u64,
    pub max_threads: u32,
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
        let stream = ctx.default_stream();
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
        Ok(Gpu {
            name: ctx.name()?,
            compute_capability,
            sm_count: attr(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)? as usize,
            max_shared_bytes: attr(
                CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
            )? as u64,
            max_threads: train.max_threads_per_block()?.max(0) as u32,
            train,
            stream,
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
}
