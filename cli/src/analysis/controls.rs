//! The models an analysis measures a model by, trained on the backend: the same model untrained
//! and trained on a shuffled text (the controls), the gap against the epoch, and the same
//! training at other widths (the refits and the wider model).

use std::{ops::ControlFlow, sync::Mutex};

use anyhow::{Context, Result};
use zl_core::{interpret::Decomposition, AdamWConfig, TrainConfig};

use super::{
    decompose,
    sweep::{self, Budget, UntilGap},
    verdict::{NotRetrained, Wider},
    ControlWeights, GapCurve,
};
use crate::{
    backend::{capacity::MAX_D_MODEL, Backend, Job, Trained},
    data::corpus::Corpus,
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

/// The work budget of the wider model, in multiply-adds (an epoch costs about `6·v²·d`): the
/// seed text's d_model 30 at 10^4 epochs costs 1.6·10^9, GPL-3's (76 characters) d_model 64
/// 2.2·10^10, about half a second on one AVX-512 core.
const WIDER_WORK: f64 = 1e11;

/// The models retrained beside one: at other widths, with its settings and budget.
pub struct Retrained {
    /// At d_model 1..=16, the powers of two below d_model and d_model itself (the same run as
    /// the model's, bit for bit): each width's decomposition; or why they were not trained.
    pub refits: Result<Vec<(usize, Decomposition)>, NotRetrained>,
    /// The wider model, or why there is none.
    pub wider: Result<Wider, NotRetrained>,
}

/// The wider model's width for `job` on `v` tokens: the full rank V, within the widest zl
/// trains and `backend` holds, and within [`WIDER_WORK`] at the job's epochs. `Err` says why
/// none is wider than the job's own d_model.
pub fn wider_width(backend: &Backend, v: usize, job: &Job) -> Result<usize, NotRetrained> {
    let d = job.d_model;
    if d >= v {
        return Err(NotRetrained::FullRank {
            d_model: d,
            vocab: v,
        });
    }
    let fits = (d + 1..=v.min(MAX_D_MODEL))
        .rev()
        .find(|&w| backend.check_size(v, w).is_ok())
        .ok_or(NotRetrained::WidestAlready { d_model: d })?;
    let epochs = job.config.epochs.max(1) as f64;
    let affordable = (WIDER_WORK / (6.0 * (v * v) as f64 * epochs)) as usize;
    match fits.min(affordable) {
        w if w > d => Ok(w),
        widest => Err(NotRetrained::OverBudget {
            epochs: job.config.epochs,
            widest,
        }),
    }
}

/// The models retrained beside the one `job` trained: at the refit widths (within
/// [`GAP_CURVE_WORK`]) and the wider one ([`wider_width`]), in one request to the backend. Not
/// on the PTX interpreter, nor where the model's settings are not `recorded`.
pub fn retrain(backend: &Backend, corpus: &Corpus, job: Job, recorded: bool) -> Result<Retrained> {
    let skip = match (backend.is_simulator(), recorded) {
        (true, _) => Some(NotRetrained::Simulator),
        (false, false) => Some(NotRetrained::SettingsNotRecorded),
        (false, true) => None,
    };
    if let Some(why) = skip {
        return Ok(Retrained {
            refits: Err(why),
            wider: Err(why),
        });
    }
    let (v, d) = (corpus.vocab.len(), job.d_model);
    let mut sizes: Vec<usize> = (1..=16).collect();
    sizes.extend((5..=6).map(|p| 1usize << p).filter(|&k| k < d));
    sizes.push(d);
    sizes.sort_unstable();
    sizes.dedup();
    let cost = |k: usize| 6.0 * (v * v) as f64 * k as f64 * job.config.epochs as f64;
    let within = |upto: &[usize]| upto.iter().map(|&k| cost(k)).sum::<f64>() <= GAP_CURVE_WORK;
    let refit_sizes = match within(&sizes) {
        true => Ok(sizes),
        false => Err(NotRetrained::OverBudget {
            epochs: job.config.epochs,
            widest: (1..=16).take_while(|&k| within(&sizes[..k])).count(),
        }),
    };
    let wider = wider_width(backend, v, &job);
    let mut widths = refit_sizes.clone().unwrap_or_default();
    if let Ok(w) = wider {
        if !widths.contains(&w) {
            widths.push(w);
        }
    }
    let jobs: Vec<Job> = widths
        .iter()
        .map(|&d_model| Job { d_model, ..job })
        .collect();
    let runs = match jobs.is_empty() {
        true => vec![],
        false => backend
            .train(corpus, &jobs, false)
            .context("retraining at other widths")?,
    };
    let at = |w: usize| -> Result<Decomposition> {
        let t = runs
            .iter()
            .find(|t| t.job.d_model == w)
            .expect("every width trained");
        decompose(&t.weights, corpus)
    };
    Ok(Retrained {
        refits: match refit_sizes {
            Ok(sizes) => Ok(sizes
                .iter()
                .map(|&k| Ok((k, at(k)?)))
                .collect::<Result<Vec<_>>>()?),
            Err(why) => Err(why),
        },
        wider: match wider {
            Ok(w) => Ok(Wider {
                d_model: w,
                gap: at(w)?.kl_weighted,
            }),
            Err(why) => Err(why),
        },
    })
}

/// The most epochs the `--full` minimum-width search trains a width for: the budget at which
/// the seed text's gaps were measured (0.23 nats at d_model 3, 0.042 at 4, 9.2e-5 at 5).
const MINIMUM_MAX_EPOCHS: u32 = 300_000;
/// Its work budget, in multiply-adds (`6·v²·d` an epoch, summed over the widths), were no width
/// to reach the tolerance. The seed text gets its 3·10^5 epochs within it (measured: 11 s of CPU
/// time for the whole `zl interpret --full`); GPL-3 (76 characters) gets 1.06·10^5 (at 3·10^5 it
/// took 200 s of CPU time: small widths cost more than `6·v²·d`, their exps dominate).
const MINIMUM_WORK: f64 = 5e11;

/// The widths the minimum is searched among: 1 to 16 and the job's own.
fn minimum_sizes(d: usize) -> Vec<usize> {
    let mut sizes: Vec<usize> = (1..=16).collect();
    if d > 16 {
        sizes.push(d);
    }
    sizes
}

/// `zl sweep --until-gap`'s search for the narrowest width that reaches `tolerance`: each
/// width of [`minimum_sizes`], with the job's settings, until its gap is at most `tolerance` or
/// [`MINIMUM_MAX_EPOCHS`] have run (fewer where [`MINIMUM_WORK`] says so; never fewer than the
/// job's own epochs).
pub fn minimum_until_gap(
    backend: &Backend,
    corpus: &Corpus,
    job: Job,
    tolerance: f64,
) -> Result<UntilGap> {
    let sizes = minimum_sizes(job.d_model);
    let v = corpus.vocab.len() as f64;
    let per_epoch: f64 = sizes.iter().map(|&k| 6.0 * v * v * k as f64).sum();
    let affordable = (MINIMUM_WORK / per_epoch).min(MINIMUM_MAX_EPOCHS as f64) as u32;
    let budget = Budget {
        // The sweep stops a run below EPS; the next float up makes that "at most".
        eps: f64::from_bits(tolerance.to_bits() + 1),
        max_epochs: affordable.max(job.config.epochs),
        seeds: vec![job.config.seed],
    };
    sweep::until_gap(backend, corpus, &sizes, job.config, budget)
        .context("searching for the narrowest width")
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
