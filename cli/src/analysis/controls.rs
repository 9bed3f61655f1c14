//! The models an analysis measures a model by, trained on the backend with the model's own
//! settings: the same model untrained and trained on shuffled texts (the controls, each a small
//! null distribution), the gap against the epoch, the same training at other widths (the
//! refits and the wider model), and the same run from other seeds.

use std::{ops::ControlFlow, sync::Mutex};

use anyhow::{Context, Result};
use zl_core::{interpret::Decomposition, AdamWConfig, TrainConfig};

use super::{
    decompose,
    mechanism::NotReplicated,
    sweep::{self, Budget, UntilGap},
    verdict::{NotRetrained, Wider},
    ControlWeights, ControlWhat, GapCurve,
};
use crate::{
    backend::{Backend, Job, Trained},
    data::{
        corpus::{Corpus, Source},
        files::Weights,
    },
};

/// The `--full` gap curve's work budget, in multiply-adds (each epoch costs about `6·v²·d`):
/// 10^5 epochs for the seed text (about 0.2 s on one AVX-512 core for each of the two runs),
/// fewer for a large vocabulary, never fewer than [`GAP_CURVE_MIN_EPOCHS`]; also the refits'
/// budget.
const GAP_CURVE_WORK: f64 = 1e11;
const GAP_CURVE_MAX_EPOCHS: u32 = 100_000;
const GAP_CURVE_MIN_EPOCHS: u32 = 10_000;

/// The untrained control's null distribution: zl-core's, which the page's module trains by too.
pub use zl_core::verdict::UNTRAINED_SEEDS;

/// How many shuffled controls zl-core's rule allows for `job` on `v` tokens.
pub fn shuffles(v: usize, job: Job) -> usize {
    zl_core::verdict::shuffles(v, job.d_model, job.config.epochs)
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
            let wider = wider_width(corpus.vocab.len(), &self.job, &|_| true);
            total += wider.map_or(0, |w| run(w, self.job.config.epochs));
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

/// The models measured beside one: its controls, and with [`Plan::retrain`] its gap curve, its
/// refits and the wider model.
pub struct Trainings {
    pub controls: ControlWeights,
    pub gap_curve: Option<GapCurve>,
    pub retrained: Retrained,
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
    let not_retrained = match backend.is_simulator() {
        true => NotRetrained::Simulator,
        false => NotRetrained::SettingsNotRecorded,
    };
    let refits = || match plan.retrain {
        true => retrain(backend, corpus, job, tick),
        false => Ok(Retrained {
            refits: Err(not_retrained),
            wider: Err(not_retrained),
        }),
    };
    // Each from a thread of its own (see Backend::train_groups): the runs share rayon's pool. A
    // GPU takes one launch after another.
    let (shuffled, gap_curve, retrained) = if matches!(backend, Backend::Cpu(_)) {
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
    Ok(Trainings {
        controls: ControlWeights {
            untrained_what: ControlWhat::Untrained {
                seed: job.config.seed,
                beside: (
                    job.config.seed.wrapping_add(1),
                    job.config.seed.wrapping_add(UNTRAINED_SEEDS - 1),
                ),
            },
            shuffled_what: ControlWhat::Shuffled {
                config: job.config,
                text: Source::Shuffled {
                    of: corpus.source.to_string(),
                    seed: 0,
                },
                more: n - 1,
            },
            untrained,
            shuffled,
        },
        gap_curve: gap_curve?,
        retrained: retrained?,
    })
}

/// Trains `jobs` (of equal epochs) in segments of about [`SEGMENT_WORK`], ticking each.
pub(crate) fn ticking(
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
pub(crate) const SEGMENT_WORK: u64 = 200_000_000;

/// Where a run of `v` tokens × `d_model` that must stop at `ends` (ascending) is cut: at each of
/// `ends` and, between them, every [`SEGMENT_WORK`], for the progress ticks.
pub(crate) fn segment_ends(v: u64, d_model: usize, ends: &[u32]) -> Vec<u32> {
    let len = ((SEGMENT_WORK / (v * v * d_model as u64)) as u32).max(1);
    let last = ends.last().copied().unwrap_or(0);
    let mut segments: Vec<u32> = (1..)
        .map(|k: u32| k.saturating_mul(len))
        .take_while(|&e| e < last)
        .chain(ends.iter().copied())
        .collect();
    segments.sort_unstable();
    segments.dedup();
    segments
}

/// The models retrained beside one: at other widths, with its settings and budget.
pub struct Retrained {
    /// At [`refit_sizes`] (d_model itself is the same run as the model's, bit for bit): each
    /// width's decomposition; or why they were not trained.
    pub refits: Result<Vec<(usize, Decomposition)>, NotRetrained>,
    /// The wider model, or why there is none.
    pub wider: Result<Wider, NotRetrained>,
}

/// The wider model's width for `job` on `v` tokens, by zl-core's rule within what the backend
/// holds (`fits`). `Err` says why none is wider than the job's own d_model.
pub fn wider_width(
    v: usize,
    job: &Job,
    fits: &dyn Fn(usize) -> bool,
) -> Result<usize, NotRetrained> {
    zl_core::verdict::wider_width(v, job.d_model, job.config.epochs, fits)
}

/// The widths [`retrain`] refits at: every size up to 16 (where the minimum width is searched),
/// then powers of two below d and d; `Err` past [`GAP_CURVE_WORK`].
fn refit_sizes(corpus: &Corpus, job: Job) -> Result<Vec<usize>, NotRetrained> {
    let d = job.d_model;
    let mut sizes: Vec<usize> = (1..=16).collect();
    sizes.extend((5..=6).map(|p| 1usize << p).filter(|&k| k < d));
    sizes.push(d);
    sizes.sort_unstable();
    sizes.dedup();
    let v = corpus.vocab.len() as f64;
    let cost = |k: usize| 6.0 * v * v * k as f64 * job.config.epochs as f64;
    let within = |upto: &[usize]| upto.iter().map(|&k| cost(k)).sum::<f64>() <= GAP_CURVE_WORK;
    match within(&sizes) {
        true => Ok(sizes),
        false => Err(NotRetrained::OverBudget {
            epochs: job.config.epochs,
            widest: (1..=16).take_while(|&k| within(&sizes[..k])).count(),
        }),
    }
}

/// The models retrained with the job's settings at [`refit_sizes`] and at [`wider_width`], in
/// one request to the backend.
pub fn retrain(backend: &Backend, corpus: &Corpus, job: Job, tick: &Tick<'_>) -> Result<Retrained> {
    let sizes = refit_sizes(corpus, job);
    let fits = |w: usize| backend.check_size(corpus.vocab.len(), w).is_ok();
    let wider = wider_width(corpus.vocab.len(), &job, &fits);
    let mut widths = sizes.clone().unwrap_or_default();
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
        false => ticking(backend, corpus, &jobs, tick).context("retraining at other widths")?,
    };
    let at = |w: usize| -> Result<Decomposition> {
        let t = runs
            .iter()
            .find(|t| t.job.d_model == w)
            .expect("every width trained");
        decompose(&t.weights, corpus)
    };
    Ok(Retrained {
        refits: match sizes {
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
    let segments = segment_ends(v, job.d_model, ends);
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
