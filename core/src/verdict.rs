//! What the numbers say about one model, as typed facts: which regime it is in and where its gap
//! lives, decided by stated rules (the constants below) from the numbers they summarise. `zl`
//! and the interactive page both decide here, so that a sentence is printed only where its
//! numbers support it, by the same rule everywhere; each writes its own words.
//!
//! The regimes (more than one may hold):
//! - [`Regime::BigramTable`]: the gap to the floor is small ([`SMALL_GAP_FRACTION`] of the way
//!   from uniform predictions to the floor) and the controls are told apart.
//! - [`Regime::RankLimited`]: the gap is not small, and a wider model trained with the same
//!   settings and budget gets a gap at least [`WIDER_FACTOR`] times smaller.
//! - [`Regime::Undertrained`]: the gap is not small and was still falling when training stopped
//!   ([`STILL_FALLING_DROP`] over the last doubling of the gap-against-epoch curve).
//! - [`Regime::NotLearned`]: the model's gap is not [`CONTROL_FACTOR`] times below every control
//!   run's (the untrained seeds and the shuffles).
//!
//! The evidence comes from models trained beside the one judged, with its settings: the
//! untrained model at [`UNTRAINED_SEEDS`] seeds, [`shuffles`] shuffled texts
//! ([`crate::rng::shuffle`]), and the wider model of [`wider_width`].

use alloc::vec::Vec;

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

/// The controls' gaps over the model's at which they are orders of magnitude apart.
pub const ORDERS_APART: f64 = 100.0;

/// One part of the gap "mostly" holds it when its share is at least this: two thirds.
pub const MOSTLY_SHARE: f64 = 2.0 / 3.0;

/// A run is still falling when its gap after all N epochs is more than this fraction below its
/// gap at ⌊N/2⌋ epochs (the last doubling of its training). Measured on the seed text (f64 KL
/// gap, seeds 0..4, 150,000 → 300,000 epochs): d_model 1 and 2, which their rank holds far from
/// the floor, fall 0.07–0.5%; d_model 3 and 4 fall 1.7–14% as they creep toward floors of their
/// own; d_model 5 and 6, on their way to under 1e-5, fall 17% and 7% (seed 0). 1% sits above the
/// stalls and below the slow descents, so a slow descent is called "still falling" rather than a
/// rank limit: the rule errs toward not claiming what the budget did not show.
pub const STILL_FALLING_DROP: f64 = 0.01;

/// The untrained control's null distribution: the model's `init_torch` at its own seed and the
/// next ones (no training, so many cost nothing).
pub const UNTRAINED_SEEDS: u64 = 8;

/// The shuffled control's null distribution: shuffles of the text (shuffle seed k, init seed the
/// model's + k; k = 0 is the model's own seed), each trained like the model. As many as
/// [`SHUFFLE_WORK`] multiply-adds allow (each epoch costs about `6·v²·d`), within [`SHUFFLES`]:
/// 4 on the seed run, 3 on GPL-3 at d_model 8.
pub const SHUFFLE_WORK: f64 = 1e10;
/// The fewest and the most shuffles.
pub const SHUFFLES: (usize, usize) = (2, 4);

/// How many shuffles [`SHUFFLE_WORK`] allows for a model of `d_model` trained `epochs` on `v`
/// tokens.
pub fn shuffles(v: usize, d_model: usize, epochs: u32) -> usize {
    let per = 6.0 * (v * v * d_model) as f64 * f64::from(epochs.max(1));
    ((SHUFFLE_WORK / per) as usize).clamp(SHUFFLES.0, SHUFFLES.1)
}

/// The work budget of the wider model, in multiply-adds (an epoch costs about `6·v²·d`): the
/// seed text's d_model 30 at 10^4 epochs costs 1.6·10^9, GPL-3's (76 characters) d_model 64
/// 2.2·10^10, about half a second on one AVX-512 core.
pub const WIDER_WORK: f64 = 1e11;

/// The wider model's width for a model of `d_model` trained `epochs` on `v` tokens: the full
/// rank V, within what the trainer holds (`fits`: memory, or the page's capacity tiers), and within
/// [`WIDER_WORK`]. `Err` says why none is wider than `d_model`.
pub fn wider_width(
    v: usize,
    d_model: usize,
    epochs: u32,
    fits: &dyn Fn(usize) -> bool,
) -> Result<usize, NotRetrained> {
    let d = d_model;
    if d >= v {
        return Err(NotRetrained::FullRank {
            d_model: d,
            vocab: v,
        });
    }
    let widest = (d + 1..=v)
        .rev()
        .find(|&w| fits(w))
        .ok_or(NotRetrained::WidestAlready { d_model: d })?;
    let affordable = (WIDER_WORK / (6.0 * (v * v) as f64 * f64::from(epochs.max(1)))) as usize;
    match widest.min(affordable) {
        w if w > d => Ok(w),
        widest => Err(NotRetrained::OverBudget { epochs, widest }),
    }
}

/// A regime the model is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Regime {
    /// The gap is small and the controls are told apart.
    BigramTable,
    /// A wider model closes the gap at least [`WIDER_FACTOR`] times better.
    RankLimited,
    /// The gap was still falling when training stopped.
    Undertrained,
    /// The controls are not told apart from the model.
    NotLearned,
}

impl Regime {
    /// Every regime, in the order [`decide`] lists them.
    pub const ALL: [Regime; 4] = [
        Regime::NotLearned,
        Regime::BigramTable,
        Regime::RankLimited,
        Regime::Undertrained,
    ];
}

