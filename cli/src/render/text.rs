//! Text output: characters as Python prints them, the bigram comparison table, and the text
//! reports of `zl train`, `zl sweep` and `zl interpret`.

use std::fmt::{self, Write};
use zl_core::interpret::uniform_loss;

use zl_core::TrainConfig;

use super::against::{against_all, beside, beside_printed, signed, Form};
use super::verdict;
use super::{pad_left, pad_right, width};
use crate::{
    analysis::{
        sweep::{Budget, Fixed, Shortfall, Sweep, UntilGap, COST_NATS, STILL_FALLING_DROP},
        Analysis, Comparison, ControlWhat, EvidenceKind, TOP,
    },
    backend::{Job, Trained},
    data::{
        corpus::{Corpus, Source},
        vocab::Vocab,
    },
};

/// The vocabulary as the notebook prints `char_to_token`: `{'h': 0, 'i': 1, …}`; past
/// [`VOCAB_SHOWN`] tokens, the first of them and `…`.
pub fn vocab_dict(vocab: &Vocab) -> String {
    let mut items: Vec<String> = (0..vocab.len().min(VOCAB_SHOWN))
        .map(|i| format!("{}: {i}", vocab.label(i)))
        .collect();
    if vocab.len() > VOCAB_SHOWN {
        items.push("…".into());
    }
    format!("{{{}}}", items.join(", "))
}

/// Most tokens the vocabulary line lists (every character vocabulary zl trained before fits).
const VOCAB_SHOWN: usize = 256;

/// The label column of a table over `vocab`, right-aligned: at least 5 terminal columns, as
/// wide as the widest label (by display width, so that CJK labels keep the column straight).
struct LabelColumn(usize);

impl LabelColumn {
    fn of(vocab: &Vocab) -> LabelColumn {
        LabelColumn(
            (0..vocab.len())
                .map(|i| width(&vocab.label(i).to_string()))
                .fold(5, usize::max),
        )
    }

    /// `s` (a label, or the column's heading) in the column.
    fn cell(&self, s: &str) -> String {
        pad_right(s, self.0)
    }
}

/// Runs `write` into a `String`: the one place a text report is collected, and writing into a
/// `String` cannot fail.
fn string(write: impl FnOnce(&mut String) -> fmt::Result) -> String {
    let mut s = String::new();
    write(&mut s).expect("writing into a String cannot fail");
    s
}

/// The comparison as a table: for each current character, its most frequent next characters
/// with the data's P and the model's Q, and the row's KL.
fn comparison_table(w: &mut impl Write, c: &Comparison, max_next: usize) -> fmt::Result {
    let vocab = &c.vocab;
    // The "next" cells first, so that the column is as wide as its widest cell.
    let cells: Vec<String> = c
        .data_top
        .iter()
        .enumerate()
        .map(|(i, top)| {
            let mut next: Vec<String> = top
                .iter()
                .take(max_next)
                .map(|&j| format!("{} {:.3}/{:.3}", vocab.label(j), c.p[i][j], c.q[i][j]))
                .collect();
            if top.len() > max_next {
                next.push(format!("+{}", top.len() - max_next));
            }
            next.join("  ")
        })
        .collect();
    let col = LabelColumn::of(vocab);
    let next_width = cells
        .iter()
        .map(|c| width(c))
        .max()
        .unwrap_or(0)
        .max("next: P / Q".len());
    writeln!(
        w,
        "Bigram statistics vs the model: for each current character, its most frequent next"
    )?;
    writeln!(
        w,
        "characters with the data's P(next|cur) and the model's softmax(W_E W_U) Q(next|cur)."
    )?;
    writeln!(
        w,
        "{} {:>4}  {:<next_width$} {:>9}  model top-1",
        col.cell("cur"),
        "n",
        "next: P / Q",
        "KL(P‖Q)"
    )?;
    for (i, (r, next)) in c.rows.iter().zip(&cells).enumerate() {
        let label = col.cell(&vocab.label(i).to_string());
        if r.count == 0.0 {
            writeln!(
                w,
                "{label} {:>4}  (never followed: the text's last character)",
                0
            )?;
            continue;
        }
        let mark = if r.argmax_agrees { "✓" } else { "✗" };
        writeln!(
            w,
            "{label} {:>4}  {} {:>9.5}  {} {:.3} {mark}",
            r.count,
            pad_left(next, next_width),
            r.kl,
            vocab.label(r.model_top),
            r.model_top_q
        )?;
    }
    Ok(())
}

/// How many of the gap curve's last points the default report shows; `--full` shows them all.
const CURVE_SHOWN: usize = 5;

/// `zl interpret`'s report, in a learner's order: the verdict, the two tables, then one line a
/// fact, each section named in a left column: the gap and its split, the logits, the weights,
/// the capacity and the dependence on training time. It fits a screen (60 lines on a 30-row
/// table). With `full`, every regime's rule, the counting argument and the whole gap curve in
/// those sections, then everything else under its own title, the sanity checks last in an
/// appendix.
pub fn interpret(an: &Analysis, colour: bool, full: bool) -> String {
    string(|w| {
        header(w, an)?;
        heatmaps(w, an, colour, full)?;
        writeln!(w)?;
        gap(w, an)?;
        logits(w, an)?;
        super::mechanism::section(w, an, full)?;
        super::capacity::section(w, an, full)?;
        training_time(w, an, full)?;
        if full {
            per_token(w, an)?;
            gap_rows(w, an)?;
            evidence(w, an)?;
            logits_in_full(w, an)?;
            decomposition(w, an)?;
            super::mechanism::directions(w, an)?;
            sanity(w, an)?;
            ablation(w, an)?;
            substitution(w, an)?;
            truncations(w, an)?;
            return writeln!(w, "\nanalysis time: {:.2} ms", an.analysis_seconds * 1e3);
        }
        writeln!(w,
            "analysis time: {:.2} ms. --full adds each rule, token tables, controls, directions and appendices.",
            an.analysis_seconds * 1e3
        )
    })
}

