//! The kernel's path above 48 KiB of shared memory, which no other test model reaches: a model of
//! 64 tokens × d_model 64 needs `shared_bytes(64, 64)` = 181,512 bytes a block, so a GPU launch
//! must opt in to the larger size (zl-cuda's `allow_shared`) and every shared offset runs far past
//! the seed model's 26,768 bytes. Two epochs from `init_torch`, against zl-core's `Trainer`, bit
//! for bit: per-epoch losses, final loss, weights and both AdamW moments.
//!
//! Expanded per backend (tests/support/backend.rs): `_ptxsim` runs in the PTX interpreter (CI: it
//! must run); `_cuda` runs on a GPU and skips, saying why, where there is none, unless
//! `ZL_REQUIRE_GPU` is set (scripts/gpu-check.sh sets it); the CPU's instruction sets run too.

use zl_core::Model;
use zl_core::{AdamWConfig, Bigrams, TrainConfig, Trainer};
use zl_tests::{
    backend::{assert_bits, full_state, reference, Backend},
    test_backends,
};

const V: usize = 64;
const D: usize = 64;
/// Two epochs, so that the second updates from moments the first wrote, and what the interpreter
/// affords: one 64×64 epoch is about 18 times the seed model's instructions.
const EPOCHS: u32 = 2;

/// A fixed token sequence over all 64 tokens: each token once (so that every row and column of
/// the counts is used), then 2,000 from a linear congruential generator.
fn corpus() -> Bigrams<V> {
    let mut x = 2_463_534_242u32;
    let tokens = (0..V).chain((0..2_000).map(move |_| {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (x >> 24) as usize % V
    }));
    Bigrams::from_tokens(V, tokens).expect("tokens below 64")
}

fn large_shared_memory_matches_cpu(be: Backend) {
    let needed = zl_cuda::shared_bytes(V, D);
    assert!(
        needed > 48 * 1024,
        "{V}x{D} needs {needed} bytes: no longer past the 48 KiB opt-in this test is for"
    );
    let b = corpus();
    let cfg = TrainConfig {
        seed: 0,
        epochs: EPOCHS,
        adamw: AdamWConfig::default(),
    };
    let start = std::time::Instant::now();
    let (dev, got) = be
        .train_batch::<V, D>(&b, std::slice::from_ref(&cfg), D)
        .unwrap_or_else(|e| panic!("{}: {e}", be.name()));
    let seconds = start.elapsed().as_secs_f64();
    let mut cpu = vec![Trainer::new(
        Model::<V, D>::init_torch(cfg.seed, V, D).unwrap(),
        cfg.adamw,
    )];
    let want = reference(&b, &mut cpu, EPOCHS).expect("the CPU core");
    assert_eq!(got.losses[0].len(), EPOCHS as usize, "one loss per epoch");
    assert_bits("per-epoch loss", &got.losses[0], &want.losses[0]);
    assert_bits("final loss", &got.final_losses, &want.final_losses);
    assert_bits(
        "weights and moments",
        &full_state(&dev[0]),
        &full_state(&cpu[0]),
    );
    assert_eq!(dev[0].opt.step, cpu[0].opt.step, "AdamW step count");
    // The run must have moved the model, or equal bits would say little.
    assert_ne!(
        want.losses[0][0].to_bits(),
        want.final_losses[0].to_bits(),
        "the loss did not change in {EPOCHS} epochs"
    );
    println!(
        "{}: {V}x{D} ({needed} bytes of shared memory), {EPOCHS} epochs in {seconds:.1} s: \
         losses, final loss, weights and moments bit-identical to the CPU",
        be.name()
    );
}

test_backends!(
    large_shared_memory_matches_cpu,
    large_shared_memory_matches_cpu_cpu_portable,
    large_shared_memory_matches_cpu_cpu_avx512,
    large_shared_memory_matches_cpu_cuda,
    large_shared_memory_matches_cpu_ptxsim
);
