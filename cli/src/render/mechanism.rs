//! The weights, interpreted without choosing a basis: successor classes, embedding patches and
//! seed replication ([`crate::analysis::mechanism`]), as terminal text and HTML; and
//! the row-centred table's directions with their stability.

use std::fmt;

use super::{
    against::{beside, times, Form},
    escape as esc,
    html::ch,
    text::{fact, para},
};
use crate::analysis::{
    mechanism::{
        ClassCosines, NotReplicated, BASIS_FACTOR, CLASS_COSINE, CONTROL_AGREE_SHARE, MATCH_COSINE,
        PATCH_ATOL, PATCH_RTOL, PATCH_SEED, SEEN_SPREAD_NATS, SPREAD_FACTOR, UNSEEN_NATS,
    },
    Analysis, Direction,
};

/// Why the seeds were not compared, in words.
pub fn not_replicated(why: &NotReplicated) -> String {
    match why {
        NotReplicated::NotAsked => "not asked for (--replicas 0)".into(),
        NotReplicated::SettingsUnknown => "the loaded file does not record how the model was trained, so other seeds could not be trained the same way".into(),
        NotReplicated::Simulator => "the PTX interpreter is too slow to train more models (about half a second an epoch)".into(),
        NotReplicated::OverBudget { work, budget } => format!(
            "one more model would cost {work:.1e} multiply-adds, past the {budget:.0e} budget"
        ),
    }
}

/// A class as `{'h', 'y'}`.
fn class(an: &Analysis, c: &[usize]) -> String {
    let xs: Vec<String> = c
        .iter()
        .map(|&i| an.cmp.vocab.label(i).to_string())
        .collect();
    format!("{{{}}}", xs.join(", "))
}

/// The lowest and highest cosine within classes, "a..b", to `digits` decimals.
/// The least cosine, the one [`CLASS_COSINE`] judges, has the digits to compare with it.
fn within_range(c: &ClassCosines, digits: usize) -> String {
    match (c.within_min, c.within_max) {
        (Some(lo), Some(hi)) => format!(
            "{}..{hi:.digits$}",
            beside(lo, CLASS_COSINE, Form::Fixed(digits))
        ),
        _ => "none".into(),
    }
}

