//! The sweep's verdicts ([`Sweep`]): what a fixed epoch budget shows about each d_model
//! ([`Fixed`]), and which sizes reach a given gap to the bigram floor when trained to
//! convergence ([`UntilGap`]).
//!
//! `W_E·W_U` has rank at most d_model, so a small d_model may be unable to hold the V×V table
//! of bigram logits. But a gap measured after a fixed number of epochs is a stopping time as
//! much as a rank limit: on the seed text d_model 5 is 0.002 nats short at 10,000 epochs and
//! under 1e-6 after millions. [`Fixed`] therefore only says which sizes are within
//! [`COST_NATS`] *at its budget*; [`UntilGap`] trains each size until its gap is below EPS or
//! the budget runs out, and says for each size that did not get there whether it was still
//! falling ([`STILL_FALLING_DROP`]), so that a slow size is not taken for a rank-limited one.

use std::{
    ops::ControlFlow,
    sync::{Mutex, PoisonError},
};

use anyhow::{ensure, Context, Result};

use zl_core::TrainConfig;

use crate::{
    backend::{Backend, Job},
    data::{corpus::Corpus, files::Weights},
};

/// A size costs loss when its gap to the floor exceeds the best size's gap by this much (nats).
/// 0.01 nats is about 1% of a typical bigram entropy and far above the gap that 10,000 epochs of
/// AdamW leave at full rank (3e-5 nats on the seed text).
pub const COST_NATS: f64 = 0.01;

/// The verdict's rule for a run still falling, which a run that did not reach EPS is judged by.
pub use zl_core::verdict::STILL_FALLING_DROP;

/// Trains one model per size in `sizes` (ascending, distinct) for `config`'s epochs, all in one
/// request to the backend.
pub fn fixed(
    backend: &Backend,
    corpus: &Corpus,
    sizes: &[usize],
    config: TrainConfig,
) -> Result<Fixed> {
    let floor = corpus.bigram_entropy();
    let jobs: Vec<Job> = sizes
        .iter()
        .map(|&d_model| Job { d_model, config })
        .collect();
    let points = backend
        .train(corpus, &jobs, false)?
        .iter()
        .map(|t| Point {
            d_model: t.job.d_model,
            final_loss: t.final_loss as f64,
            gap: t.final_loss as f64 - floor,
            train_seconds: t.seconds,
        })
        .collect();
    Ok(Fixed::new(points, floor, config.epochs))
}

/// Trains every size once per seed, each run until its gap is below EPS or N epochs have run.
pub fn until_gap(
    backend: &Backend,
    corpus: &Corpus,
    sizes: &[usize],
    config: TrainConfig,
    budget: Budget,
) -> Result<UntilGap> {
    let jobs: Vec<Job> = sizes
        .iter()
        .flat_map(|&d_model| {
            budget.seeds.iter().map(move |&seed| Job {
                d_model,
                config: TrainConfig { seed, ..config },
            })
        })
        .collect();
    let recorder = Recorder::new(corpus, budget.eps, jobs.len());
    let ends = budget.checkpoints();
    let per_size = budget.seeds.len();
    // Every size and seed in one request: on the CPU side by side, on a GPU one launch a size.
    let runs = backend.train_segments(corpus, &jobs, &ends, false, &|n, t| {
        recorder.after(n, t.job.config.epochs, &t.weights)
    })?;
    let mut checkpoints = recorder.finish()?.into_iter();
    let mut runs = runs.into_iter();
    let sizes = sizes
        .iter()
        .map(|&d_model| {
            let seeds = (0..per_size)
                .map(|_| {
                    let (t, cps) = (runs.next().expect("a run per job"), checkpoints.next());
                    let cps = cps.expect("checkpoints per job");
                    SeedRun::new(t.job.config.seed, cps, t.seconds, &budget)
                })
                .collect();
            Size::new(d_model, seeds)
        })
        .collect();
    Ok(UntilGap::new(budget, corpus.bigram_entropy(), sizes))
}

/// What `zl sweep` found, by the way it trained.
pub enum Sweep {
    /// Every size for the same `--epochs`.
    Fixed(Fixed),
    /// Every size and seed until its gap is below EPS or `--max-epochs` have run.
    UntilGap(UntilGap),
}