/// What was interpreted, and the verdict with its key numbers.
fn header(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    let v = an.cmp.vocab.len();
    let n = an.predictions;
    writeln!(w, "zl interpret: {}", an.source)?;
    writeln!(w,
        "model: logits = W_E[token]·W_U, W_E {v}×{}, W_U {}×{v}; corpus: {} {}s, N = {n} next-token predictions",
        an.cmp.d_model, an.cmp.d_model, an.corpus_chars, an.cmp.vocab.unit()
    )?;
    wrap(
        w,
        "verdict:",
        3,
        &format!(
            "{}: {}.",
            verdict::summary(&an.verdict),
            verdict::controls(&an.verdict, &an.budget)
        ),
    )?;
    match unfair_note(&an.training) {
        Some(note) => writeln!(w, "   {note}"),
        None => Ok(()),
    }
}

/// A section's title, after a blank line.
fn title(w: &mut impl Write, s: &str) -> fmt::Result {
    writeln!(w, "\n{s}")
}

/// `s` wrapped to the report's width, each line indented as a section's.
pub(super) fn para(w: &mut impl Write, s: &str) -> fmt::Result {
    wrap(w, "   ", 3, s)
}

/// The width of the summary's left column, which names each section on its first fact.
const LABEL: usize = 10;

/// One fact of the summary: `label` (a section's name on its first fact, else empty) in the left
/// column, `s` wrapped after it, its continuation lines indented past the column.
pub(super) fn fact(w: &mut impl Write, label: &str, s: &str) -> fmt::Result {
    match label.is_empty() {
        // `wrap` puts a space after a non-blank first part, none after a blank one.
        true => wrap(w, &" ".repeat(LABEL), LABEL + 2, s),
        false => wrap(w, &format!("{label:0$}", LABEL - 1), LABEL + 2, s),
    }
}

/// The report's width, in characters.
const WIDTH: usize = 112;

/// `s` wrapped to [`WIDTH`], the first line after `first` (and a space, unless `first` is blank),
/// the others indented by `indent`.
pub(super) fn wrap(w: &mut impl Write, first: &str, indent: usize, s: &str) -> fmt::Result {
    let mut line = first.to_string();
    let mut empty = first.trim().is_empty();
    for word in s.split(' ') {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            writeln!(w, "{line}")?;
            line = " ".repeat(indent);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    writeln!(w, "{line}")
}

/// The data's and the model's tables as heatmaps side by side: fewer characters in the summary
/// than with `full`.
fn heatmaps(w: &mut impl Write, an: &Analysis, colour: bool, full: bool) -> fmt::Result {
    title(
        w,
        &format!(
            "The tables: the data's P(next|cur) and the model's Q = softmax(W_E·W_U), row = current {}",
            an.cmp.vocab.unit()
        ),
    )?;
    let shown = match full {
        true => &an.cmp.shown,
        false => &an.cmp.shown_summary,
    };
    w.write_str(&super::heatmap::side_by_side_vocab(
        &an.cmp.p,
        &an.cmp.q,
        shown,
        &an.cmp.vocab,
        (
            "Bigram statistics P(next|cur)",
            "W_E @ W_U (post softmax) Q",
        ),
        colour,
    ))
}

/// The loss as floor plus gap (nats, f64 on the f32 weights), and the gap split into leak and
/// misfit; the formula and every term with `full`, in "Loss decomposition in full".
fn gap(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    let c = &an.cmp;
    let d = &c.decomposition;
    let closed = match c.closed {
        Some(x) => format!(
            ": {:.4}% of the way from uniform ({:.4})",
            100.0 * x,
            d.uniform_loss
        ),
        None => String::new(),
    };
    fact(
        w,
        "gap:",
        &format!(
            "loss {:.9} = floor {:.9} + gap {:.4e} nats{closed}",
            d.model_loss, d.bigram_entropy, d.kl_weighted
        ),
    )?;
    fact(
        w,
        "",
        &format!(
            "gap = leak {:.4e} onto {} unseen pairs + misfit {:.4e} on {} seen pairs",
            c.gap_leak, c.unseen_pairs, c.gap_seen_misfit, c.seen_pairs
        ),
    )?;
    fact(w, "", &verdict::gap_site(&an.verdict))
}

/// The logit check: the seen logits against ln P, the margins, the top-1 agreement.
fn logits(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    let c = &an.cmp;
    let (m, a) = (&c.margin, &c.agreement);
    fact(
        w,
        "logits:",
        &format!(
            "seen pairs (row-centred) against ln P: correlation {:.4}, largest row spread (RMS) {:.3e}",
            c.seen_logit_correlation, c.seen_spread_max
        ),
    )?;
    let smallest = match m.smallest {
        Some(s) => format!(" (smallest margin {})", signed(s, Form::Fixed(3))),
        None => String::new(),
    };
    fact(
        w,
        "",
        &format!(
            "every unseen logit below every seen one: {} of {} rows{smallest}",
            m.positive, m.rows
        ),
    )?;
    fact(
        w,
        "",
        &format!(
            "top-1 is a most frequent next character: {} of {} rows ({} of {} with a single maximum)",
            a.agree, a.followed, a.single_max_agree, a.single_max
        ),
    )
}

/// The gap against the epoch: its last points by default, every point and the run without
/// weight decay with `full`; and whether it was still falling when training stopped.
fn training_time(w: &mut impl Write, an: &Analysis, full: bool) -> fmt::Result {
    let label = "training:";
    let Some(g) = &an.gap_curve else {
        return fact(w, label,
            "the gap against the epoch: not measured here (a loaded model, or the PTX interpreter, too slow for 10^5 epochs)"
        );
    };
    if full {
        fact(
            w,
            label,
            "the gap against the epoch, with the run's settings",
        )?;
        writeln!(
            w,
            "{:>9} {:>18} {:>18}",
            "epoch",
            format!("gap, wd {}", g.weight_decay),
            "gap, wd 0"
        )?;
        for &(e, a, b) in &g.points {
            writeln!(w, "{e:>9} {a:>18.4e} {b:>18.4e}")?;
        }
    } else {
        let shown = &g.points[g.points.len().saturating_sub(CURVE_SHOWN)..];
        let points: Vec<String> = shown
            .iter()
            .map(|p| format!("{} {:.3e}", p.0, p.1))
            .collect();
        fact(w, label, &format!("gap by epoch: {}", points.join(", ")))?;
    }
    match verdict::trend(&an.verdict) {
        Some(t) if an.verdict.gap_trend.as_ref().and_then(|t| t.falling) == Some(true) => fact(
            w,
            "",
            &format!("{t}: the gap measures when training stopped"),
        ),
        Some(t) => fact(w, "", &t),
        None => fact(
            w,
            "",
            &format!(
                "the curve does not hold this model's last doubling: the gap holds for {}",
                an.budget
            ),
        ),
    }
}

/// Each input token's next-token distributions, the data's and the model's.
fn per_token(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    let a = &an.cmp.agreement;
    title(w, "Token by token (P: the data's next-token distribution after it; Q: the model's row of softmax(W_E W_U);\n   the model's list ranked by its exact Q; ties, in P or in bit-equal Q, in token-id order)")?;
    comparison_table(w, &an.cmp, 4)?;
    writeln!(
        w,
        "model's top-1 next {u} is a most frequent one in the data for {} of {} {u}s",
        a.agree,
        a.followed,
        u = an.cmp.vocab.unit()
    )?;
    writeln!(
        w,
        "\nThe model's own top {TOP} next characters (Q, with the data's P):"
    )?;
    let col = LabelColumn::of(&an.cmp.vocab);
    for (i, tops) in an.cmp.model_top.iter().enumerate() {
        let cells: Vec<String> = tops
            .iter()
            .map(|&j| {
                format!(
                    "{} {:.3}/{:.3}",
                    pad_left(&an.cmp.vocab.label(j).to_string(), 5),
                    an.cmp.q[i][j],
                    an.cmp.p[i][j]
                )
            })
            .collect();
        let label = col.cell(&an.cmp.vocab.label(i).to_string());
        writeln!(w, "{label}  {}", cells.join("   "))?;
    }
    writeln!(w,
        "rows with a single most frequent next character: the model's top-1 is it for {} of {}; {} of the {} rows have only\none possible next character",
        a.single_max_agree, a.single_max, a.single_successor, a.followed
    )
}

/// Where the gap lives, row by row: the rows with the largest weighted KL.
fn gap_rows(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    let c = &an.cmp;
    title(w,
        "Where the gap lives (the 8 rows that hold most of it; every row in --json's leak_by_token):"
    )?;
    let col = LabelColumn::of(&c.vocab);
    writeln!(
        w,
        "{} {:>4}  {:>11}  {:>11}  {:>11}  {:>11}",
        col.cell("cur"),
        "n",
        "(n_i/N)·KL",
        "ε_i",
        "leak_i",
        "misfit_i"
    )?;
    for &i in c.gap_order.iter().take(8) {
        let g = &c.gap_rows[i];
        writeln!(
            w,
            "{} {:>4}  {:>11.3e}  {:>11.3e}  {:>11.3e}  {:>11.3e}",
            col.cell(&c.vocab.label(i).to_string()),
            c.rows[i].count,
            c.gap_by_row[i],
            g.unseen_mass,
            g.leak,
            g.misfit
        )?;
    }
    Ok(())
}

impl fmt::Display for ControlWhat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlWhat::Untrained { seed, beside } => write!(
                f,
                "the untrained model: init_torch(seed {seed}), epoch 0; beside it seeds {} to {}",
                beside.0, beside.1
            ),
            ControlWhat::Shuffled { config, text, more } => write!(
                f,
                "trained like the model (seed {}, {} epochs, AdamW lr {} weight decay {}) on {text}, evaluated on the original text; beside it {more} more shuffles",
                config.seed, config.epochs, config.adamw.lr, config.adamw.weight_decay
            ),
        }
    }
}

