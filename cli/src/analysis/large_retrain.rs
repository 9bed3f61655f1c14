//! The models trained beside a model at large V (above [`super::large::DENSE_MAX`] tokens), each
//! with the model's settings and within a work budget stated here: the shuffled-text control, the
//! gap against the epoch, a wider model and the narrower widths the minimum is searched among.
//! Work is counted in `V²·d·epochs`, the multiply-adds of the logits over the epochs (an epoch
//! also costs V² exps and both gradient products, so it is a fixed multiple of that): on 2 cores
//! about 8·10^9 of it a second (Vim's Chinese tutor, 628 tokens at d_model 16: 0.8 ms an epoch).

use anyhow::{Context, Result};
use serde::Serialize;

use super::{
    controls::{self, work, Tick},
    large::Alongside,
    verdict::NotRetrained,
};
use crate::{
    backend::{Backend, Job},
    data::{corpus::Corpus, files::Weights},
};

/// The shuffled control's budget: as many shuffles as fit, at most [`SHUFFLES`]; each costs what
/// the model's own run did. One at the Chinese tutor's 3,000 epochs (1.9·10^10, about 2.4 s), two
/// below 1,600, none at the default 10,000 (6.3·10^10: `zl interpret` would take twice as long;
/// the untrained control then decides alone whether the model learned, and the output says
/// so).
pub const SHUFFLE_WORK: f64 = 2.5e10;
pub const SHUFFLES: usize = 2;

/// The wider model: [`WIDER_FACTORS`] times d_model (the first that fits, capped at V), within
/// [`WIDER_WORK`]. The dense view trains min(V, 64) wide; at large V that would be the full rank
/// of thousands, so the wider model is a stated multiple instead: 2× at the Chinese tutor's
/// d_model 16 and 3,000 epochs (3.8·10^10), 4× below 1,000 epochs.
pub const WIDER_FACTORS: [usize; 2] = [4, 2];
pub const WIDER_WORK: f64 = 5e10;

/// Retraining a loaded model to its recorded epochs for its gap against the epoch (a model
/// trained here keeps its own checkpoints, at no cost).
pub const CURVE_WORK: f64 = 5e10;

/// The minimum width is searched among 1 to [`MINIMUM_UPTO`] below d_model (d_model itself is the
/// model, and the wider model is beside it), all at the model's epochs, within [`MINIMUM_WORK`]
/// (widths 1 to k cost k(k+1)/2 times a width-1 run): at d_model 16 and V = 628, runs of up to
/// 420 epochs.
pub const MINIMUM_UPTO: usize = 16;
pub const MINIMUM_WORK: f64 = 2e10;

/// Why a model was not trained beside this one at large V.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotTrained {
    /// It would cost `work` (`V²·d·epochs`), past `budget`.
    OverBudget { work: f64, budget: f64 },
    /// Widths `from` to `to` (one model where they are equal) would cost `work` together,
    /// past `budget`.
    WidthsOverBudget {
        from: usize,
        to: usize,
        work: f64,
        budget: f64,
    },
    /// The trainer cannot hold a model `d_model` wide (its memory), though the work budget
    /// allows it.
    DoesNotFit { d_model: usize },
    /// d_model ≥ V: `W_E·W_U` can have full rank, so no wider model can show a rank limit.
    FullRank { d_model: usize, vocab: usize },
    /// A loaded model whose file does not record how it was trained.
    SettingsNotRecorded,
    /// The PTX interpreter: far too slow to train more models.
    Simulator,
}

/// How the gap against the epoch is measured.
#[derive(Clone, Debug, PartialEq)]
pub enum Curve {
    /// From the model's own run, at these epochs (it was trained here).
    Own(Vec<u32>),
    /// By retraining the loaded model with its recorded settings, to these epochs.
    Retrain(Vec<u32>),
    Not(NotTrained),
}

/// One retraining of a [`Plan`], for its progress line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `n` shuffled-text controls.
    Shuffled {
        n: usize,
    },
    /// The loaded model again, for its gap against the epoch.
    Curve,
    Wider {
        d_model: usize,
    },
    /// Widths 1 to `upto`, for the minimum.
    Narrower {
        upto: usize,
    },
}

