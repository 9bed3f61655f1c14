//! Cross-backend agreement: every property runs through zl-cli's backend layer (the one
//! interface `zl train` trains through) on every backend: `cpu-portable` (zl-core as the
//! target's baseline compiles it), `cpu-avx512` (zl-lanes), `cuda` (zl-cuda's
//! kernels/train.ptx on a GPU) and `ptxsim` (the same kernel text interpreted on the CPU). The
//! GPU tests skip, saying why, on a machine without one; the simulator's need only python3;
//! under CI a backend this machine can run must run (tests/support/backend.rs).
//!
//! zl-core's `Trainer::run` is the reference (`reference`). The kernel performs the core's f32 operations in the core's
//! order with one rounding each, so the hard tolerances below are loose bounds and the aim is
//! equal bits; `bit_identical_to_cpu` checks that aim separately, so that a GPU that meets the
//! tolerances but not the bits shows up as exactly that.

use proptest::{
    prelude::*,
    test_runner::{Config as ProptestConfig, TestRunner},
};
use zl_core::{AdamWConfig, Bigrams, Model, SeedModel, TrainConfig, Trainer, Vocab, SEED_TEXT};
use zl_cuda::{CudaError, Device};
use zl_tests::{
    assert_close,
    backend::{assert_bits, full_state, reference, same_bits, Backend},
    loss_f64, test_backends,
};

/// The kernel above 48 KiB of shared memory (a 64×64 model).
mod large;
/// The tiled kernels for any vocabulary (kernels/big.ptx).
mod tiled;

/// The bound on every epoch's loss against the CPU. Equal operations in equal order give
/// equal bits, so any difference at all means the kernel departed from the core somewhere.
const LOSS_ATOL: f64 = 1e-5;
/// The bound on the final weights after a full run: near convergence AdamW amplifies a
/// last-bit difference (see tests/golden.rs), so weights get a looser bound than losses.
const WEIGHT_ATOL: f64 = 1e-3;
/// Weights and moments after a few epochs: rounding only, no time to drift.
const FEW_EPOCHS_ATOL: f64 = 1e-6;

fn seed_bigrams() -> Bigrams<30> {
    Bigrams::from_text(&Vocab::seed(), SEED_TEXT).unwrap()
}

/// W_E then W_U, row-major, over the model's own size (not the capacity).
fn weights<const V: usize, const D: usize>(t: &Trainer<V, D>) -> Vec<f32> {
    t.model
        .w_e_row_major()
        .chain(t.model.w_u_row_major())
        .collect()
}

/// The seed notebook's run on `be` and on the CPU: (device trainer, device steps, CPU trainer,
/// CPU steps), over the backend's full run.
fn notebook_run(
    be: &Backend,
) -> (
    Trainer<30, 16>,
    zl_tests::backend::Steps,
    Trainer<30, 16>,
    zl_tests::backend::Steps,
) {
    let b = seed_bigrams();
    let epochs = be.full_run_epochs();
    let fresh = || {
        Trainer::new(
            SeedModel::init_torch(0, 30, 16).unwrap(),
            AdamWConfig::default(),
        )
    };
    let mut cpu = vec![fresh()];
    let want = reference(&b, &mut cpu, epochs).unwrap();
    let mut dev = vec![fresh()];
    let got = be.step(&b, &mut dev, epochs).unwrap();
    assert_eq!(got.losses[0].len(), epochs as usize, "one loss per epoch");
    (dev.remove(0), got, cpu.remove(0), want)
}

fn losses_and_weights_match_cpu(be: Backend) {
    let (dev, got, cpu, want) = notebook_run(&be);
    let n = got.losses[0].len();
    let dl = assert_close(
        "per-epoch loss",
        &got.losses[0],
        &want.losses[0],
        LOSS_ATOL,
        0.0,
    );
    let df = assert_close(
        "final loss",
        &got.final_losses,
        &want.final_losses,
        LOSS_ATOL,
        0.0,
    );
    let (wd, wc) = (weights(&dev), weights(&cpu));
    let dw = assert_close("final weights", &wd, &wc, WEIGHT_ATOL, 0.0);
    println!(
        "{}: {n} epochs; losses max |diff| {dl:e}, bit-identical {}/{n}; final loss diff {df:e}; \
         weights max |diff| {dw:e}, bit-identical {}/{}",
        be.name(),
        same_bits(&got.losses[0], &want.losses[0]),
        same_bits(&wd, &wc),
        wd.len()
    );
}
test_backends!(
    losses_and_weights_match_cpu,
    losses_and_weights_match_cpu_cpu_portable,
    losses_and_weights_match_cpu_cpu_avx512,
    losses_and_weights_match_cpu_cuda,
    losses_and_weights_match_cpu_ptxsim
);

