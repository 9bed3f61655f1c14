//! The backends a property test runs on: zl-cli's own backend layer (`zl_cli::backend`), the one
//! `zl train` trains through, opened by its `--backend` names (candle's `test_device!`).
//! `test_backends!` expands one property into a test per backend: `cpu-portable` (the target's
//! baseline: zl-lanes' SSE2 loop on x86-64), `cpu-avx512`, `cpu-avx2`, `cpu-neon` and
//! `cpu-simd128` (zl-lanes' other instruction sets), `cuda` (the GPU) and `ptxsim` (the GPU's
//! kernel text in kernels/sim/ptxsim.py). A backend that cannot run here makes its
//! test print why and return; under `CI`, one this machine can run must run.
//!
//! The reference every property compares with is zl-core's `Trainer::run` itself
//! ([`reference`]), not a backend.

use std::io::Write;

use clap::ValueEnum;
use zl_cli::backend::{self as cli, Choice};
use zl_core::{Bigrams, Model, TrainConfig, Trainer};

/// Every backend name the properties run on.
pub const NAMES: [&str; 7] = [
    "cpu-portable",
    "cpu-avx2",
    "cpu-neon",
    "cpu-simd128",
    "cpu-avx512",
    "cuda",
    "ptxsim",
];

/// Where a property runs: an opened backend of zl-cli's.
pub struct Backend(pub cli::Backend);

/// The result of running some trainers for some epochs.
#[derive(Debug, PartialEq)]
pub struct Steps {
    /// Per trainer, the loss of each epoch before its update.
    pub losses: Vec<Vec<f32>>,
    /// Per trainer, the loss after the last update.
    pub final_losses: Vec<f32>,
}

/// zl-core's `Trainer::run` on each trainer in turn, recording every loss: the reference.
/// `Err` is the first trainer that diverged, with its epoch, by the core's rule.
pub fn reference<const V: usize, const D: usize>(
    b: &Bigrams<V>,
    trainers: &mut [Trainer<V, D>],
    epochs: u32,
) -> Result<Steps, (usize, u32)> {
    let mut steps = Steps {
        losses: vec![],
        final_losses: vec![],
    };
    for (n, t) in trainers.iter_mut().enumerate() {
        let mut losses = vec![];
        let f = t
            .run(b, epochs, |_, l| losses.push(l))
            .map_err(|d| (n, d.epoch))?;
        steps.losses.push(losses);
        steps.final_losses.push(f);
    }
    Ok(steps)
}

impl Backend {
    /// The backend called `name` (one of [`NAMES`]), or why it cannot run here.
    pub fn open(name: &str) -> Result<Backend, String> {
        let choice = Choice::from_str(name, false).expect("a backend name");
        // ZL_CUDA_SIMULATOR must not turn the cuda tests into simulator tests.
        if choice == Choice::Cuda && std::env::var_os(cli::SIMULATOR_ENV).is_some() {
            return Err(format!(
                "{} is set; unset it to test the GPU",
                cli::SIMULATOR_ENV
            ));
        }
        cli::Backend::open(choice)
            .map(Backend)
            .map_err(|e| format!("{e:#}"))
    }

    /// The backend that runs, resolved ("cpu-avx512", "cpu-portable", "cuda" or "ptxsim").
    pub fn name(&self) -> String {
        self.0.name()
    }

    /// Whether this is the PTX interpreter (slow: small runs only).
    pub fn is_simulator(&self) -> bool {
        self.name() == "ptxsim"
    }

    /// Epochs of a "full run" here: the notebook's 10,000 on the CPU and the GPU; 3 in the
    /// simulator, which interprets about 3·10^5 PTX instructions a second (one seed-model epoch
    /// is about 4·10^5).
    pub fn full_run_epochs(&self) -> u32 {
        if self.is_simulator() {
            3
        } else {
            10_000
        }
    }

    /// Fixes the threads per block of the kernel (ignored on the CPU).
    pub fn set_threads(&mut self, threads: Option<u32>) {
        if let cli::Backend::Cuda(d) = &mut self.0 {
            d.set_threads_per_block(threads)
                .expect("a valid thread count");
        }
    }

    /// Continues every trainer for `epochs` epochs through the backend layer's one training
    /// interface (one launch on a device), recording every loss.
    pub fn step<const V: usize, const D: usize>(
        &self,
        b: &Bigrams<V>,
        trainers: &mut [Trainer<V, D>],
        epochs: u32,
    ) -> anyhow::Result<Steps> {
        let runs = self.0.train_states(b, trainers.to_vec(), epochs, true)?;
        let mut steps = Steps {
            losses: vec![],
            final_losses: vec![],
        };
        for (t, r) in trainers.iter_mut().zip(runs) {
            *t = r.trainer;
            steps.losses.push(r.losses);
            steps.final_losses.push(r.final_loss);
        }
        Ok(steps)
    }

