//! Criterion benchmarks of the training loop: one step, and the seed notebook's full run
//! (10,000 epochs), on every instruction set this CPU runs (`portable` is the target's
//! baseline: SSE2 on x86-64; `zl train --backend cpu` runs the last, fastest one), and
//! zl-core's own `Trainer` (`zl-core`, the reference every instruction set matches).
//!
//! Run: `cargo bench -p zl-lanes --bench train`. The machine is shared and noisy: compare
//! medians from one run, not across runs.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use zl_core::{AdamWConfig, Bigrams, SeedModel, Trainer, Vocab, SEED_TEXT};
use zl_lanes::Isa;

fn trainer() -> Trainer<30, 16> {
    Trainer::new(
        SeedModel::init_torch(0, 30, 16).unwrap(),
        AdamWConfig::default(),
    )
}

fn bench(c: &mut Criterion) {
    let b = Bigrams::from_text(&Vocab::seed(), SEED_TEXT).unwrap();
    // One step, from the states of the seed run: the trainer starts again every 10,000 steps,
    // so that criterion's million-odd iterations measure the run `zl train` makes. (No state
    // dependence was found: nothing goes subnormal in a million steps, and the step costs the
    // same after 0 or 1,000,000 of them; this only keeps the benchmark to the seed run.)
    let mut g = c.benchmark_group("step");
    let mut t = trainer();
    g.bench_function("zl-core", |bench| {
        bench.iter(|| {
            if t.opt.step == 10_000 {
                t = trainer();
            }
            t.step(black_box(&b))
        })
    });
    for isa in Isa::available() {
        let mut t = trainer();
        g.bench_function(isa.name(), |bench| {
            bench.iter(|| {
                if t.opt.step == 10_000 {
                    t = trainer();
                }
                isa.step(&mut t, black_box(&b))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("train_10k");
    g.sample_size(20);
    g.bench_function("zl-core", |bench| {
        bench.iter(|| {
            trainer().run(black_box(&b), 10_000, |_, l| {
                black_box(l);
            })
        })
    });
    for isa in Isa::available() {
        g.bench_function(isa.name(), |bench| {
            bench.iter(|| {
                isa.run(&mut trainer(), black_box(&b), 10_000, |_, l| {
                    black_box(l);
                })
            })
        });
    }
    g.finish();

    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        let mut g = c.benchmark_group("floor");
        g.bench_function("divider_per_step", |bench| {
            // SAFETY: AVX-512F checked above.
            bench.iter(|| unsafe { floor::divider(black_box(1.0000001)) })
        });
        g.bench_function("mul_add_per_step", |bench| {
            // SAFETY: AVX-512F checked above.
            bench.iter(|| unsafe { floor::mul_add(black_box(1.0), black_box(0.0)) })
        });
        g.finish();
    }
}

/// What no bit-exact step can beat on this CPU: the divisions and square roots of one step
/// (V² = 900 elements × 2 divisions in the softmax and G, and 2 × 480 parameters × 2
/// divisions + 1 square root in AdamW: 240 vdivps and 60 vsqrtps on 16 lanes), issued as
/// independent as they can be. IEEE division and square root are correctly rounded, so they
/// cannot be replaced by multiplications without changing bits, and without FMA they cannot be
/// emulated in fewer operations.
#[cfg(target_arch = "x86_64")]
mod floor {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    pub unsafe fn divider(d: f32) -> f32 {
        let d = _mm512_set1_ps(d);
        // Ten different chains: identical ones would be merged by the compiler into one.
        let mut a: [__m512; 10] = core::array::from_fn(|i| _mm512_set1_ps(1.5 + i as f32));
        for _ in 0..24 {
            for x in a.iter_mut() {
                *x = _mm512_div_ps(*x, d); // 24 × 10 = 240 divisions
            }
        }
        for _ in 0..6 {
            for x in a.iter_mut() {
                *x = _mm512_sqrt_ps(*x); // 6 × 10 = 60 square roots
            }
        }
        let mut s = _mm512_setzero_ps();
        for x in a {
            s = _mm512_add_ps(s, x);
        }
        _mm512_reduce_add_ps(s)
    }

    /// The other arithmetic of one step, as independent as it can be: about 9,090 vector
    /// multiplies, adds, subtractions, maxima and the like on 16 lanes (the three products
    /// 1,920 + 1,920 + 1,800, exp 29 × 60, AdamW 14 × 60, the softmax's other passes ~800).
    /// Without FMA each multiply-add is two instructions; AVX-512 issues two a cycle.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn mul_add(m: f32, c: f32) -> f32 {
        let (m, c) = (_mm512_set1_ps(m), _mm512_set1_ps(c));
        let mut a: [__m512; 16] = core::array::from_fn(|i| _mm512_set1_ps(1.5 + i as f32));
        for _ in 0..284 {
            for x in a.iter_mut() {
                *x = _mm512_add_ps(_mm512_mul_ps(*x, m), c); // 284 × 16 × 2 = 9,088
            }
        }
        let mut s = _mm512_setzero_ps();
        for x in a {
            s = _mm512_add_ps(s, x);
        }
        _mm512_reduce_add_ps(s)
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
