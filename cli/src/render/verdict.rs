//! The interpretive sentences of `zl interpret` and `zl report`, each a function of the
//! [`Verdict`]: a claim is written only where the verdict's numbers support it, with the share,
//! ratio or threshold it was decided by; otherwise its truthful alternative. Plain text (no
//! markup, nothing the HTML must escape), one sentence per meaning for both renderers.

use super::against::{against, against_all, beside, Form};
use crate::analysis::verdict::{
    GapSite, GapTrend, NotRetrained, Regime, Verdict, Wider, CONTROL_FACTOR, MOSTLY_SHARE,
    SMALL_GAP_FRACTION, STILL_FALLING_DROP, WIDER_FACTOR,
};
use crate::analysis::Budget;

/// A share beside the share `rule` it was judged by, both as percentages.
fn pct(x: f64, rule: f64) -> (String, String) {
    against(x, rule, Form::Percent(2))
}

/// The controls' gaps over the model's, beside [`CONTROL_FACTOR`]; "∞" for a model at the
/// floor.
fn ratio(v: &Verdict) -> String {
    match v.controls_ratio {
        Some(r) => format!("{}×", beside(r, CONTROL_FACTOR, Form::Fixed(1))),
        None => "∞".into(),
    }
}

/// The model's gap and the small gap, each as the verdict compared them.
fn small_gap(v: &Verdict) -> (String, String) {
    against(v.gap, v.small_gap, Form::Sci(2))
}

/// A drop over the last doubling of epochs beside [`STILL_FALLING_DROP`]'s rule.
fn fell(t: &GapTrend, drop: f64) -> String {
    let (drop, rule) = pct(drop, STILL_FALLING_DROP);
    format!(
        "{drop} from epoch {} to {} (rule: > {rule})",
        t.at / 2,
        t.at
    )
}

/// What this model is, by its regimes: the report's title and one-line summary.
pub fn summary(v: &Verdict) -> String {
    let says: Vec<&str> = v
        .regimes
        .iter()
        .map(|r| match r {
            Regime::BigramTable => "learned its text's bigram table",
            Regime::NotLearned => "has not learned its text's bigram table",
            Regime::RankLimited => "is rank-limited",
            Regime::Undertrained => "was still learning when training stopped",
        })
        .collect();
    match says.is_empty() {
        true => "this zero-layer transformer is short of its text's bigram table".into(),
        false => format!("this zero-layer transformer {}", says.join(" and ")),
    }
}

/// Where the gap lives, with the share that decides it.
pub fn gap_site(v: &Verdict) -> String {
    let shares = [v.gap_share_leak, 1.0 - v.gap_share_leak];
    let (shares, rule) = against_all(&shares, MOSTLY_SHARE, Form::Percent(2));
    let (leak, misfit) = (&shares[0], &shares[1]);
    match v.gap_site {
        GapSite::Leak => format!(
            "mostly leak: {leak} of the gap is on pairs the text never has (rule: ≥ {rule})"
        ),
        GapSite::Misfit => format!(
            "mostly misfit: {misfit} of the gap is on the pairs that occur, {leak} leak (rule: ≥ \
             {rule})"
        ),
        GapSite::Both => {
            format!("the gap is split: {leak} leak, {misfit} misfit (neither holds {rule})")
        }
        GapSite::None => "there is no gap to split".into(),
    }
}

/// Whether the gap was still falling over the model's last doubling of epochs, with the drop
/// and the rule; `None` where the curve does not say.
pub fn trend(v: &Verdict) -> Option<String> {
    let t = v.gap_trend.as_ref()?;
    let (drop, falling) = (t.drop?, t.falling?);
    let over = fell(t, drop);
    Some(match falling {
        true => format!("still falling: {over}"),
        false => format!("flat over the last doubling: {over}"),
    })
}

/// Whether the gap is a stopping time, as one sentence: only a falling gap is called one.
pub fn stopping(v: &Verdict, budget: &Budget) -> String {
    match (v.gap_trend.as_ref().and_then(|t| t.falling), trend(v)) {
        (Some(true), Some(t)) => {
            format!("The gap is a stopping time, not a floor: it holds for {budget}, and is {t}.")
        }
        (_, Some(t)) => format!("The gap holds for {budget}; it is {t}."),
        (_, None) => format!("The gap holds for {budget}."),
    }
}

/// One regime's line: whether it holds, and the sentence (with its numbers and rule) that says
/// why or why not. `vocab` is V.
pub struct RegimeLine {
    pub regime: Regime,
    pub holds: bool,
    pub why: String,
}

