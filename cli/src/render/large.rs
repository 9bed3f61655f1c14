//! The large-V view in words: `zl interpret`'s summary and `zl train`'s table where the
//! vocabulary is above the dense analysis' ([`crate::analysis::large`]), and their JSON. The
//! held-out loss comes first where the view's rule says it leads; tables show the most
//! frequent rows, and the JSON every row.

use std::fmt::{self, Write};

use serde::Serialize;
use serde_json::Value;

use super::{
    against::{against, beside, Form},
    capacity, heatmap,
    text::evidence_label,
    verdict,
};
use crate::analysis::{
    self,
    large::{Beside, HeldOut, LargeView, Next, NotRun},
    large_retrain::{NotTrained, Stage},
    verdict::NotRetrained,
    Told, COUNT_MARGIN, GAP_FAIL_FACTOR, RATIO_MARGIN,
};
use crate::data::vocab::Vocab;

/// Rows of the per-token table on one screen, and with `--full`.
pub const ROWS_SUMMARY: usize = 12;
pub const ROWS_FULL: usize = 100;

fn string(write: impl FnOnce(&mut String) -> fmt::Result) -> String {
    let mut s = String::new();
    write(&mut s).expect("writing into a String cannot fail");
    s
}

/// A loss that may be infinite.
fn nats(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "inf".into()
    }
}

/// How [`small`] writes `x`.
fn small_form(x: f64) -> Form {
    if x != 0.0 && x.abs() < 0.01 {
        Form::Sci(3)
    } else {
        Form::Fixed(4)
    }
}

fn small(x: f64) -> String {
    small_form(x).write(x)
}

fn told(t: Told) -> &'static str {
    match t {
        Told::Fails => "fails",
        Told::NotToldApart => "not told apart",
        Told::DoesBetter => "does better",
    }
}

/// What a retraining's progress line says it trains.
pub fn stage(s: Stage) -> String {
    match s {
        Stage::Shuffled { n: 1 } => "training the shuffled-text control".into(),
        Stage::Shuffled { n } => format!("training {n} shuffled-text controls"),
        Stage::Curve => "retraining the loaded model for its gap against the epoch".into(),
        Stage::Wider { d_model } => format!("training a wider model (d_model {d_model})"),
        Stage::Narrower { upto } => {
            format!("training d_model 1 to {upto} for the minimum width")
        }
    }
}

/// A work budget: one of large_retrain's constants, which `{:.1e}` writes exactly.
fn budget(b: f64) -> String {
    format!("{b:.1e}")
}

/// Work past `budget`, with the digits to read past it.
fn cost(work: f64, budget: f64) -> String {
    beside(work, budget, Form::Sci(2))
}

/// Why a model was not trained beside this one.
fn not_trained(why: NotTrained) -> String {
    match why {
        NotTrained::OverBudget { work, budget: b } => format!(
            "it would cost {} (V²·d·epochs), past its budget of {}",
            cost(work, b),
            budget(b)
        ),
        NotTrained::WidthsOverBudget {
            from,
            to,
            work,
            budget: b,
        } => {
            let (widths, together, whose) = match from == to {
                true => (format!("d_model {to}"), "", "its"),
                false => (format!("d_model {from} to {to}"), " together", "their"),
            };
            format!(
                "{widths} would cost {} (V²·d·epochs){together}, past {whose} budget of {}",
                cost(work, b),
                budget(b)
            )
        }
        NotTrained::DoesNotFit { d_model } => format!(
            "the trainer cannot hold d_model {d_model} (its memory), though the work budget allows it"
        ),
        NotTrained::FullRank { d_model, vocab } => {
            verdict::not_retrained(NotRetrained::FullRank { d_model, vocab })
        }
        NotTrained::SettingsNotRecorded => {
            "the loaded file does not record how it was trained, so no retraining would be a fair comparison".into()
        }
        NotTrained::Simulator => "nothing is retrained on the PTX interpreter (too slow)".into(),
    }
}

/// The regimes' lines at large V ([`verdict::regimes`]), where no wider model was trained saying
/// what held it back here.
pub fn regimes(b: &Beside, vocab: usize) -> Vec<verdict::RegimeLine> {
    let no_wider = |why| match b.wider_not_trained {
        Some(here) => not_trained(here),
        None => verdict::not_retrained(why),
    };
    verdict::regimes_saying(&b.verdict, vocab, &no_wider)
}

fn not_run(n: NotRun, v: usize) -> String {
    match n {
        NotRun::SeedReplication { work } => format!(
            "seed replication: each replica is the model's own run again ({work:.2e} V²·d·epochs at V = {v}), and its statistics compare every logit of the replicas, which only the dense view (at most {} tokens) computes",
            analysis::large::DENSE_MAX
        ),
        NotRun::PairsOfRows => format!(
            "the weights' successor classes and embedding patching: they compare every pair of rows, {v}² of them"
        ),
        NotRun::Ablation => format!(
            "the ablation: it reruns the text once per token, {v} times"
        ),
    }
}

