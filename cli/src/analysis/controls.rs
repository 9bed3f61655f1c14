//! The models an analysis measures a model by, trained on the backend with the model's own
//! settings: the same model untrained and trained on shuffled texts (the controls, each a small
//! null distribution), the gap against the epoch, the same training at other widths (the
//! refits and the wider model), and the same run from other seeds. The training every
//! interpretation shares (the dense one here, the large-V one in [`super::large_retrain`]): runs
//! cut into segments that a progress line hears, the shuffled control, a run at other widths,
//! the gap curve's epochs and the widths the minimum is searched among, each within a budget the
//! caller states.

use std::{ops::ControlFlow, sync::Mutex};

use anyhow::{Context, Result};
use zl_core::{
    interpret::Decomposition,
    verdict::{shuffles, wider_width},
};

use super::{
    decompose,
    heldout::HeldOut,
    mechanism::NotReplicated,
    sweep::{self, Budget, UntilGap},
    verdict::{small_gap, NotRetrained, Wider},
    Beside, ControlWeights, ControlWhat, GapCurve, Replicas, Training,
};
use crate::{
    backend::{After, Backend, Job, Trained},
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

/// The work of training a `d`-wide model over `v` tokens for `epochs` epochs, in `v²·d·epochs`:
/// the multiply-adds of the logits over the epochs (an epoch also costs v² exps and both
/// gradient products, a fixed multiple of that). What a progress line counts.
pub fn work(v: usize, d: usize, epochs: u32) -> f64 {
    (v as f64) * (v as f64) * (d as f64) * f64::from(epochs)
}

/// Work done, in [`work`]'s units: what a progress line hears.
pub type Tick<'a> = dyn Fn(u64) + Sync + 'a;

/// Work, in [`work`]'s units, that a segment of a run holds at least, so that a run logged
/// every epoch does not pay a segment's overhead every epoch; and at most, so that a progress
/// line moves and Ctrl-C is heard within a fraction of a second on one core.
const SEGMENT_MIN_WORK: f64 = 5e6;
const SEGMENT_MAX_WORK: f64 = 5e8;

/// Where a run of a `v`-token, `d`-wide model that must stop at `ends` (ascending; the last is
/// its end) is cut: at each of `ends` and between them at multiples of the logging interval
/// `log_every` (several together where each is cheap), never more than [`SEGMENT_MAX_WORK`]
/// apart.
pub fn segment_ends(ends: &[u32], log_every: u32, v: usize, d: usize) -> Vec<u32> {
    let per_epoch = (v * v * d).max(1) as f64;
    let max = ((SEGMENT_MAX_WORK / per_epoch) as u32).max(1);
    let min = ((SEGMENT_MIN_WORK / per_epoch) as u32).max(1);
    let log = log_every.max(1);
    let len = if log >= max {
        max
    } else {
        (log * min.div_ceil(log)).min(log * (max / log).max(1))
    };
    let mut segments = every(len, ends.last().copied().unwrap_or(0));
    segments.extend(ends);
    segments.sort_unstable();
    segments.dedup();
    segments
}

/// The multiples of `len` below `last`, and `last`.
pub fn every(len: u32, last: u32) -> Vec<u32> {
    let mut ends: Vec<u32> = (1..)
        .map(|k: u32| k.saturating_mul(len))
        .take_while(|&e| e < last)
        .collect();
    ends.push(last);
    ends
}

/// Trains `jobs` from `init_torch` to the last of `ends` (ascending), `at(job, trained)` seeing
/// each at each of `ends` (a job stops where it breaks). With `tick`, the runs are cut also every
/// [`SEGMENT_MAX_WORK`] and `tick` hears each job's work as it is done. The segments continue one
/// trainer state (weights, moments, step count), so the runs are bit for bit unsegmented ones.
pub fn segmented(
    backend: &Backend,
    corpus: &Corpus,
    jobs: &[Job],
    ends: &[u32],
    record: bool,
    tick: Option<&Tick<'_>>,
    at: &After<'_>,
) -> Result<Vec<Trained>> {
    let v = corpus.vocab.len();
    let widest = jobs.iter().map(|j| j.d_model).max().unwrap_or(1);
    let segments = match tick {
        Some(_) => segment_ends(ends, u32::MAX, v, widest),
        None => ends.to_vec(),
    };
    let done = Mutex::new(vec![0u32; jobs.len()]);
    let after = |n: usize, t: &Trained| {
        let e = t.job.config.epochs;
        if let Some(tick) = tick {
            let before = std::mem::replace(&mut done.lock().unwrap()[n], e);
            tick(work(v, t.job.d_model, e - before) as u64);
        }
        match ends.contains(&e) {
            true => at(n, t),
            false => Ok(ControlFlow::Continue(())),
        }
    };
    backend.train_segments(corpus, jobs, &segments, record, &after)
}

/// [`segmented`] to the jobs' epochs (all equal), `tick` hearing the work.
fn ticking(
    backend: &Backend,
    corpus: &Corpus,
    jobs: &[Job],
    tick: &Tick<'_>,
) -> Result<Vec<Trained>> {
    let epochs = jobs.first().map_or(0, |j| j.config.epochs);
    let go_on = |_: usize, _: &Trained| Ok(ControlFlow::Continue(()));
    segmented(backend, corpus, jobs, &[epochs], false, Some(tick), &go_on)
}

/// The model `job` on `corpus` (its losses recorded with `record`), `tick` hearing it, and its
/// weights at the epochs `keep`.
pub fn train_keeping(
    backend: &Backend,
    corpus: &Corpus,
    job: Job,
    record: bool,
    tick: &Tick<'_>,
    keep: &[u32],
) -> Result<(Trained, Vec<(u32, Weights)>)> {
    let epochs = job.config.epochs;
    let mut ends: Vec<u32> = keep
        .iter()
        .copied()
        .filter(|&e| e > 0 && e < epochs)
        .collect();
    ends.push(epochs);
    ends.sort_unstable();
    ends.dedup();
    let kept = Mutex::new(vec![]);
    let at = |_: usize, t: &Trained| {
        let e = t.job.config.epochs;
        if keep.contains(&e) {
            kept.lock().unwrap().push((e, t.weights.clone()));
        }
        Ok(ControlFlow::Continue(()))
    };
    let run = segmented(backend, corpus, &[job], &ends, record, Some(tick), &at)?.remove(0);
    Ok((run, kept.into_inner().unwrap()))
}

/// The shuffled-text control `k`: `job` trained on `corpus` shuffled with seed k, from the
/// model's seed + k (k = 0 is the model's own seed); evaluated later on the model's own text.
pub fn shuffled(
    backend: &Backend,
    corpus: &Corpus,
    job: Job,
    k: usize,
    tick: &Tick<'_>,
) -> Result<Weights> {
    let text = corpus.shuffled(k as u64)?;
    Ok(ticking(backend, &text, &[reseeded(job, k as u64)], tick)
        .context("training the shuffled-text control")?
        .remove(0)
        .weights)
}

/// `job` from its seed + `k` (k = 0 is its own seed).
fn reseeded(mut job: Job, k: u64) -> Job {
    job.config.seed = job.config.seed.wrapping_add(k);
    job
}

/// The models `job` trains at each of `widths`, with its settings and budget, in one request to
/// the backend.
pub fn widths(
    backend: &Backend,
    corpus: &Corpus,
    job: Job,
    widths: &[usize],
    tick: &Tick<'_>,
) -> Result<Vec<Weights>> {
    let jobs: Vec<Job> = widths
        .iter()
        .map(|&d_model| Job { d_model, ..job })
        .collect();
    Ok(ticking(backend, corpus, &jobs, tick)
        .context("retraining at other widths")?
        .into_iter()
        .map(|t| t.weights)
        .collect())
}

/// The gap curve's epochs, ascending and each once: `fixed` (0 left out) and, with `geometric`,
/// 1, 2, 5, 10, 20, 50, … below `max`.
pub fn curve_ends(max: u32, geometric: bool, fixed: &[u32]) -> Vec<u32> {
    let steps = (0..)
        .flat_map(|k| [1u32, 2, 5].map(|m| m.saturating_mul(10u32.saturating_pow(k))))
        .take_while(|&e| geometric && e < max);
    let mut ends: Vec<u32> = steps
        .chain(fixed.iter().copied())
        .filter(|&e| e > 0)
        .collect();
    ends.sort_unstable();
    ends.dedup();
    ends
}

/// The widths retrained at the model's `epochs` for the minimum width, `sizes` (1 to 16 among them),
/// each costing `unit` work a unit of width, all within `budget`; `Err` says how many of
/// 1 to 16 (1 to k, the narrowest first) it allows.
pub fn refit_widths(
    sizes: Vec<usize>,
    epochs: u32,
    unit: f64,
    budget: f64,
) -> Result<Vec<usize>, NotRetrained> {
    let within = |total: usize| total as f64 * unit <= budget;
    match within(sizes.iter().sum()) {
        true => Ok(sizes),
        false => Err(NotRetrained::OverBudget {
            epochs,
            widest: (1..=16).take_while(|&k| within(k * (k + 1) / 2)).count(),
        }),
    }
}

/// Why no model is retrained beside one (the curve, other widths; at large V the shuffled
/// control too), where none is: the PTX interpreter is far too slow for more models; a loaded
/// file that does not record its settings has none to retrain with.
pub fn not_retrained(known: bool, simulator: bool) -> Option<NotRetrained> {
    match (simulator, known) {
        (true, _) => Some(NotRetrained::Simulator),
        (false, false) => Some(NotRetrained::SettingsNotRecorded),
        (false, true) => None,
    }
}

/// What [`beside`] trains beside the model, and with what.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// The model's settings, which every model trained here takes.
    pub job: Job,
    /// Why the gap curve and the refits are not trained ([`not_retrained`]), where not.
    pub not_retrained: Option<NotRetrained>,
    /// The gap curve past the model's epochs (to [`GAP_CURVE_MAX_EPOCHS`] within
    /// [`GAP_CURVE_WORK`]), rather than to them, and the minimum width searched until each
    /// width's gap reaches the small gap.
    pub full: bool,
}