/// The regime's name, as the JSON spells it: the marker of its line.
pub fn name(r: Regime) -> &'static str {
    match r {
        Regime::BigramTable => "bigram_table",
        Regime::RankLimited => "rank_limited",
        Regime::Undertrained => "undertrained",
        Regime::NotLearned => "not_learned",
    }
}

/// Why no model was retrained at another width.
pub fn not_retrained(why: NotRetrained) -> String {
    match why {
        NotRetrained::FullRank { d_model, vocab } => format!(
            "d_model {d_model} ≥ V = {vocab}: W_E·W_U can have full rank, so no width limits it"
        ),
        NotRetrained::WidestAlready { d_model } => {
            format!("d_model {d_model} is the widest zl trains here")
        }
        NotRetrained::OverBudget { epochs, widest } => format!(
            "at {epochs} epochs the work budget allows retraining up to d_model {widest} only"
        ),
        NotRetrained::Simulator => "nothing is retrained on the PTX interpreter (too slow)".into(),
        NotRetrained::SettingsNotRecorded => {
            "the loaded file does not record how it was trained, so no retraining would be a \
             fair comparison"
                .into()
        }
    }
}

/// Every regime, in the verdict's order, with the numbers and the rule that decide it.
pub fn regimes(v: &Verdict, vocab: usize) -> Vec<RegimeLine> {
    regimes_saying(v, vocab, &not_retrained)
}

/// [`regimes`], with `no_wider` saying why no wider model was trained (the large view knows
/// more than the verdict's reason).
pub fn regimes_saying(
    v: &Verdict,
    vocab: usize,
    no_wider: &dyn Fn(NotRetrained) -> String,
) -> Vec<RegimeLine> {
    let (gap, small_gap) = small_gap(v);
    let small = format!(
        "small: ≤ {small_gap}, {}% of ln V − floor",
        100.0 * SMALL_GAP_FRACTION
    );
    let is_small = v.small;
    let controls = format!("{} it (rule: ≥ {CONTROL_FACTOR}×)", ratio(v));
    let bigram = match (is_small, v.controls_told_apart) {
        (true, true) => format!("gap {gap} nats ({small}); controls {controls}"),
        (true, false) => {
            format!("gap {gap} nats ({small}), but the controls' gaps are only {controls}")
        }
        (false, _) => format!("gap {gap} nats, not small ({small})"),
    };
    let not_learned = match v.controls_told_apart {
        false => format!("the controls' gaps are only {controls}: not told apart"),
        true => format!("the controls are told apart: their gaps are {controls}"),
    };
    let wider = |w: &Wider| {
        let full = match w.d_model == vocab {
            true => " = V, full rank".to_string(),
            false => String::new(),
        };
        let times = match v.wider_ratio {
            None => "∞".to_string(),
            Some(r) if r >= 100.0 => format!("{}×", beside(r, WIDER_FACTOR, Form::Fixed(0))),
            Some(r) => format!("{}×", beside(r, WIDER_FACTOR, Form::Fixed(1))),
        };
        (
            format!(
                "d_model {}{full} (same settings) gets {:.2e} nats",
                w.d_model, w.gap
            ),
            times,
        )
    };
    let rank = match (v.wider_model.as_ref(), v.wider_not_trained) {
        (Some(w), _) => {
            let (model, times) = wider(w);
            if v.holds(Regime::RankLimited) {
                format!("{model}, {times} less (rule: ≥ {WIDER_FACTOR}×)")
            } else if is_small {
                format!(
                    "the gap is small; {model} ({times} less), but a small gap is not a rank limit"
                )
            } else {
                format!("{model}, only {times} less (rule: ≥ {WIDER_FACTOR}×)")
            }
        }
        // A small gap is decided before any wider model is looked at.
        (None, _) if is_small => "the gap is small, and a small gap is not a rank limit".into(),
        (None, Some(why)) => format!("no wider model: {}", no_wider(why)),
        (None, None) => "no wider model was trained".into(),
    };
    let trend = v
        .gap_trend
        .as_ref()
        .and_then(|t| Some((t, t.drop?, t.falling?)));
    let under = match trend {
        // As with the rank limit, a small gap is decided before the curve is looked at.
        None if is_small => "the gap is small, and a small gap is not undertraining".into(),
        None => "not decided: no gap curve holds this model's last doubling of epochs".into(),
        Some((t, drop, falling)) => {
            let over = fell(t, drop);
            match (is_small, falling) {
                (true, true) => {
                    format!("the gap is small, so its fall of {over} is not called undertraining")
                }
                (true, false) => format!("the gap is small, and it fell {over}"),
                (false, true) => format!("not small, and still falling: {over}"),
                (false, false) => format!("not small, but flat: it fell {over}"),
            }
        }
    };
    [
        (Regime::BigramTable, bigram),
        (Regime::RankLimited, rank),
        (Regime::Undertrained, under),
        (Regime::NotLearned, not_learned),
    ]
    .into_iter()
    .map(|(regime, why)| RegimeLine {
        regime,
        holds: v.holds(regime),
        why,
    })
    .collect()
}

