//! Text output: characters as Python prints them, the bigram comparison table, and the text
//! reports of `zl train`, `zl sweep` and `zl interpret`.

use std::fmt::Write;

use zl_core::TrainConfig;

use crate::{
    analysis::{sweep::Sweep, Analysis, Comparison, EvidenceKind, TOP},
    backend::{Job, Trained},
    data::corpus::{Corpus, Source},
};

/// A character as Python's `repr` shows it, so that labels match the notebook's prints.
pub fn py_repr(c: char) -> String {
    zl_core::Label(c).to_string()
}

/// The vocabulary as the notebook prints `char_to_token`: `{'h': 0, 'i': 1, …}`.
pub fn vocab_dict(vocab: &[char]) -> String {
    let items: Vec<String> = vocab
        .iter()
        .enumerate()
        .map(|(i, &c)| format!("{}: {i}", py_repr(c)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// The comparison as a table: for each current character, its most frequent next characters
/// with the data's P and the model's Q, and the row's KL.
pub fn comparison_table(c: &Comparison, max_next: usize) -> String {
    let vocab = &c.vocab;
    // The "next" cells first, so that the column is as wide as its widest cell.
    let cells: Vec<String> = c
        .data_top
        .iter()
        .enumerate()
        .map(|(i, top)| {
            let mut next = String::new();
            for &j in top.iter().take(max_next) {
                let _ = write!(
                    next,
                    "{} {:.3}/{:.3}  ",
                    py_repr(vocab[j]),
                    c.p[i][j],
                    c.q[i][j]
                );
            }
            if top.len() > max_next {
                let _ = write!(next, "+{}", top.len() - max_next);
            }
            next.trim_end().to_string()
        })
        .collect();
    let w = cells
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0)
        .max("next: P / Q".len());
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Bigram statistics vs the model: for each current character, its most frequent next"
    );
    let _ = writeln!(
        s,
        "characters with the data's P(next|cur) and the model's softmax(W_E W_U) Q(next|cur)."
    );
    let _ = writeln!(
        s,
        "{:>5} {:>4}  {:<w$} {:>9}  model top-1",
        "cur", "n", "next: P / Q", "KL(P‖Q)"
    );
    for (i, (r, next)) in c.rows.iter().zip(&cells).enumerate() {
        let label = py_repr(vocab[i]);
        if r.count == 0.0 {
            let _ = writeln!(
                s,
                "{label:>5} {:>4}  (never followed: the text's last character)",
                0
            );
            continue;
        }
        let mark = if r.argmax_agrees { "✓" } else { "✗" };
        let pad = w - next.chars().count();
        let _ = writeln!(
            s,
            "{label:>5} {:>4}  {next}{:pad$} {:>9.5}  {} {:.3} {mark}",
            r.count,
            "",
            r.kl,
            py_repr(vocab[r.model_top]),
            r.model_top_q
        );
    }
    s
}

/// `zl interpret`'s report: decomposition, per-token tables, the three tests, the heatmaps.
pub fn interpret(an: &Analysis, colour: bool) -> String {
    let mut s = String::new();
    let d = &an.cmp.decomposition;
    let v = an.cmp.vocab.len();
    let n = an.predictions;
    let _ = writeln!(s, "zl interpret: {}", an.source);
    let _ = writeln!(
        s,
        "model: logits = W_E[token]·W_U, W_E {v}×{}, W_U {}×{v}; corpus: {} characters, N = {n} next-token predictions",
        an.cmp.d_model, an.cmp.d_model, an.corpus_chars
    );
    let _ = writeln!(
        s,
        "All numbers are f64 arithmetic on the f32 weights, in nats."
    );

    let _ = writeln!(
        s,
        "\n1. Loss decomposition: model loss = H(next|current) + Σ_i (n_i/N)·KL(P_i‖Q_i), after {}",
        an.budget
    );
    let _ = writeln!(
        s,
        "   model loss, −(1/N) Σ C_ij ln Q_ij        {:.9}   (its own f32 forward: {:.9})",
        d.model_loss, an.cmp.model_loss_f32
    );
    let _ = writeln!(
        s,
        " = H(next|current), the bigram floor        {:.9}",
        d.bigram_entropy
    );
    let _ = writeln!(
        s,
        " + Σ_i (n_i/N)·KL(P_i‖Q_i), the gap          {:.9}",
        d.kl_weighted
    );
    let _ = writeln!(
        s,
        "   residual (model − floor − gap)            {:+.3e}",
        d.residual
    );
    let _ = writeln!(s, "   reference points:");
    let _ = writeln!(
        s,
        "   uniform predictions, ln {v}                {:.9}",
        d.uniform_loss
    );
    let _ = writeln!(s, "   unigram entropy H(next)                   {:.9}   (entropy of the next-token marginal over the {n} targets:", d.unigram_entropy);
    let _ = writeln!(s, "                                                            the best loss without looking at the current token)");
    let unseen = an.cmp.unseen_pairs();
    let _ = writeln!(
        s,
        "   the gap, split exactly (f64): leak onto the {unseen} unseen pairs −Σ_i (n_i/N)·ln(1 − ε_i)  {:.4e}",
        an.cmp.gap_leak
    );
    let _ = writeln!(
        s,
        "                                 misfit on the {} seen pairs Σ_i (n_i/N)·KL(P_i‖Q_i/(1−ε_i))  {:.4e}",
        v * v - unseen,
        an.cmp.gap_seen_misfit
    );
    let _ = writeln!(
        s,
        "   (ε_i: the probability row i puts on next characters that never follow it). The gap is a stopping time,\n   not a floor: it holds for {} (section 7).",
        an.budget
    );
    let gap_share = d.kl_weighted / (d.uniform_loss - d.bigram_entropy);
    let _ = writeln!(
        s,
        "   the model has closed {:.4}% of the way from uniform to the floor",
        100.0 * (1.0 - gap_share)
    );

    let (agree, followed) = an.cmp.argmax_agreement();
    let _ = writeln!(s, "\n2. Per input token (P: the data's next-token distribution after it; Q: the model's row of softmax(W_E W_U);\n   ties in P, and in Q as printed, in token-id order)");
    s.push_str(&comparison_table(&an.cmp, 4));
    let _ = writeln!(s, "model's top-1 next character is a most frequent one in the data for {agree} of {followed} characters");
    let _ = writeln!(
        s,
        "\nThe model's own top {TOP} next characters (Q, with the data's P):"
    );
    for (i, tops) in an.cmp.model_top.iter().enumerate() {
        let cells: Vec<String> = tops
            .iter()
            .map(|&j| {
                format!(
                    "{:<5} {:.3}/{:.3}",
                    py_repr(an.cmp.vocab[j]),
                    an.cmp.q[i][j],
                    an.cmp.p[i][j]
                )
            })
            .collect();
        let _ = writeln!(s, "{:>5}  {}", py_repr(an.cmp.vocab[i]), cells.join("   "));
    }

    let a = an.cmp.agreement();
    let _ = writeln!(
        s,
        "rows with a single most frequent next character: the model's top-1 is it for {} of {}; {} of the {} rows have only\none possible next character",
        a.single_max_agree, a.single_max, a.single_successor, a.followed
    );
    s.push_str(&gap_rows(an));
    s.push_str(&evidence(an));
    s.push_str(&logits(an));
    let _ = writeln!(
        s,
        "\n5. Sanity checks: facts of the architecture, true for ANY weights, so not evidence of learning"
    );
    let u = &an.untrained_sanity;
    let _ = writeln!(
        s,
        "   (shown on the untrained model too: it passes all three, as it must)"
    );
    match &an.ablation_not_run {
        Some(why) => {
            let _ = writeln!(s, "   ablation locality: {why}");
        }
        None => {
            let _ = writeln!(
                s,
                "   ablation locality: predictions changed away from the ablated token: trained {}, untrained {}",
                an.ablations.iter().map(|a| a.changed_without).sum::<usize>(),
                u.ablation_changed_elsewhere
            );
        }
    }
    let _ = writeln!(
        s,
        "   substitution = floor: loss with ln P as logits {:.12} for both (it reads only the counts)",
        u.substitution_loss
    );
    let _ = writeln!(
        s,
        "   rank ≤ d_model: rank of W_E·W_U trained {}, untrained {} (d_model {})",
        an.rank, u.rank, u.d_model
    );
    if let Some(why) = &an.ablation_not_run {
        let _ = writeln!(s, "\n(a) Ablation: {why}.");
    } else {
        let (scope, ablated) = an.ablation_scope();
        let _ = writeln!(
            s,
            "\n(a) Ablation: zero row i of W_E, rerun {scope} (embedding and logits at every position,"
        );
        let _ = writeln!(s, "    the notebook's hook_embed), and compare each of its {ablated} predictions bit for bit with the original.");
        let _ = writeln!(
            s,
            "    Δloss: change of the mean loss over those {ablated} predictions coming from those positions."
        );
        let _ = writeln!(
            s,
            "{:>5} {:>4}  {:>13}  {:>17}  {:>11}  {:>15}  loss there: before → after",
            "cur", "n", "changed there", "changed elsewhere", "Δloss there", "Δloss elsewhere",
        );
        for (i, a) in an.ablations.iter().enumerate() {
            let _ = writeln!(
                s,
                "{:>5} {:>4}  {:>13}  {:>17}  {:>+11.6}  {:>15}  {}",
                py_repr(an.cmp.vocab[i]),
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
            );
        }
        let elsewhere: usize = an.ablations.iter().map(|a| a.changed_without).sum();
        let total_delta: f64 = an.ablations.iter().map(|a| a.delta_with).sum();
        let _ = writeln!(
            s,
            "    predictions changed away from the ablated token: {elsewhere} (over all {v} ablations); an ablated row's\n    logits are all zero, so its positions predict uniformly (ln {v} = {:.4}). Σ Δloss over all tokens = {total_delta:.6}",
            d.uniform_loss
        );
    }

    let _ = writeln!(
        s,
        "\n(b) Substitution: replace the logits with ln P(next|cur), the log bigram probabilities."
    );
    let _ = writeln!(s, "    An unseen pair gets ln 0 = −∞, which the softmax turns into probability exactly 0 (it is never a target).");
    let _ = writeln!(
        s,
        "    loss with ln P as logits                  {:.12}",
        an.substitution_loss
    );
    let _ = writeln!(
        s,
        "    H(next|current)                           {:.12}   difference {:+.3e}",
        d.bigram_entropy,
        an.substitution_loss - d.bigram_entropy
    );
    let _ = writeln!(
        s,
        "    the model's loss is {:.6} above it: exactly the KL gap of section 1.",
        d.model_loss - an.substitution_loss
    );

    let _ = writeln!(
        s,
        "\n(c) Spectrum: singular values of the {v}×{v} table W_E·W_U (f64, one-sided Jacobi). The raw truncations\n    below are not invariant to the per-row shift softmax ignores, so they need not fall with k (section 6)."
    );
    let _ = writeln!(
        s,
        "    numerical rank: σ > σ_1·{v}·2⁻²³ = {:.3e} (f32 rounding of the table) → rank {} (d_model {}, so at most {})",
        an.rank_threshold, an.rank, an.cmp.d_model, an.cmp.d_model.min(v)
    );
    let _ = writeln!(
        s,
        "{:>4} {:>14} {:>14}   (k: keep the k largest; loss of the rank-k table)",
        "k", "σ_k", "loss at rank k"
    );
    let _ = writeln!(
        s,
        "{:>4} {:>14} {:>14.9}   (all-zero logits: uniform)",
        0, "", an.rank_losses[0]
    );
    for k in 1..=v {
        if k > an.rank + 1 && k < v {
            continue;
        }
        if k == an.rank + 2 && k < v {
            let _ = writeln!(s, "   …");
        }
        let _ = writeln!(
            s,
            "{k:>4} {:>14.6e} {:>14.9}",
            an.singular_values[k - 1],
            an.rank_losses[k]
        );
    }
    if an.rank + 2 < v {
        let _ = writeln!(
            s,
            "   (k = {}..{}: σ at rounding level like k = {} and {v}, the loss unchanged)",
            an.rank + 2,
            v - 1,
            an.rank + 1
        );
    }
    let _ = writeln!(
        s,
        "    the model's loss {:.9} is reached at k = {} and no earlier k:",
        d.model_loss, an.rank
    );
    let _ = writeln!(
        s,
        "    Δ from rank {} to {}: {:+.3e}; from rank {} to {v}: {:+.3e}",
        an.rank.saturating_sub(1),
        an.rank,
        an.rank_losses[an.rank] - an.rank_losses[an.rank.saturating_sub(1)],
        an.rank,
        an.rank_losses[v] - an.rank_losses[an.rank]
    );

    s.push_str(&centred_spectrum(an));
    s.push_str(&gap_curve(an));
    let _ = writeln!(
        s,
        "\n8. Heatmaps: row = current character, column = next character"
    );
    s.push_str(&super::heatmap::side_by_side(
        &an.cmp.p,
        &an.cmp.q,
        &an.cmp.counts,
        &an.cmp.vocab,
        (
            "Bigram statistics P(next|cur)",
            "W_E @ W_U (post softmax) Q",
        ),
        colour,
    ));
    let _ = writeln!(s, "\nanalysis time: {:.2} ms", an.analysis_seconds * 1e3);
    s
}

/// Where the gap lives, row by row: the rows with the largest weighted KL.
fn gap_rows(an: &Analysis) -> String {
    let c = &an.cmp;
    let n = an.predictions;
    let mut order: Vec<usize> = (0..c.vocab.len())
        .filter(|&i| c.rows[i].count > 0.0)
        .collect();
    let w = |i: usize| c.rows[i].count / n * c.rows[i].kl;
    order.sort_by(|&a, &b| w(b).total_cmp(&w(a)).then(a.cmp(&b)));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nWhere the gap lives (the 8 rows that hold most of it; every row in --json's leak_by_token):"
    );
    let _ = writeln!(
        s,
        "{:>5} {:>4}  {:>11}  {:>11}  {:>11}  {:>11}",
        "cur", "n", "(n_i/N)·KL", "ε_i", "leak_i", "misfit_i"
    );
    for &i in order.iter().take(8) {
        let g = &c.gap_rows[i];
        let _ = writeln!(
            s,
            "{:>5} {:>4}  {:>11.3e}  {:>11.3e}  {:>11.3e}  {:>11.3e}",
            py_repr(c.vocab[i]),
            c.rows[i].count,
            w(i),
            g.unseen_mass,
            g.leak,
            g.misfit
        );
    }
    s
}

/// The evidence beside its two controls.
fn evidence(an: &Analysis) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n3. Evidence beside its controls: each number on the model, on the untrained model, and on a model trained on"
    );
    let _ = writeln!(
        s,
        "   a shuffled text (same characters, bigrams destroyed), all three evaluated on this text"
    );
    let _ = writeln!(s, "   untrained: {}", an.controls.untrained.what);
    let _ = writeln!(s, "   shuffled:  {}", an.controls.shuffled.what);
    let _ = writeln!(
        s,
        "{:<58} {:>12} {:>12} {:>12}  controls fail?",
        "", "trained", "untrained", "shuffled"
    );
    for r in an.evidence_rows() {
        let _ = writeln!(
            s,
            "{:<58} {:>12} {:>12} {:>12}  {}",
            evidence_label(r.kind),
            r.cell(0),
            r.cell(1),
            r.cell(2),
            if r.controls_fail { "both" } else { "NO" }
        );
    }
    let _ = writeln!(
        s,
        "   (\"both\": each control does worse than the model; a gap counts as worse at {}× or more)",
        crate::analysis::GAP_FAIL_FACTOR
    );
    s
}