/// The evidence beside its two controls.
fn evidence(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    title(w,
        "Evidence beside its controls: each number on the model, on the untrained model, and on a model trained on\n   a shuffled text (same characters, bigrams destroyed), all three evaluated on this text"
    )?;
    writeln!(w, "   untrained: {}", an.controls.untrained.what)?;
    writeln!(w, "   shuffled:  {}", an.controls.shuffled.what)?;
    writeln!(
        w,
        "{:<58} {:>12} {:>12} {:>12}  controls fail?",
        "", "trained", "untrained", "shuffled"
    )?;
    for r in an.evidence_rows() {
        writeln!(
            w,
            "{:<58} {:>12} {:>12} {:>12}  {}",
            evidence_label(r.kind),
            evidence_cell(&r, 0),
            evidence_cell(&r, 1),
            evidence_cell(&r, 2),
            told_words(&r)
        )?;
    }
    writeln!(w, "   ({})", margin_note(an))
}

/// How one control stands against the model, in words.
pub fn told_word(t: crate::analysis::Told) -> &'static str {
    use crate::analysis::Told::*;
    match t {
        Fails => "fails",
        NotToldApart => "not told apart",
        DoesBetter => "does better",
    }
}

/// The "controls fail?" cell: how each control stands against the model.
pub fn told_words(r: &crate::analysis::EvidenceRow) -> String {
    use crate::analysis::Told::*;
    let one = told_word;
    match r.told {
        [Fails, Fails] => "both".into(),
        [NotToldApart, NotToldApart] => "not told apart".into(),
        [DoesBetter, DoesBetter] => "both do better".into(),
        [u, s] => format!("untrained {}, shuffled {}", one(u), one(s)),
    }
}

/// The rule the "controls fail?" column follows, and the controls' runs.
pub fn margin_note(an: &Analysis) -> String {
    use crate::analysis::{COUNT_MARGIN, GAP_FAIL_FACTOR, RATIO_MARGIN};
    format!(
        "a control fails a number when every one of its runs ({} untrained seeds, {} shuffles) does worse than the model by a margin: a gap or spread {GAP_FAIL_FACTOR}× the model's or more; a count or ratio beyond the runs' best by their own spread and at least {COUNT_MARGIN} rows or {RATIO_MARGIN}; nearer than that, \"not told apart\"",
        an.controls.untrained_null.len() + 1,
        an.controls.shuffled_null.len() + 1,
    )
}