fn bit_identical_to_cpu(be: Backend) {
    let (dev, got, cpu, want) = notebook_run(&be);
    assert_bits("per-epoch loss", &got.losses[0], &want.losses[0]);
    assert_bits("final loss", &got.final_losses, &want.final_losses);
    assert_bits("weights and moments", &full_state(&dev), &full_state(&cpu));
    assert_eq!(dev.opt.step, cpu.opt.step);
    println!(
        "{}: {} epochs bit-identical to the CPU (losses, final loss, weights, moments)",
        be.name(),
        got.losses[0].len()
    );
}
test_backends!(
    bit_identical_to_cpu,
    bit_identical_to_cpu_cpu_portable,
    bit_identical_to_cpu_cpu_avx512,
    bit_identical_to_cpu_cuda,
    bit_identical_to_cpu_ptxsim
);

/// k epochs from a given state: the state (weights, moments, step) goes to the device and back
/// without loss, a run split in two equals the run in one, and both equal the CPU's. The model
/// is padded (capacity 32 × 20 holding 30 × 16), and its padding must stay exactly zero.
fn k_epoch_state_round_trip(be: Backend) {
    let vocab = Vocab::seed();
    let b = Bigrams::<32>::from_tokens(30, vocab.encode(SEED_TEXT).map(|t| t.unwrap())).unwrap();
    let cfg = AdamWConfig {
        lr: 1e-2,
        weight_decay: 0.1,
        ..AdamWConfig::default()
    };
    let mut start = Trainer::new(Model::<32, 20>::init_torch(5, 30, 16).unwrap(), cfg);
    for _ in 0..4 {
        start.step(&b); // moments and step count away from their initial zeros
    }
    let mut cpu = vec![start.clone()];
    let want = reference(&b, &mut cpu, 3).unwrap();

    let mut whole = vec![start.clone()];
    let one = be.step(&b, &mut whole, 3).unwrap();
    let mut split = vec![start.clone()];
    let first = be.step(&b, &mut split, 1).unwrap();
    let second = be.step(&b, &mut split, 2).unwrap();

    assert_eq!(
        (whole[0].opt.step, split[0].opt.step),
        (7, 7),
        "step counts"
    );
    let split_losses = [first.losses[0].clone(), second.losses[0].clone()].concat();
    assert_bits(
        "split run's losses vs one launch",
        &split_losses,
        &one.losses[0],
    );
    assert_bits(
        "split run's state vs one launch",
        &full_state(&split[0]),
        &full_state(&whole[0]),
    );
    // The loss after the first launch's update is the second launch's first loss.
    assert_bits(
        "final loss of launch 1 vs first loss of launch 2",
        &first.final_losses,
        &second.losses[0][..1],
    );
    assert_close(
        "losses vs CPU",
        &one.losses[0],
        &want.losses[0],
        LOSS_ATOL,
        0.0,
    );
    assert_close(
        "final loss vs CPU",
        &one.final_losses,
        &want.final_losses,
        LOSS_ATOL,
        0.0,
    );
    let d = assert_close(
        "weights and moments vs CPU",
        &full_state(&whole[0]),
        &full_state(&cpu[0]),
        FEW_EPOCHS_ATOL,
        0.0,
    );
    let m = &whole[0].model;
    for (i, k) in (0..32).flat_map(|i| (0..20).map(move |k| (i, k))) {
        if i >= 30 || k >= 16 {
            assert!(
                m.w_e[(i, k)].to_bits() == 0 && m.w_u[(k, i)].to_bits() == 0,
                "the capacity's padding must stay +0.0 (at {i}, {k})"
            );
        }
    }

    // Zero epochs: the state comes back unchanged and the final loss is the loss of the start.
    let mut none = vec![start.clone()];
    let zero = be.step(&b, &mut none, 0).unwrap();
    assert!(zero.losses[0].is_empty());
    assert_bits(
        "state after 0 epochs",
        &full_state(&none[0]),
        &full_state(&start),
    );
    let l0 = start.clone().loss(&b);
    assert_close(
        "loss after 0 epochs",
        &zero.final_losses,
        &[l0],
        LOSS_ATOL,
        0.0,
    );
    println!(
        "{}: 4 CPU epochs, then 3 on the backend: max |state diff| vs CPU {d:e}, state bit-identical {}/{}",
        be.name(),
        same_bits(&full_state(&whole[0]), &full_state(&cpu[0])),
        full_state(&cpu[0]).len()
    );
}
test_backends!(
    k_epoch_state_round_trip,
    k_epoch_state_round_trip_cpu_portable,
    k_epoch_state_round_trip_cpu_avx512,
    k_epoch_state_round_trip_cuda,
    k_epoch_state_round_trip_ptxsim
);

