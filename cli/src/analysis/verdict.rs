//! What the numbers say about one model, as typed facts: which regime it is in and where its gap
//! lives. Each fact is decided by a stated rule (the constants below) from the numbers it
//! summarises, so that render can print a sentence only where its numbers support it.
//!
//! The regimes (more than one may hold):
//! - [`Regime::BigramTable`]: the gap to the floor is small ([`SMALL_GAP_FRACTION`] of the way
//!   from uniform predictions to the floor) and the controls are told apart.
//! - [`Regime::RankLimited`]: the gap is not small, and a wider model trained with the same
//!   settings and budget gets a gap at least [`WIDER_FACTOR`] times smaller.
//! - [`Regime::Undertrained`]: the gap is not small and was still falling when training stopped
//!   (the sweep's rule, [`STILL_FALLING_DROP`], on the gap-against-epoch curve).
//! - [`Regime::NotLearned`]: the model's gap is not [`CONTROL_FACTOR`] times below every control
//!   run's (the evidence table's runs: the untrained seeds and the shuffles).

use serde::Serialize;

pub use super::sweep::STILL_FALLING_DROP;

/// A gap is small when it is at most this fraction of `ln V − H(next|current)`, the most a
/// bigram model can gain over uniform predictions: the model has closed 99% of it. On the seed
/// run (gap 3.1e-5 of 1.79 nats) it holds with a factor of 500 to spare; on GPL-3 at d_model 8
/// (gap 0.045 of 1.9) it does not.
pub const SMALL_GAP_FRACTION: f64 = 0.01;

/// A wider model shows a rank limit when its gap is at least this factor smaller: an order of
/// magnitude, far from a close call between training runs.
pub const WIDER_FACTOR: f64 = 10.0;

/// The controls are told apart from the model when the smallest control gap is at least this
/// factor above the model's: the model closed at least half of the gap the best control leaves.
/// Control runs differ among themselves by far less (the seed text at epoch 1: 1.78 to 1.85 nats
/// over 8 untrained seeds and 4 shuffles), so a factor of 2 is no near-tie.
pub const CONTROL_FACTOR: f64 = 2.0;

/// One part of the gap "mostly" holds it when its share is at least this: two thirds.
pub const MOSTLY_SHARE: f64 = 2.0 / 3.0;

/// A regime the model is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    BigramTable,
    RankLimited,
    Undertrained,
    NotLearned,
}

/// Which part of the gap holds most of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapSite {
    /// Probability leaked onto pairs that never occur holds at least [`MOSTLY_SHARE`].
    Leak,
    /// The misfit on the pairs that occur holds at least [`MOSTLY_SHARE`].
    Misfit,
    /// Neither part does.
    Both,
    /// There is no gap to split (exactly 0).
    None,
}

/// The gap against the epoch, for one model's settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GapTrend {
    pub epochs: Vec<u32>,
    pub gap: Vec<f64>,
    /// The model's own epochs, where the last doubling ends.
    pub at: u32,
    /// The fraction the gap fell by from `at / 2` to `at` epochs (`None`: the curve does not
    /// hold both).
    pub drop: Option<f64>,
    /// Whether the gap was still falling at the model's own epochs: `drop` above
    /// [`STILL_FALLING_DROP`] (`None` with `drop`).
    pub falling: Option<bool>,
}

impl GapTrend {
    /// The curve, and whether its gap fell by more than [`STILL_FALLING_DROP`] over the last
    /// doubling before `at` epochs (from `at / 2` to `at`), as `zl sweep --until-gap` decides.
    pub fn new(epochs: Vec<u32>, gap: Vec<f64>, at: u32) -> GapTrend {
        let find = |e: u32| epochs.iter().position(|&x| x == e).map(|k| gap[k]);
        let (drop, falling) = match (find(at / 2), find(at)) {
            (Some(half), Some(end)) if at >= 2 => (
                Some(1.0 - end / half),
                Some(end < (1.0 - STILL_FALLING_DROP) * half),
            ),
            _ => (None, None),
        };
        GapTrend {
            epochs,
            gap,
            at,
            drop,
            falling,
        }
    }
}

/// A wider model, trained with the model's settings and budget.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Wider {
    pub d_model: usize,
    pub gap: f64,
}

/// Why a model was not retrained at another width (the wider model, or the widths the minimum
/// is searched among).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotRetrained {
    /// d_model ≥ V: `W_E·W_U` can have full rank, so no width limits it and no wider model can
    /// show a rank limit.
    FullRank { d_model: usize, vocab: usize },
    /// d_model is already the widest zl trains, or the backend can hold.
    WidestAlready { d_model: usize },
    /// The work budget allows no wider model at this many epochs (at most `widest`).
    OverBudget { epochs: u32, widest: usize },
    /// The PTX interpreter: far too slow to train more models.
    Simulator,
    /// A loaded model whose file does not record how it was trained: no retraining would be a
    /// fair comparison.
    SettingsNotRecorded,
    /// A vocabulary above the dense analysis' (`vocab` tokens): the large-V view trains nothing
    /// beside the model.
    LargeVocabulary { vocab: usize },
}