impl Plan {
    /// The plan for a model trained with `training` on `backend`.
    pub fn new(training: &Training, backend: &Backend, full: bool) -> Plan {
        Plan {
            job: training.job,
            not_retrained: not_retrained(training.known(), backend.is_simulator()),
            full,
        }
    }

    /// The total work [`beside`]'s `tick` hears, in [`work`]'s units.
    pub fn work(&self, corpus: &Corpus) -> u64 {
        let (v, d, e) = (corpus.vocab.len(), self.job.d_model, self.job.config.epochs);
        let mut total = shuffles(v, d, e) as f64 * work(v, d, e);
        if self.not_retrained.is_none() {
            total += 2.0 * work(v, d, *self.curve_ends(corpus).last().unwrap_or(&0));
            let refits = refit_sizes(corpus, self.job).unwrap_or_default();
            let wider = wider_width(v, d, e, &|_| true).ok();
            total += refits
                .iter()
                .chain(&wider)
                .map(|&w| work(v, w, e))
                .sum::<f64>();
        }
        total as u64
    }

    /// The gap curve's epochs: roughly geometric (1, 2, 5, 10, …), and the model's epochs and
    /// half of them (the undertrained rule's last doubling), to the model's epochs, or with
    /// `full` to as many as [`GAP_CURVE_WORK`] allows (at least 10^4, at most 10^5).
    pub fn curve_ends(&self, corpus: &Corpus) -> Vec<u32> {
        let at = self.job.config.epochs;
        let max = match self.full {
            true => {
                let budget = GAP_CURVE_WORK / (6.0 * work(corpus.vocab.len(), self.job.d_model, 1));
                (budget as u32)
                    .clamp(GAP_CURVE_MIN_EPOCHS, GAP_CURVE_MAX_EPOCHS)
                    .max(at)
            }
            false => at,
        };
        curve_ends(max, true, &[at / 2, at, max])
    }
}

