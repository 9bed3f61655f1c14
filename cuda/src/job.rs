//! One launch of `zl_train_f32`, as host arrays: packing Trainer states into the kernel's
//! layouts (kernels/train.ptx, header) and unpacking the results.
//!
//! Layouts: nalgebra stores matrices column-major; every buffer sent to the kernel is ROW-MAJOR
//! (as PyTorch stores the weights), restricted to the model's `vocab_len × d_model` (the
//! capacity's zero padding stays on the host).

use std::{collections::HashMap, time::Duration};

use nalgebra::SMatrix;
use zl_core::{AdamW, AdamWConfig, Bigrams, Model};

use crate::CudaError;

/// Bytes of dynamic shared memory the kernel needs for one model of `v` tokens × `d` dimensions:
/// `4·(8vd + 3v² + 5v + 2)` (kernels/train.ptx, "SHARED MEMORY").
pub fn shared_bytes(vocab_len: usize, d_model: usize) -> u64 {
    let (v, d) = (vocab_len as u64, d_model as u64);
    4 * (8 * v * d + 3 * v * v + 5 * v + 2)
}

/// `1 − β1^t` in f64, exactly as `AdamWConfig::scalars` computes its bias correction (libm's
/// `pow`); the kernel divides `lr` by it in f64. A test checks the resulting step size against
/// the core's own `scalars(t).neg_step_size` bit for bit.
pub(crate) fn bias_correction1(beta1: f64, t: u32) -> f64 {
    1.0 - libm::pow(beta1, t as f64)
}

/// The kernel's arguments, on the host.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub v: u32,
    pub d: u32,
    pub n: u32,
    pub epochs: u32,
    pub counts: Vec<f32>,
    pub row_totals: Vec<f32>,
    pub total: f32,
    pub state: Vec<f32>,
    pub steps: Vec<u32>,
    pub hyper: Vec<f32>,
    pub lr: Vec<f64>,
    pub sched_off: Vec<u32>,
    pub bc1: Vec<f64>,
    pub bc2s: Vec<f32>,
    pub record_losses: bool,
}

/// What one launch returns.
#[derive(Clone, Debug)]
pub(crate) struct JobOutput {
    pub state: Vec<f32>,
    pub steps: Vec<u32>,
    /// `n × epochs`, row-major by model (empty when not recorded).
    pub losses: Vec<f32>,
    pub final_loss: Vec<f32>,
    pub kernel_time: Duration,
}

/// Appends the `rows × cols` corner of `m` in row-major order.
fn push_rows<const R: usize, const C: usize>(
    out: &mut Vec<f32>,
    m: &SMatrix<f32, R, C>,
    rows: usize,
    cols: usize,
) {
    out.extend((0..rows * cols).map(|n| m[(n / cols, n % cols)]));
}

/// Fills the `rows × cols` corner of `m` from row-major `s`.
fn pull_rows<const R: usize, const C: usize>(
    s: &[f32],
    m: &mut SMatrix<f32, R, C>,
    rows: usize,
    cols: usize,
) {
    for (n, x) in s[..rows * cols].iter().enumerate() {
        m[(n / cols, n % cols)] = *x;
    }
}

/// A model's six row-major matrices, as the kernel's `state` holds them: W_E, W_U, m_E, m_U,
/// v_E, v_U.
fn push_state<const V: usize, const D: usize>(
    out: &mut Vec<f32>,
    m: &Model<V, D>,
    opt: &AdamW<V, D>,
) {
    let (v, d) = (m.vocab_len(), m.d_model());
    for (e, u) in [
        (&m.w_e, &m.w_u),
        (&opt.m.w_e, &opt.m.w_u),
        (&opt.v.w_e, &opt.v.w_u),
    ] {
        push_rows(out, e, v, d);
        push_rows(out, u, d, v);
    }
}