/// A batch of models with different seeds and hyperparameters in one launch equals each model
/// trained alone, bit for bit (blocks do not interfere), and each equals the CPU.
fn batch_equals_separate_runs(be: Backend) {
    let b = seed_bigrams();
    let d_model = 8; // small, so that the simulator's run stays short
    let cfg = |seed, lr, weight_decay, beta1| TrainConfig {
        seed,
        epochs: 2,
        adamw: AdamWConfig {
            lr,
            weight_decay,
            beta1,
            ..AdamWConfig::default()
        },
    };
    let configs = [
        cfg(0, 1e-3, 0.01, 0.9),
        cfg(1, 1e-3, 0.01, 0.9),
        cfg(2, 1e-2, 0.1, 0.9),
        cfg(3, 3e-3, 0.0, 0.8), // another β1: its own step-size schedule
    ];
    let (together, steps) = be.train_batch::<30, 16>(&b, &configs, d_model).unwrap();
    let mut cpu: Vec<Trainer<30, 16>> = configs
        .iter()
        .map(|c| Trainer::new(Model::init_torch(c.seed, 30, d_model).unwrap(), c.adamw))
        .collect();
    let want = reference(&b, &mut cpu, 2).unwrap();
    for (n, c) in configs.iter().enumerate() {
        let (alone, alone_steps) = be
            .train_batch::<30, 16>(&b, std::slice::from_ref(c), d_model)
            .unwrap();
        let what = format!("model {n} (seed {}, lr {})", c.seed, c.adamw.lr);
        assert_bits(
            &format!("{what}: losses, batch vs alone"),
            &steps.losses[n],
            &alone_steps.losses[0],
        );
        assert_bits(
            &format!("{what}: state, batch vs alone"),
            &full_state(&together[n]),
            &full_state(&alone[0]),
        );
        assert_close(
            &format!("{what}: losses vs CPU"),
            &steps.losses[n],
            &want.losses[n],
            LOSS_ATOL,
            0.0,
        );
        assert_close(
            &format!("{what}: final loss vs CPU"),
            &steps.final_losses[n..n + 1],
            &want.final_losses[n..n + 1],
            LOSS_ATOL,
            0.0,
        );
        assert_close(
            &format!("{what}: state vs CPU"),
            &full_state(&together[n]),
            &full_state(&cpu[n]),
            FEW_EPOCHS_ATOL,
            0.0,
        );
    }
    println!(
        "{}: a batch of {} equals the separate runs",
        be.name(),
        configs.len()
    );
}
test_backends!(
    batch_equals_separate_runs,
    batch_equals_separate_runs_cpu_portable,
    batch_equals_separate_runs_cpu_avx512,
    batch_equals_separate_runs_cuda,
    batch_equals_separate_runs_ptxsim
);

/// Sizes that are not multiples of the kernel's 4-way unrolling, a token that never occurs (an
/// all-zero row and column of counts), and thread counts from 1 to more than the work.
fn odd_shapes_and_thread_counts(mut be: Backend) {
    // 7 tokens, of which token 6 never occurs; a fixed pseudo-random sequence of 300.
    let mut x = 12345u32;
    let tokens = (0..300).map(|_| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        ((x >> 16) % 6) as usize
    });
    let b = Bigrams::<8>::from_tokens(7, tokens).unwrap();
    for (d_model, threads) in [(1, Some(1)), (3, Some(33)), (5, Some(96)), (6, None)] {
        be.set_threads(threads);
        let start = Trainer::new(
            Model::<8, 6>::init_torch(d_model as u64, 7, d_model).unwrap(),
            AdamWConfig {
                lr: 5e-2,
                ..AdamWConfig::default()
            },
        );
        let (mut dev, mut cpu) = (vec![start.clone()], vec![start]);
        let got = be.step(&b, &mut dev, 5).unwrap();
        let want = reference(&b, &mut cpu, 5).unwrap();
        let what = format!("d_model {d_model}, {threads:?} threads");
        assert_close(
            &format!("{what}: losses"),
            &got.losses[0],
            &want.losses[0],
            LOSS_ATOL,
            0.0,
        );
        assert_close(
            &format!("{what}: state"),
            &full_state(&dev[0]),
            &full_state(&cpu[0]),
            FEW_EPOCHS_ATOL,
            0.0,
        );
        println!(
            "{}: {what}: losses bit-identical {}/5, state {}/{}",
            be.name(),
            same_bits(&got.losses[0], &want.losses[0]),
            same_bits(&full_state(&dev[0]), &full_state(&cpu[0])),
            full_state(&cpu[0]).len()
        );
    }
}
test_backends!(
    odd_shapes_and_thread_counts,
    odd_shapes_and_thread_counts_cpu_portable,
    odd_shapes_and_thread_counts_cpu_avx512,
    odd_shapes_and_thread_counts_cuda,
    odd_shapes_and_thread_counts_ptxsim
);

