//! The CUDA backend: zl-cuda's kernels on a GPU, or the same kernel text and host code in the PTX
//! interpreter (ptxsim). A model that fits one block's shared memory trains with
//! kernels/train.ptx, one launch a whole batch, one block per model, every epoch; a larger one
//! with kernels/big.ptx's tiles (`Device::step_big`), several launches an epoch, one model after
//! another. Either way every epoch runs and the divergence rule is then applied to what returns.

use anyhow::Result;
use zl_core::{
    big::{Pair, State},
    Bigrams, Csr, Grads, Trainer,
};
use zl_cuda::Device;

use super::{Backend, Diverged, Run};

pub(super) fn open_gpu() -> Result<Backend> {
    Device::open()
        .map(Backend::Cuda)
        .map_err(|e| anyhow::anyhow!("--backend cuda: {e}"))
}

pub(super) fn open_simulator() -> Result<Backend> {
    Device::simulated()
        .map(Backend::Cuda)
        .map_err(|e| anyhow::anyhow!("--backend ptxsim: {e}"))
}

/// Whether the model can train here: in one block's shared memory, or else in tiles.
pub(super) fn check_size(dev: &Device, vocab_len: usize, d_model: usize) -> Result<()> {
    dev.check_size(vocab_len, d_model)
        .or_else(|_| dev.check_big_size(vocab_len, d_model))
        .map_err(|e| anyhow::anyhow!("--backend {}: {e}", name(dev)))
}

/// `ptxsim` for the interpreter, else `cuda`.
pub(super) fn name(dev: &Device) -> &'static str {
    if dev.is_simulated() {
        "ptxsim"
    } else {
        "cuda"
    }
}

/// Host memory for one launch's trainers, in bytes. A launch keeps a copy of its models'
/// starting states (to retrain a diverged one with its losses), so that a batch of 2^20 seed
/// models runs in launches of 65,536 and a batch of 256×64 models in launches of about 900,
/// rather than needing tens of GB at once (by arithmetic: size_of::<Trainer<V, D>>() each).
const LAUNCH_BYTES: usize = 1 << 30;
/// The most models in one launch.
const MODELS_PER_LAUNCH: usize = 1 << 16;

pub(super) fn train_states<const V: usize, const D: usize>(
    dev: &Device,
    b: &Bigrams<V>,
    trainers: Vec<Trainer<V, D>>,
    epochs: u32,
    record: bool,
) -> Result<Vec<Run<V, D>>> {
    let Some(first) = trainers.first() else {
        return Ok(vec![]);
    };
    if dev
        .check_size(b.vocab_len(), first.model.d_model())
        .is_err()
    {
        return train_tiled(dev, b, trainers, epochs, record);
    }
    let per_launch =
        (LAUNCH_BYTES / std::mem::size_of::<Trainer<V, D>>()).clamp(1, MODELS_PER_LAUNCH);
    let mut runs = Vec::with_capacity(trainers.len());
    let mut rest = trainers;
    while !rest.is_empty() {
        let tail = rest.split_off(per_launch.min(rest.len()));
        let mut chunk = rest;
        rest = tail;
        let start = chunk.clone();
        let stepped = dev
            .step_recording(b, &mut chunk, epochs, record)
            .map_err(|e| anyhow::anyhow!("--backend {}: {e}", name(dev)))?;
        let seconds = stepped.kernel_time.as_secs_f64();
        for (n, ((trainer, losses), final_loss)) in chunk
            .into_iter()
            .zip(stepped.losses)
            .zip(stepped.final_losses)
            .enumerate()
        {
            let run = Run {
                trainer,
                losses,
                final_loss,
                seconds,
            };
            let model = runs.len();
            if let Some(mut d) = diverged(&run, epochs) {
                d.model = model;
                return Err(d.into());
            }
            if !run.is_finite() {
                // Without recorded losses the epoch is unknown: that model again, alone, with
                // them, so that the error names its epoch as the CPU backend's does.
                let mut again = vec![start[n].clone()];
                let s = dev
                    .step_recording(b, &mut again, epochs, true)
                    .map_err(|e| anyhow::anyhow!("--backend {}: {e}", name(dev)))?;
                let alone = Run {
                    trainer: again.remove(0),
                    losses: s.losses.into_iter().next().unwrap_or_default(),
                    final_loss: s.final_losses[0],
                    seconds,
                };
                let mut d = diverged(&alone, epochs).ok_or_else(|| {
                    anyhow::anyhow!(
                        "model {model}: its final loss in the batch was {} but alone it stayed finite",
                        run.final_loss
                    )
                })?;
                d.model = model;
                return Err(d.into());
            }
            runs.push(run);
        }
    }
    Ok(runs)
}

/// One model of any size through the tiled kernels: `state` advanced by `epochs` epochs (every
/// one runs), with each epoch's loss and the final loss, for the caller's divergence rule.
pub(super) fn step_big(
    dev: &Device,
    counts: &Csr,
    state: &mut State<'_>,
    epochs: u32,
) -> Result<zl_cuda::BigRun> {
    dev.step_big(counts, state, epochs)
        .map_err(|e| anyhow::anyhow!("--backend {}: {e}", name(dev)))
}