impl Sweep {
    /// Each size as a point of the loss figure (for `--until-gap`, its best seed's run).
    pub fn points(&self) -> Vec<Point> {
        match self {
            Sweep::Fixed(f) => f.points.clone(),
            Sweep::UntilGap(u) => u.points(),
        }
    }

    /// H(next|current).
    pub fn floor(&self) -> f64 {
        match self {
            Sweep::Fixed(f) => f.floor,
            Sweep::UntilGap(u) => u.floor,
        }
    }
}

/// One trained size: for a fixed budget, its f32 final loss; for `--until-gap`, its best run's
/// f64 loss and gap.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Point {
    pub d_model: usize,
    pub final_loss: f64,
    pub gap: f64,
    pub train_seconds: f64,
}

/// A fixed-budget sweep's sizes, smallest d_model first, and what they say at that budget.
pub struct Fixed {
    pub points: Vec<Point>,
    /// H(next|current).
    pub floor: f64,
    /// The epochs every size trained for: the budget the verdict holds for.
    pub epochs: u32,
    /// The sizes whose gap is within [`COST_NATS`] of the best size's gap.
    pub within: Vec<usize>,
    /// The smallest size from which every larger one is within [`COST_NATS`] of the best gap.
    pub enough: Option<usize>,
    /// The size with the lowest gap (the smallest, on a tie) and that gap.
    pub best: (usize, f64),
    /// The sizes whose gap is more than [`COST_NATS`] above the best gap.
    pub outside: Vec<usize>,
    /// The largest of `outside`: its gap, and how much that exceeds the best gap.
    pub largest_outside: Option<Costly>,
}

/// A size that costs loss at a fixed budget.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Costly {
    pub d_model: usize,
    pub gap: f64,
    /// Its gap less the best size's gap (> [`COST_NATS`]).
    pub excess: f64,
}

impl Fixed {
    /// `points` must be sorted by d_model and not empty; each trained for `epochs`.
    pub fn new(points: Vec<Point>, floor: f64, epochs: u32) -> Fixed {
        let (best_at, best) = points
            .iter()
            .map(|p| (p.d_model, p.gap))
            .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
        let is_within = |p: &Point| p.gap - best <= COST_NATS;
        let within: Vec<usize> = points
            .iter()
            .filter(|p| is_within(p))
            .map(|p| p.d_model)
            .collect();
        let enough = points
            .iter()
            .rev()
            .take_while(|p| is_within(p))
            .last()
            .map(|p| p.d_model);
        let outside: Vec<&Point> = points.iter().filter(|p| !is_within(p)).collect();
        let largest_outside = outside.last().map(|p| Costly {
            d_model: p.d_model,
            gap: p.gap,
            excess: p.gap - best,
        });
        let outside = outside.iter().map(|p| p.d_model).collect();
        Fixed {
            points,
            floor,
            epochs,
            within,
            enough,
            best: (best_at, best),
            outside,
            largest_outside,
        }
    }
}

/// What an `--until-gap` sweep trains to: a gap below `eps` nats, within `max_epochs`, for
/// each of `seeds`.
#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    pub eps: f64,
    pub max_epochs: u32,
    pub seeds: Vec<u64>,
}

impl Budget {
    /// The epoch counts at which each run's gap is measured: 1, 2, 5, 10, 20, 50, … below
    /// `max_epochs`, plus ⌊max_epochs/2⌋ (which [`STILL_FALLING_DROP`]'s rule compares with)
    /// and `max_epochs` itself. Roughly geometric, so that the epochs a size needs are known to
    /// within a factor of 2.5 at a cost of three gap measurements a decade.
    pub fn checkpoints(&self) -> Vec<u32> {
        let n = self.max_epochs;
        let mut ends = vec![];
        let mut decade = 1u64;
        'grid: loop {
            for m in [1u64, 2, 5] {
                let e = decade * m;
                if e >= n as u64 {
                    break 'grid;
                }
                ends.push(e as u32);
            }
            decade *= 10;
        }
        if n / 2 >= 1 {
            ends.push(n / 2);
        }
        ends.push(n);
        ends.sort_unstable();
        ends.dedup();
        ends
    }
}