/// The logits before softmax, and why rank d_model suffices.
fn logits(an: &Analysis) -> String {
    let c = &an.cmp;
    let (positive, with) = c.positive_margins();
    let margins: Vec<f64> = c.margins.iter().flatten().copied().collect();
    let smallest = margins.iter().copied().fold(f64::INFINITY, f64::min);
    let (beta, r2) = c.indicator_fit;
    let mut s = String::new();
    let _ = writeln!(s, "\n4. The logits before softmax");
    let _ = writeln!(
        s,
        "   margin (weakest seen logit − strongest unseen logit, per row): positive in {positive} of {with} rows; smallest {smallest:+.3}"
    );
    let _ = writeln!(
        s,
        "   one seen/unseen indicator explains R² = {r2:.3} of the row-centred table's variance (β = {beta:.2} nats)"
    );
    let _ = writeln!(
        s,
        "   seen logits against ln P, each centred on its row's seen pairs: correlation {:.4}",
        c.seen_logit_correlation
    );
    let _ = writeln!(
        s,
        "   Why rank {} suffices for a {}×{} table: softmax ignores a constant per row, so a row needs only the ratios\n   of its seen pairs (ln P differences) and a margin that pushes its unseen pairs far below; it never needs the\n   −∞ of exact bigram logits. The leak above is what a finite margin costs, and it shrinks as training goes on.",
        c.d_model,
        c.vocab.len(),
        c.vocab.len()
    );
    s
}

