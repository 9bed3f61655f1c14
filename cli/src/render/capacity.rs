//! The section "Capacity": which regimes hold (each line with the numbers and rule that decide
//! it), the narrowest width that reaches the floor within its budget, what a narrower model
//! gives up, and the counting argument beside it. One set of sentences for the terminal and the
//! report; each is written only where its numbers support it.

use std::{
    cmp::Ordering,
    fmt::{self, Write},
};

use super::{
    against::{against_all, Form},
    text::fact,
    verdict,
};
use crate::analysis::{
    width::{Capacity, GivenUp, MinimumWidth, Search},
    Analysis,
};

/// The section's sentences, in order.
struct Parts {
    regimes: Vec<verdict::RegimeLine>,
    paragraphs: Vec<String>,
}

/// The characters of `rows`, the first `shown` of them and how many more.
fn chars(an: &Analysis, rows: &[usize], shown: usize) -> String {
    let mut out: Vec<String> = rows
        .iter()
        .take(shown)
        .map(|&i| an.cmp.vocab.label(i).to_string())
        .collect();
    if rows.len() > shown {
        out.push(format!("+{}", rows.len() - shown));
    }
    out.join(" ")
}

/// How many characters a list of rows names: in the summary, and with `full`.
const CHARS_SHOWN: (usize, usize) = (6, 12);

/// Where the minimum was searched, and within what.
fn budget(m: &MinimumWidth) -> String {
    let epochs = m.max_epochs.map_or("?".to_string(), |n| n.to_string());
    match m.search {
        Search::Refits => format!("in {epochs} epochs with this model's settings"),
        Search::UntilGap => format!(
            "each width trained until it got there, up to {epochs} epochs, as zl sweep --until-gap does"
        ),
    }
}

/// The minimum width, the gaps around it (the one below it, and with `full` two below and one
/// above), and where this model stands.
pub fn minimum(m: &MinimumWidth, below: Option<bool>, d_model: usize, full: bool) -> String {
    if let Some(why) = m.not_measured {
        return format!(
            "minimum width: not measured: {}",
            verdict::not_retrained(why)
        );
    }
    // The gaps printed beside the tolerance, with the digits to compare with it as decided.
    let tried: Vec<_> = match m.d_model {
        Some(d) => {
            let shown = match full {
                true => d.saturating_sub(2).max(1)..=d + 1,
                false => d.saturating_sub(1).max(1)..=d,
            };
            m.tried
                .iter()
                .filter(|t| shown.contains(&t.d_model))
                .collect()
        }
        None => m.tried.last().into_iter().collect(),
    };
    let (gaps, tolerance) = against_all(
        &tried.iter().map(|t| t.gap).collect::<Vec<_>>(),
        m.tolerance,
        Form::Sci(2),
    );
    let reach = match (full, m.search) {
        (false, Search::Refits) => format!(
            "gap ≤ {tolerance} in {} epochs",
            m.max_epochs.map_or("?".to_string(), |n| n.to_string())
        ),
        _ => format!("gap ≤ {tolerance} (the small gap), {}", budget(m)),
    };
    let listed: Vec<String> = tried
        .iter()
        .zip(&gaps)
        .map(|(t, g)| format!("{}: {g}", t.d_model))
        .collect();
    let this = match below {
        Some(false) => format!("; this model's d_model {d_model} is at or above it"),
        _ => String::new(),
    };
    match (m.d_model, m.above) {
        (Some(d), above) => {
            let at = match above {
                Some(a) if a + 1 == d => format!("d_model {d}: the narrowest with"),
                Some(a) => format!(
                    "d_model {d} or less (none of {} to {} was tried): the narrowest tried with",
                    a + 1,
                    d - 1
                ),
                None if d == 1 => "d_model 1: with".to_string(),
                None => format!("d_model {d} or less: the narrowest tried with"),
            };
            format!("minimum width {at} {reach} ({}){this}", listed.join(", "))
        }
        (None, _) => {
            let widest = match (tried.first(), gaps.first()) {
                (Some(t), Some(g)) => format!(" (up to d_model {}, which gets {g})", t.d_model),
                _ => String::new(),
            };
            format!("minimum width: none of the widths tried{widest} has a {reach}")
        }
    }
}