/// The gap of one run at one checkpoint, from the f64 decomposition of its f32 weights.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Checkpoint {
    /// Epochs trained so far.
    pub epochs: u32,
    /// `Σ_i (n_i/N)·KL(P_i‖Q_i)`: the model's loss less the bigram entropy floor.
    pub gap: f64,
    /// The model's loss (f64).
    pub loss: f64,
}

/// Measures every run's gap after each training segment, from the backend's worker threads,
/// and says whether the run goes on (it stops once its gap is below EPS).
struct Recorder<'a> {
    corpus: &'a Corpus,
    eps: f64,
    runs: Mutex<Vec<Vec<Checkpoint>>>,
}

impl<'a> Recorder<'a> {
    /// A recorder for `jobs` runs on `corpus`, stopping each below `eps`.
    fn new(corpus: &'a Corpus, eps: f64, jobs: usize) -> Recorder<'a> {
        Recorder {
            corpus,
            eps,
            runs: Mutex::new(vec![vec![]; jobs]),
        }
    }

    /// Run `job` has trained `epochs` and has these weights: records its gap; continues while
    /// the gap is not yet below EPS.
    fn after(&self, job: usize, epochs: u32, weights: &Weights) -> Result<ControlFlow<()>> {
        let c = super::compare(weights, self.corpus)
            .with_context(|| format!("measuring the gap at epoch {epochs}"))?;
        let d = c.decomposition;
        let gap = d.kl_weighted;
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)[job].push(Checkpoint {
            epochs,
            gap,
            loss: d.model_loss,
        });
        // NaN is not below EPS either, but the backend stops a diverged run itself.
        Ok(if gap >= self.eps {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        })
    }

    /// Every run's checkpoints, in job order.
    fn finish(self) -> Result<Vec<Vec<Checkpoint>>> {
        let runs = self
            .runs
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        ensure!(
            runs.iter().all(|r| !r.is_empty()),
            "a run ended without a measured checkpoint"
        );
        Ok(runs)
    }
}

/// One seed's run at one size.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SeedRun {
    pub seed: u64,
    /// Its gap at each checkpoint it trained to; the last is where it stopped.
    #[serde(skip)]
    pub checkpoints: Vec<Checkpoint>,
    /// Seconds of training, all segments together.
    pub train_seconds: f64,
    /// Whether its last gap is below EPS.
    pub reached: bool,
    /// For a run that did not reach EPS: `1 − gap(N)/gap(⌊N/2⌋)`, how much its gap fell over
    /// the last half of its epochs (None when N < 2, or the run reached EPS).
    #[serde(rename = "drop_over_last_half")]
    pub drop: Option<f64>,
}

impl SeedRun {
    /// `checkpoints` must not be empty.
    pub fn new(seed: u64, checkpoints: Vec<Checkpoint>, train_seconds: f64, b: &Budget) -> Self {
        let last = *checkpoints.last().expect("a run has a checkpoint");
        let reached = last.gap < b.eps;
        let half = b.max_epochs / 2;
        let drop = match checkpoints.iter().find(|c| c.epochs == half) {
            // A run that did not reach EPS trained to N, and every gap it saw was ≥ EPS > 0.
            Some(h) if !reached && half >= 1 => Some(1.0 - last.gap / h.gap),
            _ => None,
        };
        SeedRun {
            seed,
            checkpoints,
            train_seconds,
            reached,
            drop,
        }
    }

    pub fn last(&self) -> Checkpoint {
        *self.checkpoints.last().expect("a run has a checkpoint")
    }

    /// By [`STILL_FALLING_DROP`]'s rule; None where it does not apply.
    pub fn still_falling(&self) -> Option<bool> {
        self.drop.map(|d| d > STILL_FALLING_DROP)
    }
}

/// One size of an `--until-gap` sweep: its seeds' runs and what they add up to.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Size {
    pub d_model: usize,
    #[serde(skip)]
    pub seeds: Vec<SeedRun>,
    /// The index in `seeds` of the run with the lowest last gap (the first, on a tie).
    #[serde(skip)]
    pub best: usize,
    /// Whether any seed reached EPS.
    pub reached: bool,
    /// For a size no seed of which reached EPS: whether any seed was still falling (a size is
    /// not called stalled while one of its runs was still moving). None where the rule does not
    /// apply (the size reached EPS, or N < 2).
    pub still_falling: Option<bool>,
    /// Seconds of training, every seed's together.
    pub train_seconds: f64,
}