/// What a loaded file's missing settings kept from being compared fairly, if anything.
pub fn unfair_note(t: &crate::analysis::Training) -> Option<String> {
    use crate::analysis::{Retraining, Setting};
    if t.known() {
        return None;
    }
    let settings: Vec<&str> = t
        .unrecorded
        .iter()
        .map(|s| match s {
            Setting::Seed => "seed",
            Setting::Epochs => "epochs",
            Setting::Lr => "learning rate",
            Setting::WeightDecay => "weight decay",
        })
        .collect();
    let unfair: Vec<&str> = t
        .unfair()
        .iter()
        .map(|r| match r {
            Retraining::UntrainedControl => {
                "the untrained control starts from the notebook's seed, not the model's"
            }
            Retraining::ShuffledControl => {
                "the shuffled control is trained with the notebook's settings in their place"
            }
            Retraining::Retrained => "the gap against the epoch and the refits are not trained",
        })
        .collect();
    Some(format!(
        "The weights file does not record its {}, so these comparisons are not fair: {}.",
        settings.join(", "),
        unfair.join("; ")
    ))
}

/// The logits' other numbers: the seen/unseen indicator's fit, a stage of training, and what
/// The seen/unseen indicator's fit: a stage of training, not evidence.
fn logits_in_full(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    let (beta, r2) = an.cmp.indicator_fit;
    title(w, "The logits in full")?;
    writeln!(w,
        "   one seen/unseen indicator explains R² = {r2:.3} of the row-centred table's variance (β = {beta:.2} nats):\n   a stage of training (how the unseen logits happen to be spread when it stops), not evidence"
    )
}

/// The loss as floor plus gap, every term and the reference points.
fn decomposition(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    let d = &an.cmp.decomposition;
    let v = an.cmp.vocab.len();
    let n = an.predictions;
    title(
        w,
        &format!(
            "Loss decomposition in full: model loss = H(next|current) + Σ_i (n_i/N)·KL(P_i‖Q_i), after {}",
            an.budget
        ),
    )?;
    writeln!(
        w,
        "   model loss, −(1/N) Σ C_ij ln Q_ij        {:.9}   (its own f32 forward: {:.9})",
        d.model_loss, an.cmp.model_loss_f32
    )?;
    writeln!(
        w,
        " = H(next|current), the bigram floor        {:.9}",
        d.bigram_entropy
    )?;
    writeln!(
        w,
        " + Σ_i (n_i/N)·KL(P_i‖Q_i), the gap          {:.9}",
        d.kl_weighted
    )?;
    writeln!(
        w,
        "   residual (model − floor − gap)            {:+.3e}",
        d.residual
    )?;
    writeln!(w, "   reference points:")?;
    writeln!(
        w,
        "   uniform predictions, ln {v}                {:.9}",
        d.uniform_loss
    )?;
    writeln!(w, "   unigram entropy H(next)                   {:.9}   (entropy of the next-token marginal over the {n} targets:", d.unigram_entropy)?;
    writeln!(w, "                                                            the best loss without looking at the current token)")?;
    writeln!(w,
        "   the gap, split exactly (f64): leak onto the {} unseen pairs −Σ_i (n_i/N)·ln(1 − ε_i)  {:.4e}",
        an.cmp.unseen_pairs, an.cmp.gap_leak
    )?;
    writeln!(w,
        "                                 misfit on the {} seen pairs Σ_i (n_i/N)·KL(P_i‖Q_i/(1−ε_i))  {:.4e}",
        an.cmp.seen_pairs, an.cmp.gap_seen_misfit
    )?;
    writeln!(
        w,
        "   (ε_i: the probability row i puts on next characters that never follow it)."
    )
}

/// Appendix A: the architecture's facts, on the trained and the untrained model.
fn sanity(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    title(w,
        "Appendix A. Sanity checks: facts of the architecture, true for ANY weights, so not evidence of learning"
    )?;
    let u = &an.untrained_sanity;
    writeln!(
        w,
        "   (shown on the untrained model too: it passes all three, as it must)"
    )?;
    match &an.ablation_not_run {
        Some(why) => writeln!(w, "   ablation locality: {why}")?,
        None => writeln!(w,
            "   ablation locality: predictions changed away from the ablated token: trained {}, untrained {}",
            an.ablation_changed_elsewhere, u.ablation_changed_elsewhere
        )?,
    }
    writeln!(w,
        "   substitution = floor: loss with ln P as logits {:.12} for both (it reads only the counts)",
        u.substitution_loss
    )?;
    writeln!(
        w,
        "   rank ≤ d_model: rank of W_E·W_U trained {}, untrained {} (d_model {})",
        an.rank, u.rank, u.d_model
    )
}

/// What the ablation reran, in words.
pub fn ablation_scope(an: &Analysis) -> String {
    let unit = an.cmp.vocab.unit();
    match an.ablation_whole_text {
        true => format!("the whole {}-{unit} text", an.corpus_chars),
        false => format!(
            "the first {} {unit}s of the {}-{unit} text",
            an.ablation_chars, an.corpus_chars
        ),
    }
}

/// Appendix A (a): each embedding row zeroed in turn.
fn ablation(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    let d = &an.cmp.decomposition;
    let v = an.cmp.vocab.len();
    if let Some(why) = &an.ablation_not_run {
        return writeln!(w, "\n(a) Ablation: {why}.");
    }
    let ablated = an.ablated_predictions;
    writeln!(
        w,
        "\n(a) Ablation: zero row i of W_E, rerun {} (embedding and logits at every position,",
        ablation_scope(an)
    )?;
    writeln!(w, "    the notebook's hook_embed), and compare each of its {ablated} predictions bit for bit with the original.")?;
    writeln!(w,
        "    Δloss: change of the mean loss over those {ablated} predictions coming from those positions."
    )?;
    let col = LabelColumn::of(&an.cmp.vocab);
    writeln!(
        w,
        "{} {:>4}  {:>13}  {:>17}  {:>11}  {:>15}  loss there: before → after",
        col.cell("cur"),
        "n",
        "changed there",
        "changed elsewhere",
        "Δloss there",
        "Δloss elsewhere",
    )?;
    for (i, a) in an.ablations.iter().enumerate() {
        writeln!(
            w,
            "{} {:>4}  {:>13}  {:>17}  {:>+11.6}  {:>15}  {}",
            col.cell(&an.cmp.vocab.label(i).to_string()),
            a.positions_with,
            format!("{} of {}", a.changed_with, a.positions_with),
            format!("{} of {}", a.changed_without, a.positions_without),
            a.delta_with,
            if a.delta_without == 0.0 {
                "0 (exact)".to_string()
            } else {
                format!("{:+.3e}", a.delta_without)
            },
            if a.positions_with > 0 {
                format!("{:.4} → {:.4}", a.mean_before, a.mean_after)
            } else {
                "(never current)".into()
            }
        )?;
    }
    writeln!(w,
        "    predictions changed away from the ablated token: {} (over all {v} ablations); an ablated row's\n    logits are all zero, so its positions predict uniformly (ln {v} = {:.4}). Σ Δloss over all tokens = {:.6}",
        an.ablation_changed_elsewhere, d.uniform_loss, an.ablation_delta_total
    )
}