/// The held-out loss, or why it is not here.
fn held_out(w: &mut impl Write, view: &LargeView) -> fmt::Result {
    match &view.held_out {
        Some(h) => held_out_lines(w, h),
        None => writeln!(
            w,
            "   no held-out part: give --val-fraction F to measure the loss on text the model never saw"
        ),
    }
}

fn held_out_lines(w: &mut impl Write, h: &HeldOut) -> fmt::Result {
    writeln!(
        w,
        "   held-out loss: {} nats a token on {} predictions ({} of them, {} distinct pairs, never occur in training)",
        nats(h.model_loss),
        h.predictions,
        h.unseen_predictions,
        h.unseen_pairs
    )?;
    let tables: Vec<String> = h
        .table_losses
        .iter()
        .map(|&(a, l)| format!("α = {a}: {}", nats(l)))
        .collect();
    writeln!(
        w,
        "   the training part's count table, add-α: {}",
        tables.join(", ")
    )?;
    let (alpha, best) = h.best_table;
    let (how, than) = match h.model_beats_tables {
        true => ("better", "below"),
        false => ("worse", "above"),
    };
    let (model, best) = against(h.model_loss, best, Form::Fixed(4));
    writeln!(
        w,
        "   on text it never saw the model does {how} than the best smoothed table: {model} nats, {than} α = {alpha}'s {best}"
    )
}

fn leads_line(w: &mut impl Write, view: &LargeView) -> fmt::Result {
    let l = view.leads;
    let (lead, cmp) = match l.held_out_leads {
        true => ("the held-out loss leads", "≥"),
        false => ("the in-sample numbers lead", "<"),
    };
    writeln!(
        w,
        "   {lead}: the in-sample floor is about {} nats optimistic ((pairs − rows followed)/2N, Miller–Madow), {cmp} {} nats",
        beside(l.floor_optimism, l.threshold, small_form(l.floor_optimism)),
        l.threshold
    )
}

fn in_sample(w: &mut impl Write, view: &LargeView) -> fmt::Result {
    let d = view.decomposition;
    let gap_site = match &view.beside {
        Some(b) => format!("; {}", verdict::gap_site(&b.verdict)),
        None => String::new(),
    };
    writeln!(
        w,
        "   in sample: loss {} = floor H(next|current) {} + gap {} nats (uniform ln V {}, unigram {}{})",
        nats(d.model_loss),
        nats(d.bigram_entropy),
        small(d.kl_weighted),
        nats(d.uniform_loss),
        nats(d.unigram_entropy),
        match view.closed {
            Some(c) => format!("; {:.2}% of uniform − floor closed", 100.0 * c),
            None => String::new(),
        }
    )?;
    writeln!(
        w,
        "   gap split: leak onto unseen pairs {}, misfit on seen pairs {}{}",
        small(view.gap_leak),
        small(view.gap_seen_misfit),
        gap_site
    )
}

fn label(vocab: &Vocab, t: usize) -> String {
    vocab.label(t).to_string()
}

fn nexts(vocab: &Vocab, n: &[Next], by_p: bool) -> String {
    n.iter()
        .map(|x| {
            let v = if by_p { x.p } else { x.q };
            let v = if v == 0.0 || v >= 5e-4 {
                format!("{v:.3}")
            } else {
                format!("{v:.1e}")
            };
            format!("{} {v}", label(vocab, x.token))
        })
        .collect::<Vec<_>>()
        .join("  ")
}

/// The per-token table of the most followed rows.
fn rows_table(w: &mut impl Write, view: &LargeView, vocab: &Vocab, max: usize) -> fmt::Result {
    let shown = view.most_followed(max);
    writeln!(
        w,
        "   the {} most followed of {} tokens (--json has every row): n, KL(P‖Q) nats, the data's top next (P), the model's top next (Q)",
        shown.len(),
        view.vocab_len
    )?;
    for r in shown {
        writeln!(
            w,
            "   {:>8} {:>8.0} {:>9}   data: {:<34} model: {}",
            label(vocab, r.token),
            r.facts.token.count,
            small(r.facts.token.kl),
            nexts(vocab, &r.data_top, true),
            nexts(vocab, &r.model_top, false)
        )?;
    }
    Ok(())
}