impl Size {
    /// `seeds` must not be empty.
    pub fn new(d_model: usize, seeds: Vec<SeedRun>) -> Size {
        let mut best = 0;
        for (k, s) in seeds.iter().enumerate() {
            if s.last().gap < seeds[best].last().gap {
                best = k;
            }
        }
        let reached = seeds.iter().any(|s| s.reached);
        let still_falling = if reached {
            None
        } else {
            let each: Option<Vec<bool>> = seeds.iter().map(SeedRun::still_falling).collect();
            each.map(|e| e.into_iter().any(|f| f))
        };
        Size {
            d_model,
            train_seconds: seeds.iter().map(|r| r.train_seconds).sum(),
            seeds,
            best,
            reached,
            still_falling,
        }
    }

    pub fn best(&self) -> &SeedRun {
        &self.seeds[self.best]
    }

    /// The largest fall over the last half among its seeds, and that seed (None where none
    /// was measured).
    pub fn largest_drop(&self) -> Option<(u64, f64)> {
        self.seeds
            .iter()
            .filter_map(|s| Some((s.seed, s.drop?)))
            .reduce(|a, b| if b.1 > a.1 { b } else { a })
    }

    /// How many of its seeds reached EPS.
    pub fn seeds_reached(&self) -> usize {
        self.seeds.iter().filter(|s| s.reached).count()
    }
}

/// An `--until-gap` sweep: every size trained to EPS or N epochs, and the smallest that got there.
pub struct UntilGap {
    pub budget: Budget,
    /// H(next|current).
    pub floor: f64,
    /// Smallest d_model first.
    pub sizes: Vec<Size>,
    /// The smallest d_model some seed of which reached EPS.
    pub smallest: Option<usize>,
    /// The evidence for `smallest`: its seed that reached EPS in the fewest epochs.
    pub first: Option<FirstReach>,
    /// The sizes that did not reach EPS below `smallest` (all of them when none did), by trend.
    pub below: Shortfall,
    /// The sizes above `smallest` that did not reach EPS either, by trend.
    pub above: Shortfall,
}

/// The run that shows a size can reach EPS.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FirstReach {
    pub seed: u64,
    pub epochs: u32,
    pub gap: f64,
    /// How many of the size's seeds reached EPS, of how many.
    pub seeds_reached: usize,
    pub seeds: usize,
}

/// Sizes that did not reach EPS, each list smallest first, split by [`STILL_FALLING_DROP`]'s
/// rule.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shortfall {
    /// Some seed was still falling: the budget does not show a rank limit.
    pub falling: Vec<usize>,
    /// No seed was still falling: consistent with a rank limit, not proof of one.
    pub stalled: Vec<usize>,
    /// The rule does not apply (N < 2).
    pub unmeasured: Vec<usize>,
}

