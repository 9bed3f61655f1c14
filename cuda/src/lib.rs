//! zl-cuda: zl's training on an NVIDIA GPU, the whole run in one launch of hand-written PTX.
//!
//! The kernel (`kernels/train.ptx`, entry `zl_train_f32`) trains one model per thread block, with
//! the weights, moments and counts in shared memory, and performs zl-core's f32 operations in
//! zl-core's order, each rounded once (`.rn`), so that its losses and weights can match the CPU
//! bit for bit. N models (seeds or hyperparameters) train in one launch, one block each, and any
//! [`Trainer`] state can be continued for k epochs and returned.
//!
//! ```no_run
//! use zl_core::{Bigrams, TrainConfig, Vocab, SEED_TEXT};
//! let b = Bigrams::<30>::from_text(&Vocab::seed(), SEED_TEXT).unwrap();
//! let gpu = zl_cuda::Device::open()?;
//! let run = gpu.train::<30, 16>(&b, &TrainConfig::default(), 16)?;
//! println!("{} epochs, final loss {}", run.losses.len(), run.final_loss);
//! # Ok::<(), zl_cuda::CudaError>(())
//! ```
//!
//! [`Device::open`] returns [`CudaError::NoDriver`] or [`CudaError::NoGpu`] (never a panic) on a
//! machine without one. [`Device::simulated`] runs the same PTX in an interpreter
//! (`kernels/sim/ptxsim.py`) for tests without a GPU.

mod big;
mod error;
mod job;
mod kernels;
mod sim;

use std::time::Duration;

use zl_core::{AdamW, Bigrams, Csr, Model, TrainConfig, Trainer};

pub use big::{BigRun, BIG_PTX};
pub use error::CudaError;
pub use job::shared_bytes;
pub use kernels::{KernelInfo, TRAIN_ENTRY, TRAIN_PTX};
pub use sim::PTXSIM_PY;

/// Block sizes tried, largest first, when many models share the GPU (several blocks per SM).
const BATCH_THREADS: [u32; 3] = [256, 128, 64];

enum Exec {
    Gpu(Box<kernels::Gpu>),
    Sim,
}

/// A device that runs the training kernel: a GPU, or the PTX simulator.
pub struct Device {
    exec: Exec,
    threads_per_block: Option<u32>,
    big_tile_rows: Option<usize>,
}

/// One model's training run.
#[derive(Clone, Debug)]
pub struct Run<const V: usize, const D: usize> {
    /// The final weights, AdamW moments and step count.
    pub trainer: Trainer<V, D>,
    /// The loss of each epoch before its update (the notebook's `train_losses`); empty when the
    /// batch was run without recording them.
    pub losses: Vec<f32>,
    /// The loss after the last update.
    pub final_loss: f32,
}

/// The runs of one launch.
#[derive(Clone, Debug)]
pub struct Batch<const V: usize, const D: usize> {
    /// One run per configuration, in order.
    pub runs: Vec<Run<V, D>>,
    /// The launch alone, from CUDA events (the simulator: its wall time).
    pub kernel_time: Duration,
    /// Threads per block it ran with.
    pub threads_per_block: u32,
}

/// What [`Device::step`] returns besides the updated trainers.
#[derive(Clone, Debug)]
pub struct Stepped {
    /// Per trainer, the loss of each epoch before its update.
    pub losses: Vec<Vec<f32>>,
    /// Per trainer, the loss after the last update.
    pub final_losses: Vec<f32>,
    /// The launch alone, from CUDA events (the simulator: its wall time).
    pub kernel_time: Duration,
    /// Threads per block it ran with.
    pub threads_per_block: u32,
}

impl Device {
    /// Opens GPU 0 and loads the kernels.
    pub fn open() -> Result<Device, CudaError> {
        Device::open_ordinal(0)
    }

    /// Opens GPU `ordinal` and loads the kernels. Returns [`CudaError::NoDriver`] where libcuda
    /// cannot be loaded and [`CudaError::NoGpu`] where the driver sees no such GPU.
    pub fn open_ordinal(ordinal: usize) -> Result<Device, CudaError> {
        Ok(Device {
            exec: Exec::Gpu(Box::new(kernels::Gpu::open(ordinal)?)),
            threads_per_block: None,
            big_tile_rows: None,
        })
    }

    /// The PTX simulator: the same kernel text and host code, interpreted on the CPU by
    /// `kernels/sim/ptxsim.py` with checks for barrier divergence, shared-memory races and
    /// out-of-bounds accesses. Needs `python3` (or `$ZL_PYTHON`); returns
    /// [`CudaError::Simulator`] saying why where it cannot run. Slow: small runs only.
    pub fn simulated() -> Result<Device, CudaError> {
        sim::available().map_err(CudaError::Simulator)?;
        Ok(Device {
            exec: Exec::Sim,
            threads_per_block: None,
            big_tile_rows: None,
        })
    }

    /// Whether this is the simulator.
    pub fn is_simulated(&self) -> bool {
        matches!(self.exec, Exec::Sim)
    }

