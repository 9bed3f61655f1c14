//! The models an analysis measures a model by, trained on the backend with the model's own
//! settings: the same model untrained and trained on shuffled texts (the controls, each a small
//! null distribution), the gap against the epoch, and refits at smaller d_model.

use std::{ops::ControlFlow, sync::Mutex};

use anyhow::{Context, Result};
use zl_core::{AdamWConfig, TrainConfig};

use super::{decompose, ControlWeights, GapCurve};
use crate::{
    backend::{Backend, Job, Trained},
    data::{corpus::Corpus, files::Weights},
};

/// The `--full` gap curve's work budget, in multiply-adds (each epoch costs about `6·v²·d`):
/// 10^5 epochs for the seed text (about 0.2 s on one AVX-512 core for each of the two runs),
/// fewer for a large vocabulary, never fewer than [`GAP_CURVE_MIN_EPOCHS`]; also the refits'
/// budget.
const GAP_CURVE_WORK: f64 = 1e11;
const GAP_CURVE_MAX_EPOCHS: u32 = 100_000;
const GAP_CURVE_MIN_EPOCHS: u32 = 10_000;

/// The untrained control's null distribution: the model's `init_torch` at its own seed and the
/// next ones (no training, so many cost nothing).
pub const UNTRAINED_SEEDS: u64 = 8;

/// The shuffled control's null distribution: shuffles of the text (shuffle seed k, init seed the
/// model's + k; k = 0 is the model's own seed), each trained like the model. As many as
/// [`SHUFFLE_WORK`] multiply-adds allow (each epoch costs about `6·v²·d`), within [`SHUFFLES`]:
/// 4 on the seed run, 3 on GPL-3 at d_model 8.
pub const SHUFFLE_WORK: f64 = 1e10;
pub const SHUFFLES: (usize, usize) = (2, 4);

/// How many shuffles [`SHUFFLE_WORK`] allows for `job` on `v` tokens.
pub fn shuffles(v: usize, job: Job) -> usize {
    let per = 6.0 * (v * v * job.d_model) as f64 * f64::from(job.config.epochs.max(1));
    ((SHUFFLE_WORK / per) as usize).clamp(SHUFFLES.0, SHUFFLES.1)
}

/// Work done, in multiply-adds of an epoch (`v²·d`) times epochs: what a progress line counts.
pub type Tick<'a> = dyn Fn(u64) + Sync + 'a;

/// What [`train`] trains beside the model, and with what.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// The model's settings, which every model trained here takes.
    pub job: Job,
    /// Whether to train the gap curve and the refits: the settings are the model's own (a
    /// loaded file that records them, or a model trained here) on a backend fast enough.
    pub retrain: bool,
    /// The gap curve past the model's epochs (to [`GAP_CURVE_MAX_EPOCHS`] within
    /// [`GAP_CURVE_WORK`]), rather than to them.
    pub full: bool,
}

impl Plan {
    /// The total work [`train`] does, in [`Tick`]'s units.
    pub fn work(&self, corpus: &Corpus) -> u64 {
        let v = corpus.vocab.len() as u64;
        let run = |d: usize, epochs: u32| v * v * d as u64 * u64::from(epochs);
        let mut total = shuffles(corpus.vocab.len(), self.job) as u64
            * run(self.job.d_model, self.job.config.epochs);
        if self.retrain {
            total += 2 * run(
                self.job.d_model,
                *self.curve_ends(corpus).last().unwrap_or(&0),
            );
            total += refit_sizes(corpus, self.job).map_or(0, |s| {
                s.iter().map(|&d| run(d, self.job.config.epochs)).sum()
            });
        }
        total
    }

