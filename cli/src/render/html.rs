//! `zl report`: one self-contained HTML page that goes from the problem to the mechanism to the
//! evidence, with every figure inline as SVG and every number computed for this model. The page
//! makes no request: no scripts, no stylesheets, fonts or images from elsewhere.

use std::fmt::Write;

use anyhow::{Context, Result};

use super::{
    against::{beside, signed, Form},
    escape as esc,
    plot::Figure,
    verdict,
};
use crate::{
    analysis::{
        large::{Beside, LargeView},
        Analysis,
    },
    data::vocab::Vocab,
};

/// Token `i` as a table cell: its visible stand-in ([`Vocab::glyph`]), in code style.
pub(super) fn ch(vocab: &Vocab, i: usize) -> String {
    format!("<code>{}</code>", esc(&vocab.glyph(i)))
}

const STYLE: &str = r#"
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #1a1a1a; background: #fff;
       max-width: 1180px; margin: 0 auto; padding: 24px 32px 64px; line-height: 1.5; }
h1 { font-size: 30px; margin-bottom: 4px; }
h2 { font-size: 23px; margin-top: 40px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
h3 { font-size: 18px; margin-top: 28px; }
.sub { color: #555; margin-top: 0; }
blockquote { font-family: "DejaVu Sans Mono", monospace; background: #f5f5f5; padding: 10px 14px;
             margin: 10px 0; border-left: 4px solid #2166ac; white-space: pre-wrap; }
code, .num { font-family: "DejaVu Sans Mono", monospace; }
table { border-collapse: collapse; margin: 10px 0; font-size: 14px; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 3px 10px; text-align: right; }
th { background: #f0f4f8; }
td.l, th.l { text-align: left; }
.eq { font-family: "DejaVu Sans Mono", monospace; background: #f7f7f7; padding: 8px 12px; display: inline-block; }
figure { margin: 18px 0; }
figure svg { width: 100%; height: auto; border: 1px solid #eee; }
figure.narrow svg { max-width: 760px; }
figure svg rect { shape-rendering: crispEdges; }
figcaption { color: #444; font-size: 14px; margin-top: 4px; }
.ok { color: #1a7f37; font-weight: bold; }
.bad { color: #b42318; font-weight: bold; }
.vocab code { margin-right: 8px; }
"#;

fn figure(out: &mut String, fig: Figure, an: &Analysis, caption: &str) -> Result<()> {
    // Square figures at full column width would be taller than a screen.
    let class = if fig.narrow(an) { " class=narrow" } else { "" };
    let svg = fig
        .svg(an)
        .with_context(|| format!("drawing figure {}", fig.stem()))?;
    // Every figure's SVG opens with <svg>, no XML declaration: inline it as is.
    let _ = writeln!(
        out,
        "<figure id=\"{}\"{class}>{svg}<figcaption>{caption}</figcaption></figure>",
        fig.stem()
    );
    Ok(())
}

fn f(x: f64, digits: usize) -> String {
    format!("<span class=num>{x:.digits$}</span>")
}

/// A number in scientific notation, three significant digits.
fn sci(x: f64) -> String {
    format!("<span class=num>{x:.2e}</span>")
}

/// A section's heading, with the id that marks its place on the page.
fn h2(s: &mut String, id: &str, title: &str) {
    let _ = write!(s, "<h2 id=\"{id}\">{title}</h2>");
}

/// The page: the sections in the order of `zl interpret`'s text, and with `full` the rest, the
/// appendices last.
pub fn page(an: &Analysis, full: bool) -> Result<String> {
    let mut s = String::new();
    head(&mut s, an);
    problem(&mut s, an)?;
    tables(&mut s, an)?;
    gap(&mut s, an)?;
    logits(&mut s, an)?;
    h2(&mut s, "weights", "The weights, without choosing a basis");
    super::mechanism::html(&mut s, an);
    let _ = super::capacity::html(&mut s, an);
    training_time(&mut s, an)?;
    if full {
        tokens(&mut s, an)?;
        evidence(&mut s, an);
        directions(&mut s, an);
        sanity(&mut s, an);
        truncations(&mut s, an)?;
    }
    limits(&mut s, an, full);
    Ok(s)
}

/// The document's head, the title and the verdict with its key numbers.
fn head(s: &mut String, an: &Analysis) {
    let summary = verdict::summary(&an.verdict);
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>zl report: {}</title>\
         <style>{STYLE}</style></head><body>",
        esc(&summary)
    );
    let _ = writeln!(
        s,
        "<h1>{}</h1>\
         <p class=sub>zl report, zl {} · {}</p>\
         <p id=verdict><b>Verdict:</b> {}; {}.</p>",
        esc(&verdict::capital(&summary)),
        env!("CARGO_PKG_VERSION"),
        esc(&an.source.to_string()),
        esc(&summary),
        esc(&verdict::controls(&an.verdict, &an.budget)),
    );
    if let Some(line) = super::text::unfair_note(&an.training) {
        let _ = write!(s, "<p class=sub>{}</p>", esc(&line));
    }
}

/// The problem: the text, the vocabulary, the model and its training curve.
fn problem(s: &mut String, an: &Analysis) -> Result<()> {
    let d = &an.cmp.decomposition;
    let v = an.cmp.vocab.len();
    let n = an.predictions;
    h2(s, "problem", "The problem");
    let unit = an.cmp.vocab.unit();
    let vocab = &an.cmp.vocab;
    let _ = writeln!(
        s,
        "<p>A transformer with no layers is trained to predict the next {unit} of this text \
         ({} {unit}s, {} next-{unit} predictions):</p><blockquote>{}</blockquote>\
         <p>Its vocabulary is the {v} distinct {what}, numbered {order} \
         ({key}):</p><p class=vocab>{}</p>\
         <p>The model embeds the current token and unembeds it straight into logits for the next \
         one: <span class=eq>logits = W_E[token] · W_U</span>, with W_E of shape {v}×{dm} and \
         W_U {dm}×{v}. There is no attention and no MLP: nothing mixes positions, so its logits \
         for current token <i>i</i> are row <i>i</i> of the {v}×{v} table W_E·W_U. It is \
         trained on the mean cross-entropy of its {n} predictions. The question: what does it \
         learn, and how can we be sure?</p>",
        an.corpus_chars,
        n,
        if an.ablation_not_run.is_some() {
            "<i>(not at hand: this model was trained from the text's bigram counts alone)</i>"
                .to_string()
        } else if an.text_tokens < an.corpus_chars {
            format!(
                "{} … <i>(the first {} {unit}s)</i>",
                esc(&an.text),
                an.text_tokens
            )
        } else {
            esc(&an.text)
        },
        (0..v)
            .map(|i| match vocab.tokenizer() {
                Some(_) => format!("<code>{}:{i}</code>", esc(&vocab.label(i).to_string())),
                None => format!("<code>{}:{i}</code>", esc(&vocab.glyph(i))),
            })
            .collect::<Vec<_>>()
            .join(" "),
        dm = an.cmp.d_model,
        what = match vocab.tokenizer() {
            Some(_) => "tokens of its tokenizer",
            None => "characters",
        },
        key = match vocab.tokenizer() {
            Some(_) => "each as Python's repr of its text, bytes that are not UTF-8 as \\xNN",
            None => "␣ is the space",
        },
        order = if vocab.tokenizer().is_some() {
            "by the tokenizer's ids"
        } else if vocab.as_chars().as_deref() == Some(&zl_core::SEED_VOCAB[..]) {
            "in the notebook's order"
        } else {
            "in code-point order, as sorted(set(text))"
        },
    );
    match &an.losses {
        Some(losses) => {
            let _ = write!(
                s,
                "<p>Training, as in the notebook: the loss starts at {} (uniform is ln {v} = {}) \
                 and ends at {} after {} epochs.</p>",
                f(losses[0] as f64, 6),
                f(d.uniform_loss, 4),
                f(an.cmp.model_loss_f32, 6),
                losses.len()
            );
            figure(
                s,
                Figure::LossCurve,
                an,
                "Left: the training loss with three reference points. Right: the loss minus the \
                 bigram floor H(next|current), on log axes.",
            )?;
        }
        None => {
            let _ = write!(
                s,
                "<p>This model was loaded from a file, so there is no training curve here.</p>"
            );
        }
    }
    Ok(())
}

/// The data's table beside the model's, as heatmaps.
fn tables(s: &mut String, an: &Analysis) -> Result<()> {
    let v = an.cmp.vocab.len();
    h2(s, "tables", "The tables: the data's and the model's");
    let _ = write!(
        s,
        "<p>The best any lookup table from the current token can do is to predict, after each \
         token <i>i</i>, the text's own next-token distribution P<sub>i</sub>, the bigram \
         statistics. Beside it, the model's Q<sub>i</sub> = softmax of row <i>i</i> of \
         W_E·W_U.</p>"
    );
    // Past MAX_SHOWN characters the heatmaps draw the most frequent; say so.
    figure(
        s,
        Figure::BigramVsModel,
        an,
        &format!(
            "The notebook's comparison: left, the bigram statistics P(next | input) = counts / \
             row totals; right, softmax(W_E @ W_U) by rows. Same colour scale.{}",
            hidden(an, v)
        ),
    )
}

/// What the heatmaps leave out, as a sentence for a caption ("" when nothing).
fn hidden(an: &Analysis, v: usize) -> String {
    match super::heatmap::hidden_note(&an.cmp.shown) {
        Some(note) => format!(
            " With {v} characters the table is too large to draw whole: {} (ranked by how \
             often each occurs; those shown keep their token-id order).",
            esc(&note)
        ),
        None => String::new(),
    }
}

/// The loss as floor plus gap, the gap's split, and where it lives.
fn gap(s: &mut String, an: &Analysis) -> Result<()> {
    let c = &an.cmp;
    let d = &c.decomposition;
    let v = c.vocab.len();
    h2(
        s,
        "gap",
        &format!("The gap, after {}", esc(&an.budget.to_string())),
    );
    let _ = write!(
        s,
        "<p>With n<sub>i</sub> the number of times <i>i</i> is followed by something and N = {}, \
         the loss splits exactly into a floor that no zero-layer model can beat and a gap that \
         measures how far Q is from P:</p>\
         <p class=eq>loss = H(next | current) + Σ<sub>i</sub> (n<sub>i</sub>/N) · \
         KL(P<sub>i</sub> ‖ Q<sub>i</sub>)</p>",
        an.predictions
    );
    let closed = match c.closed {
        Some(x) => format!(
            "<tr><td class=l>the way from uniform to the floor, closed</td><td class=num>{:.4}%</td></tr>",
            100.0 * x
        ),
        None => String::new(),
    };
    let _ = write!(
        s,
        "<table><tr><th class=l>quantity</th><th>nats</th></tr>\
         <tr><td class=l>model loss −(1/N) Σ C<sub>ij</sub> ln Q<sub>ij</sub> (f64; the model's own f32 forward gives {})</td><td>{}</td></tr>\
         <tr><td class=l>= H(next | current), the bigram floor</td><td>{}</td></tr>\
         <tr><td class=l>+ Σ<sub>i</sub> (n<sub>i</sub>/N) KL(P<sub>i</sub> ‖ Q<sub>i</sub>), the gap</td><td>{}</td></tr>\
         <tr><td class=l>&nbsp;&nbsp;of which leak onto the {} unseen pairs, −Σ<sub>i</sub> (n<sub>i</sub>/N) ln(1 − ε<sub>i</sub>)</td><td class=num>{}</td></tr>\
         <tr><td class=l>&nbsp;&nbsp;of which misfit on the {} seen pairs, Σ<sub>i</sub> (n<sub>i</sub>/N) KL(P<sub>i</sub> ‖ Q<sub>i</sub>/(1 − ε<sub>i</sub>))</td><td class=num>{}</td></tr>\
         <tr><td class=l>residual of the identity (each term computed on its own)</td><td><span class=num>{:+.2e}</span></td></tr>\
         <tr><td class=l>reference: uniform predictions, ln {v}</td><td>{}</td></tr>\
         <tr><td class=l>reference: unigram entropy H(next) of the next-token marginal (the best loss without looking at the current token)</td><td>{}</td></tr>\
         {closed}</table>\
         <p>ε<sub>i</sub> is the probability row <i>i</i> puts on next characters that never \
         follow it. {}.</p>",
        f(c.model_loss_f32, 9),
        f(d.model_loss, 9),
        f(d.bigram_entropy, 9),
        f(d.kl_weighted, 9),
        c.unseen_pairs,
        sci(c.gap_leak),
        c.seen_pairs,
        sci(c.gap_seen_misfit),
        d.residual,
        f(d.uniform_loss, 9),
        f(d.unigram_entropy, 9),
        esc(&verdict::capital(&verdict::gap_site(&an.verdict))),
    );
    figure(
        s,
        Figure::GapByToken,
        an,
        "Where the gap lives: each input token's weighted KL; the bars add up to the gap above.",
    )
}

/// The logits before softmax: the seen pairs against ln P, the margins, the top-1 agreement.
fn logits(s: &mut String, an: &Analysis) -> Result<()> {
    let c = &an.cmp;
    let (m, a) = (&c.margin, &c.agreement);
    h2(s, "logits", "The logits, before softmax");
    let smallest = match m.smallest {
        Some(x) => format!(
            " (the smallest margin is <span class=num>{}</span>)",
            signed(x, Form::Fixed(3))
        ),
        None => String::new(),
    };
    let _ = write!(
        s,
        "<p>Softmax ignores a constant added to a row, so only two things about a row matter: \
         the differences between its seen logits, to set beside those of ln P, and how far its \
         unseen logits sit below them. On the seen pairs, the logits centred on their row and \
         ln P centred the same way have correlation <b>{:.4}</b>; the largest row spread about \
         y = x is <span class=num>{:.2e}</span>. In <b>{} of {}</b> rows every unseen pair's \
         logit lies below every seen one{smallest}. The model's first choice is one of the \
         data's most frequent next characters in <b>{} of {}</b> rows ({} of the {} with a \
         single maximum).</p>",
        c.seen_logit_correlation,
        c.seen_spread_max,
        m.positive,
        m.rows,
        a.agree,
        a.followed,
        a.single_max_agree,
        a.single_max,
    );
    figure(
        s,
        Figure::SeenLogits,
        an,
        "Left: every seen pair, the model's logit against ln P(next | current), each centred on \
         its row's seen pairs. On the line y = x the row's predictions among its seen pairs are \
         exactly the data's. Right: each row's spread about that line (the RMS of centred logit \
         − centred ln P over its seen pairs; rows with one seen pair have none).",
    )?;
    figure(
        s,
        Figure::Margins,
        an,
        "Per input token, its weakest seen logit minus its strongest unseen logit: positive \
         (blue) when every pair the text never has is ranked below every pair it has.",
    )
}

/// The gap against the epoch.
fn training_time(s: &mut String, an: &Analysis) -> Result<()> {
    h2(s, "training-time", "The gap against training time");
    match &an.gap_curve {
        Some(g) => {
            let _ = write!(
                s,
                "<p>The same run trained on, with its weight decay ({}) and without, the gap \
                 measured exactly at each epoch shown. {}</p>",
                g.weight_decay,
                esc(&verdict::stopping(&an.verdict, &an.budget))
            );
            figure(
                s,
                Figure::GapCurve,
                an,
                "The gap Σ_i (n_i/N)·KL(P_i‖Q_i) against the epoch, log–log, with and without \
                 weight decay.",
            )
        }
        None => {
            let _ = write!(
                s,
                "<p>Not measured for this model (a loaded model, or the PTX interpreter, which \
                 is too slow for 10<sup>5</sup> epochs).</p>"
            );
            Ok(())
        }
    }
}

/// Token by token: the data's most frequent next characters beside the model's, and the counts.
fn tokens(s: &mut String, an: &Analysis) -> Result<()> {
    let a = &an.cmp.agreement;
    h2(s, "tokens", "Token by token");
    let _ = write!(
        s,
        "<p>For each input token: how often it is followed (n), its KL(P‖Q), the data's most \
         frequent next characters with P, and the model's most likely with Q (ranked by the exact \
         Q; ties, in P or in bit-equal Q, in token-id order). {} of the {} rows have only one \
         possible next character.</p>\
         <table><tr><th class=l>input</th><th>n</th><th>KL(P‖Q)</th><th>ε (leak)</th>\
         <th class=l>data: next (P)</th><th class=l>model: next (Q)</th><th>top-1 agrees</th></tr>",
        a.single_successor, a.followed
    );
    for (i, r) in an.cmp.rows.iter().enumerate() {
        let list = |tops: &[usize], t: &[Vec<f64>]| -> String {
            tops.iter()
                .take(crate::analysis::TOP)
                .map(|&j| format!("{} {:.3}", ch(&an.cmp.vocab, j), t[i][j]))
                .collect::<Vec<_>>()
                .join(" &nbsp; ")
        };
        let _ = write!(
            s,
            "<tr><td class=l>{}</td><td>{}</td><td class=num>{:.2e}</td><td class=num>{:.2e}</td><td class=l>{}</td><td class=l>{}</td><td>{}</td></tr>",
            ch(&an.cmp.vocab, i),
            r.count,
            r.kl,
            an.cmp.gap_rows[i].unseen_mass,
            list(&an.cmp.data_top[i], &an.cmp.p),
            list(&an.cmp.model_top[i], &an.cmp.q),
            if r.count == 0.0 {
                "never followed".to_string()
            } else if r.argmax_agrees {
                "<span class=ok>✓</span>".to_string()
            } else {
                "<span class=bad>✗</span>".to_string()
            }
        );
    }
    let _ = write!(s, "</table>");
    figure(
        s,
        Figure::BigramCounts,
        an,
        &format!(
            "The bigram counts C behind P: how often each next token follows each input \
             token.{}",
            hidden(an, an.cmp.vocab.len())
        ),
    )
}

/// Each piece of evidence beside the two controls.
fn evidence(s: &mut String, an: &Analysis) {
    h2(s, "evidence", "Each piece of evidence beside its controls");
    let _ = write!(
        s,
        "<p>Every number below is computed on this text for three models: this one; \
         <b>untrained</b>, {}; and <b>shuffled</b>, {}. A piece of evidence is worth showing \
         only if the controls fail it.</p>\
         <table><tr><th class=l>evidence</th><th>trained</th><th>untrained</th><th>shuffled</th>\
         <th>controls fail?</th></tr>",
        esc(&an.controls.untrained.what.to_string()),
        esc(&an.controls.shuffled.what.to_string())
    );
    for r in an.evidence_rows() {
        let _ = write!(
            s,
            "<tr><td class=l>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td><span class={}>{}</span></td></tr>",
            esc(super::text::evidence_label(r.kind).trim()),
            super::text::evidence_cell(&r, 0),
            super::text::evidence_cell(&r, 1),
            super::text::evidence_cell(&r, 2),
            if r.controls_fail() { "ok" } else { "bad" },
            esc(&super::text::told_words(&r))
        );
    }
    let (beta, r2) = an.cmp.indicator_fit;
    let _ = write!(
        s,
        "</table><p class=sub>{}. The R² of the seen/unseen indicator ({r2:.3} here, β = \
         {beta:.2}) is a stage of training, how the unseen logits happen to be spread when it \
         stops, not evidence.</p>",
        esc(&super::text::margin_note(an)),
    );
}

/// The row-centred table's top singular directions, with their stability across seeds.
fn directions(s: &mut String, an: &Analysis) {
    h2(s, "directions", "Directions of the row-centred table");
    super::mechanism::directions_html(s, an);
}

/// Appendix A: the three facts of the architecture, on this model and the untrained one.
fn sanity(s: &mut String, an: &Analysis) {
    let d = &an.cmp.decomposition;
    let v = an.cmp.vocab.len();
    let u = &an.untrained_sanity;
    h2(
        s,
        "sanity",
        "Appendix A. Sanity checks: facts of the architecture",
    );
    let _ = write!(
        s,
        "<p>These three hold for <b>any</b> weights of this architecture, trained or not, so \
         they check the code, not what was learned. Each is shown on the untrained model too, \
         which passes as it must.</p>"
    );
    match &an.ablation_not_run {
        Some(why) => {
            let _ = write!(
                s,
                "<h3>A.1 Ablation is local</h3><p>{}.</p>",
                esc(&why.to_string())
            );
        }
        None => {
            let elsewhere = an.ablation_changed_elsewhere;
            let _ = write!(
                s,
                "<h3>A.1 Ablation is local</h3>\
                 <p>A position's logits depend on its own token alone, so zeroing row <i>i</i> of W_E \
                 changes predictions only where <i>i</i> is the current token. For each token we zero \
                 its row, run {} through both models (the embedding, the notebook's \
                 <code>hook_embed</code>, and the logits at every position) and compare each of its {} \
                 predictions bit for bit. Predictions changed away from the ablated token, over all {v} \
                 ablations: <b class={}>{elsewhere}</b> for this model, <b>{}</b> for the untrained one.</p>\
                 <table><tr><th class=l>input</th><th>positions</th><th>changed there</th>\
                 <th>changed elsewhere</th><th>Δ mean loss from there</th><th>Δ from elsewhere</th>\
                 <th>loss there: before → after</th></tr>",
                esc(&super::text::ablation_scope(an)),
                an.ablated_predictions,
                if elsewhere == 0 { "ok" } else { "bad" },
                u.ablation_changed_elsewhere,
            );
            for (i, a) in an.ablations.iter().enumerate() {
                let _ = write!(
                    s,
                    "<tr><td class=l>{}</td><td>{}</td><td>{} of {}</td><td>{} of {}</td><td class=num>{:+.6}</td><td class=num>{}</td><td class=num>{}</td></tr>",
                    ch(&an.cmp.vocab, i),
                    a.positions_with,
                    a.changed_with,
                    a.positions_with,
                    a.changed_without,
                    a.positions_without,
                    a.delta_with,
                    if a.delta_without == 0.0 { "0 (exact)".to_string() } else { format!("{:+.2e}", a.delta_without) },
                    if a.positions_with > 0 { format!("{:.4} → {:.4}", a.mean_before, a.mean_after) } else { "—".into() },
                );
            }
            let _ = write!(s, "</table>");
        }
    }
    let _ = write!(
        s,
        "<h3>A.2 The bigram table reaches the floor</h3>\
         <p>Replace the logits with ln P(next | current); an unseen pair gets ln 0 = −∞, \
         probability exactly 0, and is never a target. This reads only the counts, so it gives \
         the same number whatever the weights.</p>\
         <table><tr><td class=l>loss with ln P as the logits</td><td>{}</td></tr>\
         <tr><td class=l>H(next | current)</td><td>{}</td></tr>\
         <tr><td class=l>difference</td><td class=num>{:+.2e}</td></tr>\
         <tr><td class=l>the trained model, above it by</td><td>{}</td></tr></table>",
        f(an.substitution_loss, 12),
        f(d.bigram_entropy, 12),
        an.substitution_minus_floor,
        f(an.model_above_substitution, 9),
    );
    let _ = write!(
        s,
        "<h3>A.3 The rank is at most d_model</h3>\
         <p>W_E·W_U passes through d_model = {dm} dimensions, so its rank is at most {dm}, for \
         any weights: <b>{}</b> for this model and <b>{}</b> for the untrained one (singular \
         values above σ<sub>1</sub>·{v}·2<sup>−23</sup> = {}, in f64, nalgebra's SVD).</p>",
        an.rank,
        u.rank,
        sci(an.rank_threshold),
        dm = an.cmp.d_model,
    );
}

/// Appendix B: the rank-k truncations of this model's table, beside models retrained at
/// d_model k.
fn truncations(s: &mut String, an: &Analysis) -> Result<()> {
    let v = an.cmp.vocab.len();
    h2(
        s,
        "truncations",
        "Appendix B. Rank-k truncations of this model's table",
    );
    let _ = write!(
        s,
        "<p>Truncating W_E·W_U to rank k shows what an SVD of this model's table keeps, not \
         what k dimensions can learn: an SVD spends rank on per-row shifts that softmax ignores, \
         so the raw table's rank-1 and rank-2 losses are {} and {} (uniform: {}). The \
         row-centred table gives {} and {}, and is still not a monotone curve, because the best \
         rank-k approximation in squared error is not the best in cross-entropy. What k \
         dimensions can learn is the loss of a model trained at d_model k: {}</p>",
        f(an.rank_losses[1.min(v)], 4),
        f(an.rank_losses[2.min(v)], 4),
        f(an.rank_losses[0], 4),
        f(an.centred_rank_losses[1.min(v)], 4),
        f(an.centred_rank_losses[2.min(v)], 4),
        match &an.refit_losses {
            Some(r) => format!(
                "retrained with the same settings ({}), d_model {} reaches {}. \
                 <code>zl sweep --until-gap</code> trains each size to convergence.",
                esc(&an.budget.to_string()),
                r.iter()
                    .map(|x| x.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                r.iter().map(|x| f(x.1, 4)).collect::<Vec<_>>().join(", ")
            ),
            None => "<code>zl sweep --until-gap</code> measures that.".to_string(),
        },
    );
    figure(
        s,
        Figure::Spectrum,
        an,
        "Left: singular values of W_E·W_U, log scale, with the rank threshold. Right: the loss \
         when only the k largest singular directions are kept (k = 0 is all-zero logits, the \
         uniform loss), for the raw table and for the row-centred one.",
    )
}

/// What the page shows and what it does not, each sentence from the verdict.
fn limits(s: &mut String, an: &Analysis, full: bool) {
    let falling = an.verdict.gap_trend.as_ref().and_then(|t| t.falling) == Some(true);
    let more = match full {
        true => "",
        false => {
            " <code>zl report --full</code> adds the token-by-token table, the evidence \
                  beside its controls, the directions and the appendices."
        }
    };
    let _ = writeln!(
        s,
        "<h2 id=limits>What this shows, and what it does not</h2><ul>\
         <li>The decomposition is an identity: it holds for any weights. What the model adds, \
         measured: {}.</li>\
         <li>The sanity checks (appendix A) follow from the architecture; an untrained model \
         passes them too. They show the code computes what it claims, not that anything was \
         learned.</li>\
         <li>{}. {}</li>\
         </ul>\
         <p class=sub>Every number on this page was computed for this model when the page was \
         made (f64 arithmetic on the f32 weights, {:.1} ms of analysis); none is stored. \
         The same numbers: <code>zl interpret --json</code>.{more}</p>\
         </body></html>",
        esc(&verdict::controls(&an.verdict, &an.budget)),
        esc(&verdict::capital(&verdict::gap_site(&an.verdict))),
        esc(&match (falling, verdict::trend(&an.verdict)) {
            (true, Some(t)) => format!(
                "{}: at this budget the gap is not yet what rank {} can reach.",
                verdict::capital(&t),
                an.cmp.d_model
            ),
            (false, Some(t)) => format!("{}.", verdict::capital(&t)),
            (_, None) => verdict::stopping(&an.verdict, &an.budget),
        }),
        an.analysis_seconds * 1e3,
    );
}

/// `zl report`'s page at large V ([`LargeView`]): the same story as the text view, as tables,
/// with the heatmap figure of the most frequent tokens. `what` says where the model came from;
/// with `full`, more rows of the per-token table.
pub fn large_page(view: &LargeView, vocab: &Vocab, what: &str, full: bool) -> String {
    let mut s = String::new();
    let summary = view.beside.as_ref().map(|b| verdict::summary(&b.verdict));
    let title = summary
        .as_deref()
        .map_or("zl report".to_string(), verdict::capital);
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>zl report: {}</title><style>{STYLE}</style></head><body>\
         <h1>{}</h1><p class=sub>zl report, zl {} · {}</p>\
         <p class=sub>{} {}s, d_model {}: above {} tokens the rows are streamed one at a time, \
         and the tables show the most frequent (<code>zl interpret --json</code> has every row).</p>",
        esc(&title),
        esc(&title),
        env!("CARGO_PKG_VERSION"),
        esc(what),
        view.vocab_len,
        vocab.unit(),
        view.d_model,
        crate::analysis::large::DENSE_MAX,
    );
    if let Some(summary) = &summary {
        let _ = write!(s, "<p id=verdict><b>Verdict:</b> {}.</p>", esc(summary));
    }
    if view.leads.held_out_leads {
        large_held_out(&mut s, view);
        large_gap(&mut s, view);
    } else {
        large_gap(&mut s, view);
        large_held_out(&mut s, view);
    }
    if let Some(b) = &view.beside {
        h2(&mut s, "regimes", "The regimes");
        let _ = write!(
            s,
            "<table><tr><th>holds</th><th class=l>regime</th><th class=l>why</th></tr>"
        );
        for r in super::large::regimes(b, view.vocab_len) {
            let _ = write!(
                s,
                "<tr><td class={}>{}</td><td class=l><code>{}</code></td><td class=l>{}</td></tr>",
                if r.holds { "ok" } else { "bad" },
                if r.holds { "✓" } else { "✗" },
                verdict::name(r.regime),
                esc(&r.why)
            );
        }
        s.push_str("</table>");
    }
    h2(&mut s, "tables", "The tables");
    let (size, marks) = super::heatmap_figure::large_marks(view, vocab);
    let _ = writeln!(
        s,
        "<figure id=\"bigram_vs_model\">{}<figcaption>The data's P(next | current) beside the \
         model's Q = softmax(W_E·W_U), on the {} most frequent {}s (row total plus column total); \
         each cell's values on hover.</figcaption></figure>",
        super::heatmap_figure::svg(size, &marks),
        view.shown.ids.len(),
        vocab.unit()
    );
    large_rows(&mut s, view, vocab, full);
    if let Some(b) = &view.beside {
        large_controls(&mut s, b);
        large_spectrum(&mut s, b, view.d_model);
    }
    s.push_str("</body></html>\n");
    s
}

/// The decomposition in sample, and the top-1 agreement and margins.
fn large_gap(s: &mut String, view: &LargeView) {
    let d = view.decomposition;
    h2(s, "gap", "The gap, in sample");
    let rows: [(&str, String); 7] = [
        ("model loss", f(d.model_loss, 6)),
        ("floor H(next | current)", f(d.bigram_entropy, 6)),
        ("gap Σ (n_i/N)·KL(P_i‖Q_i)", sci(d.kl_weighted)),
        ("… leak onto unseen pairs", sci(view.gap_leak)),
        ("… misfit on seen pairs", sci(view.gap_seen_misfit)),
        ("uniform, ln V", f(d.uniform_loss, 6)),
        ("unigram entropy", f(d.unigram_entropy, 6)),
    ];
    s.push_str("<table><tr><th class=l></th><th>nats a token</th></tr>");
    for (name, x) in rows {
        let _ = write!(s, "<tr><td class=l>{}</td><td>{x}</td></tr>", esc(name));
    }
    let a = view.agreement;
    let _ = write!(
        s,
        "</table><p>The model's top-1 is a most frequent next token in {} of {} rows followed; \
         every unseen logit is below every seen one in {} of {} rows; {} pairs occur, {} do not.</p>",
        a.agree, a.followed, view.margin.positive, view.margin.rows, view.seen_pairs, view.unseen_pairs
    );
}

/// The held-out loss beside the training part's smoothed count tables, and which leads.
fn large_held_out(s: &mut String, view: &LargeView) {
    h2(s, "held_out", "On text the model never saw");
    let l = view.leads;
    let _ = write!(
        s,
        "<p>The in-sample floor is about <span class=num>{}</span> nats optimistic ((pairs − \
         rows followed)/2N, Miller–Madow); {} leads (rule: at least {} nats).</p>",
        beside(l.floor_optimism, l.threshold, Form::Sci(2)),
        if l.held_out_leads {
            "the held-out loss"
        } else {
            "the in-sample gap"
        },
        l.threshold
    );
    let Some(h) = &view.held_out else {
        s.push_str("<p>No held-out part: give <code>--val-fraction F</code> to measure it.</p>");
        return;
    };
    let _ = write!(
        s,
        "<table><tr><th class=l></th><th>nats a token</th></tr>\
         <tr><td class=l>the model, on {} held-out predictions ({} of them on {} pairs training never has)</td><td>{}</td></tr>",
        h.predictions,
        h.unseen_predictions,
        h.unseen_pairs,
        f(h.model_loss, 4)
    );
    for &(alpha, loss) in &h.table_losses {
        let _ = write!(
            s,
            "<tr><td class=l>the training part's count table, add-α smoothing, α = {alpha}</td><td>{}</td></tr>",
            f(loss, 4)
        );
    }
    let _ = write!(
        s,
        "</table><p>The model does {} than the best smoothed table (α = {}).</p>",
        if h.model_beats_tables {
            "better"
        } else {
            "worse"
        },
        h.best_table.0
    );
}

/// The most followed rows: n, KL, and the data's and the model's top next tokens.
fn large_rows(s: &mut String, view: &LargeView, vocab: &Vocab, full: bool) {
    use super::large::{ROWS_FULL, ROWS_SUMMARY};
    let max = if full { ROWS_FULL } else { ROWS_SUMMARY };
    let rows = view.most_followed(max);
    let _ = write!(
        s,
        "<h3>The {} most followed of {} {}s</h3><table><tr><th class=l>current</th><th>n</th>\
         <th>KL(P‖Q)</th><th class=l>data: next (P)</th><th class=l>model: next (Q)</th></tr>",
        rows.len(),
        view.vocab_len,
        vocab.unit()
    );
    let list = |n: &[crate::analysis::large::Next], by_p: bool| -> String {
        n.iter()
            .map(|x| {
                let v = if by_p { x.p } else { x.q };
                format!("{} {}", ch(vocab, x.token), f(v, 3))
            })
            .collect::<Vec<_>>()
            .join(" &nbsp; ")
    };
    for r in rows {
        let _ = write!(
            s,
            "<tr><td class=l>{}</td><td>{}</td><td>{}</td><td class=l>{}</td><td class=l>{}</td></tr>",
            ch(vocab, r.token),
            r.facts.token.count,
            sci(r.facts.token.kl),
            list(&r.data_top, true),
            list(&r.model_top, false)
        );
    }
    s.push_str("</table>");
}

/// The evidence beside the untrained control.
fn large_controls(s: &mut String, b: &Beside) {
    h2(s, "evidence", "Evidence beside the untrained control");
    let (lo, hi) = b.untrained_seeds;
    let _ = write!(
        s,
        "<p>The untrained control is <code>init_torch</code> at seeds {lo} to {hi}; a number is \
         evidence where the control fails it.</p><table><tr><th class=l></th><th>model</th>\
         <th>untrained</th><th>its runs</th><th class=l>control</th></tr>"
    );
    for r in &b.controls {
        let cell = |x: f64| match r.count {
            true => f(x, 0),
            false => sci(x),
        };
        let _ = write!(
            s,
            "<tr><td class=l>{}</td><td>{}</td><td>{}</td><td>{} to {}</td><td class=l>{}</td></tr>",
            esc(&super::text::evidence_label(r.kind)),
            cell(r.model),
            cell(r.control),
            cell(r.spread.0),
            cell(r.spread.1),
            super::text::told_word(r.told)
        );
    }
    s.push_str("</table>");
}

/// The rank of W_E·W_U, the row-centred table's singular values, and the sampled truncations.
fn large_spectrum(s: &mut String, b: &Beside, d_model: usize) {
    h2(s, "spectrum", "The spectrum");
    let c = &b.centred_spectrum;
    let _ = write!(
        s,
        "<p>W_E·W_U has rank {} (d_model {d_model}; threshold {}); the row-centred table rank {}. \
         Its singular values: {}.</p>",
        b.spectrum.rank,
        sci(b.spectrum.threshold),
        c.rank,
        c.singular_values
            .iter()
            .map(|x| f(*x, 3))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let t = &b.truncations;
    let _ = write!(
        s,
        "<h3>Rank-k truncations of the row-centred table, on the {} most followed rows ({} predictions)</h3>\
         <table><tr><th>k</th><th>loss, nats a token</th></tr>",
        t.rows, t.predictions
    );
    for &(k, l) in &t.losses {
        let _ = write!(s, "<tr><td>{k}</td><td>{}</td></tr>", f(l, 4));
    }
    s.push_str("</table>");
}
