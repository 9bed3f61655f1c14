//! The section "Capacity": which regimes hold (each line with the numbers and rule that decide
//! it), the narrowest width that reaches the floor within its budget, what a narrower model
//! gives up, and the counting argument beside it. One set of sentences for the terminal and the
//! report; each is written only where its numbers support it.

use std::{
    cmp::Ordering,
    fmt::{self, Write},
};

use super::{text::wrap, verdict};
use crate::analysis::{
    width::{Capacity, GivenUp, MinimumWidth, Search},
    Analysis,
};

/// The section's sentences, in order.
struct Parts {
    regimes: Vec<verdict::RegimeLine>,
    paragraphs: Vec<String>,
}

fn chars(an: &Analysis, rows: &[usize]) -> String {
    const SHOWN: usize = 12;
    let mut out: Vec<String> = rows
        .iter()
        .take(SHOWN)
        .map(|&i| an.cmp.vocab.label(i).to_string())
        .collect();
    if rows.len() > SHOWN {
        out.push(format!("+{}", rows.len() - SHOWN));
    }
    out.join(" ")
}

/// Where the minimum was searched, and within what.
fn budget(m: &MinimumWidth) -> String {
    let epochs = m.max_epochs.map_or("?".to_string(), |n| n.to_string());
    match m.search {
        Search::Refits => {
            format!("within {epochs} epochs, this model's budget, retrained with its settings")
        }
        Search::UntilGap => format!(
            "within {epochs} epochs, each width trained until its gap reached it (as zl sweep \
             --until-gap)"
        ),
    }
}

pub fn minimum(m: &MinimumWidth) -> String {
    if let Some(why) = m.not_measured {
        return format!(
            "Minimum width: not measured: {}.",
            verdict::not_retrained(why)
        );
    }
    let reach = format!(
        "gap of at most {:.2e} nats (the small gap), {}",
        m.tolerance,
        budget(m)
    );
    let shown = |from: usize, to: usize| {
        m.tried
            .iter()
            .filter(|t| (from..=to).contains(&t.d_model))
            .map(|t| format!("d_model {} {:.2e}", t.d_model, t.gap))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (m.d_model, m.above) {
        (Some(d), above) => {
            let at = match above {
                Some(a) if a + 1 == d => format!("d_model {d}, the narrowest with a"),
                Some(a) => format!(
                    "d_model {d} or less (none of {} to {} was tried), the narrowest tried with a",
                    a + 1,
                    d - 1
                ),
                None if d == 1 => "d_model 1, with a".to_string(),
                None => format!("d_model {d} or less, the narrowest tried with a"),
            };
            let gaps = shown(d.saturating_sub(2).max(1), d + 1);
            format!("Minimum width: {at} {reach}. Gaps: {gaps}.")
        }
        (None, _) => {
            let widest = m.tried.last().map_or(String::new(), |t| {
                format!(" (up to d_model {}, which gets {:.2e})", t.d_model, t.gap)
            });
            format!("Minimum width: none of the widths tried{widest} has a {reach}.")
        }
    }
}

fn given_up(an: &Analysis, g: &GivenUp) -> String {
    let d = an.cmp.d_model;
    let margin = match g.no_margin.len() {
        0 => format!(
            "every one of the {} rows keeps a positive margin",
            g.rows_with_margin
        ),
        k => format!(
            "{k} of {} rows have no positive margin (an unseen successor's logit at or above a \
             seen one's: {})",
            g.rows_with_margin,
            chars(an, &g.no_margin)
        ),
    };
    let top = match g.wrong_top1.len() {
        0 => format!("every one of the {} rows keeps its top-1", g.followed),
        k => format!(
            "{k} of {} rows get their top-1 wrong ({})",
            g.followed,
            chars(an, &g.wrong_top1)
        ),
    };
    let misfit = match g.misfit_rows.is_empty() {
        true => "there is no misfit to place".to_string(),
        false => format!(
            "the misfit lives most in rows {}",
            g.misfit_rows
                .iter()
                .map(|&(i, share)| format!("{} ({:.0}%)", an.cmp.vocab.label(i), 100.0 * share))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!("This model, d_model {d}, is below it and gives up: {margin}; {top}; {misfit}.")
}

fn counting(c: &Capacity) -> String {
    let k = &c.counting;
    let measured = match (c.minimum_vs_bound, c.minimum.d_model) {
        (Some(Ordering::Greater), Some(m)) => {
            format!(" The measured minimum, {m}, is above it.")
        }
        (Some(Ordering::Equal), Some(_)) => " The measured minimum meets it.".to_string(),
        (Some(Ordering::Less), Some(m)) => format!(
            " The measured minimum, {m}, is below it: within the tolerance not every equation \
             has to hold exactly."
        ),
        _ => String::new(),
    };
    format!(
        "Counting: the {} pairs that occur fix {} log-ratio equations (each row's ln P, up to \
         the row's free shift); the {} pairs that never occur need only a margin below their \
         row's seen ones. A rank-d table with a free shift per row has d·(2V − d) + V \
         parameters, at least {} from d = {}: a lower bound only, as the margins cost width that \
         no count of parameters shows.{measured}",
        k.seen_pairs, k.equations, k.unseen_pairs, k.equations, k.parameter_bound
    )
}

fn parts(an: &Analysis) -> Parts {
    let c = &an.capacity;
    let mut paragraphs = vec![minimum(&c.minimum)];
    match (c.below, &c.given_up) {
        (Some(true), Some(g)) => paragraphs.push(given_up(an, g)),
        (Some(false), _) => paragraphs.push(format!(
            "This model, d_model {}, is at or above it.",
            an.cmp.d_model
        )),
        _ => {}
    }
    paragraphs.push(counting(c));
    Parts {
        regimes: verdict::regimes(&an.verdict, an.cmp.vocab.len()),
        paragraphs,
    }
}

/// The terminal's section.
/// Without `full`, the regimes that do not hold share one line, and the counting argument is left
/// to `--full`.
pub fn section(w: &mut impl Write, an: &Analysis, full: bool) -> fmt::Result {
    let p = parts(an);
    writeln!(
        w,
        "\nCapacity: the regimes (✓ holds, ✗ does not; more than one may hold), and the narrowest width"
    )?;
    for r in p.regimes.iter().filter(|r| full || r.holds) {
        let mark = if r.holds { "✓" } else { "✗" };
        wrap(
            w,
            &format!("   {mark} {:<12}", verdict::name(r.regime)),
            18,
            &r.why,
        )?;
    }
    let fails: Vec<String> = p
        .regimes
        .iter()
        .filter(|r| !full && !r.holds)
        .map(|r| format!("✗ {}", verdict::name(r.regime)))
        .collect();
    if !fails.is_empty() {
        writeln!(
            w,
            "   {} (each one's numbers and rule: --full)",
            fails.join(", ")
        )?;
    }
    let shown = p.paragraphs.len() - usize::from(!full);
    for s in &p.paragraphs[..shown] {
        wrap(w, "   ", 3, s)?;
    }
    Ok(())
}

/// The report's section: the same sentences, each regime's item marked with `data-holds` or
/// `data-fails` and its name.
pub fn html(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    let p = parts(an);
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
        write!(w, "<p>{}</p>", super::escape(s))?;
    }
    Ok(())
}