    /// The gap curve's epochs: roughly geometric (1, 2, 5, 10, …), and the model's epochs and
    /// half of them (the undertrained rule's last doubling), to the model's epochs, or with
    /// `full` to as many as [`GAP_CURVE_WORK`] allows (at least 10^4, at most 10^5).
    pub fn curve_ends(&self, corpus: &Corpus) -> Vec<u32> {
        let at = self.job.config.epochs;
        let max = if self.full {
            let (v, d) = (corpus.vocab.len() as f64, self.job.d_model as f64);
            let budget = (GAP_CURVE_WORK / (6.0 * v * v * d)) as u32;
            budget
                .clamp(GAP_CURVE_MIN_EPOCHS, GAP_CURVE_MAX_EPOCHS)
                .max(at)
        } else {
            at
        };
        let mut ends: Vec<u32> = (0..)
            .flat_map(|k| [1u32, 2, 5].map(|m| m.saturating_mul(10u32.saturating_pow(k))))
            .take_while(|&e| e < max)
            .chain([at / 2, at, max])
            .filter(|&e| e > 0)
            .collect();
        ends.sort_unstable();
        ends.dedup();
        ends
    }
}

/// The models measured beside one: its controls, and with [`Plan::retrain`] its gap curve and
/// refits.
pub struct Trainings {
    pub controls: ControlWeights,
    pub gap_curve: Option<GapCurve>,
    pub refit_losses: Option<Vec<(usize, f64)>>,
}

/// Trains what `plan` asks beside a model trained by `plan.job` on `corpus`, every run
/// independent of the others and all at once (the CPU's cores share them): the untrained
/// control at [`UNTRAINED_SEEDS`] seeds, [`shuffles`] shuffled controls, and with
/// [`Plan::retrain`] the gap curve and the refits. `tick` hears the work as it is done.
pub fn train(backend: &Backend, corpus: &Corpus, plan: Plan, tick: &Tick<'_>) -> Result<Trainings> {
    let job = plan.job;
    let untrained: Vec<Job> = (0..UNTRAINED_SEEDS)
        .map(|k| Job {
            config: TrainConfig {
                epochs: 0,
                seed: job.config.seed.wrapping_add(k),
                ..job.config
            },
            ..job
        })
        .collect();
    let untrained: Vec<Weights> = backend
        .train(corpus, &untrained, false)?
        .into_iter()
        .map(|t| t.weights)
        .collect();
    let shuffle = |k: usize| -> Result<Weights> {
        let text = corpus.shuffled(k as u64)?;
        let job = Job {
            config: TrainConfig {
                seed: job.config.seed.wrapping_add(k as u64),
                ..job.config
            },
            ..job
        };
        Ok(ticking(backend, &text, &[job], tick)
            .context("training the shuffled-text control")?
            .remove(0)
            .weights)
    };
    let n = shuffles(corpus.vocab.len(), job);
    let curve = || match plan.retrain {
        true => gap_curve(backend, corpus, job, &plan.curve_ends(corpus), tick).map(Some),
        false => Ok(None),
    };
    let refits = || match plan.retrain {
        true => refit(backend, corpus, job, tick),
        false => Ok(None),
    };
    // Each from a thread of its own (see Backend::train_groups): the runs share rayon's pool. A
    // GPU takes one launch after another.
    let (shuffled, gap_curve, refit_losses) = if matches!(backend, Backend::Cpu(_)) {
        std::thread::scope(|s| {
            let shuffled: Vec<_> = (0..n).map(|k| s.spawn(move || shuffle(k))).collect();
            let c = s.spawn(curve);
            let r = s.spawn(refits);
            let shuffled: Vec<Result<Weights>> = shuffled.into_iter().map(join).collect();
            (shuffled, join(c), join(r))
        })
    } else {
        ((0..n).map(shuffle).collect(), curve(), refits())
    };
    let shuffled = shuffled.into_iter().collect::<Result<Vec<_>>>()?;
    let first = corpus.shuffled(0)?;
    Ok(Trainings {
        controls: ControlWeights {
            untrained_what: format!(
                "the untrained model: init_torch(seed {}), epoch 0; beside it seeds {} to {}",
                job.config.seed,
                job.config.seed.wrapping_add(1),
                job.config.seed.wrapping_add(UNTRAINED_SEEDS - 1)
            ),
            shuffled_what: format!(
                "trained like the model (seed {}, {} epochs, AdamW lr {} weight decay {}) on {}, evaluated on the original text; beside it {} more shuffles",
                job.config.seed,
                job.config.epochs,
                job.config.adamw.lr,
                job.config.adamw.weight_decay,
                first.source,
                n - 1
            ),
            untrained,
            shuffled,
        },
        gap_curve: gap_curve?,
        refit_losses: refit_losses?,
    })
}