/// Appendix A (b): the bigram log probabilities as logits.
fn substitution(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    let d = &an.cmp.decomposition;
    writeln!(
        w,
        "\n(b) Substitution: replace the logits with ln P(next|cur), the log bigram probabilities."
    )?;
    writeln!(w, "    An unseen pair gets ln 0 = −∞, which the softmax turns into probability exactly 0 (it is never a target).")?;
    writeln!(
        w,
        "    loss with ln P as logits                  {:.12}",
        an.substitution_loss
    )?;
    writeln!(
        w,
        "    H(next|current)                           {:.12}   difference {:+.3e}",
        d.bigram_entropy, an.substitution_minus_floor
    )?;
    writeln!(
        w,
        "    the model's loss is {:.6} above it: exactly the gap.",
        an.model_above_substitution
    )
}

/// Appendix B: the singular values of W_E·W_U and the losses of its rank-k truncations, raw
/// and row-centred, beside models retrained at d_model k.
fn truncations(w: &mut impl Write, an: &Analysis) -> fmt::Result {
    let d = &an.cmp.decomposition;
    let v = an.cmp.vocab.len();
    title(w,
        "Appendix B. Rank-k truncations of this model's table: what an SVD keeps, not what a model of width k\n   can learn (the retrained column is that, at this budget; zl sweep --until-gap trains each width to convergence)"
    )?;
    writeln!(w,
        "   singular values of the {v}×{v} table W_E·W_U (f64, nalgebra's SVD). The raw truncations are not\n   invariant to the per-row shift softmax ignores; the row-centred ones are. Neither need fall with k."
    )?;
    // The threshold with the digits every σ needs to read on the side of it that it was counted.
    let (_, threshold) = against_all(&an.singular_values, an.rank_threshold, Form::Sci(3));
    writeln!(w,
        "   numerical rank: σ > σ_1·{v}·2⁻²³ = {threshold} (f32 rounding of the table) → rank {} (d_model {}, so at most {})",
        an.rank, an.cmp.d_model, an.cmp.d_model.min(v)
    )?;
    writeln!(
        w,
        "{:>4} {:>14} {:>16} {:>14} {:>16} {:>22}",
        "k", "σ_k", "loss, raw", "σ_k centred", "loss, centred", "retrained at d_model k"
    )?;
    for k in 0..=v {
        if k > an.rank + 1 && k < v {
            continue;
        }
        if k == an.rank + 2 && k < v {
            writeln!(w, "   …")?;
        }
        let sigma = |s: &[f64]| match k {
            0 => String::new(),
            k => format!("{:.6e}", s[k - 1]),
        };
        let raw = match k {
            0 => String::new(),
            k => beside_printed(
                an.singular_values[k - 1],
                an.rank_threshold,
                &threshold,
                Form::Sci(6),
            ),
        };
        let refit = an
            .refit_losses
            .iter()
            .flatten()
            .find(|r| r.0 == k)
            .map_or(String::new(), |r| format!("{:.9}", r.1));
        writeln!(
            w,
            "{k:>4} {:>14} {:>16.9} {:>14} {:>16.9} {refit:>22}",
            raw,
            an.rank_losses[k],
            sigma(&an.centred_singular_values),
            an.centred_rank_losses[k],
        )?;
    }
    if an.rank + 2 < v {
        writeln!(
            w,
            "   (k = {}..{}: σ at rounding level like k = {} and {v}, the loss unchanged)",
            an.rank + 2,
            v - 1,
            an.rank + 1
        )?;
    }
    writeln!(
        w,
        "   k = 0 is all-zero logits: uniform. The model's loss {:.9} is reached at k = {}: Δ from rank {} to {}: {:+.3e};\n   from rank {} to {v}: {:+.3e}",
        d.model_loss,
        an.rank,
        an.rank.saturating_sub(1),
        an.rank,
        an.rank_loss_steps[0],
        an.rank,
        an.rank_loss_steps[1]
    )?;
    if an.refit_losses.is_some() {
        writeln!(w,
            "   (retrained: a model of that d_model trained with the same settings, for {}; the loss it reaches)",
            an.budget
        )?;
    }
    Ok(())
}

/// What `zl train` prints about one run.
pub struct TrainView<'a> {
    pub backend: &'a str,
    pub corpus: &'a Corpus,
    pub run: &'a Trained,
    pub cmp: TrainComparison<'a>,
    pub checksum: bool,
}

/// The comparison `zl train` prints: the whole table, or above 256 tokens the large-V view's
/// most followed rows.
#[derive(Clone, Copy)]
pub enum TrainComparison<'a> {
    Dense(&'a Comparison),
    Large(&'a crate::analysis::large::LargeView),
}

impl TrainComparison<'_> {
    pub fn decomposition(&self) -> &zl_core::interpret::Decomposition {
        match self {
            TrainComparison::Dense(c) => &c.decomposition,
            TrainComparison::Large(l) => &l.decomposition,
        }
    }
}