/// Which part of the gap holds most of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
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
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct GapTrend {
    /// The epochs the gap was measured at, ascending.
    pub epochs: Vec<u32>,
    /// The gap at each.
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
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Wider {
    /// Its width.
    pub d_model: usize,
    /// Its gap to the floor, on the model's text.
    pub gap: f64,
}

/// Why a model was not retrained at another width (the wider model, or the widths the minimum
/// is searched among).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "reason", rename_all = "snake_case"))]
pub enum NotRetrained {
    /// d_model ≥ V: `W_E·W_U` can have full rank, so no width limits it and no wider model can
    /// show a rank limit.
    FullRank {
        /// The model's width.
        d_model: usize,
        /// The vocabulary's size.
        vocab: usize,
    },
    /// d_model is already the widest zl trains, or the backend can hold.
    WidestAlready {
        /// The model's width.
        d_model: usize,
    },
    /// The work budget allows no wider model at this many epochs (at most `widest`).
    OverBudget {
        /// The model's epochs.
        epochs: u32,
        /// The widest the budget allows.
        widest: usize,
    },
    /// The PTX interpreter: far too slow to train more models.
    Simulator,
    /// A loaded model whose file does not record how it was trained: no retraining would be a
    /// fair comparison.
    SettingsNotRecorded,
}

/// The numbers a verdict is decided from.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    /// `Σ_i (n_i/N)·KL(P_i‖Q_i)`.
    pub gap: f64,
    /// The gap's leak onto unseen pairs ([`crate::interpret::Summary::gap_leak`]).
    pub leak: f64,
    /// The gap's misfit on the seen pairs (leak + misfit = gap).
    pub misfit: f64,
    /// `H(next|current)`.
    pub floor: f64,
    /// `ln V`.
    pub uniform: f64,
    /// The controls' gaps (untrained, shuffled, …): at least one.
    pub control_gaps: Vec<f64>,
    /// A wider model's gap, or why none was trained.
    pub wider: Result<Wider, NotRetrained>,
    /// The gap against the epoch, where it was measured.
    pub trend: Option<GapTrend>,
}

/// The verdict: the regimes that hold, with the thresholds and numbers they were decided by.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Verdict {
    /// The regimes that hold, in the order of [`Regime::ALL`].
    pub regimes: Vec<Regime>,
    /// The gap below which it is small: [`SMALL_GAP_FRACTION`] × (uniform − floor).
    pub small_gap: f64,
    /// The model's gap is at most `small_gap`.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub small: bool,
    /// The model's gap.
    pub gap: f64,
    /// `leak / gap` (0 when there is no gap).
    pub gap_share_leak: f64,
    /// Which part holds the gap, by [`MOSTLY_SHARE`].
    pub gap_site: GapSite,
    /// The smallest control gap.
    pub best_control_gap: f64,
    /// Whether every control's gap is [`CONTROL_FACTOR`] times the model's.
    pub controls_told_apart: bool,
    /// `best_control_gap` over the model's gap (`None` for a model at the floor).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub controls_ratio: Option<f64>,
    /// The controls' gaps are [`ORDERS_APART`] times the model's or more, or the model is at the
    /// floor: orders of magnitude apart, not only told apart.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub controls_orders_apart: bool,
    /// The wider model, where one was trained.
    pub wider_model: Option<Wider>,
    /// The model's gap over the wider model's (`None` without one, or when the wider gap is 0).
    pub wider_ratio: Option<f64>,
    /// Why no wider model was trained, where none was.
    pub wider_not_trained: Option<NotRetrained>,
    /// The gap against the epoch, where it was measured.
    pub gap_trend: Option<GapTrend>,
}

impl Verdict {
    /// Whether `r` holds.
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
        small,
        gap: e.gap,
        gap_share_leak: share,
        gap_site,
        best_control_gap,
        controls_told_apart,
        controls_ratio: (e.gap > 0.0).then(|| best_control_gap / e.gap),
        controls_orders_apart: e.gap > 0.0 && best_control_gap >= ORDERS_APART * e.gap
            || e.gap == 0.0,
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

    #[test]
    fn the_wider_model_is_the_full_rank_within_the_budget_and_none_at_full_rank() {
        let any = |_: usize| true;
        assert_eq!(wider_width(30, 16, 10_000, &any), Ok(30));
        assert_eq!(wider_width(30, 3, 10_000, &any), Ok(30));
        assert_eq!(wider_width(76, 8, 10_000, &any), Ok(76));
        assert_eq!(wider_width(76, 8, 10_000, &|w| w <= 64), Ok(64));
        assert_eq!(
            wider_width(30, 30, 10_000, &any),
            Err(NotRetrained::FullRank {
                d_model: 30,
                vocab: 30
            })
        );
        // 256 tokens at 10^4 epochs: 10^11 multiply-adds reach d_model 25.
        assert_eq!(wider_width(256, 16, 10_000, &any), Ok(25));
        assert_eq!(
            wider_width(256, 32, 10_000, &any),
            Err(NotRetrained::OverBudget {
                epochs: 10_000,
                widest: 25
            })
        );
        assert_eq!(
            wider_width(30, 16, 10_000, &|w| w <= 16),
            Err(NotRetrained::WidestAlready { d_model: 16 })
        );
    }

    #[test]
    fn shuffles_are_as_many_as_the_budget_allows_within_two_and_four() {
        assert_eq!(shuffles(30, 16, 10_000), 4);
        assert_eq!(shuffles(76, 8, 10_000), 3);
        assert_eq!(shuffles(256, 64, 10_000), 2);
    }
}