/// The row-centred table's spectrum, truncations and directions.
fn centred_spectrum(an: &Analysis) -> String {
    let v = an.cmp.vocab.len();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n6. Rank, invariant to the row shift: the row-centred table L_ij − mean_j L_ij (the same softmax)"
    );
    let _ = writeln!(
        s,
        "   its rank-k truncations beside the raw table's (section 5c): truncations of THIS model; last, models\n   retrained at d_model k with the same budget (zl sweep --until-gap trains them to convergence)"
    );
    let _ = writeln!(
        s,
        "{:>4} {:>14} {:>16} {:>16} {:>22}",
        "k", "σ_k centred", "loss, centred", "loss, raw", "retrained at d_model k"
    );
    let shown = (an.rank + 1).min(v);
    for k in 0..=shown {
        let sigma = if k == 0 {
            String::new()
        } else {
            format!("{:.6e}", an.centred_singular_values[k - 1])
        };
        let refit = an
            .refit_losses
            .iter()
            .flatten()
            .find(|r| r.0 == k)
            .map_or(String::new(), |r| format!("{:.9}", r.1));
        let _ = writeln!(
            s,
            "{k:>4} {sigma:>14} {:>16.9} {:>16.9} {refit:>22}",
            an.centred_rank_losses[k], an.rank_losses[k]
        );
    }
    if an.refit_losses.is_some() {
        let _ = writeln!(
            s,
            "   (retrained: a model of that d_model trained with the same settings, for {}; the loss it reaches)",
            an.budget
        );
    }
    let _ = writeln!(
        s,
        "   directions (the row-centred table's top singular vectors; W_E and W_U alone are defined only up to an\n   invertible d_model×d_model change of basis, so only W_E·W_U is interpreted):"
    );
    for (r, d) in an.directions.iter().enumerate() {
        let list = |xs: &[(usize, f64)]| {
            xs.iter()
                .map(|&(i, x)| format!("{} {x:+.2}", py_repr(an.cmp.vocab[i])))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            s,
            "   {} σ {:.3}: current {}; next {}",
            r + 1,
            d.sigma,
            list(&d.current),
            list(&d.next)
        );
        let _ = writeln!(
            s,
            "     correlation with frequency: current {:+.2}, next {:+.2}; with vowel (letters only): current {:+.2}, next {:+.2}",
            d.current_frequency, d.next_frequency, d.current_vowel, d.next_vowel
        );
    }
    s
}