/// What a model below the minimum gives up: the rows without a margin and with a wrong top-1,
/// and where the misfit lives.
fn given_up(an: &Analysis, g: &GivenUp, full: bool) -> [String; 2] {
    let d = an.cmp.d_model;
    let shown = if full { CHARS_SHOWN.1 } else { CHARS_SHOWN.0 };
    let margin = match g.no_margin.len() {
        0 => format!(
            "every one of the {} rows keeps a positive margin",
            g.rows_with_margin
        ),
        k => format!(
            "{k} of {} rows have no positive margin{} ({})",
            g.rows_with_margin,
            match full {
                true => ", an unseen logit at or above a seen one",
                false => "",
            },
            chars(an, &g.no_margin, shown)
        ),
    };
    let top = match g.wrong_top1.len() {
        0 => format!("every one of the {} rows keeps its top-1", g.followed),
        k => format!(
            "{k} of {} rows get top-1 wrong ({})",
            g.followed,
            chars(an, &g.wrong_top1, shown)
        ),
    };
    let misfit = match g.misfit_rows.is_empty() {
        true => "there is no misfit to place".to_string(),
        false => format!(
            "most misfit in {}",
            g.misfit_rows
                .iter()
                .map(|&(i, share)| format!("{} ({:.0}%)", an.cmp.vocab.label(i), 100.0 * share))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    [
        format!("d_model {d} is below it: {margin}"),
        format!("{top}; {misfit}"),
    ]
}

fn counting(c: &Capacity) -> String {
    let k = &c.counting;
    let measured = match (c.minimum_vs_bound, c.minimum.d_model) {
        (Some(Ordering::Greater), Some(m)) => {
            format!(". The measured minimum, {m}, is above it")
        }
        (Some(Ordering::Equal), Some(_)) => ". The measured minimum meets it".to_string(),
        (Some(Ordering::Less), Some(m)) => format!(
            ". The measured minimum, {m}, is below it: within the tolerance not every equation \
             has to hold exactly"
        ),
        _ => String::new(),
    };
    format!(
        "counting: the {} pairs that occur fix {} log-ratio equations (each row's ln P, up to \
         the row's free shift); the {} pairs that never occur need only a margin below their \
         row's seen ones. A rank-d table with a free shift per row has d·(2V − d) + V \
         parameters, at least {} from d = {}: a lower bound only, as the margins cost width that \
         no count of parameters shows{measured}",
        k.seen_pairs, k.equations, k.unseen_pairs, k.equations, k.parameter_bound
    )
}

fn parts(an: &Analysis, full: bool) -> Parts {
    let c = &an.capacity;
    let mut paragraphs = vec![minimum(&c.minimum, c.below, an.cmp.d_model, full)];
    if let (Some(true), Some(g)) = (c.below, &c.given_up) {
        paragraphs.extend(given_up(an, g, full));
    }
    if full {
        paragraphs.push(counting(c));
    }
    Parts {
        regimes: verdict::regimes(&an.verdict, an.cmp.vocab.len()),
        paragraphs,
    }
}

/// The summary's section: the regimes that hold (✓), each with its numbers and rule, those that
/// do not on one line (✗; with `full`, each with its own), the minimum width and what a model
/// below it gives up; with `full`, the counting argument.
pub fn section(w: &mut impl Write, an: &Analysis, full: bool) -> fmt::Result {
    let p = parts(an, full);
    let mut label = "capacity:";
    for r in p.regimes.iter().filter(|r| full || r.holds) {
        let mark = if r.holds { "✓" } else { "✗" };
        fact(
            w,
            label,
            &format!("{mark} {}: {}", verdict::name(r.regime), r.why),
        )?;
        label = "";
    }
    let fails: Vec<String> = p
        .regimes
        .iter()
        .filter(|r| !full && !r.holds)
        .map(|r| format!("✗ {}", verdict::name(r.regime)))
        .collect();
    if !fails.is_empty() {
        fact(
            w,
            label,
            &format!("{} (each one's numbers and rule: --full)", fails.join(", ")),
        )?;
    }
    for s in &p.paragraphs {
        fact(w, "", s)?;
    }
    Ok(())
}

/// The report's section: the same sentences, each regime's item marked with `data-holds` or
/// `data-fails` and its name.
pub fn html(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    let p = parts(an, true);
    write!(
        w,
        "<h3 id=capacity>Regimes and capacity</h3><p>Each regime is decided from the numbers \
         beside it, by the rule stated with them; more than one may hold.</p><ul>"
    )?;
    for r in &p.regimes {
        let (attr, mark) = match r.holds {
            true => ("data-holds", "<span class=ok>✓</span>"),
            false => ("data-fails", "<span class=bad>✗</span>"),
        };
        let name = verdict::name(r.regime);
        write!(
            w,
            "<li {attr}=\"{name}\">{mark} <code>{name}</code>: {}</li>",
            super::escape(&r.why)
        )?;
    }
    write!(w, "</ul>")?;
    for s in &p.paragraphs {
        write!(w, "<p>{}.</p>", super::escape(&verdict::capital(s)))?;
    }
    Ok(())
}