/// What is trained beside a model of `job` at large V, and why not where not.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub job: Job,
    pub shuffles: Result<usize, NotTrained>,
    pub curve: Curve,
    pub wider: Result<usize, Skipped>,
    /// The widths below d_model the minimum is searched among.
    pub narrower: Result<Vec<usize>, Skipped>,
}

/// Why the wider model or the narrower widths were not trained at large V: what held them back
/// here (`why`), and the verdict's reason (`verdict`, the type the dense view and the page share,
/// whose budget fact is the widest the budget allows).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Skipped {
    pub why: NotTrained,
    pub verdict: NotRetrained,
}

impl Skipped {
    fn both(why: NotTrained, verdict: NotRetrained) -> Skipped {
        Skipped { why, verdict }
    }

    /// Nothing retrained, for `why` ([`controls::not_retrained`]).
    pub fn blocked(why: NotRetrained) -> Skipped {
        let here = match why {
            NotRetrained::Simulator => NotTrained::Simulator,
            _ => NotTrained::SettingsNotRecorded,
        };
        Skipped::both(here, why)
    }
}

/// The epochs of the gap curve for a run of `epochs`: a quarter, a half (the undertrained rule's
/// last doubling starts there) and all of them.
pub fn curve_ends(epochs: u32) -> Vec<u32> {
    controls::curve_ends(epochs, false, &[epochs / 4, epochs / 2, epochs])
}

impl Plan {
    /// The plan for a model of `job` over `v` tokens: `loaded` where it came from a file,
    /// `blocked` why nothing is retrained ([`controls::not_retrained`]), `fits(d)` where the
    /// backend holds width `d`.
    pub fn new(
        v: usize,
        job: Job,
        loaded: bool,
        blocked: Option<NotRetrained>,
        fits: &dyn Fn(usize) -> bool,
    ) -> Plan {
        let (d, e) = (job.d_model, job.config.epochs);
        let own = work(v, d, e);
        let blocked = blocked.map(Skipped::blocked);
        let over = |work: f64, budget: f64| NotTrained::OverBudget { work, budget };
        let shuffles = match blocked {
            Some(s) => Err(s.why),
            None => match ((SHUFFLE_WORK / own.max(1.0)) as usize).min(SHUFFLES) {
                0 => Err(over(own, SHUFFLE_WORK)),
                n => Ok(n),
            },
        };
        let curve = match (blocked, loaded) {
            (_, false) => Curve::Own(curve_ends(e)),
            (Some(s), true) => Curve::Not(s.why),
            (None, true) if own <= CURVE_WORK => Curve::Retrain(curve_ends(e)),
            (None, true) => Curve::Not(over(own, CURVE_WORK)),
        };
        let wider = match blocked {
            Some(s) => Err(s),
            None if d >= v => Err(Skipped::both(
                NotTrained::FullRank {
                    d_model: d,
                    vocab: v,
                },
                NotRetrained::FullRank {
                    d_model: d,
                    vocab: v,
                },
            )),
            None => {
                let widths = WIDER_FACTORS.map(|f| (f * d).min(v));
                widths
                    .into_iter()
                    .find(|&w| w > d && work(v, w, e) <= WIDER_WORK && fits(w))
                    .ok_or_else(|| {
                        // The narrowest of them costs least: past the budget, so are the
                        // others; within it, the trainer cannot hold it (nor the wider ones).
                        let narrowest = widths.into_iter().filter(|&w| w > d).min().unwrap_or(v);
                        let cost = work(v, narrowest, e);
                        let why = match cost > WIDER_WORK {
                            true => NotTrained::WidthsOverBudget {
                                from: narrowest,
                                to: narrowest,
                                work: cost,
                                budget: WIDER_WORK,
                            },
                            false => NotTrained::DoesNotFit { d_model: narrowest },
                        };
                        let widest = ((WIDER_WORK / work(v, 1, e.max(1))) as usize).min(v);
                        Skipped::both(why, NotRetrained::OverBudget { epochs: e, widest })
                    })
            }
        };
        let narrower = match blocked {
            Some(s) => Err(s),
            None => {
                let below: Vec<usize> = (1..d.min(MINIMUM_UPTO + 1)).collect();
                let to = below.last().copied().unwrap_or(0);
                let cost = below.iter().sum::<usize>() as f64 * work(v, 1, e);
                controls::refit_widths(below, e, work(v, 1, e), MINIMUM_WORK).map_err(|verdict| {
                    let why = NotTrained::WidthsOverBudget {
                        from: 1,
                        to,
                        work: cost,
                        budget: MINIMUM_WORK,
                    };
                    Skipped::both(why, verdict)
                })
            }
        };
        Plan {
            job,
            shuffles,
            curve,
            wider,
            narrower,
        }
    }
}

