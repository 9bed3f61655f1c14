//! Property tests of zl-core's invariants on random weights, counts and optimiser states.
//! Each property is a statement about the maths that would fail if the code were wrong.
// Index loops mirror the maths (C[i][j]).
#![allow(clippy::needless_range_loop)]

use proptest::prelude::*;
use zl_core::{
    adamw::{update, AdamWConfig},
    loss::{forward, loss_and_grad, Grads, Workspace},
    Bigrams, Model,
};
use zl_tests::loss_f64;

/// Capacity for the random models: up to 12 tokens and d_model 6.
const V: usize = 12;
const D: usize = 6;
type M = Model<V, D>;

/// A random vocabulary size, d_model, weights of a random scale, and a random token sequence.
fn case() -> impl Strategy<Value = (M, Bigrams<V>)> {
    (2usize..=V, 1usize..=D, 0.05f32..4.0).prop_flat_map(|(v, d, scale)| {
        (
            proptest::collection::vec(-1.0f32..1.0, v * d),
            proptest::collection::vec(-1.0f32..1.0, d * v),
            proptest::collection::vec(0..v, 2..200),
        )
            .prop_map(move |(we, wu, tokens)| {
                let we: Vec<f32> = we.iter().map(|x| x * scale).collect();
                let wu: Vec<f32> = wu.iter().map(|x| x * scale).collect();
                let m = M::from_row_major(v, d, &we, &wu).unwrap();
                (m, Bigrams::from_tokens(v, tokens).unwrap())
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every used row of softmax(W_E W_U) sums to 1 (within f32 rounding of V terms).
    #[test]
    fn softmax_rows_sum_to_one((m, b) in case()) {
        let mut ws = Workspace::<V, D>::default();
        forward(&m, &b, &mut ws);
        let v = b.vocab_len();
        for i in 0..v {
            let s: f64 = (0..v).map(|j| ws.probs[(i, j)] as f64).sum();
            prop_assert!((s - 1.0).abs() <= 1e-6 * v as f64, "row {} sums to {}", i, s);
            prop_assert!((0..v).all(|j| ws.probs[(i, j)] >= 0.0));
        }
    }

    /// The analytic gradient equals central differences of the f64 loss.
    #[test]
    fn gradient_matches_finite_differences((m, b) in case(), pick in 0usize..1000) {
        let (mut ws, mut g) = (Workspace::default(), Grads::default());
        loss_and_grad(&m, &b, &mut ws, &mut g);
        let (v, d) = (b.vocab_len(), m.d_model());
        let h = 1e-5;
        // Check a few entries of each matrix, chosen by `pick`.
        for n in [pick, pick * 7 + 3, pick * 13 + 5] {
            let (i, k) = ((n / d) % v, n % d);
            let num = (loss_f64(&m, &b, Some((i, k, h)), None) - loss_f64(&m, &b, Some((i, k, -h)), None)) / (2.0 * h);
            let ana = g.w_e[(i, k)] as f64;
            prop_assert!((ana - num).abs() <= 1e-5 + 1e-3 * num.abs(), "dW_E[{},{}]: {} vs {}", i, k, ana, num);
            let (k, j) = ((n / v) % d, n % v);
            let num = (loss_f64(&m, &b, None, Some((k, j, h))) - loss_f64(&m, &b, None, Some((k, j, -h)))) / (2.0 * h);
            let ana = g.w_u[(k, j)] as f64;
            prop_assert!((ana - num).abs() <= 1e-5 + 1e-3 * num.abs(), "dW_U[{},{}]: {} vs {}", k, j, ana, num);
        }
    }

    /// loss = H(next | current) + Σ_i (n_i/N) KL(P_i ‖ Q_i).
    #[test]
    fn loss_is_floor_plus_weighted_kl((m, b) in case()) {
        let mut ws = Workspace::<V, D>::default();
        let loss = forward(&m, &b, &mut ws) as f64;
        let v = b.vocab_len();
        let mut kl = 0.0;
        for i in 0..v {
            let n = b.row_totals[i] as f64;
            for j in 0..v {
                let c = b.counts[(i, j)] as f64;
                if c > 0.0 {
                    let p = c / n;
                    kl += n / b.total as f64 * p * (p / ws.probs[(i, j)] as f64).ln();
                }
            }
        }
        let identity = b.conditional_entropy() + kl;
        // f32 loss and f32 probabilities: relative rounding of a few 1e-7 on losses up to ~20.
        prop_assert!((loss - identity).abs() <= 2e-5 * (1.0 + loss), "loss {} vs floor + KL {}", loss, identity);
        prop_assert!(loss >= b.conditional_entropy() - 1e-5, "no model beats the bigram floor");
    }

    /// One AdamW step equals torch.optim.AdamW's documented formula, computed in f64.
    #[test]
    fn adamw_step_matches_the_reference_formula(
        p0 in -3.0f32..3.0, g in -1.0f32..1.0, m0 in -0.5f32..0.5, v0 in 0.0f32..0.5,
        t in 1u32..5000, lr in 1e-5f64..1e-1, wd in 0.0f64..0.5,
    ) {
        let cfg = AdamWConfig { lr, weight_decay: wd, ..Default::default() };
        let (mut p, mut m, mut v) = ([p0], [m0], [v0]);
        update(&mut p, &mut m, &mut v, &[g], &cfg.scalars(t));
        let (g, tf) = (g as f64, t as f64);
        let m1 = 0.9 * m0 as f64 + 0.1 * g;
        let v1 = 0.999 * v0 as f64 + 0.001 * g * g;
        let denom = (v1 / (1.0 - 0.999f64.powf(tf))).sqrt() + 1e-8;
        let p1 = p0 as f64 * (1.0 - lr * wd) - lr / (1.0 - 0.9f64.powf(tf)) * m1 / denom;
        prop_assert!((m[0] as f64 - m1).abs() <= 1e-6 * (1.0 + m1.abs()), "m {} vs {}", m[0], m1);
        prop_assert!((v[0] as f64 - v1).abs() <= 1e-6 * (1e-6 + v1.abs()), "v {} vs {}", v[0], v1);
        // The step is at most ~lr·|m̂|/√v̂ + decay: f32 rounding of p (|p| ≤ 3) and of the step.
        prop_assert!((p[0] as f64 - p1).abs() <= 4e-7 * (1.0 + p1.abs()) + 1e-6 * lr * (m1 / denom).abs(), "p {} vs {}", p[0], p1);
    }
}
