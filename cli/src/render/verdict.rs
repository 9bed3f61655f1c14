//! The interpretive sentences of `zl interpret` and `zl report`, each a function of the
//! [`Verdict`]: a claim is written only where the verdict's numbers support it, with the share,
//! ratio or threshold it was decided by; otherwise its truthful alternative. Plain text (no
//! markup, nothing the HTML must escape), one sentence per meaning for both renderers.

use crate::analysis::verdict::{
    GapSite, Regime, Verdict, CONTROL_FACTOR, MOSTLY_SHARE, SMALL_GAP_FRACTION, STILL_FALLING_DROP,
};

/// A share as a percentage, with digits enough that a share short of 1 never reads "100.00%".
fn pct(x: f64) -> String {
    let digits = (2..8)
        .find(|&k| x >= 1.0 || format!("{:.k$}", 100.0 * x) != format!("{:.k$}", 100.0))
        .unwrap_or(8);
    format!("{:.digits$}%", 100.0 * x)
}

/// The controls' gaps over the model's, "∞" for a model at the floor.
fn ratio(v: &Verdict) -> String {
    if v.gap > 0.0 {
        format!("{:.1}×", v.best_control_gap / v.gap)
    } else {
        "∞".into()
    }
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
    let (leak, misfit) = (v.gap_share_leak, 1.0 - v.gap_share_leak);
    match v.gap_site {
        GapSite::Leak => format!(
            "{} of the gap is leak onto pairs the text never has (mostly leak: at least {})",
            pct(leak),
            pct(MOSTLY_SHARE)
        ),
        GapSite::Misfit => format!(
            "the gap is mostly misfit on the pairs that occur ({} misfit, {} leak)",
            pct(misfit),
            pct(leak)
        ),
        GapSite::Both => format!(
            "the gap is split: {} leak, {} misfit (neither holds {})",
            pct(leak),
            pct(misfit),
            pct(MOSTLY_SHARE)
        ),
        GapSite::None => "there is no gap to split".into(),
    }
}

/// Whether the gap was still falling over the model's last doubling of epochs, with the drop
/// and the rule; `None` where the curve does not say.
pub fn trend(v: &Verdict) -> Option<String> {
    let t = v.gap_trend.as_ref()?;
    let (drop, falling) = (t.drop?, t.falling?);
    let over = format!(
        "{} drop from {} to {} epochs; rule: more than {}",
        pct(drop),
        t.at / 2,
        t.at,
        pct(STILL_FALLING_DROP)
    );
    Some(match falling {
        true => format!("the gap keeps falling with the epoch ({over})"),
        false => format!("the gap is flat over the last doubling ({over})"),
    })
}

/// Whether the gap is a stopping time, as one sentence: only a falling gap is called one.
pub fn stopping(v: &Verdict, budget: &str) -> String {
    match (v.gap_trend.as_ref().and_then(|t| t.falling), trend(v)) {
        (Some(true), Some(t)) => {
            format!("The gap is a stopping time, not a floor: it holds for {budget}, and {t}.")
        }
        (_, Some(t)) => format!("The gap holds for {budget}; {t}."),
        (_, None) => format!("The gap holds for {budget}."),
    }
}

/// What the gap says about rank `d` for a `vocab`×`vocab` table: why it is enough only where
/// the model is a bigram table.
pub fn rank(v: &Verdict, d: usize, vocab: usize) -> String {
    if v.holds(Regime::BigramTable) {
        let shrinks = match v.gap_trend.as_ref().and_then(|t| t.falling) {
            Some(true) => ", and it shrinks as training goes on",
            _ => "",
        };
        format!(
            "Why rank {d} suffices for a {vocab}×{vocab} table: softmax ignores a constant per \
             row, so a row needs only the ratios of its seen pairs (ln P differences) and a \
             margin that pushes its unseen pairs far below; it never needs the −∞ of exact \
             bigram logits. The leak is what a finite margin costs{shrinks}."
        )
    } else if v.gap > v.small_gap {
        format!(
            "The gap, {:.3e} nats, is not small (small: at most {} × (ln V − floor) = {:.3e} \
             nats), so this model does not show that rank {d} is enough for a {vocab}×{vocab} \
             table.",
            v.gap, SMALL_GAP_FRACTION, v.small_gap
        )
    } else {
        format!(
            "The gap is small, but the controls' gaps are only {} the model's (rule: at least \
             {CONTROL_FACTOR}×): not told apart, so this shows nothing about rank {d}.",
            ratio(v)
        )
    }
}

/// How the model's gap compares with the controls'.
pub fn controls(v: &Verdict, budget: &str) -> String {
    let small = match v.gap <= v.small_gap {
        true => "small",
        false => "not small",
    };
    let gap = format!(
        "its gap is {small} ({:.2e} nats after {budget}; small: at most {:.2e})",
        v.gap, v.small_gap
    );
    let orders = v.gap > 0.0 && v.best_control_gap >= 100.0 * v.gap || v.gap == 0.0;
    if !v.controls_told_apart {
        format!(
            "{gap}, and the controls' gaps are only {} the model's: not told apart (rule: at \
             least {CONTROL_FACTOR}×)",
            ratio(v)
        )
    } else if orders && v.best_control_gap > 0.0 {
        format!(
            "{gap}, while both controls' gaps are orders of magnitude larger (at least {})",
            ratio(v)
        )
    } else {
        format!(
            "{gap}, and both controls' gaps are at least {} larger",
            ratio(v)
        )
    }
}

/// With the first letter upper-case.
pub fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}
