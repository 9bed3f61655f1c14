//! The tiled kernels (kernels/big.ptx, `Device::step_big`): training at vocabularies past one
//! block's shared memory, with the logits in tiles of rows in global memory, the counts as
//! compressed sparse rows, and several launches an epoch. Against zl-core's `Trainer` (the
//! reference order of every sum) bit for bit: per-epoch losses, final loss, weights and both
//! AdamW moments, at a vocabulary past the dense tiers (300 tokens) and a small one, each cut
//! into tiles whose last one is partial, so that the dW_U sums run on across tiles.
//!
//! `_ptxsim` runs in the PTX interpreter (CI: it must run); `_cuda` on a GPU, skipping where there
//! is none unless `ZL_REQUIRE_GPU` is set (scripts/gpu-check.sh sets it).

use zl_core::{AdamWConfig, Bigrams, Csr, Grads, Model, Trainer};
use zl_cuda::{BigState, Device};
use zl_tests::backend::{assert_bits, full_state, reference, run_on, Backend};

/// W_E then W_U of `g`, row-major over the model's own `v × d`.
fn row_major<const V: usize, const D: usize>(g: &Grads<V, D>, v: usize, d: usize) -> Vec<f32> {
    let e = (0..v * d).map(|n| g.w_e[(n / d, n % d)]);
    let u = (0..d * v).map(|n| g.w_u[(n / v, n % v)]);
    e.chain(u).collect()
}

/// A trainer's weights and moments as `BigState` holds them (W_E then W_U, row-major).
fn state_of<const V: usize, const D: usize>(t: &Trainer<V, D>, v: usize, d: usize) -> BigState {
    let m = &t.model;
    BigState {
        vocab_len: v,
        d_model: d,
        weights: m.w_e_row_major().chain(m.w_u_row_major()).collect(),
        m: row_major(&t.opt.m, v, d),
        v: row_major(&t.opt.v, v, d),
        step: t.opt.step,
        config: t.opt.config,
    }
}

/// Sparse rows of `b`'s counts: (row_start, col, count).
fn sparse<const V: usize>(b: &Bigrams<V>) -> (Vec<usize>, Vec<u32>, Vec<u64>) {
    let v = b.vocab_len();
    let (mut starts, mut cols, mut counts) = (vec![0], vec![], vec![]);
    for i in 0..v {
        for j in 0..v {
            let c = b.counts[(i, j)];
            if c > 0.0 {
                cols.push(j as u32);
                counts.push(c as u64);
            }
        }
        starts.push(cols.len());
    }
    (starts, cols, counts)
}

/// A fixed, skewed token sequence over `v` tokens of which the last never occurs (an all-zero row
/// and column) and low ids are frequent, so that rows range from dense to empty.
fn corpus<const V: usize>(v: usize, len: usize) -> Bigrams<V> {
    let mut x = 2_463_534_242u32;
    let tokens = (0..v - 1).chain((0..len).map(move |_| {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let u = (x >> 8) as u64 % (v as u64 - 1);
        (u * u / (v as u64 - 1)) as usize
    }));
    Bigrams::from_tokens(v, tokens).expect("tokens below v")
}

/// `epochs` epochs of a `v × d` model in tiles of `tile_rows` rows on `be`'s device, against
/// `Trainer::run` on the CPU, from `init_torch` and one CPU epoch first (so that the moments and
/// the step count start away from zero).
fn tiled_matches_trainer<const V: usize, const D: usize>(
    be: Backend,
    v: usize,
    d: usize,
    tile_rows: usize,
    epochs: u32,
) {
    let zl_cli::backend::Backend::Cuda(mut dev) = be.0 else {
        panic!("the tiled kernels run on cuda or ptxsim only")
    };
    dev.set_big_tile_rows(Some(tile_rows)).unwrap();
    let name = if dev.is_simulated() { "ptxsim" } else { "cuda" };
    // Trainer<300, _> holds 300×300 matrices: a stack of its own.
    let (want_losses, want_final, start, end, b) = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let b = corpus::<V>(v, 20 * v);
            let cfg = AdamWConfig {
                weight_decay: 0.1,
                ..AdamWConfig::default()
            };
            let mut t = Trainer::new(Model::<V, D>::init_torch(5, v, d).unwrap(), cfg);
            t.run(&b, 1, |_, _| {}).unwrap();
            let start = state_of(&t, v, d);
            let mut losses = vec![];
            let f = t.run(&b, epochs, |_, l| losses.push(l)).unwrap();
            (losses, f, start, state_of(&t, v, d), sparse(&b))
        })
        .unwrap()
        .join()
        .unwrap();
    let csr = Csr::new(v, &b.0, &b.1, &b.2).unwrap();
    let mut got = start;
    let t0 = std::time::Instant::now();
    let run = dev.step_big(&csr, &mut got, epochs).unwrap();
    assert_bits("per-epoch loss", &run.losses, &want_losses);
    assert_bits("final loss", &[run.final_loss], &[want_final]);
    assert_bits("weights", &got.weights, &end.weights);
    assert_bits("first moments", &got.m, &end.m);
    assert_bits("second moments", &got.v, &end.v);
    assert_eq!(got.step, end.step, "AdamW step count");
    assert_ne!(
        want_losses[0].to_bits(),
        want_final.to_bits(),
        "the loss did not change"
    );
    println!(
        "{name}: {v} tokens x d_model {d}, tiles of {tile_rows} rows, {epochs} epochs in {:.1} s: \
         losses, final loss, weights and moments bit-identical to Trainer",
        t0.elapsed().as_secs_f64()
    );
}