/// The gap against the epoch.
fn gap_curve(an: &Analysis) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\n7. The gap against training time");
    match &an.gap_curve {
        None => {
            let _ = writeln!(
                s,
                "   not measured here (a loaded model, or the PTX interpreter, too slow for 10^5 epochs)"
            );
        }
        Some(g) => {
            let _ = writeln!(
                s,
                "{:>9} {:>18} {:>18}",
                "epoch",
                format!("gap, wd {}", g.weight_decay),
                "gap, wd 0"
            );
            for &(e, a, b) in &g.points {
                let _ = writeln!(s, "{e:>9} {a:>18.4e} {b:>18.4e}");
            }
            let _ = writeln!(
                s,
                "   the gap keeps falling with the epoch: it measures when training stopped, not what a rank can hold"
            );
        }
    }
    s
}

/// What `zl train` prints about one run.
pub struct TrainView<'a> {
    pub backend: &'a str,
    pub corpus: &'a Corpus,
    pub run: &'a Trained,
    pub cmp: &'a Comparison,
    pub checksum: bool,
}

/// `zl train`'s header, printed before training starts: the run's settings, the corpus, the
/// vocabulary and the uniform loss.
pub fn train_header(backend: &str, corpus: &Corpus, job: &Job) -> String {
    let cfg = &job.config;
    let vocab = &corpus.vocab;
    let v = vocab.len();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "zl train: backend {}, seed {}, {} epochs, AdamW lr {} weight decay {}, d_model {}",
        backend, cfg.seed, cfg.epochs, cfg.adamw.lr, cfg.adamw.weight_decay, job.d_model
    );
    let _ = write!(
        s,
        "corpus: {}, {} characters, {} next-token predictions",
        corpus.source,
        corpus.chars,
        corpus.predictions()
    );
    match corpus.count_seconds {
        Some(secs) => {
            let _ = writeln!(s, " (read and counted in {secs:.3} s)");
        }
        None => s.push('\n'),
    }
    let ids = match corpus.source {
        Source::Seed => "the notebook's ids",
        Source::File(_) | Source::Stdin(_) | Source::Shuffled { .. } => {
            "ids in code-point order, as sorted(set(text))"
        }
        Source::Counts(_) => "ids as the count file lists them",
    };
    let _ = writeln!(s, "vocab ({v} characters, {ids}): {}", vocab_dict(vocab));
    let _ = writeln!(s, "uniform loss: ln {v} = {}", (v as f64).ln());
    s.push('\n');
    s
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
    let uniform = (run.weights.vocab.len() as f64).ln();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "final loss (after epoch {}'s update): {}",
        cfg.epochs - 1,
        run.final_loss as f64
    );
    let _ = writeln!(
        s,
        "train time: {:.1} ms ({:.2} µs per epoch)",
        run.seconds * 1e3,
        run.seconds * 1e6 / cfg.epochs as f64
    );
    s.push('\n');
    s.push_str(&comparison_table(cmp, 4));
    let (agree, followed) = cmp.argmax_agreement();
    s.push('\n');
    let _ = writeln!(s, "model's top-1 next character is a most frequent one in the data for {agree} of {followed} characters");
    let _ = writeln!(
        s,
        "mean cross-entropy (model):            {:.6} nats",
        run.final_loss
    );
    let d = &cmp.decomposition;
    let _ = writeln!(
        s,
        "bigram entropy floor H(next|current):  {:.6} nats",
        d.bigram_entropy
    );
    let _ = writeln!(
        s,
        "gap = Σ_i (n_i/N)·KL(P_i‖Q_i):         {:.6} nats",
        d.kl_weighted
    );
    let _ = writeln!(
        s,
        "uniform (ln V):                        {uniform:.6} nats"
    );
    if t.checksum {
        let _ = writeln!(s, "{}", run.checksum);
    }
    s
}