/// A random problem for [`random_problems_match_cpu`]: a token sequence over `v` of the
/// capacity's 8 tokens (a token may never occur), a d_model of the capacity's 6, and 1 to 3
/// models, each with its own seed, AdamW settings and CPU epochs taken before the launch (so that
/// moments and step counts start away from zero and differ between the models of one launch).
#[derive(Clone, Debug)]
struct Problem {
    v: usize,
    d: usize,
    tokens: Vec<usize>,
    models: Vec<(u64, AdamWConfig, u32)>,
    epochs: u32,
    threads: Option<u32>,
}

fn problem() -> impl Strategy<Value = Problem> {
    let adamw = (
        -4.0f64..-0.7,
        0.0f64..0.3,
        0.5f64..0.99,
        0.9f64..0.9999,
        -10.0f64..-3.0,
    )
        .prop_map(|(lr, weight_decay, beta1, beta2, eps)| AdamWConfig {
            lr: 10f64.powf(lr),
            weight_decay,
            beta1,
            beta2,
            eps: 10f64.powf(eps),
        });
    let model = (any::<u64>(), adamw, 0u32..4);
    (1usize..=8, 1usize..=6).prop_flat_map(move |(v, d)| {
        (
            proptest::collection::vec(0..v, 2..300),
            proptest::collection::vec(model.clone(), 1..=3),
            0u32..=6,
            prop_oneof![Just(None), (1u32..=256).prop_map(Some)],
        )
            .prop_map(move |(tokens, models, epochs, threads)| Problem {
                v,
                d,
                tokens,
                models,
                epochs,
                threads,
            })
    })
}

/// How far an f32 loss may sit from the f64 evaluation of the same weights: a few f32 roundings
/// of log-sum-exp values of up to about 30 (`F32_LOSS_ATOL` + `F32_LOSS_RTOL`·loss).
const F32_LOSS_ATOL: f64 = 1e-5;
const F32_LOSS_RTOL: f64 = 1e-6;