/// `zl train`'s header, printed before training starts: the run's settings, the corpus, the
/// vocabulary and the uniform loss.
pub fn train_header(backend: &str, corpus: &Corpus, job: &Job) -> String {
    let cfg = &job.config;
    let vocab = &corpus.vocab;
    let v = vocab.len();
    string(|w| {
        writeln!(
            w,
            "zl train: backend {}, seed {}, {} epochs, AdamW lr {} weight decay {}, d_model {}",
            backend, cfg.seed, cfg.epochs, cfg.adamw.lr, cfg.adamw.weight_decay, job.d_model
        )?;
        write!(
            w,
            "corpus: {}, {} {}s, {} next-token predictions",
            corpus.source,
            corpus.chars,
            corpus.vocab.unit(),
            corpus.predictions()
        )?;
        match corpus.count_seconds {
            Some(secs) => {
                writeln!(w, " (read and counted in {secs:.3} s)")?;
            }
            None => writeln!(w)?,
        }
        let ids = match corpus.source {
            _ if vocab.tokenizer().is_some() => "the tokenizer's ids",
            Source::Seed => "the notebook's ids",
            Source::File(_) | Source::Stdin(_) | Source::Shuffled { .. } => {
                "ids in code-point order, as sorted(set(text))"
            }
            Source::Counts(_) => "ids as the count file lists them",
        };
        writeln!(
            w,
            "vocab ({v} {}s, {ids}): {}",
            vocab.unit(),
            vocab_dict(vocab)
        )?;
        writeln!(w, "uniform loss: ln {v} = {}", uniform_loss(v))?;
        writeln!(w)?;
        Ok(())
    })
}

/// One of the notebook's loss lines.
pub fn loss_line(epoch: usize, loss: f32) -> String {
    format!("Epoch: {epoch}, train loss: {}\n", loss as f64)
}

/// `zl train`'s report after the losses: the final loss and time, the comparison table and the
/// decomposition, and the checksum line last when asked for.
pub fn train_tail(t: &TrainView) -> String {
    let (run, cmp) = (t.run, t.cmp);
    let cfg = &run.job.config;
    let uniform = uniform_loss(run.weights.vocab.len());
    string(|w| {
        writeln!(
            w,
            "final loss (after epoch {}'s update): {}",
            cfg.epochs - 1,
            run.final_loss as f64
        )?;
        writeln!(
            w,
            "train time: {:.1} ms ({:.2} µs per epoch)",
            run.seconds * 1e3,
            run.seconds * 1e6 / cfg.epochs as f64
        )?;
        writeln!(w)?;
        let a = match cmp {
            TrainComparison::Dense(c) => {
                comparison_table(w, c, 4)?;
                c.agreement
            }
            TrainComparison::Large(l) => {
                write!(w, "{}", super::large::train_table(l, &run.weights.vocab))?;
                l.agreement
            }
        };
        let (agree, followed) = (a.agree, a.followed);
        writeln!(w)?;
        let u = run.weights.vocab.unit();
        writeln!(w, "model's top-1 next {u} is a most frequent one in the data for {agree} of {followed} {u}s")?;
        writeln!(
            w,
            "mean cross-entropy (model):            {:.6} nats",
            run.final_loss
        )?;
        let d = cmp.decomposition();
        writeln!(
            w,
            "bigram entropy floor H(next|current):  {:.6} nats",
            d.bigram_entropy
        )?;
        writeln!(
            w,
            "gap = Σ_i (n_i/N)·KL(P_i‖Q_i):         {:.6} nats",
            d.kl_weighted
        )?;
        writeln!(
            w,
            "uniform (ln V):                        {uniform:.6} nats"
        )?;
        if t.checksum {
            writeln!(w, "{}", run.checksum)?;
        }
        Ok(())
    })
}

/// The notebook's loss lines, every `every` epochs.
pub fn losses(losses: &[f32], every: u32) -> String {
    string(|w| {
        for (e, l) in losses.iter().enumerate().step_by(every as usize) {
            w.write_str(&loss_line(e, *l))?;
        }
        Ok(())
    })
}

/// `zl train --seeds`: each model's final loss, and their spread.
pub fn batch(
    backend: &str,
    runs: &[Trained],
    summary: Option<crate::analysis::SeedSummary>,
    seconds: f64,
) -> String {
    string(|w| {
        if let Some(first) = runs.first() {
            let cfg = &first.job.config;
            writeln!(w,
            "zl train: backend {backend}, {} models, {} epochs each, AdamW lr {} weight decay {}, d_model {}",
            runs.len(),
            cfg.epochs,
            cfg.adamw.lr,
            cfg.adamw.weight_decay,
            first.job.d_model
        )?;
        }
        writeln!(w, "{:>8}  {:>20}", "seed", "final loss")?;
        for r in runs {
            writeln!(w, "{:>8}  {:>20}", r.job.config.seed, r.final_loss as f64)?;
        }
        if let Some(m) = summary {
            writeln!(
                w,
                "final loss over {} seeds: min {} (seed {}), median {}, max {} (seed {})",
                runs.len(),
                m.min.1,
                m.min.0,
                m.median,
                m.max.1,
                m.max.0
            )?;
        }
        writeln!(
            w,
            "trained in {:.1} ms in all (wall clock, every model)",
            seconds * 1e3
        )?;
        Ok(())
    })
}

/// `zl sweep`'s table and verdict: each size's final loss at a fixed budget, or, with
/// `--until-gap`, each size's best gap, the epochs it took and whether it got there.
pub fn sweep(backend: &str, corpus: &Corpus, cfg: &TrainConfig, sw: &Sweep) -> String {
    string(|w| match sw {
        Sweep::Fixed(f) => sweep_fixed(w, backend, corpus, cfg, sw, f),
        Sweep::UntilGap(u) => sweep_until_gap(w, backend, corpus, cfg, sw, u),
    })
}

/// The floor and the uniform loss, under a sweep's first line.
fn sweep_floor(w: &mut impl Write, corpus: &Corpus, sw: &Sweep) -> fmt::Result {
    let v = corpus.vocab.len();
    let uniform = uniform_loss(v);
    writeln!(
        w,
        "bigram entropy floor H(next|current) = {:.6} nats; uniform ln {v} = {uniform:.6} nats",
        sw.floor()
    )?;
    writeln!(w)
}