/// The notebook's loss lines, every `every` epochs.
pub fn losses(losses: &[f32], every: u32) -> String {
    let mut s = String::new();
    for (e, l) in losses.iter().enumerate().step_by(every as usize) {
        s.push_str(&loss_line(e, *l));
    }
    s
}

/// Each run's seed and final loss.
pub fn seed_losses(runs: &[Trained]) -> Vec<(u64, f64)> {
    runs.iter()
        .map(|r| (r.job.config.seed, r.final_loss as f64))
        .collect()
}

/// `zl train --seeds`: each model's final loss, and their spread.
pub fn batch(backend: &str, runs: &[Trained], seconds: f64) -> String {
    let mut s = String::new();
    if let Some(first) = runs.first() {
        let cfg = &first.job.config;
        let _ = writeln!(
            s,
            "zl train: backend {backend}, {} models, {} epochs each, AdamW lr {} weight decay {}, d_model {}",
            runs.len(),
            cfg.epochs,
            cfg.adamw.lr,
            cfg.adamw.weight_decay,
            first.job.d_model
        );
    }
    let _ = writeln!(s, "{:>8}  {:>20}", "seed", "final loss");
    for r in runs {
        let _ = writeln!(s, "{:>8}  {:>20}", r.job.config.seed, r.final_loss as f64);
    }
    if let Some(m) = crate::analysis::seed_summary(&seed_losses(runs)) {
        let _ = writeln!(
            s,
            "final loss over {} seeds: min {} (seed {}), median {}, max {} (seed {})",
            runs.len(),
            m.min.1,
            m.min.0,
            m.median,
            m.max.1,
            m.max.0
        );
    }
    let _ = writeln!(
        s,
        "trained in {:.1} ms in all (wall clock, every model)",
        seconds * 1e3
    );
    s
}