    /// A one-line description: the GPU's name, compute capability and SM count.
    pub fn describe(&self) -> String {
        match &self.exec {
            Exec::Gpu(g) => format!(
                "{} (sm_{}{}, {} SMs, {} KiB shared memory per block)",
                g.name,
                g.compute_capability.0,
                g.compute_capability.1,
                g.sm_count,
                g.max_shared_bytes / 1024
            ),
            Exec::Sim => "PTX simulator (kernels/sim/ptxsim.py)".into(),
        }
    }

    /// What the driver's JIT made of the training kernel on this GPU (registers, local memory,
    /// binary version, its info log); `None` in the simulator, which has no JIT.
    pub fn kernel_info(&self) -> Option<&KernelInfo> {
        match &self.exec {
            Exec::Gpu(g) => Some(&g.kernel),
            Exec::Sim => None,
        }
    }

    /// The CUDA driver API version (`cuDriverGetVersion`: major·1000 + minor·10, e.g. 12080 for
    /// 12.8); `None` in the simulator.
    pub fn driver_version(&self) -> Option<i32> {
        match &self.exec {
            Exec::Gpu(g) => Some(g.driver_version),
            Exec::Sim => None,
        }
    }

    /// The most dynamic shared memory one block may use here, in bytes (the simulator assumes an
    /// H100's 227 KiB).
    pub fn max_shared_bytes(&self) -> u64 {
        match &self.exec {
            Exec::Gpu(g) => g.max_shared_bytes,
            Exec::Sim => 227 * 1024,
        }
    }

    fn max_threads(&self) -> u32 {
        match &self.exec {
            Exec::Gpu(g) => g.max_threads.min(1024),
            Exec::Sim => 1024,
        }
    }

    fn sm_count(&self) -> usize {
        match &self.exec {
            Exec::Gpu(g) => g.sm_count,
            Exec::Sim => 1,
        }
    }

    /// Checks that a model of `vocab_len` tokens × `d_model` fits one block's shared memory
    /// ([`shared_bytes`] against [`Device::max_shared_bytes`]).
    pub fn check_size(&self, vocab_len: usize, d_model: usize) -> Result<(), CudaError> {
        let needed = shared_bytes(vocab_len, d_model);
        let available = self.max_shared_bytes();
        if vocab_len == 0 || d_model == 0 || needed > available {
            return Err(CudaError::TooLarge {
                vocab_len,
                d_model,
                needed,
                available,
            });
        }
        Ok(())
    }

    /// Fixes the threads per block (1..=1024, and at most what the kernel's registers allow on
    /// this GPU); `None` restores the default. The default: a launch with fewer models than SMs
    /// gives each block one thread per logit, rounded up to a warp (64..=1024), since a lone
    /// block has its SM to itself; a larger launch takes the largest of 256, 128, 64 threads at
    /// which every block is resident at once (one wave; the driver's occupancy calculator
    /// decides), else 128.
    pub fn set_threads_per_block(&mut self, threads: Option<u32>) -> Result<(), CudaError> {
        if let Some(t) = threads {
            if t == 0 || t > self.max_threads() {
                return Err(CudaError::Invalid(format!(
                    "{t} threads per block: this kernel runs 1..={} here",
                    self.max_threads()
                )));
            }
        }
        self.threads_per_block = threads;
        Ok(())
    }

    fn threads_for(&self, n_models: usize, v: usize, d: usize) -> Result<u32, CudaError> {
        if let Some(t) = self.threads_per_block {
            return Ok(t);
        }
        let max = self.max_threads();
        if n_models < self.sm_count() {
            let per_logit = (v * v).div_ceil(32) * 32;
            return Ok((per_logit.clamp(64, 1024) as u32).min(max));
        }
        if let Exec::Gpu(g) = &self.exec {
            for t in BATCH_THREADS.into_iter().filter(|&t| t <= max) {
                if g.resident_blocks(t, shared_bytes(v, d))? >= n_models {
                    return Ok(t);
                }
            }
            return Ok(128.min(max));
        }
        Ok(BATCH_THREADS[0].min(max))
    }

    /// Continues every trainer for `epochs` epochs on `b`, all in one launch (one block each),
    /// exactly as `epochs` calls of `Trainer::step` would: weights, moments and step counts are
    /// updated in place. All trainers must share `b`'s vocabulary and one d_model; their AdamW
    /// settings and step counts may differ.
    pub fn step<const V: usize, const D: usize>(
        &self,
        b: &Bigrams<V>,
        trainers: &mut [Trainer<V, D>],
        epochs: u32,
    ) -> Result<Stepped, CudaError> {
        self.step_recording(b, trainers, epochs, true)
    }

