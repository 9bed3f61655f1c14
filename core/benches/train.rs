//! Criterion benchmarks of the training loop: one step, and the seed notebook's full run
//! (10,000 epochs), each both as the portable core compiles for plain x86-64 and through the
//! CLI's runtime SIMD dispatch (the code `zl train` runs).
//!
//! Run: `cargo bench -p zl-core --bench train`. The machine is shared and noisy: compare
//! medians from one run, not across runs.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use zl_core::{AdamWConfig, Bigrams, SeedModel, Trainer, Vocab, SEED_TEXT};

// The CLI's training loop, compiled from its own file so that this measures what `zl train`
// runs. It uses AVX-512 intrinsics, stable since Rust 1.89 (zl-cli's MSRV; the benchmark needs
// it too). Its tests are zl-cli's to run; here they are dead code.
#[allow(clippy::incompatible_msrv, dead_code, unused_imports)]
#[path = "../../cli/src/simd.rs"]
mod simd;

fn trainer() -> Trainer<30, 16> {
    Trainer::new(
        SeedModel::init_torch(0, 30, 16).unwrap(),
        AdamWConfig::default(),
    )
}

fn bench(c: &mut Criterion) {
    let b = Bigrams::from_text(&Vocab::seed(), SEED_TEXT).unwrap();
    let mut g = c.benchmark_group("step");
    let mut t = trainer();
    g.bench_function("portable", |bench| bench.iter(|| t.step(black_box(&b))));
    let mut t = trainer();
    g.bench_function(simd::selected(), |bench| {
        bench.iter(|| simd::step(&mut t, black_box(&b)))
    });
    g.finish();

    let mut g = c.benchmark_group("train_10k");
    g.sample_size(20);
    g.bench_function("portable", |bench| {
        bench.iter(|| {
            trainer().run(black_box(&b), 10_000, |_, l| {
                black_box(l);
            })
        })
    });
    g.bench_function(simd::selected(), |bench| {
        bench.iter(|| {
            simd::run(&mut trainer(), black_box(&b), 10_000, |_, l| {
                black_box(l);
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