/// `zl sweep`'s table and verdict: each size's final loss at a fixed budget, or, with
/// `--until-gap`, each size's best gap, the epochs it took and whether it got there.
pub fn sweep(backend: &str, corpus: &Corpus, cfg: &TrainConfig, sw: &Sweep) -> String {
    use crate::analysis::sweep::{epochs, grouped, Fixed, UntilGap};
    let v = corpus.vocab.len();
    let uniform = (v as f64).ln();
    let mut s = String::new();
    let floor_line = |s: &mut String| {
        let _ = writeln!(
            s,
            "bigram entropy floor H(next|current) = {:.6} nats; uniform ln {v} = {uniform:.6} nats",
            sw.floor()
        );
        s.push('\n');
    };
    let fixed = |s: &mut String, f: &Fixed| {
        let _ = writeln!(
            s,
            "zl sweep: backend {backend}, {}, {v} characters in the vocabulary; seed {}, {} epochs, AdamW lr {} weight decay {}",
            corpus.source, cfg.seed, f.epochs, cfg.adamw.lr, cfg.adamw.weight_decay
        );
        floor_line(s);
        let _ = writeln!(
            s,
            "{:>8}  {:>11}  {:>13}  {:>9}",
            "d_model", "final loss", "gap to floor", "train ms"
        );
        for p in &f.points {
            let _ = writeln!(
                s,
                "{:>8}  {:>11.6}  {:>13.6}  {:>9.1}",
                p.d_model,
                p.final_loss,
                p.gap,
                p.train_seconds * 1e3
            );
        }
        s.push('\n');
        let _ = writeln!(s, "{}", f.verdict);
    };
    let until = |s: &mut String, u: &UntilGap| {
        let b = &u.budget;
        let _ = writeln!(
            s,
            "zl sweep: backend {backend}, {}, {v} characters in the vocabulary; AdamW lr {} weight decay {}",
            corpus.source, cfg.adamw.lr, cfg.adamw.weight_decay
        );
        let ends: Vec<String> = b.checkpoints().iter().map(|&e| grouped(e as u64)).collect();
        let _ = writeln!(
            s,
            "each size and seed trains until its gap Σ_i (n_i/N)·KL(P_i‖Q_i) (f64) is below {:e} nats, for at most {}; {}; gap measured at epochs {}",
            b.eps,
            epochs(b.max_epochs),
            b.seeds_text(),
            ends.join(", ")
        );
        floor_line(s);
        let many = b.seeds.len() > 1;
        let _ = writeln!(
            s,
            "{:>8}  {:>11}  {:>6}  {:>10}  {:>7}  {:<21}  {:>9}",
            "d_model", "best gap", "seed", "epochs", "reached", "over the last half", "train ms"
        );
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
                (Some(true), Some((_, d))) => format!("still falling ({:.2}%)", d * 100.0),
                (Some(false), Some((_, d))) => format!("stalled ({:.2}%)", d * 100.0),
                _ => "-".into(),
            };
            let seconds: f64 = z.seeds.iter().map(|r| r.train_seconds).sum();
            let _ = writeln!(
                s,
                "{:>8}  {:>11.4e}  {:>6}  {:>10}  {:>7}  {:<21}  {:>9.1}",
                z.d_model,
                best.gap,
                z.best().seed,
                grouped(best.epochs as u64),
                reached,
                trend,
                seconds * 1e3
            );
        }
        s.push('\n');
        let _ = writeln!(s, "{}", b.still_falling_rule());
        s.push('\n');
        let _ = writeln!(s, "{}", u.verdict);
    };
    match sw {
        Sweep::Fixed(f) => fixed(&mut s, f),
        Sweep::UntilGap(u) => until(&mut s, u),
    }
    s
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
    pub cmp: &'a Comparison,
}