/// The numbers a verdict is decided from.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    /// `Σ_i (n_i/N)·KL(P_i‖Q_i)` and its two parts (they sum to it).
    pub gap: f64,
    pub leak: f64,
    pub misfit: f64,
    /// `H(next|current)` and `ln V`.
    pub floor: f64,
    pub uniform: f64,
    /// The controls' gaps (untrained, shuffled, …): at least one.
    pub control_gaps: Vec<f64>,
    /// A wider model's gap, or why none was trained.
    pub wider: Result<Wider, NotRetrained>,
    /// The gap against the epoch, where it was measured.
    pub trend: Option<GapTrend>,
}

/// The verdict: the regimes that hold, with the thresholds and numbers they were decided by.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub regimes: Vec<Regime>,
    /// The gap below which it is small: [`SMALL_GAP_FRACTION`] × (uniform − floor).
    pub small_gap: f64,
    pub gap: f64,
    /// `leak / gap` (0 when there is no gap).
    pub gap_share_leak: f64,
    pub gap_site: GapSite,
    /// The smallest control gap, and whether every control's gap is [`CONTROL_FACTOR`] times the
    /// model's.
    pub best_control_gap: f64,
    pub controls_told_apart: bool,
    pub wider_model: Option<Wider>,
    /// The model's gap over the wider model's (`None` without one, or when the wider gap is 0).
    pub wider_ratio: Option<f64>,
    /// Why no wider model was trained, where none was.
    pub wider_not_trained: Option<NotRetrained>,
    pub gap_trend: Option<GapTrend>,
}

impl Verdict {
    pub fn holds(&self, r: Regime) -> bool {
        self.regimes.contains(&r)
    }
}

/// The gap below which it is small, for a text of uniform loss `uniform` (ln V) and bigram
/// floor `floor`: [`SMALL_GAP_FRACTION`] × (uniform − floor).
pub fn small_gap(uniform: f64, floor: f64) -> f64 {
    SMALL_GAP_FRACTION * (uniform - floor).max(0.0)
}

