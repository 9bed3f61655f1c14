//! What width a text needs, as typed facts: the smallest d_model whose gap reaches the verdict's
//! small-gap tolerance within a stated budget ([`MinimumWidth`]), the counting argument beside it
//! ([`mechanism::counting`]), and, for a model narrower than that, what it gives up row by row
//! ([`GivenUp`]).

use std::cmp::Ordering;

use serde::Serialize;
use zl_core::interpret::Decomposition;

use super::{
    mechanism::{self, Counting},
    sweep::UntilGap,
    verdict::{NotRetrained, Wider},
    Comparison,
};

/// How many rows [`GivenUp::misfit_rows`] names.
pub const MISFIT_ROWS: usize = 3;

/// How the widths were trained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Search {
    /// Every width for the model's own epochs, with its settings (the refits and the wider
    /// model): the minimum at this budget.
    Refits,
    /// `zl sweep --until-gap`'s search: each width trained until its gap is below the tolerance
    /// or `max_epochs` have run.
    UntilGap,
}

/// One width tried, and its gap where its training stopped.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Tried {
    pub d_model: usize,
    pub gap: f64,
}

/// The smallest width whose gap reaches `tolerance` within `max_epochs`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MinimumWidth {
    /// The smallest width tried whose gap is at most `tolerance` (`None`: none reached it).
    pub d_model: Option<usize>,
    /// The widest width tried below `d_model`: the minimum lies above it, and is exactly
    /// `d_model` when this is `d_model − 1`.
    pub above: Option<usize>,
    /// The verdict's small gap, in nats.
    pub tolerance: f64,
    pub max_epochs: Option<u32>,
    pub search: Search,
    /// Every width tried, narrowest first.
    pub tried: Vec<Tried>,
    /// Why nothing was trained, where nothing was (then `tried` is empty).
    pub not_measured: Option<NotRetrained>,
}

impl MinimumWidth {
    fn of(tried: Vec<Tried>, tolerance: f64, max_epochs: Option<u32>, search: Search) -> Self {
        let d_model = tried.iter().find(|t| t.gap <= tolerance).map(|t| t.d_model);
        let above = d_model
            .and_then(|m| tried.iter().rev().find(|t| t.d_model < m))
            .map(|t| t.d_model);
        MinimumWidth {
            d_model,
            above,
            tolerance,
            max_epochs,
            search,
            tried,
            not_measured: None,
        }
    }

    /// From the models retrained at the model's budget: the refits and the wider model.
    pub fn from_refits(
        refits: &Result<Vec<(usize, Decomposition)>, NotRetrained>,
        wider: Option<Wider>,
        tolerance: f64,
        epochs: Option<u32>,
    ) -> Self {
        let refits = match refits {
            Ok(r) => r,
            Err(why) => {
                return MinimumWidth {
                    not_measured: Some(*why),
                    ..Self::of(vec![], tolerance, None, Search::Refits)
                }
            }
        };
        let mut tried: Vec<Tried> = refits
            .iter()
            .map(|(d_model, dec)| Tried {
                d_model: *d_model,
                gap: dec.kl_weighted,
            })
            .chain(wider.map(|w| Tried {
                d_model: w.d_model,
                gap: w.gap,
            }))
            .collect();
        tried.sort_by_key(|t| t.d_model);
        tried.dedup_by_key(|t| t.d_model);
        Self::of(tried, tolerance, epochs, Search::Refits)
    }

    /// From an `--until-gap` search that stopped each width once its gap was at most
    /// `tolerance`: each width's best run where it stopped.
    pub fn from_until_gap(u: &UntilGap, tolerance: f64) -> Self {
        let tried = u
            .sizes
            .iter()
            .map(|s| Tried {
                d_model: s.d_model,
                gap: s.best().last().gap,
            })
            .collect();
        Self::of(
            tried,
            tolerance,
            Some(u.budget.max_epochs),
            Search::UntilGap,
        )
    }
}

/// What a model narrower than the minimum gives up, by row (token ids, in token-id order).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GivenUp {
    /// Rows without a positive margin (some unseen pair's logit at or above a seen one's), of
    /// `rows_with_margin`.
    pub no_margin: Vec<usize>,
    pub rows_with_margin: usize,
    /// Rows followed by something whose top-1 is not among their most frequent next characters,
    /// of `followed`.
    pub wrong_top1: Vec<usize>,
    pub followed: usize,
    /// The rows holding most of the misfit `Σ_i (n_i/N)·misfit_i`: (row, its share), largest
    /// first, at most [`MISFIT_ROWS`].
    pub misfit_rows: Vec<(usize, f64)>,
}

