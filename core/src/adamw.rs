//! AdamW with `torch.optim.AdamW`'s exact semantics.
//!
//! reference: PyTorch, `torch/optim/adamw.py` and `torch/optim/adam.py`, `_single_tensor_adam`
//! (the path PyTorch takes for CPU tensors), and the algorithm box in the `torch.optim.AdamW`
//! documentation. With step t counted from 1:
//!
//! ```text
//! θ ← θ · (1 − lr·λ)                              decoupled weight decay, before the Adam update
//! m ← m + (1 − β1)·(g − m)                        exp_avg.lerp_(grad, 1 − β1)
//! v ← v·β2 + (1 − β2)·g·g                         exp_avg_sq.mul_(β2).addcmul_(grad, grad, 1 − β2)
//! denom = sqrt(v) / sqrt(1 − β2^t) + ε            (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
//! θ ← θ + (−lr / (1 − β1^t))·m / denom            param.addcdiv_(exp_avg, denom, value=-step_size)
//! ```
//!
//! PyTorch computes the scalars (`1 − lr·λ`, the bias corrections, the step size) in Python
//! floats, that is f64, and casts each to f32 where it meets a tensor. So does this module.

use crate::{loss::Grads, model::Model};

/// AdamW hyperparameters, as `torch.optim.AdamW` takes them (Python floats, so f64). Serialised
/// as lr and weight_decay: no command sets β1, β2 or ε, so they are always PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AdamWConfig {
    /// Learning rate. Default 1e-3, as in the seed notebook.
    pub lr: f64,
    /// β1, the first-moment decay. Default 0.9 (PyTorch's default).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub beta1: f64,
    /// β2, the second-moment decay. Default 0.999 (PyTorch's default).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub beta2: f64,
    /// ε, added to the denominator. Default 1e-8 (PyTorch's default).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub eps: f64,
    /// Decoupled weight decay λ. Default 0.01 (PyTorch's AdamW default).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// The f32 scalars of step `t`, computed in f64 as PyTorch's Python code computes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepScalars {
    /// `1 − lr·λ`.
    pub decay: f32,
    /// `1 − β1`, the lerp weight.
    pub one_minus_beta1: f32,
    /// `β2`.
    pub beta2: f32,
    /// `1 − β2`.
    pub one_minus_beta2: f32,
    /// `sqrt(1 − β2^t)`.
    pub bias_correction2_sqrt: f32,
    /// `ε`.
    pub eps: f32,
    /// `−lr / (1 − β1^t)`.
    pub neg_step_size: f32,
}

impl AdamWConfig {
    /// The scalars of step `t` (t ≥ 1).
    pub fn scalars(&self, t: u32) -> StepScalars {
        let t = t as f64;
        let bias_correction1 = 1.0 - libm::pow(self.beta1, t);
        let bias_correction2 = 1.0 - libm::pow(self.beta2, t);
        StepScalars {
            decay: (1.0 - self.lr * self.weight_decay) as f32,
            one_minus_beta1: (1.0 - self.beta1) as f32,
            beta2: self.beta2 as f32,
            one_minus_beta2: (1.0 - self.beta2) as f32,
            bias_correction2_sqrt: libm::sqrt(bias_correction2) as f32,
            eps: self.eps as f32,
            neg_step_size: (-(self.lr / bias_correction1)) as f32,
        }
    }
}

/// One parameter's update, element by element, in PyTorch's operation order.
/// `lerp(m, g, w)` for `|w| < 0.5` is `m + w·(g − m)` (ATen's `lerp` kernel).
#[inline(always)]
pub fn update(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], s: &StepScalars) {
    for (((p, m), v), g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
        *p *= s.decay;
        *m += s.one_minus_beta1 * (*g - *m);
        *v = *v * s.beta2 + s.one_minus_beta2 * *g * *g;
        let denom = libm::sqrtf(*v) / s.bias_correction2_sqrt + s.eps;
        *p += s.neg_step_size * *m / denom;
    }
}

/// AdamW state for a model: first and second moments and the step count.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamW<const V: usize, const D: usize> {
    /// Hyperparameters.
    pub config: AdamWConfig,
    /// Steps taken so far.
    pub step: u32,
    /// First moments (`exp_avg`) of W_E and W_U.
    pub m: Grads<V, D>,
    /// Second moments (`exp_avg_sq`) of W_E and W_U.
    pub v: Grads<V, D>,
}

impl<const V: usize, const D: usize> AdamW<V, D> {
    /// Fresh state: zero moments, step 0.
    pub fn new(config: AdamWConfig) -> Self {
        AdamW {
            config,
            step: 0,
            m: Grads::default(),
            v: Grads::default(),
        }
    }

    /// One AdamW step on `model` with gradient `g`.
    pub fn step(&mut self, model: &mut Model<V, D>, g: &Grads<V, D>) {
        self.step += 1;
        let s = self.config.scalars(self.step);
        update(
            model.w_e.as_mut_slice(),
            self.m.w_e.as_mut_slice(),
            self.v.w_e.as_mut_slice(),
            g.w_e.as_slice(),
            &s,
        );
        update(
            model.w_u.as_mut_slice(),
            self.m.w_u.as_mut_slice(),
            self.v.w_u.as_mut_slice(),
            g.w_u.as_slice(),
            &s,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same step written out in f64 from the documentation's formula.
    #[test]
    fn one_step_matches_the_documented_formula() {
        let cfg = AdamWConfig {
            lr: 1e-2,
            weight_decay: 0.1,
            ..Default::default()
        };
        let (mut p, mut m, mut v) = ([0.5f32, -1.0, 2.0], [0.0f32; 3], [0.0f32; 3]);
        let g = [0.3f32, -0.2, 1e-4];
        for t in 1..=3u32 {
            let (p0, m0, v0) = (p, m, v);
            update(&mut p, &mut m, &mut v, &g, &cfg.scalars(t));
            for i in 0..3 {
                let (g, t) = (g[i] as f64, t as f64);
                let m1 = 0.9 * m0[i] as f64 + 0.1 * g;
                let v1 = 0.999 * v0[i] as f64 + 0.001 * g * g;
                let mhat = m1 / (1.0 - 0.9f64.powf(t));
                let vhat = v1 / (1.0 - 0.999f64.powf(t));
                let p1 = p0[i] as f64 * (1.0 - 1e-3) - 1e-2 * mhat / (vhat.sqrt() + 1e-8);
                assert!(
                    (p[i] as f64 - p1).abs() < 1e-6,
                    "t={t} i={i}: {} vs {p1}",
                    p[i]
                );
                assert!((m[i] as f64 - m1).abs() < 1e-6 && (v[i] as f64 - v1).abs() < 1e-9);
            }
        }
    }
}