/// The inverse of [`push_state`] for one model.
fn pull_state<const V: usize, const D: usize>(
    s: &[f32],
    m: &mut Model<V, D>,
    opt: &mut AdamW<V, D>,
) {
    let (v, d) = (m.vocab_len(), m.d_model());
    let vd = v * d;
    for (c, (e, u)) in [
        (&mut m.w_e, &mut m.w_u),
        (&mut opt.m.w_e, &mut opt.m.w_u),
        (&mut opt.v.w_e, &mut opt.v.w_u),
    ]
    .into_iter()
    .enumerate()
    {
        pull_rows(&s[2 * vd * c..], e, v, d);
        pull_rows(&s[2 * vd * c + vd..], u, d, v);
    }
}

impl Job {
    /// Packs `epochs` epochs of every `(model, optimiser)` pair on the counts `b`.
    pub fn new<const V: usize, const D: usize>(
        b: &Bigrams<V>,
        states: &[(&Model<V, D>, &AdamW<V, D>)],
        epochs: u32,
        record_losses: bool,
    ) -> Result<Job, CudaError> {
        let Some((first, _)) = states.first() else {
            return Err(CudaError::Invalid("no model to train".into()));
        };
        let (v, d) = (b.vocab_len(), first.d_model());
        if u32::try_from(states.len()).is_err() || states.len() > i32::MAX as usize {
            return Err(CudaError::Invalid(format!(
                "{} models is more than one launch's grid holds",
                states.len()
            )));
        }
        for (n, (m, opt)) in states.iter().enumerate() {
            if m.vocab_len() != v {
                return Err(CudaError::Invalid(format!(
                    "model {n} has {} tokens but the counts have {v}",
                    m.vocab_len()
                )));
            }
            if m.d_model() != d {
                return Err(CudaError::Invalid(format!(
                    "model {n} has d_model {} but model 0 has {d}: one launch trains one shape",
                    m.d_model()
                )));
            }
            if opt.step.checked_add(epochs).is_none() {
                return Err(CudaError::Invalid(format!(
                    "model {n}: step {} + {epochs} epochs overflows the u32 step count",
                    opt.step
                )));
            }
        }
        if record_losses && (states.len() as u64) * (epochs as u64) > (1u64 << 32) {
            return Err(CudaError::Invalid(format!(
                "{} models x {epochs} epochs of losses is too many to record",
                states.len()
            )));
        }
        let counts = (0..v * v).map(|n| b.counts[(n / v, n % v)]).collect();
        let row_totals = (0..v).map(|i| b.row_totals[i]).collect();
        let mut state = Vec::with_capacity(states.len() * 6 * v * d);
        let (mut steps, mut hyper, mut lr, mut sched_off) = (vec![], vec![], vec![], vec![]);
        let (mut bc1, mut bc2s) = (vec![], vec![]);
        // Schedules shared by every model with the same betas and starting step.
        let mut schedules: HashMap<(u64, u64, u32), u32> = HashMap::new();
        for (m, opt) in states {
            push_state(&mut state, m, opt);
            steps.push(opt.step);
            let c: AdamWConfig = opt.config;
            let s = c.scalars(1);
            hyper.extend([
                s.decay,
                s.one_minus_beta1,
                s.beta2,
                s.one_minus_beta2,
                s.eps,
                0.0,
                0.0,
                0.0,
            ]);
            lr.push(c.lr);
            let key = (c.beta1.to_bits(), c.beta2.to_bits(), opt.step);
            let off = *schedules.entry(key).or_insert_with(|| {
                let off = bc1.len() as u32;
                for e in 0..epochs {
                    let t = opt.step + e + 1;
                    bc1.push(bias_correction1(c.beta1, t));
                    bc2s.push(c.scalars(t).bias_correction2_sqrt);
                }
                off
            });
            if bc1.len() > u32::MAX as usize {
                return Err(CudaError::Invalid(
                    "the step-size schedules are too long".into(),
                ));
            }
            sched_off.push(off);
        }
        Ok(Job {
            v: v as u32,
            d: d as u32,
            n: states.len() as u32,
            epochs,
            counts,
            row_totals,
            total: b.total,
            state,
            steps,
            hyper,
            lr,
            sched_off,
            bc1,
            bc2s,
            record_losses: record_losses && epochs > 0,
        })
    }