/// Trains what `plan` asks beside a model trained on `corpus`, one [`Stage`] after another:
/// `start` hears each begin, with its total work in [`work`]'s units, and `tick` its work as it
/// is done. `kept` is the model's own run at [`curve_ends`], where it was trained here
/// ([`Curve::Own`]).
pub fn train(
    backend: &Backend,
    corpus: &Corpus,
    plan: &Plan,
    kept: Vec<(u32, Weights)>,
    start: &dyn Fn(Stage, u64),
    tick: &Tick<'_>,
) -> Result<Alongside> {
    let (job, v) = (plan.job, corpus.vocab.len());
    let e = job.config.epochs;
    let stage = |s: Stage, d: usize, runs: usize| start(s, (runs as f64 * work(v, d, e)) as u64);
    let shuffled = match plan.shuffles {
        Ok(n) => {
            stage(Stage::Shuffled { n }, job.d_model, n);
            let each = |k| controls::shuffled(backend, corpus, job, k, tick);
            Ok((0..n).map(each).collect::<Result<Vec<_>>>()?)
        }
        Err(why) => Err(why),
    };
    let curve = match &plan.curve {
        Curve::Own(_) => Ok(kept),
        Curve::Retrain(ends) => {
            stage(Stage::Curve, job.d_model, 1);
            let (_, kept) = controls::train_keeping(backend, corpus, job, false, tick, ends)
                .context("retraining the loaded model for its gap against the epoch")?;
            Ok(kept)
        }
        Curve::Not(why) => Err(*why),
    };
    let wider = match plan.wider {
        Ok(d_model) => {
            stage(Stage::Wider { d_model }, d_model, 1);
            Ok(controls::widths(backend, corpus, job, &[d_model], tick)?.remove(0))
        }
        Err(why) => Err(why),
    };
    let narrower = match &plan.narrower {
        Ok(ws) if !ws.is_empty() => {
            let upto = *ws.last().expect("not empty");
            stage(Stage::Narrower { upto }, ws.iter().sum(), 1);
            Ok(controls::widths(backend, corpus, job, ws, tick)?)
        }
        Ok(_) => Ok(vec![]),
        Err(why) => Err(*why),
    };
    Ok(Alongside {
        seed: job.config.seed,
        epochs: e,
        shuffled,
        curve,
        wider,
        narrower,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zl_core::TrainConfig;

    fn job(d_model: usize, epochs: u32) -> Job {
        Job {
            d_model,
            config: TrainConfig {
                epochs,
                ..TrainConfig::default()
            },
        }
    }

    #[test]
    fn the_chinese_tutor_gets_one_shuffle_a_2x_wider_model_and_no_minimum() {
        let p = Plan::new(628, job(16, 3000), false, None, &|_| true);
        assert_eq!(p.shuffles, Ok(1));
        assert_eq!(p.wider, Ok(32));
        assert_eq!(p.curve, Curve::Own(vec![750, 1500, 3000]));
        assert!(matches!(
            p.narrower,
            Err(Skipped {
                verdict: NotRetrained::OverBudget { epochs: 3000, .. },
                ..
            })
        ));
        // A short run: both shuffles, 4× wider and every width below.
        let p = Plan::new(628, job(16, 100), false, None, &|_| true);
        assert_eq!(p.shuffles, Ok(2));
        assert_eq!(p.wider, Ok(64));
        assert_eq!(p.narrower, Ok((1..16).collect()));
    }

    #[test]
    fn over_budget_says_how_far_and_a_loaded_file_without_settings_trains_nothing() {
        let p = Plan::new(5_000, job(64, 1000), true, None, &|_| true);
        let own = work(5_000, 64, 1000);
        assert_eq!(
            p.shuffles,
            Err(NotTrained::OverBudget {
                work: own,
                budget: SHUFFLE_WORK
            })
        );
        assert_eq!(
            p.curve,
            Curve::Not(NotTrained::OverBudget {
                work: own,
                budget: CURVE_WORK
            })
        );
        // 5·10^10 / (5000²·1000): width 2 at most, for the verdict; here, what held the
        // narrowest wider model back.
        assert_eq!(
            p.wider,
            Err(Skipped {
                why: NotTrained::WidthsOverBudget {
                    from: 128,
                    to: 128,
                    work: work(5_000, 128, 1000),
                    budget: WIDER_WORK
                },
                verdict: NotRetrained::OverBudget {
                    epochs: 1000,
                    widest: 2
                }
            })
        );
        let p = Plan::new(
            628,
            job(16, 10),
            true,
            Some(NotRetrained::SettingsNotRecorded),
            &|_| true,
        );
        assert_eq!(p.shuffles, Err(NotTrained::SettingsNotRecorded));
        assert_eq!(p.curve, Curve::Not(NotTrained::SettingsNotRecorded));
        assert_eq!(
            p.wider,
            Err(Skipped::blocked(NotRetrained::SettingsNotRecorded))
        );
        // d_model ≥ V: no width limits the table.
        let p = Plan::new(300, job(300, 1), false, None, &|_| true);
        assert!(matches!(
            p.wider,
            Err(Skipped {
                why: NotTrained::FullRank { .. },
                verdict: NotRetrained::FullRank { .. }
            })
        ));
    }

    /// Where no wider model or narrower widths are trained, the reason names what held them back:
    /// a width above the model's own and its cost past the budget, or the trainer's memory; the
    /// widths below it and their cost together. The decisions are the budgets' alone.
    #[test]
    fn a_model_not_trained_is_held_back_by_its_own_cost_or_the_trainers_memory() {
        for (v, d, e) in [
            (628, 16, 10_000),
            (628, 16, 3_000),
            (2_000, 8, 10_000),
            (700, 1, 50_000),
        ] {
            let p = Plan::new(v, job(d, e), false, None, &|_| true);
            match p.wider {
                Ok(w) => assert!(w > d && work(v, w, e) <= WIDER_WORK),
                Err(Skipped { why, .. }) => match why {
                    NotTrained::WidthsOverBudget {
                        from,
                        to,
                        work: cost,
                        budget,
                    } => {
                        assert!(from == to && to > d, "{why:?} at d_model {d}");
                        assert_eq!(cost, work(v, to, e));
                        assert!(cost > budget && budget == WIDER_WORK, "{why:?}");
                    }
                    other => panic!("{other:?}"),
                },
            }
            match p.narrower {
                Ok(ws) => assert!(ws.iter().sum::<usize>() as f64 * work(v, 1, e) <= MINIMUM_WORK),
                Err(Skipped { why, .. }) => match why {
                    NotTrained::WidthsOverBudget {
                        from,
                        to,
                        work: cost,
                        budget,
                    } => {
                        assert_eq!((from, to), (1, (d - 1).min(MINIMUM_UPTO)), "{why:?}");
                        assert_eq!(cost, (to * (to + 1) / 2) as f64 * work(v, 1, e));
                        assert!(cost > budget && budget == MINIMUM_WORK, "{why:?}");
                    }
                    other => panic!("{other:?}"),
                },
            }
        }
        // The budget holds 2× the Chinese tutor's d_model 16 at 3,000 epochs, but the trainer
        // holds nothing past 20: its memory, not the budget, is why.
        let p = Plan::new(628, job(16, 3000), false, None, &|w| w <= 20);
        assert_eq!(
            p.wider.map_err(|s| s.why),
            Err(NotTrained::DoesNotFit { d_model: 32 })
        );
    }
}