impl Shortfall {
    fn of<'a>(sizes: impl Iterator<Item = &'a Size>) -> Shortfall {
        let mut out = Shortfall::default();
        for s in sizes.filter(|s| !s.reached) {
            match s.still_falling {
                Some(true) => out.falling.push(s.d_model),
                Some(false) => out.stalled.push(s.d_model),
                None => out.unmeasured.push(s.d_model),
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.falling.is_empty() && self.stalled.is_empty() && self.unmeasured.is_empty()
    }
}

impl UntilGap {
    /// `sizes` must be sorted by d_model and not empty.
    pub fn new(budget: Budget, floor: f64, sizes: Vec<Size>) -> UntilGap {
        let answer = sizes.iter().find(|s| s.reached);
        let smallest = answer.map(|s| s.d_model);
        let first = answer.and_then(|s| {
            let r = s
                .seeds
                .iter()
                .filter(|r| r.reached)
                .min_by_key(|r| r.last().epochs)?;
            Some(FirstReach {
                seed: r.seed,
                epochs: r.last().epochs,
                gap: r.last().gap,
                seeds_reached: s.seeds_reached(),
                seeds: s.seeds.len(),
            })
        });
        let cut = smallest.unwrap_or(usize::MAX);
        let below = Shortfall::of(sizes.iter().filter(|s| s.d_model < cut));
        let above = Shortfall::of(sizes.iter().filter(|s| s.d_model > cut));
        UntilGap {
            budget,
            floor,
            sizes,
            smallest,
            first,
            below,
            above,
        }
    }

    /// Each size's best run as a point of the loss figure.
    pub fn points(&self) -> Vec<Point> {
        self.sizes
            .iter()
            .map(|s| {
                let last = s.best().last();
                Point {
                    d_model: s.d_model,
                    final_loss: last.loss,
                    gap: last.gap,
                    train_seconds: s.seeds.iter().map(|r| r.train_seconds).sum(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(n: u32) -> Budget {
        Budget {
            eps: 1e-4,
            max_epochs: n,
            seeds: vec![0],
        }
    }

    #[test]
    fn checkpoints_are_geometric_hold_the_half_and_end_at_n() {
        assert_eq!(budget(1).checkpoints(), [1]);
        assert_eq!(budget(3).checkpoints(), [1, 2, 3]);
        assert_eq!(
            budget(1000).checkpoints(),
            [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
        );
        let c = budget(300_000).checkpoints();
        assert_eq!(&c[c.len() - 4..], [100_000, 150_000, 200_000, 300_000]);
        let c = budget(crate::args::MAX_EPOCHS).checkpoints();
        assert_eq!(&c[c.len() - 3..], [2_000_000, 5_000_000, 10_000_000]);
    }

    fn run(seed: u64, gaps: &[(u32, f64)], b: &Budget) -> SeedRun {
        let cps = gaps
            .iter()
            .map(|&(epochs, gap)| Checkpoint {
                epochs,
                gap,
                loss: 1.0 + gap,
            })
            .collect();
        SeedRun::new(seed, cps, 0.0, b)
    }

    #[test]
    fn the_still_falling_rule_compares_the_end_with_the_half() {
        let b = budget(1000);
        let fell = run(0, &[(500, 0.1), (1000, 0.098)], &b);
        assert_eq!((fell.reached, fell.still_falling()), (false, Some(true)));
        let flat = run(1, &[(500, 0.1), (1000, 0.0995)], &b);
        assert_eq!(flat.still_falling(), Some(false));
        let rose = run(2, &[(500, 0.1), (1000, 0.2)], &b);
        assert_eq!(rose.still_falling(), Some(false));
        let hit = run(3, &[(500, 0.1), (1000, 5e-5)], &b);
        assert_eq!((hit.reached, hit.still_falling()), (true, None));
        // A size is still falling when any of its seeds is, and its best is the lowest gap.
        let size = Size::new(4, vec![flat.clone(), fell.clone()]);
        assert_eq!((size.still_falling, size.best().seed), (Some(true), 0));
        let stalled = Size::new(4, vec![flat.clone()]);
        assert_eq!(stalled.still_falling, Some(false));
        let sw = UntilGap::new(b.clone(), 1.0, vec![stalled, size, Size::new(5, vec![hit])]);
        assert_eq!(sw.smallest, Some(5));
        assert_eq!(sw.first.map(|f| (f.seed, f.epochs)), Some((3, 1000)));
        assert_eq!(
            (sw.below.stalled.as_slice(), sw.below.falling.as_slice()),
            ([4].as_slice(), [4].as_slice())
        );
        assert!(sw.above.is_empty());
    }

    #[test]
    fn a_fixed_budget_names_its_epochs_and_claims_no_rank() {
        let p = |d_model, gap| Point {
            d_model,
            final_loss: 1.0 + gap,
            gap,
            train_seconds: 0.0,
        };
        let sw = Fixed::new(
            vec![p(1, 1.0), p(4, 0.09), p(5, 0.002), p(8, 1e-4)],
            1.0,
            10_000,
        );
        assert_eq!(
            (sw.within.as_slice(), sw.enough),
            ([5, 8].as_slice(), Some(5))
        );
        assert_eq!(
            (sw.best, sw.outside.as_slice()),
            ((8, 1e-4), [1, 4].as_slice())
        );
        let c = sw.largest_outside.unwrap();
        assert_eq!((c.d_model, c.gap), (4, 0.09));
        assert!((c.excess - (0.09 - 1e-4)).abs() < 1e-12);
    }
}