/// `zl sweep` at a fixed budget: each size's final loss.
fn sweep_fixed(
    w: &mut impl Write,
    backend: &str,
    corpus: &Corpus,
    cfg: &TrainConfig,
    sw: &Sweep,
    f: &Fixed,
) -> fmt::Result {
    let v = corpus.vocab.len();
    {
        writeln!(w,
            "zl sweep: backend {backend}, {}, {v} characters in the vocabulary; seed {}, {} epochs, AdamW lr {} weight decay {}",
            corpus.source, cfg.seed, f.epochs, cfg.adamw.lr, cfg.adamw.weight_decay
        )?;
        sweep_floor(w, corpus, sw)?;
        writeln!(
            w,
            "{:>8}  {:>11}  {:>13}  {:>9}",
            "d_model", "final loss", "gap to floor", "train ms"
        )?;
        for p in &f.points {
            writeln!(
                w,
                "{:>8}  {:>11.6}  {:>13.6}  {:>9.1}",
                p.d_model,
                p.final_loss,
                p.gap,
                p.train_seconds * 1e3
            )?;
        }
        writeln!(w)?;
        writeln!(w, "{}", fixed_verdict(f))
    }
}

/// `zl sweep --until-gap`: each size's best gap, the epochs it took and whether it got there.
fn sweep_until_gap(
    w: &mut impl Write,
    backend: &str,
    corpus: &Corpus,
    cfg: &TrainConfig,
    sw: &Sweep,
    u: &UntilGap,
) -> fmt::Result {
    let v = corpus.vocab.len();
    {
        let b = &u.budget;
        writeln!(w,
            "zl sweep: backend {backend}, {}, {v} characters in the vocabulary; AdamW lr {} weight decay {}",
            corpus.source, cfg.adamw.lr, cfg.adamw.weight_decay
        )?;
        let ends: Vec<String> = b.checkpoints().iter().map(|&e| grouped(e as u64)).collect();
        writeln!(w,
            "each size and seed trains until its gap Σ_i (n_i/N)·KL(P_i‖Q_i) (f64) is below {:e} nats, for at most {}; {}; gap measured at epochs {}",
            b.eps,
            epochs(b.max_epochs),
            seeds_text(&b.seeds),
            ends.join(", ")
        )?;
        sweep_floor(w, corpus, sw)?;
        let many = b.seeds.len() > 1;
        // A drop beside the rule stated below the table.
        let fell = |d: f64| beside(d, STILL_FALLING_DROP, Form::Percent(2));
        writeln!(
            w,
            "{:>8}  {:>11}  {:>6}  {:>10}  {:>7}  {:<21}  {:>9}",
            "d_model", "best gap", "seed", "epochs", "reached", "over the last half", "train ms"
        )?;
        for z in &u.sizes {
            let best = z.best().last();
            let reached = if many {
                format!("{}/{}", z.seeds_reached(), z.seeds.len())
            } else if z.reached {
                "yes".into()
            } else {
                "no".into()
            };
            let trend = match (z.still_falling, z.largest_drop()) {
                (Some(true), Some((_, d))) => format!("still falling ({})", fell(d)),
                (Some(false), Some((_, d))) => format!("stalled ({})", fell(d)),
                _ => "-".into(),
            };
            let seconds = z.train_seconds;
            writeln!(
                w,
                "{:>8}  {:>11}  {:>6}  {:>10}  {:>7}  {:<21}  {:>9.1}",
                z.d_model,
                beside(best.gap, b.eps, Form::Sci(4)),
                z.best().seed,
                grouped(best.epochs as u64),
                reached,
                trend,
                seconds * 1e3
            )?;
        }
        writeln!(w)?;
        writeln!(w, "{}", still_falling_rule(b))?;
        writeln!(w)?;
        writeln!(w, "{}", until_verdict(u))
    }
}

/// "d_model 5, 6 and 8" / "d_model 4".
fn d_models(sizes: &[usize]) -> String {
    let names: Vec<String> = sizes.iter().map(|d| d.to_string()).collect();
    match names.as_slice() {
        [] => "no size".into(),
        [one] => format!("d_model {one}"),
        [init @ .., last] => format!("d_model {} and {last}", init.join(", ")),
    }
}

/// "d_model 5, 6 and 8 are" / "d_model 4 is".
fn d_models_are(sizes: &[usize]) -> String {
    let verb = if sizes.len() == 1 { "is" } else { "are" };
    format!("{} {verb}", d_models(sizes))
}

/// `n` epochs in words: "1 epoch", "300,000 epochs".
pub fn epochs(n: u32) -> String {
    match n {
        1 => "1 epoch".into(),
        n => format!("{} epochs", grouped(n as u64)),
    }
}

/// `1234567` as `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The seeds in words: "seed 0", "seeds 0..5", "seeds 3, 7 and 9", "1024 seeds from 0 to 1023".
pub fn seeds_text(s: &[u64]) -> String {
    let contiguous = s.windows(2).all(|w| w[1] == w[0] + 1);
    match s {
        [one] => format!("seed {one}"),
        [first, .., last] if contiguous => format!("seeds {first}..{}", last + 1),
        _ if s.len() <= 8 => {
            let names: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            let (init, last) = names.split_at(names.len() - 1);
            format!("seeds {} and {}", init.join(", "), last[0])
        }
        _ => format!("{} seeds from {} to {}", s.len(), s[0], s[s.len() - 1]),
    }
}

/// [`STILL_FALLING_DROP`]'s rule in words, with this budget's numbers.
pub fn still_falling_rule(b: &Budget) -> String {
    let n = b.max_epochs;
    if n < 2 {
        return "still falling: not measured, since a budget of 1 epoch has no halfway checkpoint"
            .into();
    }
    format!(
        "still falling: a size that did not reach {:e} is still falling when some seed's gap at {} \
         is more than {}% below its gap at {}",
        b.eps,
        epochs(n),
        STILL_FALLING_DROP * 100.0,
        epochs(n / 2)
    )
}

/// A fixed budget's verdict: which sizes are within [`COST_NATS`] of the best gap, and that this
/// is a stopping time, not a rank limit.
pub fn fixed_verdict(f: &Fixed) -> String {
    let at = format!("At {}", epochs(f.epochs));
    let (best_at, best) = f.best;
    let rest = "That is what this budget shows, not a rank limit: W_E·W_U has rank ≤ d_model, but \
         a size may still be falling when its epochs run out. To see which sizes can reach a gap \
         at all, train each to convergence: zl sweep --until-gap 1e-4 --max-epochs 300000.";
    match f.largest_outside {
        None => format!(
            "{at}, every size, down to d_model {}, is within {COST_NATS} nats of the best run's gap \
             ({best:.6} nats, d_model {best_at}). {rest}",
            f.points[0].d_model
        ),
        Some(c) => format!(
            "{at}, {} within {COST_NATS} nats of the best run's gap ({best:.6} nats, d_model \
             {best_at}); {} not (d_model {}: {:.6} nats, {} more). {rest}",
            d_models_are(&f.within),
            d_models_are(&f.outside),
            c.d_model,
            c.gap,
            beside(c.excess, COST_NATS, Form::Fixed(6))
        ),
    }
}