/// Trains what `plan` asks beside the model `w` on `corpus`, every run independent of the others
/// and all at once (the CPU's cores share them), `tick` hearing the work of all but the last
/// two: the untrained control at [`UNTRAINED_SEEDS`] seeds, [`shuffles`] shuffled controls, with
/// [`Plan::not_retrained`] none the gap curve and the refits; the same run from `seeds − 1` more seeds
/// ([`replicas`]); and with [`Plan::full`] the minimum width searched until each width's gap
/// reaches the small gap. `held` is the held-out part's numbers, where one was held out.
#[allow(clippy::too_many_arguments)]
pub fn beside(
    backend: &Backend,
    corpus: &Corpus,
    w: &Weights,
    training: &Training,
    plan: Plan,
    seeds: usize,
    held_out: Option<HeldOut>,
    tick: &Tick<'_>,
) -> Result<Beside> {
    let job = plan.job;
    let mut untrained = job;
    untrained.config.epochs = 0;
    let untrained: Vec<Job> = (0..UNTRAINED_SEEDS)
        .map(|k| reseeded(untrained, k))
        .collect();
    let untrained: Vec<Weights> = backend
        .train(corpus, &untrained, false)?
        .into_iter()
        .map(|t| t.weights)
        .collect();
    let n = shuffles(corpus.vocab.len(), job.d_model, job.config.epochs);
    let curve = || match plan.not_retrained {
        None => gap_curve(backend, corpus, job, &plan.curve_ends(corpus), tick).map(Some),
        Some(_) => Ok(None),
    };
    let refits = || match plan.not_retrained {
        None => retrain(backend, corpus, job, tick),
        Some(why) => Ok(Retrained {
            refits: Err(why),
            wider: Err(why),
        }),
    };
    // Each from a thread of its own (see Backend::train_groups): the runs share rayon's pool. A
    // GPU takes one launch after another.
    let shuffle = |k| shuffled(backend, corpus, job, k, tick);
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
    let replicas = Replicas {
        requested: seeds,
        models: replicas(backend, corpus, training.known().then_some(job), seeds)?,
    };
    let until_gap = match plan.full && plan.not_retrained.is_none() {
        true => {
            let d = decompose(w, corpus)?;
            let tolerance = small_gap(d.uniform_loss, d.bigram_entropy);
            Some((
                minimum_until_gap(backend, corpus, job, tolerance)?,
                tolerance,
            ))
        }
        false => None,
    };
    Ok(Beside {
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
                    of: Box::new(corpus.source.clone()),
                    seed: 0,
                },
                more: n - 1,
            },
            untrained,
            shuffled,
        },
        gap_curve: gap_curve?,
        retrained: retrained?,
        until_gap,
        held_out,
        replicas,
    })
}