fn controls(w: &mut impl Write, view: &Beside) -> fmt::Result {
    let (a, b) = view.untrained_seeds;
    let shuffled = match (view.shuffles, view.shuffles_not_trained) {
        (_, Some(why)) => format!(
            "; the shuffled-text control is not trained: {}",
            not_trained(why)
        ),
        (n, None) => format!(
            " and the shuffled-text control ({n} shuffle{} of the tokens, each trained like the model, measured on its text)",
            if n == 1 { "" } else { "s" }
        ),
    };
    writeln!(
        w,
        "   the evidence beside the untrained control (init_torch, seeds {a} to {b}){shuffled}"
    )?;
    writeln!(
        w,
        "   {:<62} {:>12} {:>12} {:<15} {:>12}  shuffled",
        "", "model", "untrained", "  untrained", "shuffled"
    )?;
    for r in &view.controls {
        let cell = |x: f64| {
            if r.count {
                format!("{x:.0}")
            } else {
                small(x)
            }
        };
        let (sv, st) = match r.shuffled {
            Some(c) => (cell(c.control), told(c.told)),
            None => ("-".into(), "-"),
        };
        writeln!(
            w,
            "   {:<62} {:>12} {:>12}   {:<14} {:>12}  {}",
            evidence_label(r.kind),
            cell(r.model),
            cell(r.control),
            told(r.told),
            sv,
            st
        )?;
    }
    writeln!(
        w,
        "   (it fails a number when all its seeds do worse by a margin: a gap or spread {GAP_FAIL_FACTOR}× the model's; a count or ratio beyond their best by their spread and at least {COUNT_MARGIN} rows or {RATIO_MARGIN})"
    )
}

fn spectrum(w: &mut impl Write, view: &Beside, d_model: usize) -> fmt::Result {
    let s = &view.centred_spectrum;
    let top: Vec<String> = s
        .singular_values
        .iter()
        .take(6)
        .map(|x| format!("{x:.3}"))
        .collect();
    writeln!(
        w,
        "   W_E·W_U has rank {} (of d_model {}; threshold {:.2e}); its row-centred table rank {}, σ = {} … (exact, from the d×d core of W_E's and W_U's QR)",
        view.spectrum.rank,
        d_model,
        view.spectrum.threshold,
        s.rank,
        top.join(", ")
    )?;
    let t = &view.truncations;
    let losses: Vec<String> = t
        .losses
        .iter()
        .map(|&(k, l)| format!("k={k}: {}", nats(l)))
        .collect();
    writeln!(
        w,
        "   rank-k truncations of the row-centred table cost V³·d over every rank and row; sampled: the {} most followed rows ({:.0} predictions): {}",
        t.rows,
        t.predictions,
        losses.join(", ")
    )
}

/// `zl interpret`'s text at large V.
pub fn interpret(view: &LargeView, vocab: &Vocab, colour: bool, full: bool) -> String {
    string(|w| {
        writeln!(
            w,
            "zl interpret: {} tokens, d_model {} (above {} tokens: rows streamed one at a time, top lists for the tables)",
            view.vocab_len,
            view.d_model,
            analysis::large::DENSE_MAX
        )?;
        if let Some(b) = &view.beside {
            writeln!(w, "\n{}", verdict::capital(&verdict::summary(&b.verdict)))?;
        }
        leads_line(w, view)?;
        if view.leads.held_out_leads {
            held_out(w, view)?;
            in_sample(w, view)?;
        } else {
            in_sample(w, view)?;
            held_out(w, view)?;
        }
        if let Some(b) = &view.beside {
            for r in regimes(b, view.vocab_len) {
                writeln!(
                    w,
                    "   {} {}: {}",
                    if r.holds { "✓" } else { "✗" },
                    verdict::name(r.regime),
                    r.why
                )?;
            }
            if let Some(why) = b.curve_not_measured {
                writeln!(
                    w,
                    "   the gap against the epoch is not measured: {}",
                    not_trained(why)
                )?;
            }
            let minimum = match b.minimum_not_measured {
                Some(why) => format!("minimum width: not measured: {}", not_trained(why)),
                None => capacity::minimum(
                    &b.minimum,
                    b.minimum.d_model.map(|m| view.d_model < m),
                    view.d_model,
                    full,
                ),
            };
            writeln!(w, "   {minimum}")?;
        }
        let a = view.agreement;
        writeln!(
            w,
            "   top-1 is a most frequent next token in {} of {} rows followed; margins positive in {} of {}",
            a.agree, a.followed, view.margin.positive, view.margin.rows
        )?;
        let shown = if full {
            &view.shown
        } else {
            &view.shown_summary
        };
        writeln!(w)?;
        write!(w, "{}", heatmaps(shown, vocab, view.vocab_len, colour))?;
        writeln!(w)?;
        rows_table(w, view, vocab, if full { ROWS_FULL } else { ROWS_SUMMARY })?;
        match &view.beside {
            Some(b) if full => {
                writeln!(w)?;
                controls(w, b)?;
                writeln!(w)?;
                spectrum(w, b, view.d_model)?;
                writeln!(w, "   not run at this size:")?;
                for &n in &b.not_run {
                    writeln!(w, "   - {}", not_run(n, view.vocab_len))?;
                }
            }
            Some(b) => writeln!(
                w,
                "--full adds more rows, the evidence beside each control, the spectrum, and why {} analyses are not run at this size.",
                b.not_run.len()
            )?,
            None => {}
        }
        Ok(())
    })
}