/// The section's facts, one sentence each and each conclusion gated on its numbers, for the
/// terminal and the page alike (plain text: render/html.rs escapes them). With `full`, the
/// details after each: the other pairs' cosines, the nearest pairs of different successors, the
/// patches' rule, sample and worst cases.
fn paragraphs(an: &Analysis, full: bool) -> Vec<String> {
    let m = &an.mechanism;
    let v = &an.cmp.vocab;
    let mut out = Vec::new();
    let c = &m.cosines;
    let digits = if full { 3 } else { 2 };
    out.push(match m.classes.is_empty() {
        true => "successor classes: none (no two characters have identical next-character distributions)".to_string(),
        false => format!(
            "successor classes {}: W_E cos {} (untrained {}) → {}",
            m.classes.iter().map(|c| class(an, c)).collect::<Vec<_>>().join(" "),
            within_range(c, digits),
            within_range(&m.cosines_untrained, digits),
            match c.aligned {
                true => format!("aligned (≥ {CLASS_COSINE})"),
                false => format!("not all aligned (some below {CLASS_COSINE})"),
            }
        ),
    });
    if full {
        out.push(format!(
            "successor classes are characters with identical next-character distributions; W_E cosines of the other pairs: |cos| median {:.3}, 90th percentile {:.3}",
            c.others_median_abs, c.others_p90_abs,
        ));
        out.push(format!(
            "nearest different successors (Jensen–Shannon divergence, nats): {}",
            match m.nearest.is_empty() {
                true => "none".to_string(),
                false => m
                    .nearest
                    .iter()
                    .take(NEAREST_SHOWN)
                    .map(|p| format!(
                        "{}/{} {:.3} (cos {:+.2})",
                        v.label(p.a),
                        v.label(p.b),
                        p.js,
                        p.cosine
                    ))
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        ));
    }
    let s = &m.patch_summary;
    let agree = format!(
        "patching W_E rows: Δloss as P predicts in {} of {}, untrained {}",
        s.trained_agree, s.pairs, s.untrained_agree,
    );
    out.push(match (s.pairs, s.holds, s.control_fails) {
        (0, _, _) => "patching W_E[b] into W_E[a]: no pairs to patch".to_string(),
        (_, true, true) => format!("{agree} → holds, control fails (≤ {:.0}%)", 100.0 * CONTROL_AGREE_SHARE),
        (_, true, false) => format!("{agree} → holds, but the untrained control agrees for more than {:.0}%: not evidence here", 100.0 * CONTROL_AGREE_SHARE),
        (n, false, _) => format!("{agree} → fails for {}", n - s.trained_agree),
    });
    if full {
        let mut detail = vec![format!(
            "{} within classes, {} sampled with seed {PATCH_SEED}",
            s.class_pairs,
            s.pairs - s.class_pairs
        )];
        if let Some(x) = s.class_max {
            detail.push(format!("within classes |Δ| ≤ {x:.1e}"));
        }
        if let Some((d, t)) = s.finite_worst {
            detail.push(format!(
                "worst other |Δ − predicted| {d:.1e}, allowed {t:.1e}"
            ));
        }
        if let Some(r) = s.infinite_least {
            detail.push(format!(
                "the least of the infinite ones costs {r:.2}× its floor"
            ));
        }
        out.push(format!(
            "a patch writes W_E[b] into W_E[a] (hook_embed), and agrees with the Δloss P predicts, (n_a/N)·(H(P_a, P_b) − H(P_a)), within {PATCH_ATOL}·n_a/N + {:.0}%; where b lacks a successor of a the prediction is infinite, and at least {UNSEEN_NATS} nats per such prediction agrees; where a patch fails, the model's row is not P's; {}",
            100.0 * PATCH_RTOL,
            detail.join("; ")
        ));
    }
    match &m.replication {
        Err(why) => out.push(format!("seeds: not compared: {}", not_replicated(why))),
        Ok(r) => {
            let capped = match r.seeds < r.requested {
                true => format!(
                    " (of {} asked for: the work budget allows no more)",
                    r.requested
                ),
                false => String::new(),
            };
            let bound = match r.seen_small {
                true => "≤",
                false => ">",
            };
            let factor = match r.seen_apart {
                true => "≥",
                false => "<",
            };
            let digits = match r.unseen_logit_spread >= 100.0 * r.seen_logit_spread {
                true => Form::Fixed(0),
                false => Form::Fixed(1),
            };
            out.push(format!(
                "seeds ({}{capped}): seen logits spread {} nats ({bound} {SEEN_SPREAD_NATS}), unseen {}× ({factor} {SPREAD_FACTOR}×) → {}",
                r.seeds,
                beside(r.seen_logit_spread, SEEN_SPREAD_NATS, Form::Sci(2)),
                times(r.unseen_logit_spread, r.seen_logit_spread, SPREAD_FACTOR, digits),
                match (r.seen_fixed, r.seen_apart) {
                    (true, _) => "the data fixes them",
                    (false, true) => "the data does not fix them",
                    (false, false) => "the seeds do not set them apart",
                }
            ));
            out.push(format!(
                "W_E across seeds: mean |cos| {:.3} = {}× random in {} dimensions → {}",
                r.embedding_cosine,
                times(
                    r.embedding_cosine,
                    r.random_cosine,
                    BASIS_FACTOR,
                    Form::Fixed(2)
                ),
                an.cmp.d_model,
                match r.basis_arbitrary {
                    true => format!("its basis is arbitrary (≤ {BASIS_FACTOR}×)"),
                    false => format!("closer than arbitrary (> {BASIS_FACTOR}×)"),
                }
            ));
            if full {
                out.push(format!(
                    "seeds: this model and the same run from the next {}; the spreads are the RMS across them of each logit centred on its row's seen pairs; the unseen spread {:.3} nats and sit {:.2} nats below the seen; random directions in {} dimensions have mean |cos| {:.3}",
                    r.seeds - 1,
                    r.unseen_logit_spread,
                    -r.unseen_logit_mean,
                    an.cmp.d_model,
                    r.random_cosine
                ));
            }
        }
    }
    out
}

/// How many of the nearest pairs the text and the page list (the JSON has all).
const NEAREST_SHOWN: usize = 3;

/// The summary's section on the weights, interpreted without choosing a basis (equal rows stay
/// equal in every basis): one fact a line.
pub fn section(w: &mut impl fmt::Write, an: &Analysis, full: bool) -> fmt::Result {
    for (k, p) in paragraphs(an, full).iter().enumerate() {
        fact(w, if k == 0 { "weights:" } else { "" }, p)?;
    }
    Ok(())
}

/// One direction's stability and its match with the seen pattern, in words; and whether it is
/// interpreted (stable).
fn direction_status(an: &Analysis, d: &Direction) -> (String, bool) {
    let seen = beside(d.seen_pattern, MATCH_COSINE, Form::Fixed(2));
    let pattern = match d.is_seen_pattern {
        true => format!("seen-pattern match {seen} ≥ {MATCH_COSINE}: mostly which pairs occur"),
        false => format!("seen-pattern match {seen} < {MATCH_COSINE}: more than which pairs occur"),
    };
    let x = d.stability.map(|x| beside(x, MATCH_COSINE, Form::Fixed(2)));
    match (x, d.stable, &an.mechanism.replication) {
        (Some(x), Some(true), Ok(r)) => (
            format!(
                "stable: least match over {} seeds {x} ≥ {MATCH_COSINE}; {pattern}",
                r.seeds
            ),
            true,
        ),
        (Some(x), _, _) => (
            format!(
                "unstable: least match over seeds {x} < {MATCH_COSINE}, not interpreted; {pattern}"
            ),
            false,
        ),
        (None, _, Err(why)) => (
            format!(
                "stability not measured ({}), not interpreted; {pattern}",
                not_replicated(why)
            ),
            false,
        ),
        (None, _, Ok(_)) => (
            format!("stability not measured, not interpreted; {pattern}"),
            false,
        ),
    }
}

/// The row-centred table's top directions, each with its stability across seeds and its match
/// with the seen pattern; only stable ones are interpreted (their correlations).
pub fn directions(w: &mut impl fmt::Write, an: &Analysis) -> fmt::Result {
    writeln!(w, "\nDirections: the row-centred table's top singular vectors, each with its stability across seeds")?;
    para(w, &format!("directions (the row-centred table's top singular vectors); two match when their rank-one matrices' cosine |u·u'|·|v·v'| is ≥ {MATCH_COSINE}, and one is stable when it matches one of every seed's; the seen pattern is the row-centred 0/1 matrix of which pairs occur:"))?;
    for (r, d) in an.directions.iter().enumerate() {
        let list = |xs: &[(usize, f64)]| {
            xs.iter()
                .map(|&(i, x)| format!("{} {x:+.2}", an.cmp.vocab.label(i)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            w,
            "   {} σ {:.3}: current {}; next {}",
            r + 1,
            d.sigma,
            list(&d.current),
            list(&d.next)
        )?;
        let (status, stable) = direction_status(an, d);
        writeln!(w, "     {status}")?;
        if stable {
            writeln!(w,
                "     correlation with frequency: current {:+.2}, next {:+.2}; with vowel (letters only): current {:+.2}, next {:+.2}",
                d.current_frequency, d.next_frequency, d.current_vowel, d.next_vowel
            )?;
        }
    }
    Ok(())
}

/// The page's section on the weights: the same paragraphs, and every patch beside its
/// prediction on both models.
pub fn html(s: &mut String, an: &Analysis) {
    use std::fmt::Write;
    let _ = write!(
        s,
        "<p>W_E and W_U are fixed only up to an invertible change of basis, but \
         rows that are equal stay equal in every basis, and a patch or a retrained seed is an \
         experiment in any basis.</p>"
    );
    for p in paragraphs(an, true) {
        let _ = write!(s, "<p>{}</p>", esc(&p));
    }
    let m = &an.mechanism;
    if m.patches.is_empty() {
        return;
    }
    let _ = write!(
        s,
        "<table><tr><th class=l>W_E[b] into W_E[a]</th><th>predicted Δloss</th>\
         <th>measured, trained</th><th></th><th>measured, untrained</th><th></th></tr>"
    );
    let yes = |b: bool| match b {
        true => "agrees",
        false => "differs",
    };
    for p in &m.patches {
        let (t, u) = (&p.trained, &p.untrained);
        let predicted = match t.predicted.is_finite() {
            true => format!("{:.3e}", t.predicted),
            false => format!("∞ (≥ {:.3e})", t.at_least),
        };
        let _ = write!(
            s,
            "<tr><td class=l>{} into {}{}</td><td class=num>{predicted}</td><td class=num>{:.3e}</td>\
             <td>{}</td><td class=num>{:.3e}</td><td>{}</td></tr>",
            ch(&an.cmp.vocab, t.from),
            ch(&an.cmp.vocab, t.into),
            if p.in_class { " (one class)" } else { "" },
            t.measured,
            yes(t.agrees),
            u.measured,
            yes(u.agrees),
        );
    }
    let _ = write!(s, "</table>");
}

/// The page's table of the row-centred table's directions, with their stability and their match
/// with the seen pattern; the correlations of stable ones only.
pub fn directions_html(s: &mut String, an: &Analysis) {
    use std::fmt::Write;
    let _ = write!(
        s,
        "<p>The row-centred table's top directions, with the characters that load most on each. \
         Two directions match when the cosine of their rank-one matrices, |u·u'|·|v·v'|, is at \
         least {MATCH_COSINE}; a direction is stable when it matches one of every seed's, and \
         only stable ones are interpreted. The seen pattern is the row-centred 0/1 matrix of \
         which pairs occur: a direction that matches one of its directions is mostly which pairs \
         occur.</p><table><tr><th>σ</th>\
         <th class=l>current: largest loadings</th><th class=l>next: largest loadings</th>\
         <th class=l>stability, seen pattern</th>\
         <th>r(frequency) current, next</th><th>r(vowel) current, next</th></tr>"
    );
    for d in &an.directions {
        let list = |xs: &[(usize, f64)]| {
            xs.iter()
                .map(|&(i, x)| format!("{} {x:+.2}", ch(&an.cmp.vocab, i)))
                .collect::<Vec<_>>()
                .join(" &nbsp; ")
        };
        let (status, stable) = direction_status(an, d);
        let correlations = match stable {
            true => format!(
                "<td class=num>{:+.2}, {:+.2}</td><td class=num>{:+.2}, {:+.2}</td>",
                d.current_frequency, d.next_frequency, d.current_vowel, d.next_vowel
            ),
            false => "<td colspan=2>not interpreted</td>".into(),
        };
        let _ = write!(
            s,
            "<tr><td class=num>{:.2}</td><td class=l>{}</td><td class=l>{}</td><td class=l>{}</td>{correlations}</tr>",
            d.sigma,
            list(&d.current),
            list(&d.next),
            esc(&status),
        );
    }
    let _ = write!(s, "</table>");
}