    /// [`Device::step`], recording each epoch's loss only when `record_losses` is true (a large
    /// batch then moves no per-epoch losses, and its `losses` are empty).
    pub fn step_recording<const V: usize, const D: usize>(
        &self,
        b: &Bigrams<V>,
        trainers: &mut [Trainer<V, D>],
        epochs: u32,
        record_losses: bool,
    ) -> Result<Stepped, CudaError> {
        let states: Vec<(&Model<V, D>, &AdamW<V, D>)> =
            trainers.iter().map(|t| (&t.model, &t.opt)).collect();
        let job = job::Job::new(b, &states, epochs, record_losses)?;
        self.check_size(job.v as usize, job.d as usize)?;
        let threads = self.threads_for(trainers.len(), job.v as usize, job.d as usize)?;
        let out = match &self.exec {
            Exec::Gpu(g) => g.run(&job, threads)?,
            Exec::Sim => sim::run(&job, threads)?,
        };
        let mut losses = Vec::with_capacity(trainers.len());
        for (n, t) in trainers.iter_mut().enumerate() {
            job.unpack(&out, n, &mut t.model, &mut t.opt);
            losses.push(job.losses_of(&out, n).to_vec());
        }
        Ok(Stepped {
            losses,
            final_losses: out.final_loss,
            kernel_time: out.kernel_time,
            threads_per_block: threads,
        })
    }

    /// Trains one model of `d_model` dimensions from `Model::init_torch(cfg.seed, ..)` for
    /// `cfg.epochs` epochs in one launch: the notebook's run, on the GPU.
    pub fn train<const V: usize, const D: usize>(
        &self,
        b: &Bigrams<V>,
        cfg: &TrainConfig,
        d_model: usize,
    ) -> Result<Run<V, D>, CudaError> {
        let mut batch = self.train_batch(b, std::slice::from_ref(cfg), d_model, true)?;
        Ok(batch.runs.remove(0))
    }

    /// Trains one model per configuration (seed and AdamW settings each), all in one launch.
    /// Every configuration must have the same `epochs`. With `record_losses` false, only the
    /// final losses come back (a 1,024 × 10,000 batch then moves no per-epoch losses).
    pub fn train_batch<const V: usize, const D: usize>(
        &self,
        b: &Bigrams<V>,
        configs: &[TrainConfig],
        d_model: usize,
        record_losses: bool,
    ) -> Result<Batch<V, D>, CudaError> {
        let Some(first) = configs.first() else {
            return Err(CudaError::Invalid("an empty batch".into()));
        };
        if let Some(c) = configs.iter().find(|c| c.epochs != first.epochs) {
            return Err(CudaError::Invalid(format!(
                "one launch runs one epoch count: {} and {}",
                first.epochs, c.epochs
            )));
        }
        self.check_size(b.vocab_len(), d_model)?;
        let mut trainers = configs
            .iter()
            .map(|c| {
                Model::<V, D>::init_torch(c.seed, b.vocab_len(), d_model)
                    .map(|m| Trainer::new(m, c.adamw))
                    .map_err(|e| CudaError::Invalid(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let stepped = self.step_recording(b, &mut trainers, first.epochs, record_losses)?;
        let runs = trainers
            .into_iter()
            .zip(stepped.losses)
            .zip(stepped.final_losses)
            .map(|((trainer, losses), final_loss)| Run {
                trainer,
                losses,
                final_loss,
            })
            .collect();
        Ok(Batch {
            runs,
            kernel_time: stepped.kernel_time,
            threads_per_block: stepped.threads_per_block,
        })
    }

    /// Fixes the rows of the logits per tile of [`Device::step_big`] (at least 1, at most v);
    /// `None` restores the default: the whole vocabulary, or as many rows as 2 GiB of logits
    /// hold.
    pub fn set_big_tile_rows(&mut self, rows: Option<usize>) -> Result<(), CudaError> {
        if rows == Some(0) {
            return Err(CudaError::Invalid("a tile of 0 rows".into()));
        }
        self.big_tile_rows = rows;
        Ok(())
    }

    /// Checks that a model of `vocab_len` tokens × `d_model` is within the tiled kernels' reach
    /// ([`Device::step_big`]: their 32-bit element indices, at the default tile).
    pub fn check_big_size(&self, vocab_len: usize, d_model: usize) -> Result<(), CudaError> {
        let rows = big::rows_per_tile(vocab_len, self.big_tile_rows);
        big::check_indices(vocab_len, d_model, rows, 0)
    }

    /// Continues `state` (the caller's slices, as zl-core's `big` takes them) for `epochs` epochs
    /// on `counts` at any vocabulary size, with kernels/big.ptx (tiles of logits in global
    /// memory, several launches an epoch), exactly as `zl_core::big::epoch` would: the same f32
    /// operations in the same order. Returns each epoch's loss (before its update) and the final
    /// loss. Every epoch runs and updates, whatever its loss (where `big::run` stops at the first
    /// loss that is not finite): the caller applies the divergence rule to the losses.
    pub fn step_big(
        &self,
        counts: &Csr,
        state: &mut zl_core::big::State<'_>,
        epochs: u32,
    ) -> Result<BigRun, CudaError> {
        let rows = big::rows_per_tile(counts.vocab_len(), self.big_tile_rows);
        let job = big::BigJob::new(counts, state, epochs, rows)?;
        let out = match &self.exec {
            Exec::Gpu(g) => g.run_big(&job)?,
            Exec::Sim => sim::run_big(&job)?,
        };
        Ok(job.finish(out, state))
    }
}