    /// Trains one model per configuration from `init_torch` (one launch on a device), returning
    /// the trainers and per-epoch losses. Every configuration has the same epochs.
    pub fn train_batch<const V: usize, const D: usize>(
        &self,
        b: &Bigrams<V>,
        configs: &[TrainConfig],
        d_model: usize,
    ) -> anyhow::Result<(Vec<Trainer<V, D>>, Steps)> {
        let mut trainers: Vec<Trainer<V, D>> = configs
            .iter()
            .map(|c| {
                let m =
                    Model::init_torch(c.seed, b.vocab_len(), d_model).expect("a model that fits");
                Trainer::new(m, c.adamw)
            })
            .collect();
        let steps = self.step(b, &mut trainers, configs[0].epochs)?;
        Ok((trainers, steps))
    }
}

/// Everything a trainer holds across the whole capacity: weights, both moments (column-major).
pub fn full_state<const V: usize, const D: usize>(t: &Trainer<V, D>) -> Vec<f32> {
    let o = &t.opt;
    [
        t.model.w_e.as_slice(),
        t.model.w_u.as_slice(),
        o.m.w_e.as_slice(),
        o.m.w_u.as_slice(),
        o.v.w_e.as_slice(),
        o.v.w_u.as_slice(),
    ]
    .concat()
}

/// How many elements have equal bits.
pub fn same_bits(a: &[f32], b: &[f32]) -> usize {
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.to_bits() == y.to_bits())
        .count()
}

/// Asserts equal bits element by element, naming the first difference.
pub fn assert_bits(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(i) = (0..got.len()).find(|&i| got[i].to_bits() != want[i].to_bits()) {
        panic!(
            "{what}: element {i} is {:e} ({:#010x}) but the CPU has {:e} ({:#010x}); \
             {} of {} elements have equal bits",
            got[i],
            got[i].to_bits(),
            want[i],
            want[i].to_bits(),
            same_bits(got, want),
            got.len()
        );
    }
}

/// Runs `property` on the backend `name`, or prints why it cannot run here and returns. The
/// reason goes straight to stderr, past the test harness's capture, so that `cargo test` shows it.
/// - `cpu-portable` always runs.
/// - `cpu-avx512` skips only where the CPU lacks AVX-512F (zl-lanes' own test checks that
///   against /proc/cpuinfo); `cpu-avx2` must run where the CPU has AVX2; `cpu-neon` and
///   `cpu-simd128` must run in aarch64 and wasm32 +simd128 builds, and skip elsewhere (this
///   x86-64 test binary cannot run them; scripts/test.sh runs zl-lanes' tests for aarch64
///   under qemu-aarch64).
/// - `cuda` skips where there is no driver or no GPU; with `ZL_REQUIRE_GPU` set
///   (scripts/gpu-check.sh sets it) it fails instead, and any other failure to open a GPU fails.
/// - `ptxsim` fails under `CI`, which always has python3.
pub fn run_on(name: &str, test: &str, property: impl FnOnce(Backend)) {
    let why = match Backend::open(name) {
        Ok(b) => return property(b),
        Err(why) => why,
    };
    let must_run = match name {
        "cuda" => {
            std::env::var_os("ZL_REQUIRE_GPU").is_some()
                || zl_cuda::Device::open().is_err_and(|e| !e.is_unavailable())
        }
        "ptxsim" => std::env::var_os("CI").is_some(),
        "cpu-avx512" => false,
        "cpu-avx2" => {
            #[cfg(target_arch = "x86_64")]
            let has = std::is_x86_feature_detected!("avx2");
            #[cfg(not(target_arch = "x86_64"))]
            let has = false;
            has
        }
        "cpu-neon" => cfg!(target_arch = "aarch64"),
        "cpu-simd128" => cfg!(all(target_arch = "wasm32", target_feature = "simd128")),
        _ => true,
    };
    if must_run {
        panic!("{test}: the {name} backend must run here but cannot: {why}");
    }
    let _ = writeln!(std::io::stderr(), "{test}: skipped, {why}");
}

/// Expands one property `fn(Backend)` into a test per backend:
/// `test_backends!(property, property_cpu_portable, property_cpu_avx512, property_cuda,
/// property_ptxsim);` and, for the other instruction sets, `property::cpu_avx2`,
/// `property::cpu_neon` and `property::cpu_simd128` (a module beside the function).
#[macro_export]
macro_rules! test_backends {
    ($property:ident, $portable:ident, $avx512:ident, $cuda:ident, $sim:ident) => {
        #[test]
        fn $portable() {
            $crate::backend::run_on("cpu-portable", stringify!($portable), $property);
        }
        #[test]
        fn $avx512() {
            $crate::backend::run_on("cpu-avx512", stringify!($avx512), $property);
        }
        #[test]
        fn $cuda() {
            $crate::backend::run_on("cuda", stringify!($cuda), $property);
        }
        #[test]
        fn $sim() {
            $crate::backend::run_on("ptxsim", stringify!($sim), $property);
        }
        mod $property {
            #[test]
            fn cpu_avx2() {
                let name = concat!(stringify!($property), "::cpu_avx2");
                $crate::backend::run_on("cpu-avx2", name, super::$property);
            }
            #[test]
            fn cpu_neon() {
                let name = concat!(stringify!($property), "::cpu_neon");
                $crate::backend::run_on("cpu-neon", name, super::$property);
            }
            #[test]
            fn cpu_simd128() {
                let name = concat!(stringify!($property), "::cpu_simd128");
                $crate::backend::run_on("cpu-simd128", name, super::$property);
            }
        }
    };
}