/// One model beyond the capacity tiers through the tiled kernels, `epochs` epochs from its
/// state: its losses (when `record`), the loss after the last update and the launches' seconds.
/// A diverged model is model 0 of the error ([`Diverged`]).
pub(super) fn train_big(
    dev: &Device,
    b: &Csr<'_>,
    m: &mut zl_lanes::BigModel,
    epochs: u32,
    record: bool,
) -> Result<(Vec<f32>, f32, f64)> {
    let ran = step_big(dev, b, &mut m.state(), epochs)?;
    let end_finite = ran.final_loss.is_finite() && m.state().is_finite();
    if let Some(d) = diverged_at(&ran.losses, ran.final_loss, end_finite, m.adamw.lr, epochs) {
        return Err(d.into());
    }
    let losses = if record { ran.losses } else { vec![] };
    Ok((losses, ran.final_loss, ran.kernel_time.as_secs_f64()))
}

/// Models past one block's shared memory: each in its turn through the tiled kernels, from and
/// back to its `Trainer` state.
fn train_tiled<const V: usize, const D: usize>(
    dev: &Device,
    b: &Bigrams<V>,
    trainers: Vec<Trainer<V, D>>,
    epochs: u32,
    record: bool,
) -> Result<Vec<Run<V, D>>> {
    let v = b.vocab_len();
    let (row_start, col, count) = zl_core::interpret::Counts::of_bigrams(b).sparse();
    let csr = Csr::new(v, &row_start, &col, &count)
        .map_err(|e| anyhow::anyhow!("the bigram counts as sparse rows: {e:?}"))?;
    let mut runs = Vec::with_capacity(trainers.len());
    for (model, mut trainer) in trainers.into_iter().enumerate() {
        let (v, d) = (trainer.model.vocab_len(), trainer.model.d_model());
        let mut w = row_major(&trainer);
        let ran = {
            let [we, wu, me, mu, ve, vu] = &mut w;
            let mut state = State {
                d_model: d,
                weights: Pair { w_e: we, w_u: wu },
                m: Pair { w_e: me, w_u: mu },
                v: Pair { w_e: ve, w_u: vu },
                step: &mut trainer.opt.step,
                adamw: trainer.opt.config,
            };
            step_big(dev, &csr, &mut state, epochs)?
        };
        trainer.model = zl_core::Model::from_row_major(v, d, &w[0], &w[1])?;
        put(&w[2], &w[3], &mut trainer.opt.m, v, d);
        put(&w[4], &w[5], &mut trainer.opt.v, v, d);
        let mut run = Run {
            trainer,
            losses: ran.losses,
            final_loss: ran.final_loss,
            seconds: ran.kernel_time.as_secs_f64(),
        };
        if let Some(mut d) = diverged(&run, epochs) {
            d.model = model;
            return Err(d.into());
        }
        if !record {
            run.losses.clear();
        }
        runs.push(run);
    }
    Ok(runs)
}

/// A trainer's W_E, W_U, m_E, m_U, v_E and v_U, row-major over its own size, as zl-core's `big`
/// takes them.
fn row_major<const V: usize, const D: usize>(t: &Trainer<V, D>) -> [Vec<f32>; 6] {
    let (v, d) = (t.model.vocab_len(), t.model.d_model());
    let e = |g: &Grads<V, D>| (0..v * d).map(|n| g.w_e[(n / d, n % d)]).collect();
    let u = |g: &Grads<V, D>| (0..d * v).map(|n| g.w_u[(n / v, n % v)]).collect();
    let m = &t.model;
    [
        m.w_e_row_major().collect(),
        m.w_u_row_major().collect(),
        e(&t.opt.m),
        u(&t.opt.m),
        e(&t.opt.v),
        u(&t.opt.v),
    ]
}

/// Row-major `w_e` (v×d) and `w_u` (d×v) into `g`.
fn put<const V: usize, const D: usize>(
    w_e: &[f32],
    w_u: &[f32],
    g: &mut Grads<V, D>,
    v: usize,
    d: usize,
) {
    for n in 0..v * d {
        g.w_e[(n / d, n % d)] = w_e[n];
        g.w_u[(n / v, n % v)] = w_u[n];
    }
}

impl<const V: usize, const D: usize> Run<V, D> {
    fn is_finite(&self) -> bool {
        self.final_loss.is_finite() && self.trainer.model.is_finite()
    }
}

/// zl-core's divergence rule after the fact (`Diverged::after_the_fact`), with what the error
/// line names.
fn diverged<const V: usize, const D: usize>(run: &Run<V, D>, epochs: u32) -> Option<Diverged> {
    let lr = run.trainer.opt.config.lr;
    diverged_at(&run.losses, run.final_loss, run.is_finite(), lr, epochs)
}

/// The same rule over a run's losses, its final loss and whether its end (the final loss and
/// every weight) is finite.
fn diverged_at(
    losses: &[f32],
    final_loss: f32,
    end_finite: bool,
    lr: f64,
    epochs: u32,
) -> Option<Diverged> {
    let d = zl_core::Diverged::after_the_fact(losses, final_loss, end_finite, epochs)?;
    Some(Diverged {
        model: 0,
        at: d,
        previous: d.epoch.checked_sub(1).map(|p| losses[p as usize]),
        lr,
    })
}