/// Trains `jobs` (of equal epochs) in segments of about [`SEGMENT_WORK`], ticking each.
fn ticking(
    backend: &Backend,
    corpus: &Corpus,
    jobs: &[Job],
    tick: &Tick<'_>,
) -> Result<Vec<Trained>> {
    let epochs = jobs.first().map_or(0, |j| j.config.epochs);
    let v = corpus.vocab.len() as u64;
    let widest = jobs.iter().map(|j| j.d_model).max().unwrap_or(1) as u64;
    let len = ((SEGMENT_WORK / (v * v * widest)) as u32).max(1);
    let mut ends: Vec<u32> = (1..)
        .map(|k: u32| k.saturating_mul(len))
        .take_while(|&e| e < epochs)
        .collect();
    ends.push(epochs);
    let done = Mutex::new(vec![0u32; jobs.len()]);
    let after = |n: usize, t: &Trained| {
        let e = t.job.config.epochs;
        let before = std::mem::replace(&mut done.lock().unwrap()[n], e);
        tick(v * v * t.job.d_model as u64 * u64::from(e - before));
        Ok(ControlFlow::Continue(()))
    };
    backend.train_segments(corpus, jobs, &ends, false, &after)
}

/// Work, in multiply-adds of an epoch times epochs, between two ticks of a run: a tenth of a
/// second or so on one core.
const SEGMENT_WORK: u64 = 200_000_000;

/// The widths [`refit`] retrains at: every size up to 16, then powers of two and d; `None` past
/// [`GAP_CURVE_WORK`].
fn refit_sizes(corpus: &Corpus, job: Job) -> Option<Vec<usize>> {
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
    (work <= GAP_CURVE_WORK).then_some(sizes)
}

/// The models retrained at [`refit_sizes`] with the job's settings, and their f64 losses; `None`
/// past [`GAP_CURVE_WORK`].
pub fn refit(
    backend: &Backend,
    corpus: &Corpus,
    job: Job,
    tick: &Tick<'_>,
) -> Result<Option<Vec<(usize, f64)>>> {
    let Some(sizes) = refit_sizes(corpus, job) else {
        return Ok(None);
    };
    let jobs: Vec<Job> = sizes
        .iter()
        .map(|&d_model| Job { d_model, ..job })
        .collect();
    let runs = ticking(backend, corpus, &jobs, tick).context("retraining at smaller d_model")?;
    runs.iter()
        .map(|t| Ok((t.job.d_model, decompose(&t.weights, corpus)?.model_loss)))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// The exact gap at `ends` (ascending), with the job's weight decay and without any.
pub fn gap_curve(
    backend: &Backend,
    corpus: &Corpus,
    job: Job,
    ends: &[u32],
    tick: &Tick<'_>,
) -> Result<GapCurve> {
    let v = corpus.vocab.len() as u64;
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
    // Segments at the curve's epochs and, between them, every SEGMENT_WORK, for the ticks.
    let len = ((SEGMENT_WORK / (v * v * job.d_model as u64)) as u32).max(1);
    let last = ends.last().copied().unwrap_or(0);
    let mut segments: Vec<u32> = (1..)
        .map(|k: u32| k.saturating_mul(len))
        .take_while(|&e| e < last)
        .chain(ends.iter().copied())
        .collect();
    segments.sort_unstable();
    segments.dedup();
    let gaps = Mutex::new(vec![vec![None; ends.len()]; 2]);
    let done = Mutex::new([0u32; 2]);
    let after = |n: usize, t: &Trained| {
        let e = t.job.config.epochs;
        let before = std::mem::replace(&mut done.lock().unwrap()[n], e);
        tick(v * v * job.d_model as u64 * u64::from(e - before));
        if let Some(at) = ends.iter().position(|&x| x == e) {
            let d = decompose(&t.weights, corpus)?;
            gaps.lock().unwrap()[n][at] = Some(d.kl_weighted);
        }
        Ok(ControlFlow::Continue(()))
    };
    backend
        .train_segments(corpus, &[job, without], &segments, false, &after)
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

/// A scoped thread's result, its panic passed on.
fn join<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
    h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
}
