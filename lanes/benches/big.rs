//! Criterion benchmark of the large-V epoch (zl_core::big's, on zl-lanes' vectors and threads):
//! one epoch at V = 1,000 and 5,000 with d_model = 64 on synthetic counts (a Zipf-like token
//! stream of a million tokens), on the fastest instruction set with 1 and 2 threads, and the
//! reference's scalar epoch at V = 1,000.
//!
//! Run: `cargo bench -p zl-lanes --bench big`. The machine is shared and noisy: compare medians
//! from one run, not across runs.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use zl_core::{
    big::{self, Pair, Scratch, State},
    rng::TorchGenerator,
    AdamWConfig, Csr,
};
use zl_lanes::{Big, Isa};

/// The bigram counts of a million tokens drawn with P(t) ∝ 1/(t + 10), as CSR slices.
fn counts(v: usize) -> (Vec<usize>, Vec<u32>, Vec<u64>) {
    let mut g = TorchGenerator::new(1);
    let cdf: Vec<f64> = (0..v)
        .scan(0.0, |a, t| {
            *a += 1.0 / (t as f64 + 10.0);
            Some(*a)
        })
        .collect();
    let total = cdf[v - 1];
    let mut table = std::collections::BTreeMap::<(u32, u32), u64>::new();
    let mut prev = 0u32;
    for _ in 0..1_000_000 {
        let u = g.uniform_f64() * total;
        let t = cdf.partition_point(|&c| c < u).min(v - 1) as u32;
        *table.entry((prev, t)).or_default() += 1;
        prev = t;
    }
    let mut rs = vec![0usize; v + 1];
    let (mut col, mut count) = (vec![], vec![]);
    for (&(i, j), &c) in &table {
        rs[i as usize + 1] += 1;
        col.push(j);
        count.push(c);
    }
    for i in 0..v {
        rs[i + 1] += rs[i];
    }
    (rs, col, count)
}

fn bench(c: &mut Criterion) {
    let d = 64;
    let mut g = c.benchmark_group("big-epoch");
    g.sample_size(10);
    for v in [1000usize, 5000] {
        let (rs, col, count) = counts(v);
        let b = Csr::new(v, &rs, &col, &count).unwrap();
        let mut w: [Vec<f32>; 6] = std::array::from_fn(|_| vec![0.0; v * d]);
        let [e, u, ..] = &mut w;
        big::init_torch(0, d, e, u);
        let mut step = 0;
        let [e, u, me, mu, ve, vu] = &mut w;
        let mut state = State {
            d_model: d,
            weights: Pair { w_e: e, w_u: u },
            m: Pair { w_e: me, w_u: mu },
            v: Pair { w_e: ve, w_u: vu },
            step: &mut step,
            adamw: AdamWConfig::default(),
        };
        let isa = Isa::best();
        for threads in [1, 2] {
            let mut t = Big::new(isa, threads, None, v, d);
            g.bench_function(format!("V={v} d={d} {isa} threads={threads}"), |bench| {
                bench.iter(|| t.epoch(&mut state, black_box(&b)))
            });
        }
        if v == 1000 {
            let mut buf = vec![0.0; Scratch::len(v, d, 64)];
            let mut scratch = Scratch::new(&mut buf, v, d, 64).unwrap();
            g.bench_function(format!("V={v} d={d} zl-core"), |bench| {
                bench.iter(|| big::epoch(&mut state, black_box(&b), &mut scratch))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