/// Decides the verdict from `e` by the rules of the module docs.
pub fn decide(e: Evidence) -> Verdict {
    let small_gap = small_gap(e.uniform, e.floor);
    let small = e.gap <= small_gap;
    let best_control_gap = e.control_gaps.iter().copied().fold(f64::INFINITY, f64::min);
    // A model at the floor (gap 0) is told apart from any control with a gap at all.
    let controls_told_apart = best_control_gap >= CONTROL_FACTOR * e.gap && best_control_gap > 0.0;
    let mut regimes = Vec::new();
    if !controls_told_apart {
        regimes.push(Regime::NotLearned);
    } else if small {
        regimes.push(Regime::BigramTable);
    }
    if !small {
        if e.wider.is_ok_and(|w| w.gap * WIDER_FACTOR <= e.gap) {
            regimes.push(Regime::RankLimited);
        }
        if e.trend.as_ref().and_then(|t| t.falling) == Some(true) {
            regimes.push(Regime::Undertrained);
        }
    }
    let share = if e.gap > 0.0 { e.leak / e.gap } else { 0.0 };
    let gap_site = if e.gap <= 0.0 {
        GapSite::None
    } else if share >= MOSTLY_SHARE {
        GapSite::Leak
    } else if 1.0 - share >= MOSTLY_SHARE {
        GapSite::Misfit
    } else {
        GapSite::Both
    };
    Verdict {
        regimes,
        small_gap,
        gap: e.gap,
        gap_share_leak: share,
        gap_site,
        best_control_gap,
        controls_told_apart,
        wider_model: e.wider.ok(),
        wider_ratio: e.wider.ok().filter(|w| w.gap > 0.0).map(|w| e.gap / w.gap),
        wider_not_trained: e.wider.err(),
        gap_trend: e.trend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed run's numbers (10,000 epochs): a bigram table, almost all leak.
    fn seed() -> Evidence {
        Evidence {
            gap: 3.1e-5,
            leak: 3.0749e-5,
            misfit: 3.1e-5 - 3.0749e-5,
            floor: 1.6067,
            uniform: 30f64.ln(),
            control_gaps: vec![1.8, 6.6],
            wider: Ok(Wider {
                d_model: 30,
                gap: 1.0e-5,
            }),
            trend: Some(GapTrend::new(
                vec![5_000, 10_000, 20_000],
                vec![6e-5, 3.1e-5, 1.6e-5],
                10_000,
            )),
        }
    }

    #[test]
    fn the_seed_run_is_a_bigram_table_though_still_falling_and_a_wider_model_does_better() {
        let v = decide(seed());
        assert_eq!(v.regimes, vec![Regime::BigramTable]);
        assert_eq!(v.gap_site, GapSite::Leak);
        // Falling, but a small gap is not called undertrained.
        assert_eq!(v.gap_trend.unwrap().falling, Some(true));
    }

    #[test]
    fn one_epoch_is_not_learned_when_the_controls_are_as_far_from_the_floor() {
        let v = decide(Evidence {
            gap: 1.806,
            leak: 0.9,
            misfit: 0.906,
            control_gaps: vec![1.806, 1.805],
            wider: Ok(Wider {
                d_model: 30,
                gap: 1.80,
            }),
            trend: None,
            ..seed()
        });
        assert_eq!(v.regimes, vec![Regime::NotLearned]);
        assert!(!v.controls_told_apart);
        assert_eq!(v.gap_site, GapSite::Both);
    }

    #[test]
    fn a_narrow_model_on_a_larger_text_is_rank_limited_and_mostly_misfit() {
        // GPL-3 at d_model 8: gap 0.0447 (misfit 0.0276), flat over the last doubling, and a
        // d_model 32 model 10× better.
        let v = decide(Evidence {
            gap: 0.0447,
            leak: 0.0171,
            misfit: 0.0276,
            floor: 2.4,
            uniform: 76f64.ln(),
            control_gaps: vec![1.9, 3.0],
            wider: Ok(Wider {
                d_model: 32,
                gap: 2.5e-3,
            }),
            trend: Some(GapTrend::new(
                vec![50_000, 100_000],
                vec![3.66e-2, 3.63e-2],
                100_000,
            )),
        });
        assert_eq!(v.regimes, vec![Regime::RankLimited]);
        assert_eq!(v.gap_trend.as_ref().unwrap().falling, Some(false));
        assert_eq!(v.gap_site, GapSite::Both, "62% misfit is not two thirds");
    }

    #[test]
    fn a_gap_still_falling_without_a_better_wider_model_is_undertrained_only() {
        let v = decide(Evidence {
            gap: 0.2,
            leak: 0.19,
            misfit: 0.01,
            wider: Ok(Wider {
                d_model: 30,
                gap: 0.1,
            }),
            trend: Some(GapTrend::new(vec![500, 1000], vec![0.3, 0.2], 1000)),
            ..seed()
        });
        assert_eq!(v.regimes, vec![Regime::Undertrained]);
        assert_eq!(v.gap_site, GapSite::Leak);
    }

    #[test]
    fn rank_limited_and_still_creeping_down_both_hold() {
        let v = decide(Evidence {
            gap: 0.23,
            leak: 0.03,
            misfit: 0.2,
            wider: Ok(Wider {
                d_model: 16,
                gap: 3e-5,
            }),
            trend: Some(GapTrend::new(vec![5000, 10000], vec![0.3, 0.23], 10000)),
            ..seed()
        });
        assert_eq!(v.regimes, vec![Regime::RankLimited, Regime::Undertrained]);
        assert_eq!(v.gap_site, GapSite::Misfit);
    }

    #[test]
    fn without_a_wider_model_no_rank_limit_is_claimed_and_the_reason_is_kept() {
        // d_model ≥ V: however large the gap, no width limits the table.
        let why = NotRetrained::FullRank {
            d_model: 32,
            vocab: 30,
        };
        let v = decide(Evidence {
            gap: 0.5,
            leak: 0.25,
            misfit: 0.25,
            wider: Err(why),
            ..seed()
        });
        assert!(!v.holds(Regime::RankLimited));
        assert_eq!((v.wider_model, v.wider_not_trained), (None, Some(why)));
        assert_eq!(v.wider_ratio, None);
    }

    #[test]
    fn the_wider_ratio_is_the_gap_over_the_wider_gap_and_ten_exactly_is_enough() {
        let at = |wider_gap: f64| {
            decide(Evidence {
                gap: 0.5,
                leak: 0.25,
                misfit: 0.25,
                wider: Ok(Wider {
                    d_model: 30,
                    gap: wider_gap,
                }),
                trend: None,
                ..seed()
            })
        };
        let v = at(0.05);
        assert_eq!(v.wider_ratio, Some(10.0));
        assert_eq!(v.regimes, vec![Regime::RankLimited]);
        assert_eq!(at(0.0501).regimes, Vec::<Regime>::new());
        // A wider model at the floor: an infinite ratio, left out, and a rank limit.
        let v = at(0.0);
        assert_eq!(
            (v.wider_ratio, v.regimes),
            (None, vec![Regime::RankLimited])
        );
    }

    #[test]
    fn the_trend_needs_both_ends_of_the_last_doubling() {
        assert_eq!(
            GapTrend::new(vec![100, 1000], vec![1.0, 0.5], 1000).falling,
            None
        );
        assert_eq!(GapTrend::new(vec![1], vec![1.0], 1).falling, None);
        // 1% exactly is not "more than 1%".
        assert_eq!(
            GapTrend::new(vec![50, 100], vec![1.0, 0.99], 100).falling,
            Some(false)
        );
    }
}