impl GivenUp {
    pub fn of(c: &Comparison) -> GivenUp {
        let no_margin = (0..c.vocab.len())
            .filter(|&i| c.margins[i].is_some_and(|m| m <= 0.0))
            .collect();
        let wrong_top1 = (0..c.vocab.len())
            .filter(|&i| c.rows[i].count > 0.0 && !c.rows[i].argmax_agrees)
            .collect();
        let total: f64 = c.rows.iter().map(|r| r.count).sum();
        let mut misfit_rows: Vec<(usize, f64)> = (0..c.vocab.len())
            .filter(|_| c.gap_seen_misfit > 0.0)
            .map(|i| {
                let weighted = c.rows[i].count / total * c.gap_rows[i].misfit;
                (i, weighted / c.gap_seen_misfit)
            })
            .filter(|&(_, share)| share > 0.0)
            .collect();
        misfit_rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        misfit_rows.truncate(MISFIT_ROWS);
        let rows_with_margin = c.margin.rows;
        GivenUp {
            no_margin,
            rows_with_margin,
            wrong_top1,
            followed: c.agreement.followed,
            misfit_rows,
        }
    }
}

/// The capacity facts of one model.
#[derive(Clone, Debug, PartialEq)]
pub struct Capacity {
    pub minimum: MinimumWidth,
    pub counting: Counting,
    /// The measured minimum against the counting argument's bound (`None` without a minimum).
    pub minimum_vs_bound: Option<Ordering>,
    /// Whether the model's d_model is below the measured minimum (`None` without one).
    pub below: Option<bool>,
    /// Where it is below: what it gives up.
    pub given_up: Option<GivenUp>,
}

impl Capacity {
    pub fn new(c: &Comparison, minimum: MinimumWidth) -> Capacity {
        let counting = mechanism::counting(&c.counts);
        let below = minimum.d_model.map(|m| c.d_model < m);
        Capacity {
            minimum_vs_bound: minimum.d_model.map(|m| m.cmp(&counting.parameter_bound)),
            below,
            given_up: (below == Some(true)).then(|| GivenUp::of(c)),
            counting,
            minimum,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tried(gaps: &[(usize, f64)]) -> Vec<Tried> {
        gaps.iter()
            .map(|&(d_model, gap)| Tried { d_model, gap })
            .collect()
    }

    #[test]
    fn the_minimum_is_the_narrowest_width_at_or_below_the_tolerance() {
        // The seed text at 10^4 epochs.
        let t = tried(&[
            (3, 0.309),
            (4, 0.0885),
            (5, 0.0021),
            (6, 1.9e-4),
            (30, 1.6e-5),
        ]);
        let m = MinimumWidth::of(t.clone(), 0.0179, Some(10_000), Search::Refits);
        assert_eq!((m.d_model, m.above), (Some(5), Some(4)));
        // "At most": a gap equal to the tolerance reaches it.
        let m = MinimumWidth::of(
            tried(&[(4, 0.0179), (5, 0.001)]),
            0.0179,
            None,
            Search::Refits,
        );
        assert_eq!((m.d_model, m.above), (Some(4), None));
        // A gap between tried widths leaves the minimum bounded, not exact.
        let m = MinimumWidth::of(
            tried(&[(16, 0.05), (64, 1e-5)]),
            0.0179,
            None,
            Search::Refits,
        );
        assert_eq!((m.d_model, m.above), (Some(64), Some(16)));
        let m = MinimumWidth::of(
            tried(&[(1, 1.8), (30, 1.8)]),
            0.0179,
            Some(1),
            Search::Refits,
        );
        assert_eq!((m.d_model, m.above), (None, None));
    }

    #[test]
    fn refits_not_trained_leave_the_minimum_unmeasured_with_the_reason() {
        let m =
            MinimumWidth::from_refits(&Err(NotRetrained::Simulator), None, 0.0179, Some(10_000));
        assert_eq!(m.not_measured, Some(NotRetrained::Simulator));
        assert!(m.tried.is_empty() && m.d_model.is_none());
    }
}
