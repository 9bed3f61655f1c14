//! The backends a property test runs on, behind one interface (candle's `test_device!`):
//! the CPU core, the CUDA GPU, and the PTX simulator (the GPU's exact kernel text, interpreted on
//! the CPU by kernels/sim/ptxsim.py, so that the kernel's logic is tested on machines without a
//! GPU). `test_backends!` expands one property into a `_cpu`, a `_cuda` and a `_ptxsim` test; a
//! backend that cannot run here makes its test print why and return.

use std::io::Write;

use zl_core::{Bigrams, TrainConfig, Trainer};
use zl_cuda::{CudaError, Device};

/// Where a property runs.
pub enum Backend {
    /// zl-core's `Trainer`, on this CPU.
    Cpu,
    /// The GPU, through zl-cuda.
    Cuda(Device),
    /// kernels/train.ptx in the PTX interpreter, through zl-cuda's simulated device.
    PtxSim(Device),
}

/// The result of running some trainers for some epochs.
pub struct Steps {
    /// Per trainer, the loss of each epoch before its update.
    pub losses: Vec<Vec<f32>>,
    /// Per trainer, the loss after the last update.
    pub final_losses: Vec<f32>,
}

impl Backend {
    /// The backend called `name` ("cpu", "cuda", "ptxsim"), or why it cannot run here.
    pub fn open(name: &str) -> Result<Backend, String> {
        match name {
            "cpu" => Ok(Backend::Cpu),
            "cuda" => Device::open().map(Backend::Cuda).map_err(|e| e.to_string()),
            "ptxsim" => Device::simulated()
                .map(Backend::PtxSim)
                .map_err(|e| e.to_string()),
            other => panic!("unknown backend {other}"),
        }
    }

    /// "cpu", "cuda" or "ptxsim".
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Cuda(_) => "cuda",
            Backend::PtxSim(_) => "ptxsim",
        }
    }

    /// Epochs of a "full run" here: the notebook's 10,000 on the CPU and the GPU; 3 in the
    /// simulator, which interprets about 3·10^5 PTX instructions a second (one seed-model epoch
    /// is about 4·10^5).
    pub fn full_run_epochs(&self) -> u32 {
        match self {
            Backend::PtxSim(_) => 3,
            _ => 10_000,
        }
    }

    /// Fixes the threads per block of the kernel (ignored on the CPU).
    pub fn set_threads(&mut self, threads: Option<u32>) {
        if let Backend::Cuda(d) | Backend::PtxSim(d) = self {
            d.set_threads_per_block(threads)
                .expect("a valid thread count");
        }
    }

    /// Continues every trainer for `epochs` epochs (one launch on a device).
    pub fn step<const V: usize, const D: usize>(
        &self,
        b: &Bigrams<V>,
        trainers: &mut [Trainer<V, D>],
        epochs: u32,
    ) -> Result<Steps, CudaError> {
        match self {
            Backend::Cpu => {
                let mut losses = vec![];
                let mut final_losses = vec![];
                for t in trainers.iter_mut() {
                    losses.push((0..epochs).map(|_| t.step(b)).collect());
                    final_losses.push(t.loss(b));
                }
                Ok(Steps {
                    losses,
                    final_losses,
                })
            }
            Backend::Cuda(d) | Backend::PtxSim(d) => {
                let s = d.step(b, trainers, epochs)?;
                Ok(Steps {
                    losses: s.losses,
                    final_losses: s.final_losses,
                })
            }
        }
    }

    /// Trains one model per configuration from `init_torch` (one launch on a device), returning
    /// the trainers and per-epoch losses.
    pub fn train_batch<const V: usize, const D: usize>(
        &self,
        b: &Bigrams<V>,
        configs: &[TrainConfig],
        d_model: usize,
    ) -> Result<(Vec<Trainer<V, D>>, Steps), CudaError> {
        match self {
            Backend::Cpu => {
                let mut trainers: Vec<Trainer<V, D>> = configs
                    .iter()
                    .map(|c| {
                        let m = zl_core::Model::init_torch(c.seed, b.vocab_len(), d_model)
                            .expect("a model that fits");
                        Trainer::new(m, c.adamw)
                    })
                    .collect();
                let steps = self.step(b, &mut trainers, configs[0].epochs)?;
                Ok((trainers, steps))
            }
            Backend::Cuda(d) | Backend::PtxSim(d) => {
                let batch = d.train_batch::<V, D>(b, configs, d_model, true)?;
                let mut trainers = vec![];
                let mut steps = Steps {
                    losses: vec![],
                    final_losses: vec![],
                };
                for r in batch.runs {
                    trainers.push(r.trainer);
                    steps.losses.push(r.losses);
                    steps.final_losses.push(r.final_loss);
                }
                Ok((trainers, steps))
            }
        }
    }
}

/// Runs `property` on the backend `name`, or prints why it cannot run here and returns. The
/// reason goes straight to stderr, past the test harness's capture, so that `cargo test` shows it.
/// With `ZL_REQUIRE_GPU` set (scripts/gpu-check.sh sets it), a GPU test that cannot run fails
/// instead of skipping; under CI (`CI` set), so does a simulator test.
pub fn run_on(name: &str, test: &str, property: impl FnOnce(Backend)) {
    match Backend::open(name) {
        Ok(b) => property(b),
        Err(why) if name == "cuda" && std::env::var_os("ZL_REQUIRE_GPU").is_some() => {
            panic!("{test}: ZL_REQUIRE_GPU is set but the GPU cannot be used: {why}")
        }
        // CI always has python3 (scripts/test.sh uses it), so there the simulator must run.
        Err(why) if name == "ptxsim" && std::env::var_os("CI").is_some() => {
            panic!("{test}: CI must run the PTX simulator: {why}")
        }
        Err(why) => {
            let _ = writeln!(std::io::stderr(), "{test}: skipped, {why}");
        }
    }
}

/// Expands one property `fn(Backend)` into a test per backend:
/// `test_backends!(property, property_cpu, property_cuda, property_ptxsim);`
#[macro_export]
macro_rules! test_backends {
    ($property:ident, $cpu:ident, $cuda:ident, $sim:ident) => {
        #[test]
        fn $cpu() {
            $crate::backend::run_on("cpu", stringify!($cpu), $property);
        }
        #[test]
        fn $cuda() {
            $crate::backend::run_on("cuda", stringify!($cuda), $property);
        }
        #[test]
        fn $sim() {
            $crate::backend::run_on("ptxsim", stringify!($sim), $property);
        }
    };
}