/// On random problems, one launch on the backend agrees with the CPU core epoch by epoch
/// (losses, weights, moments and step counts), and the losses it reports are the losses of the
/// weights it returns, checked against an f64 evaluation that shares no code with either. The
/// second check is what the `_cpu` expansion tests: there the first is the core against itself.
fn random_problems_match_cpu(be: Backend) {
    // The simulator interprets the kernel (a fraction of a second a case): a few cases, and all
    // 48 where `ZL_PTXSIM_ALL` is set (scripts/test.sh sets it under CI). The others are fast.
    let cases = match (be.is_simulator(), std::env::var_os("ZL_PTXSIM_ALL")) {
        (true, None) => 6,
        (true, Some(_)) => 48,
        (false, _) => 256,
    };
    let name = be.name();
    let be = std::cell::RefCell::new(be);
    let worst_vs_f64 = std::cell::Cell::new(0.0f64);
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&problem(), |p| {
        let b = Bigrams::<8>::from_tokens(p.v, p.tokens.iter().copied()).unwrap();
        let start: Vec<Trainer<8, 6>> = p
            .models
            .iter()
            .map(|&(seed, cfg, warm)| {
                let mut t = Trainer::new(Model::init_torch(seed, p.v, p.d).unwrap(), cfg);
                for _ in 0..warm {
                    t.step(&b);
                }
                t
            })
            .collect();
        let (mut cpu, mut dev) = (start.clone(), start.clone());
        be.borrow_mut().set_threads(p.threads);
        let got = be.borrow().step(&b, &mut dev, p.epochs);
        let want = match reference(&b, &mut cpu, p.epochs) {
            Ok(want) => want,
            Err((model, epoch)) => {
                // A diverging problem: the backend must stop with the core's model and epoch.
                let e = got.expect_err("the core diverged, so must the backend");
                let d = e.downcast_ref::<zl_cli::backend::Diverged>();
                prop_assert_eq!(
                    d.map(|d| (d.model, d.at.epoch)),
                    Some((model, epoch)),
                    "{}",
                    e
                );
                return Ok(());
            }
        };
        let got = got.unwrap();
        for n in 0..start.len() {
            let close = |got: &[f32], want: &[f32], atol: f64, rtol: f64| {
                got.len() == want.len()
                    && got.iter().zip(want).all(|(&g, &w)| {
                        (g as f64 - w as f64).abs() <= atol + rtol * (w as f64).abs()
                    })
            };
            prop_assert_eq!(
                dev[n].opt.step,
                start[n].opt.step + p.epochs,
                "model {}: steps",
                n
            );
            prop_assert_eq!(dev[n].opt.step, cpu[n].opt.step);
            prop_assert!(
                close(&got.losses[n], &want.losses[n], LOSS_ATOL, 0.0),
                "model {}: losses {:?}, CPU {:?}",
                n,
                got.losses[n],
                want.losses[n]
            );
            prop_assert!(
                close(
                    &full_state(&dev[n]),
                    &full_state(&cpu[n]),
                    FEW_EPOCHS_ATOL,
                    0.0
                ),
                "model {}: weights and moments differ from the CPU's by more than {:e}",
                n,
                FEW_EPOCHS_ATOL
            );
            // The reported losses belong to the weights: the first to the start, the final one
            // to the weights returned.
            let first = got.losses[n]
                .first()
                .copied()
                .unwrap_or(got.final_losses[n]);
            for (what, loss, m) in [
                ("first", first, &start[n].model),
                ("final", got.final_losses[n], &dev[n].model),
            ] {
                let exact = loss_f64(m, &b, None, None);
                worst_vs_f64.set(worst_vs_f64.get().max((loss as f64 - exact).abs()));
                prop_assert!(
                    (loss as f64 - exact).abs() <= F32_LOSS_ATOL + F32_LOSS_RTOL * exact.abs(),
                    "model {}: {} loss {} but the f64 loss of those weights is {}",
                    n,
                    what,
                    loss,
                    exact
                );
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    println!(
        "{name}: {cases} random problems agree with the CPU core; reported losses within {:e} of the f64 loss",
        worst_vs_f64.get()
    );
}
test_backends!(
    random_problems_match_cpu,
    random_problems_match_cpu_cpu_portable,
    random_problems_match_cpu_cpu_avx512,
    random_problems_match_cpu_cuda,
    random_problems_match_cpu_ptxsim
);

/// Without a driver or a GPU, opening the device is an error with a one-line message that says
/// what is missing, never a panic.
#[test]
fn opening_without_a_gpu_is_a_clean_error() {
    match Device::open() {
        Ok(d) => println!("a GPU is present: {}", d.describe()),
        Err(e) => {
            assert!(e.is_unavailable(), "unexpected error: {e}");
            let msg = e.to_string();
            assert!(
                !msg.contains('\n') && msg.contains("--backend cpu"),
                "{msg}"
            );
            println!("no GPU here, as expected: {msg}");
        }
    }
}

/// A model too large for one block's shared memory is refused with the sizes in the message,
/// before anything is launched.
#[test]
fn models_beyond_shared_memory_are_refused() {
    let dev = match Device::open().or_else(|_| Device::simulated()) {
        Ok(d) => d,
        Err(e) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "skipped: no GPU and no simulator: {e}");
            return;
        }
    };
    dev.check_size(30, 16).unwrap();
    let err = dev.check_size(128, 64).unwrap_err();
    assert!(
        matches!(err, CudaError::TooLarge { needed, .. } if needed == zl_cuda::shared_bytes(128, 64))
    );
    assert!(err.to_string().contains("128 tokens x d_model 64"), "{err}");
    let b = Bigrams::<128>::from_tokens(128, (0..1000).map(|i| i % 128)).unwrap();
    let cfg = TrainConfig {
        epochs: 1,
        ..TrainConfig::default()
    };
    assert!(matches!(
        dev.train::<128, 64>(&b, &cfg, 64),
        Err(CudaError::TooLarge { .. })
    ));
}