/// The models retrained beside one: at other widths, with its settings and budget.
pub struct Retrained {
    /// At [`refit_sizes`] (d_model itself is the same run as the model's, bit for bit): each
    /// width's decomposition; or why they were not trained.
    pub refits: Result<Vec<(usize, Decomposition)>, NotRetrained>,
    /// The wider model, or why there is none.
    pub wider: Result<Wider, NotRetrained>,
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
    let unit = 6.0 * work(corpus.vocab.len(), 1, job.config.epochs);
    refit_widths(sizes, job.config.epochs, unit, GAP_CURVE_WORK)
}

/// The models retrained with the job's settings at [`refit_sizes`] and at zl-core's [`wider_width`], in
/// one request to the backend.
fn retrain(backend: &Backend, corpus: &Corpus, job: Job, tick: &Tick<'_>) -> Result<Retrained> {
    let sizes = refit_sizes(corpus, job);
    let fits = |w: usize| backend.check_size(corpus.vocab.len(), w).is_ok();
    let wider = wider_width(corpus.vocab.len(), job.d_model, job.config.epochs, &fits);
    let mut ws = sizes.clone().unwrap_or_default();
    if let Ok(w) = wider {
        if !ws.contains(&w) {
            ws.push(w);
        }
    }
    let runs = match ws.is_empty() {
        true => vec![],
        false => widths(backend, corpus, job, &ws, tick)?,
    };
    let at = |w: usize| -> Result<Decomposition> {
        let t = runs
            .iter()
            .find(|t| t.d_model == w)
            .expect("every width trained");
        decompose(t, corpus)
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

/// `zl sweep --until-gap`'s search for the narrowest width that reaches `tolerance`: each width
/// of 1 to 16 and the job's own, with the job's settings, until its gap is at most `tolerance`
/// or [`MINIMUM_MAX_EPOCHS`] have run (fewer where [`MINIMUM_WORK`] says so; never fewer than
/// the job's own epochs).
fn minimum_until_gap(
    backend: &Backend,
    corpus: &Corpus,
    job: Job,
    tolerance: f64,
) -> Result<UntilGap> {
    let mut sizes: Vec<usize> = (1..=16).collect();
    if job.d_model > 16 {
        sizes.push(job.d_model);
    }
    let per_epoch: f64 = sizes
        .iter()
        .map(|&k| 6.0 * work(corpus.vocab.len(), k, 1))
        .sum();
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
fn gap_curve(
    backend: &Backend,
    corpus: &Corpus,
    job: Job,
    ends: &[u32],
    tick: &Tick<'_>,
) -> Result<GapCurve> {
    let wd = job.config.adamw.weight_decay;
    let mut without = job;
    without.config.adamw.weight_decay = 0.0;
    let gaps = Mutex::new(vec![vec![None; ends.len()]; 2]);
    let at = |n: usize, t: &Trained| {
        let at = ends.iter().position(|&x| x == t.job.config.epochs);
        let d = decompose(&t.weights, corpus)?;
        gaps.lock().unwrap()[n][at.expect("one of ends")] = Some(d.kl_weighted);
        Ok(ControlFlow::Continue(()))
    };
    segmented(
        backend,
        corpus,
        &[job, without],
        ends,
        false,
        Some(tick),
        &at,
    )
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
    let jobs: Vec<Job> = (1..=more as u64).map(|k| reseeded(job, k)).collect();
    let runs = backend
        .train(corpus, &jobs, false)
        .context("retraining from other seeds")?;
    Ok(Ok(runs.into_iter().map(|t| t.weights).collect()))
}

#[cfg(test)]
mod tests {
    use super::segment_ends;

    #[test]
    fn segments_end_at_logged_epochs_and_the_last() {
        // The seed model: 30·30·16 multiply-adds an epoch; logged every 100 epochs.
        let e = segment_ends(&[10_000], 100, 30, 16);
        assert_eq!(*e.last().unwrap(), 10_000);
        assert!(e.windows(2).all(|w| w[0] < w[1]));
        assert!(e[..e.len() - 1].iter().all(|x| x % 100 == 0), "{e:?}");
        assert!(e.len() > 1 && e.len() <= 100, "{}", e.len());
        // Logged every epoch: grouped, not a segment per epoch.
        assert!(segment_ends(&[10_000], 1, 30, 16).len() < 100);
        // A huge interval on a large model: still cut for Ctrl-C.
        let e = segment_ends(&[100_000], 1_000_000, 256, 64);
        assert!(e.len() > 10 && *e.last().unwrap() == 100_000, "{}", e.len());
        assert_eq!(segment_ends(&[1], 100, 30, 16), vec![1]);
        // Checkpoints are ends too.
        let e = segment_ends(&[3, 7, 10_000], u32::MAX, 256, 64);
        assert!(e.contains(&3) && e.contains(&7) && e.len() > 10, "{e:?}");
    }
}