/// The heatmaps of the shown tokens, their cells as the view holds them.
fn heatmaps(s: &analysis::large::Shown, vocab: &Vocab, v: usize, colour: bool) -> String {
    let shown = analysis::Shown {
        ids: s.ids.clone(),
        hidden: v - s.ids.len(),
        max_count: 1.0,
    };
    heatmap::side_by_side_at(
        |a, b| s.p[a][b],
        |a, b| s.q[a][b],
        &shown,
        vocab,
        ("data P(next|cur)", "model Q = softmax(W_E·W_U)"),
        colour,
    )
}

/// `zl train`'s comparison at large V: the most followed rows.
pub fn train_table(view: &LargeView, vocab: &Vocab) -> String {
    string(|w| rows_table(w, view, vocab, ROWS_SUMMARY))
}

/// The large view's JSON: every number of the view, every row, the tokens' texts, and the
/// verdict's summary.
#[derive(Serialize)]
struct Json<'a> {
    vocab: Vec<String>,
    view: &'a LargeView,
    summary: Option<String>,
}

/// The large view as JSON.
pub fn json(view: &LargeView, vocab: &Vocab) -> Value {
    super::json::value(Json {
        vocab: (0..vocab.len()).map(|i| vocab.text(i)).collect(),
        view,
        summary: view.beside.as_ref().map(|b| verdict::summary(&b.verdict)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::large::{tests::pairs, untrained, Alongside, RowMajor};

    /// A text over `v` tokens where each token has two successors (xorshift draws).
    fn two_successors(v: usize, n: usize) -> Vec<u32> {
        let (mut x, mut t) = (0x9e3779b97f4a7c15u64, 0u64);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                t = (t * 7919 + 1 + (x & 1) * 31) % v as u64;
                t as u32
            })
            .collect()
    }

    /// A model held back by its cost reads past its budget, however close: the printed cost
    /// parses above the printed budget.
    #[test]
    fn a_cost_past_its_budget_reads_past_it() {
        let number = |s: &str, after: &str| -> f64 {
            let at = s.find(after).unwrap_or_else(|| panic!("{after:?} in {s}")) + after.len();
            s[at..].split([' ', ',']).next().unwrap().parse().unwrap()
        };
        for work in [5.0004e10, 5.004e10, 1.26e11] {
            for why in [
                NotTrained::WidthsOverBudget {
                    from: 32,
                    to: 32,
                    work,
                    budget: 5e10,
                },
                NotTrained::WidthsOverBudget {
                    from: 1,
                    to: 15,
                    work,
                    budget: 5e10,
                },
                NotTrained::OverBudget { work, budget: 5e10 },
            ] {
                let s = not_trained(why);
                assert!(number(&s, "cost ") > number(&s, "budget of "), "{s}");
                assert_eq!(number(&s, "budget of "), 5e10, "{s}");
            }
        }
    }

    /// The held-out section comes first exactly where the rule says it leads: on a short text
    /// of the source and not on a long one.
    #[test]
    fn the_held_out_loss_leads_where_the_rule_says_and_only_there() {
        let v = 1_000;
        let chars: Vec<char> = (0..v as u32)
            .map(|i| char::from_u32(0x4e00 + i).unwrap())
            .collect();
        let vocab = Vocab::chars(&chars);
        let (w_e, w_u) = untrained(0, v, 4);
        let w = RowMajor {
            vocab_len: v,
            d_model: 4,
            w_e: &w_e,
            w_u: &w_u,
        };
        for (n, leads) in [(4_000, true), (400_000, false)] {
            let tokens = two_successors(v, n);
            let cut = n - n / 10;
            let train = pairs(v, &tokens[..cut]);
            let held = pairs(v, &tokens[cut - 1..]);
            let view = LargeView::new(&w, &train, Some(&held), Some(Alongside::untrained_only(0)))
                .unwrap();
            assert_eq!(view.leads.held_out_leads, leads, "{n} tokens");
            let text = interpret(&view, &vocab, false, false);
            let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s:?} in\n{text}"));
            assert_eq!(at("held-out loss:") < at("in sample:"), leads, "{text}");
            // The summary's table: the most followed rows, at most ROWS_SUMMARY of them.
            let first = view.frequent[0];
            assert!(text.contains(&vocab.label(first).to_string()), "{text}");
            let json = json(&view, &vocab);
            assert_eq!(json["view"]["rows"].as_array().unwrap().len(), v);
        }
    }
}