/// Sizes short of EPS by trend: "d_model 1 and 2 stalled; d_model 3 still falling".
fn shortfall(s: &Shortfall) -> String {
    let mut parts = vec![];
    if !s.stalled.is_empty() {
        parts.push(format!("{} stalled", d_models(&s.stalled)));
    }
    if !s.falling.is_empty() {
        parts.push(format!("{} still falling", d_models(&s.falling)));
    }
    if !s.unmeasured.is_empty() {
        parts.push(format!(
            "{} not measured for a trend",
            d_models(&s.unmeasured)
        ));
    }
    parts.join("; ")
}

/// The `--until-gap` verdict in a few lines: the answer, the sizes that did not reach EPS and
/// their trend by the rule stated above it; the table holds the numbers.
pub fn until_verdict(u: &UntilGap) -> String {
    let b = &u.budget;
    let (eps, n) = (b.eps, epochs(b.max_epochs));
    let mut lines = vec![];
    match (u.smallest, u.first) {
        (Some(d), Some(r)) => {
            let of = if r.seeds > 1 {
                format!("; {} of {} seeds", r.seeds_reached, r.seeds)
            } else {
                String::new()
            };
            lines.push(format!(
                "Answer: d_model {d} is the smallest to reach a gap below {eps:e} nats within {n} \
                 (seed {} at {}{of}).",
                r.seed,
                epochs(r.epochs)
            ))
        }
        _ => lines.push(format!(
            "No size reached a gap below {eps:e} nats within {n}."
        )),
    }
    if !u.below.is_empty() {
        lines.push(format!("Short of it: {}.", shortfall(&u.below)));
    } else if u.smallest.is_some() {
        lines.push("It is the smallest size tried.".into());
    }
    if !u.above.is_empty() {
        lines.push(format!("Larger, also short: {}.", shortfall(&u.above)));
    }
    if !u.below.stalled.is_empty() || !u.above.stalled.is_empty() {
        lines.push("Stalled is consistent with a rank limit, not proof of one.".into());
    }
    if !u.below.falling.is_empty() || !u.above.falling.is_empty() {
        lines.push("Raise --max-epochs to settle the sizes still falling.".into());
    }
    lines.join("\n")
}

/// What `zl eval` found.
pub struct EvalView<'a> {
    pub load: &'a std::path::Path,
    pub corpus: &'a Corpus,
    pub weights: &'a crate::data::files::Weights,
    /// Positions scored.
    pub scored: u64,
    pub skipped: &'a crate::data::corpus::Skipped,
    /// The model on the scored positions (their counts in the model's ids).
    pub decomposition: &'a zl_core::interpret::Decomposition,
}

/// `zl eval`'s report.
pub fn eval(e: &EvalView) -> String {
    let d = e.decomposition;
    let total = e.corpus.predictions();
    string(|w| {
        writeln!(
            w,
            "zl eval: {} ({} {}s, d_model {}) on {} ({} {}s, {} next-token predictions)",
            e.load.display(),
            e.weights.vocab.len(),
            e.weights.vocab.unit(),
            e.weights.d_model,
            e.corpus.source,
            e.corpus.vocab.len(),
            e.corpus.vocab.unit(),
            total
        )?;
        writeln!(w,
        "scored {} of {} positions; skipped {} whose current or next character is not in the model's vocabulary",
        e.scored, total, e.skipped.pairs
    )?;
        if !e.skipped.chars.is_empty() {
            let shown: Vec<String> = e
                .skipped
                .chars
                .iter()
                .take(12)
                .map(|&(c, n)| format!("{} ({n})", zl_core::Label(c)))
                .collect();
            let more = e.skipped.chars.len().saturating_sub(12);
            writeln!(
                w,
                "characters outside the model's vocabulary (pairs they are in): {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(", and {more} more")
                } else {
                    String::new()
                }
            )?;
        }
        writeln!(
            w,
            "loss on the scored positions:                 {:.6} nats",
            d.model_loss
        )?;
        writeln!(
            w,
            "floor of the scored pairs H(next|current):    {:.6} nats",
            d.bigram_entropy
        )?;
        writeln!(
            w,
            "gap = Σ_i (n_i/N)·KL(P_i‖Q_i):                {:.6} nats",
            d.kl_weighted
        )?;
        Ok(())
    })
}

/// Column `k` (trained, untrained, shuffled) of an evidence row, as the text and the report
/// print it.
pub fn evidence_cell(r: &crate::analysis::EvidenceRow, k: usize) -> String {
    let x = r.values[k];
    if r.count {
        format!("{x:.0}")
    } else if x.abs() < 0.01 {
        format!("{x:.3e}")
    } else {
        format!("{x:.3}")
    }
}

/// The words for one row of the evidence-and-controls table (sub-rows indented by two spaces).
pub fn evidence_label(kind: EvidenceKind) -> String {
    use EvidenceKind as K;
    match kind {
        K::Gap => "gap Σ_i (n_i/N)·KL(P_i‖Q_i) (nats)".into(),
        K::GapLeak => "  of which leak onto unseen pairs".into(),
        K::GapMisfit => "  of which misfit on seen pairs".into(),
        K::TopOneAgrees { rows } => {
            format!("top-1 is a most frequent next character (of {rows} rows)")
        }
        K::SingleMaxAgrees { rows } => format!("  among the {rows} rows with a single maximum"),
        K::PositiveMargins { rows } => {
            format!("rows with every unseen logit below every seen one (of {rows})")
        }
        K::IndicatorR2 => "R² by the seen/unseen indicator (a stage of training)".into(),
        K::SeenCorrelation => "correlation of seen logits with ln P (row-centred)".into(),
        K::SeenSpread => "largest row spread of seen logits about ln P (RMS, row-centred)".into(),
    }
}