    /// Dynamic shared memory for this job, in bytes.
    pub fn shared_bytes(&self) -> u64 {
        shared_bytes(self.v as usize, self.d as usize)
    }

    /// Length of the `losses` buffer (0 when not recorded).
    pub fn losses_len(&self) -> usize {
        if self.record_losses {
            self.n as usize * self.epochs as usize
        } else {
            0
        }
    }

    /// Writes model `n`'s returned state into `m` and `opt`.
    pub fn unpack<const V: usize, const D: usize>(
        &self,
        out: &JobOutput,
        n: usize,
        m: &mut Model<V, D>,
        opt: &mut AdamW<V, D>,
    ) {
        let stride = 6 * (self.v * self.d) as usize;
        pull_state(&out.state[n * stride..(n + 1) * stride], m, opt);
        opt.step = out.steps[n];
    }

    /// Model `n`'s per-epoch losses (empty when not recorded).
    pub fn losses_of<'a>(&self, out: &'a JobOutput, n: usize) -> &'a [f32] {
        if self.record_losses {
            let e = self.epochs as usize;
            &out.losses[n * e..(n + 1) * e]
        } else {
            &[]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zl_core::{Vocab, SEED_TEXT};

    /// The kernel's step size, `(f32)(−(lr / bc1))` with bc1 from the host, must be the core's.
    #[test]
    fn step_size_from_bc1_is_the_cores_bit_for_bit() {
        for lr in [1e-3, 3e-4, 1e-2, 0.1, 7.5e-3] {
            for beta1 in [0.9, 0.8, 0.95] {
                let c = AdamWConfig {
                    lr,
                    beta1,
                    ..AdamWConfig::default()
                };
                for t in (1..=2_000).chain([9_999, 10_000, 65_536, 1_000_000, u32::MAX]) {
                    let ours = (-(lr / bias_correction1(beta1, t))) as f32;
                    let core = c.scalars(t).neg_step_size;
                    assert_eq!(
                        ours.to_bits(),
                        core.to_bits(),
                        "lr {lr} beta1 {beta1} t {t}"
                    );
                }
            }
        }
    }

    #[test]
    fn state_round_trips_through_the_row_major_layout() {
        let vocab = Vocab::seed();
        let tokens = vocab.encode(SEED_TEXT).map(|t| t.unwrap());
        let b = Bigrams::<32>::from_tokens(30, tokens).unwrap();
        let m = Model::<32, 20>::init_torch(7, 30, 16).unwrap();
        let mut opt = AdamW::new(AdamWConfig::default());
        opt.m.w_e[(3, 4)] = 1.5;
        opt.v.w_u[(5, 29)] = 2.5;
        opt.step = 9;
        let job = Job::new(&b, &[(&m, &opt)], 3, true).unwrap();
        assert_eq!(job.state.len(), 6 * 30 * 16);
        // Row-major: W_E[1][2] at 1*16 + 2, W_U[2][1] at 480 + 2*30 + 1.
        assert_eq!(job.state[18], m.w_e[(1, 2)]);
        assert_eq!(job.state[480 + 61], m.w_u[(2, 1)]);
        assert_eq!(job.state[960 + 3 * 16 + 4], 1.5);
        assert_eq!(job.state[4 * 480 + 480 + 5 * 30 + 29], 2.5);
        let out = JobOutput {
            state: job.state.clone(),
            steps: vec![12],
            losses: vec![0.0; 3],
            final_loss: vec![0.0],
            kernel_time: Duration::ZERO,
        };
        let (mut m2, mut opt2) = (
            Model::<32, 20>::zeros(30, 16).unwrap(),
            AdamW::new(opt.config),
        );
        job.unpack(&out, 0, &mut m2, &mut opt2);
        assert_eq!(m2, m);
        assert_eq!(
            (opt2.m.clone(), opt2.v.clone(), opt2.step),
            (opt.m, opt.v, 12)
        );
        assert_eq!(shared_bytes(30, 16), 26_768);
        assert_eq!(job.bc1.len(), 3);
        assert_eq!(job.bc2s[0], opt.config.scalars(10).bias_correction2_sqrt);
    }
}