/// Past the dense tiers (256 tokens): 300 tokens, d_model 8, tiles of 128, 128 and 44 rows.
fn v300(be: Backend) {
    tiled_matches_trainer::<300, 8>(be, 300, 8, 128, 2);
}

/// A small model, tiles of 16, 16 and 8 rows, an odd d_model, three epochs.
fn small(be: Backend) {
    tiled_matches_trainer::<40, 5>(be, 40, 5, 16, 3);
}

#[test]
fn tiled_v300_matches_trainer_ptxsim() {
    run_on("ptxsim", "tiled_v300_matches_trainer_ptxsim", v300);
}

#[test]
fn tiled_v300_matches_trainer_cuda() {
    run_on("cuda", "tiled_v300_matches_trainer_cuda", v300);
}

#[test]
fn tiled_small_matches_trainer_ptxsim() {
    run_on("ptxsim", "tiled_small_matches_trainer_ptxsim", small);
}

#[test]
fn tiled_small_matches_trainer_cuda() {
    run_on("cuda", "tiled_small_matches_trainer_cuda", small);
}

/// Through zl-cli's backend layer (`zl train`'s): a model past one block's shared memory (64
/// tokens x d_model 96 needs 247,048 bytes) trains in tiles instead of being refused, and its
/// epochs equal `Trainer::run`'s.
fn past_shared_memory(be: Backend) {
    let b = corpus::<64>(64, 2_000);
    let needed = zl_cuda::shared_bytes(64, 96);
    if let zl_cli::backend::Backend::Cuda(dev) = &be.0 {
        assert!(
            dev.check_size(64, 96).is_err(),
            "{needed} bytes fit: no longer past the limit"
        );
    }
    let fresh = || {
        Trainer::new(
            Model::<64, 96>::init_torch(1, 64, 96).unwrap(),
            AdamWConfig::default(),
        )
    };
    let mut cpu = vec![fresh()];
    let want = reference(&b, &mut cpu, 1).unwrap();
    let mut dev = vec![fresh()];
    let got = be.step(&b, &mut dev, 1).unwrap();
    assert_bits("per-epoch loss", &got.losses[0], &want.losses[0]);
    assert_bits("final loss", &got.final_losses, &want.final_losses);
    assert_bits(
        "weights and moments",
        &full_state(&dev[0]),
        &full_state(&cpu[0]),
    );
    assert_eq!(dev[0].opt.step, cpu[0].opt.step);
    println!(
        "{}: 64 x 96 ({needed} bytes of shared memory) trained in tiles, bit for bit",
        be.name()
    );
}

#[test]
fn past_shared_memory_ptxsim() {
    run_on("ptxsim", "past_shared_memory_ptxsim", past_shared_memory);
}

#[test]
fn past_shared_memory_cuda() {
    run_on("cuda", "past_shared_memory_cuda", past_shared_memory);
}

/// A state that does not match its counts is refused before any launch.
#[test]
fn tiled_refuses_mismatched_shapes() {
    let Ok(dev) = Device::simulated() else {
        return;
    };
    let (starts, cols, counts) = (vec![0, 1, 1], vec![1u32], vec![3u64]);
    let csr = Csr::new(2, &starts, &cols, &counts).unwrap();
    let mut s = BigState::new(3, 2, &[0.0; 6], &[0.0; 6], AdamWConfig::default()).unwrap();
    let e = dev.step_big(&csr, &mut s, 1).unwrap_err().to_string();
    assert!(e.contains("3 tokens") && e.contains("2"), "{e}");
}