/// `zl eval`'s report.
pub fn eval(e: &EvalView) -> String {
    let d = &e.cmp.decomposition;
    let total = e.corpus.predictions();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "zl eval: {} ({} characters, d_model {}) on {} ({} characters, {} next-token predictions)",
        e.load.display(),
        e.weights.vocab.len(),
        e.weights.d_model,
        e.corpus.source,
        e.corpus.vocab.len(),
        total
    );
    let _ = writeln!(
        s,
        "scored {} of {} positions; skipped {} whose current or next character is not in the model's vocabulary",
        e.scored, total, e.skipped.pairs
    );
    if !e.skipped.chars.is_empty() {
        let shown: Vec<String> = e
            .skipped
            .chars
            .iter()
            .take(12)
            .map(|&(c, n)| format!("{} ({n})", py_repr(c)))
            .collect();
        let more = e.skipped.chars.len().saturating_sub(12);
        let _ = writeln!(
            s,
            "characters outside the model's vocabulary (pairs they are in): {}{}",
            shown.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(
        s,
        "loss on the scored positions:                 {:.6} nats",
        d.model_loss
    );
    let _ = writeln!(
        s,
        "floor of the scored pairs H(next|current):    {:.6} nats",
        d.bigram_entropy
    );
    let _ = writeln!(
        s,
        "gap = Σ_i (n_i/N)·KL(P_i‖Q_i):                {:.6} nats",
        d.kl_weighted
    );
    s
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
        K::IndicatorR2 => "R² of the row-centred table by the seen/unseen indicator".into(),
        K::SeenCorrelation => "correlation of seen logits with ln P (row-centred)".into(),
        K::SeenSpread => "largest row spread of seen logits about ln P (RMS, row-centred)".into(),
    }
}
