//! The models an analysis measures a model by, trained on the backend: the same model untrained
//! and trained on a shuffled text (the controls), the gap against the epoch, refits at smaller
//! d_model, and the same run from other seeds.

use std::{ops::ControlFlow, sync::Mutex};

use anyhow::{Context, Result};
use zl_core::{AdamWConfig, TrainConfig};

use super::{decompose, mechanism::NotReplicated, ControlWeights, GapCurve};
use crate::{
    backend::{Backend, Job, Trained},
    data::{corpus::Corpus, files::Weights},
};

/// The seed of the shuffled-text control's shuffle.
const SHUFFLE_SEED: u64 = 0;

/// The gap-against-epoch curve's work budget, in multiply-adds (each epoch costs about
/// `6·v²·d`): 10^5 epochs for the seed text (about 0.2 s on one AVX-512 core for each of the
/// two runs), fewer for a large vocabulary, never fewer than [`GAP_CURVE_MIN_EPOCHS`].
const GAP_CURVE_WORK: f64 = 1e11;
const GAP_CURVE_MAX_EPOCHS: u32 = 100_000;
const GAP_CURVE_MIN_EPOCHS: u32 = 10_000;

/// The two controls of a model trained by `job` on `corpus`: its `init_torch` weights (epoch 0),
/// and the same training on the corpus shuffled. `settings` says the job's settings in words.
pub fn train(
    backend: &Backend,
    corpus: &Corpus,
    job: Job,
    settings: &str,
) -> Result<ControlWeights> {
    let untrained = Job {
        config: TrainConfig {
            epochs: 0,
            ..job.config
        },
        ..job
    };
    let untrained = backend
        .train(corpus, &[untrained], false)?
        .remove(0)
        .weights;
    let shuffled_text = corpus.shuffled(SHUFFLE_SEED)?;
    let shuffled = backend
        .train(&shuffled_text, &[job], false)
        .context("training the shuffled-text control")?
        .remove(0)
        .weights;
    Ok(ControlWeights {
        untrained: (
            untrained,
            format!(
                "the untrained model: init_torch(seed {}), epoch 0",
                job.config.seed
            ),
        ),
        shuffled: (
            shuffled,
            format!(
                "trained with {settings} on {}, evaluated on the original text",
                shuffled_text.source
            ),
        ),
    })
}

/// The models retrained at d_model 1..=d (every size up to 16, then powers of two and d), with
/// the job's settings, and their f64 losses; `None` past [`GAP_CURVE_WORK`].
pub fn refit(backend: &Backend, corpus: &Corpus, job: Job) -> Result<Option<Vec<(usize, f64)>>> {
    let d = job.d_model;
    let mut sizes: Vec<usize> = (1..=d.min(16)).collect();
    sizes.extend((5..=6).map(|p| 1usize << p).filter(|&k| k < d));
    if d > 16 {
        sizes.push(d);
    }
    let v = corpus.vocab.len() as f64;
    let work: f64 = sizes
        .iter()
        .map(|&k| 6.0 * v * v * k as f64 * job.config.epochs as f64)
        .sum();
    if work > GAP_CURVE_WORK {
        return Ok(None);
    }
    let jobs: Vec<Job> = sizes
        .iter()
        .map(|&d_model| Job { d_model, ..job })
        .collect();
    let runs = backend
        .train(corpus, &jobs, false)
        .context("retraining at smaller d_model")?;
    runs.iter()
        .map(|t| Ok((t.job.d_model, decompose(&t.weights, corpus)?.model_loss)))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// The exact gap at roughly geometric epochs, to as many epochs as [`GAP_CURVE_WORK`] allows
/// (at least 10^4, at most 10^5), with the job's weight decay and without any.
pub fn gap_curve(backend: &Backend, corpus: &Corpus, job: Job) -> Result<GapCurve> {
    let (v, d) = (corpus.vocab.len() as f64, job.d_model as f64);
    let budget = (GAP_CURVE_WORK / (6.0 * v * v * d)) as u32;
    let max = budget.clamp(GAP_CURVE_MIN_EPOCHS, GAP_CURVE_MAX_EPOCHS);
    let mut ends: Vec<u32> = (0..)
        .flat_map(|k| [1u32, 2, 5].map(|m| m.saturating_mul(10u32.saturating_pow(k))))
        .take_while(|&e| e < max)
        .collect();
    ends.push(max);
    let wd = job.config.adamw.weight_decay;
    let without = Job {
        config: TrainConfig {
            adamw: AdamWConfig {
                weight_decay: 0.0,
                ..job.config.adamw
            },
            ..job.config
        },
        ..job
    };
    let gaps = Mutex::new(vec![vec![None; ends.len()]; 2]);
    let after = |n: usize, t: &Trained| {
        let d = decompose(&t.weights, corpus)?;
        if let Some(at) = ends.iter().position(|&e| e == t.job.config.epochs) {
            gaps.lock().unwrap()[n][at] = Some(d.kl_weighted);
        }
        Ok(ControlFlow::Continue(()))
    };
    backend
        .train_segments(corpus, &[job, without], &ends, false, &after)
        .context("training the gap-against-epoch runs")?;
    let gaps = gaps.into_inner().unwrap();
    Ok(GapCurve {
        weight_decay: wd,
        points: ends
            .iter()
            .enumerate()
            .filter_map(|(k, &e)| Some((e, gaps[0][k]?, gaps[1][k]?)))
            .collect(),
    })
}

/// Seed replication's work budget, in multiply-adds (each epoch costs about `6·v²·d`): 7 more
/// runs of the seed text (0.6·10^10) or of GPL-3 at d_model 8 (1.9·10^10) fit, about a second
/// of one core; past it, fewer seeds are trained, and none where one does not fit.
pub const REPLICATION_WORK: f64 = 4e10;

/// The model `job` trains retrained from the next `seeds − 1` seeds (`seed+1`, `seed+2`, …) with
/// the same settings and budget, all in one batch (in parallel where the backend can), as many
/// as [`REPLICATION_WORK`] allows; or why not: `job` is `None` where the model's settings are not
/// known, `seeds` 0 where none were asked for.
pub fn replicas(
    backend: &Backend,
    corpus: &Corpus,
    job: Option<Job>,
    seeds: usize,
) -> Result<Result<Vec<Weights>, NotReplicated>> {
    let job = match job {
        _ if seeds == 0 => return Ok(Err(NotReplicated::NotAsked)),
        None => return Ok(Err(NotReplicated::SettingsUnknown)),
        Some(_) if backend.is_simulator() => return Ok(Err(NotReplicated::Simulator)),
        Some(job) => job,
    };
    let v = corpus.vocab.len() as f64;
    let work = 6.0 * v * v * job.d_model as f64 * job.config.epochs as f64;
    let more = ((REPLICATION_WORK / work.max(1.0)) as usize).min(seeds.saturating_sub(1));
    if more == 0 {
        return Ok(Err(NotReplicated::OverBudget {
            work,
            budget: REPLICATION_WORK,
        }));
    }
    let jobs: Vec<Job> = (1..=more as u64)
        .map(|k| Job {
            config: TrainConfig {
                seed: job.config.seed.wrapping_add(k),
                ..job.config
            },
            ..job
        })
        .collect();
    let runs = backend
        .train(corpus, &jobs, false)
        .context("retraining from other seeds")?;
    Ok(Ok(runs.into_iter().map(|t| t.weights).collect()))
}