/// How the model's gap compares with the controls'.
pub fn controls(v: &Verdict, budget: &Budget) -> String {
    let (gap, small) = small_gap(v);
    let gap = match v.small {
        true => format!("gap {gap} nats after {budget}, small (≤ {small})"),
        false => format!("gap {gap} nats after {budget}, not small (small: ≤ {small})"),
    };
    let rule = format!("rule: ≥ {CONTROL_FACTOR}×");
    if !v.controls_told_apart {
        format!(
            "{gap}; the controls' gaps are only {} it: not told apart ({rule})",
            ratio(v)
        )
    } else if v.controls_orders_apart && v.best_control_gap > 0.0 {
        format!(
            "{gap}; the controls' gaps are {} it, orders of magnitude larger ({rule})",
            ratio(v)
        )
    } else {
        format!("{gap}; the controls' gaps are {} it ({rule})", ratio(v))
    }
}

/// With the first letter upper-case.
pub fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::verdict::{decide, Evidence, GapTrend};
    use crate::render::against::printed_order;

    /// Evidence for a model of gap `gap` on a text whose small gap is 1e-2 (uniform − floor = 1),
    /// with the controls' gap, the wider model (or why none) and a gap curve (or none).
    fn evidence(
        gap: f64,
        control: f64,
        wider: Result<Wider, NotRetrained>,
        trend: bool,
    ) -> Evidence {
        Evidence {
            gap,
            leak: 0.9 * gap,
            misfit: 0.1 * gap,
            floor: 1.0,
            uniform: 2.0,
            control_gaps: vec![control],
            wider,
            trend: trend.then(|| GapTrend::new(vec![50, 100], vec![2.0 * gap, gap], 100)),
        }
    }

    fn why(v: &Verdict, r: Regime) -> (bool, String) {
        let line = regimes(v, 30).into_iter().find(|l| l.regime == r).unwrap();
        (line.holds, line.why)
    }

    /// A small gap fails rank_limited and undertrained before any wider model or curve is looked
    /// at, so their lines give the same reason whatever kept the wider model or the curve away,
    /// and not the reason a gap that is not small gets.
    #[test]
    fn a_small_gap_is_the_reason_whatever_was_not_trained() {
        let reasons = [
            NotRetrained::OverBudget {
                epochs: 100,
                widest: 12,
            },
            NotRetrained::FullRank {
                d_model: 30,
                vocab: 30,
            },
            NotRetrained::Simulator,
        ];
        for r in [Regime::RankLimited, Regime::Undertrained] {
            let small: Vec<_> = reasons
                .iter()
                .map(|&n| why(&decide(evidence(1e-3, 1.0, Err(n), false)), r))
                .collect();
            assert!(small.iter().all(|s| s == &small[0] && !s.0), "{small:?}");
            let large: Vec<_> = reasons
                .iter()
                .map(|&n| why(&decide(evidence(0.5, 5.0, Err(n), false)), r))
                .collect();
            assert!(!large[0].0 && large[0].1 != small[0].1, "{large:?}");
        }
        // Where the gap is not small, the rank line names why no wider model was trained.
        let rank = |n| {
            why(
                &decide(evidence(0.5, 5.0, Err(n), false)),
                Regime::RankLimited,
            )
        };
        assert_ne!(rank(reasons[0]), rank(reasons[1]));
    }

    /// The printed ratio of the controls' gap to the model's orders against the printed rule as
    /// the verdict went, on both sides of it and at it.
    #[test]
    fn the_printed_ratio_reads_the_way_the_verdict_went() {
        for ratio in [1.94, 1.96, 1.999, 2.0, 2.001, 2.04, 2.06] {
            let gap = 0.5;
            let v = decide(evidence(
                gap,
                ratio * gap,
                Err(NotRetrained::Simulator),
                true,
            ));
            let (holds, line) = why(&v, Regime::NotLearned);
            let printed = line
                .split_whitespace()
                .find_map(|w| w.strip_suffix('×'))
                .unwrap();
            let rule = CONTROL_FACTOR.to_string();
            let order = printed_order(printed, &rule).unwrap();
            // not_learned holds exactly where the ratio is below the rule.
            assert_eq!(holds, order.is_lt(), "{ratio}: {line}");
            assert_eq!(
                order,
                (ratio * gap / gap).total_cmp(&CONTROL_FACTOR),
                "{line}"
            );
        }
    }
}
