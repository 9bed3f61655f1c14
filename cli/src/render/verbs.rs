//! The output of `zl sample`, `zl run` and `--val-fraction`'s held-out numbers, as text and as
//! JSON.

use std::fmt::{self, Write};

use serde::Serialize;
use serde_json::Value;

use crate::{
    analysis::{
        heldout::HeldOut,
        sample::{Run, Samples},
    },
    data::vocab::Vocab,
};

use super::json::value;

/// An f32 in its shortest decimal that reads back as the same f32 (Rust's `Display`), held as
/// the f64 of that decimal, which serde_json prints in the same digits (`None` for a non-finite
/// f32: JSON's null).
fn f32_exact(x: f32) -> Option<f64> {
    format!("{x}").parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Tokens decoded back to text (bytes that are not UTF-8 as U+FFFD, for JSON strings).
fn string(vocab: &Vocab, ids: &[usize]) -> String {
    String::from_utf8_lossy(&vocab.decode(ids)).into_owned()
}

/// Generated text for a terminal: decoded, control characters as the tables' labels escape
/// them, bytes that are not UTF-8 as `\xNN`.
fn shown(vocab: &Vocab, ids: &[usize]) -> String {
    zl_core::Escaped(&vocab.decode(ids)).to_string()
}

/// What `zl sample` shows.
pub struct SampleView<'a> {
    pub what: &'a dyn fmt::Display,
    pub vocab: &'a Vocab,
    pub prompt: &'a [usize],
    pub samples: &'a Samples,
    pub seed: u64,
    pub temperature: f64,
}

/// `zl sample`'s text.
pub fn sample_text(v: &SampleView) -> String {
    let s = v.samples;
    let prompt = string(v.vocab, v.prompt);
    let shown_prompt = shown(v.vocab, v.prompt);
    let last = v
        .vocab
        .label(*v.prompt.last().expect("a prompt"))
        .to_string();
    let mut out = String::new();
    let _ = writeln!(out, "zl sample: {}", v.what);
    let _ = writeln!(
        out,
        "prompt {prompt:?} (a zero-layer model continues from its last character, {last}); {} characters; temperature {} (the model's logits only); sample seed {}",
        s.model.len(), v.temperature, v.seed
    );
    let _ = writeln!(out, "one ChaCha8 stream of uniform numbers u in [0, 1) drives both samplers, the same u at each step, each by inverse CDF in token-id order\n");
    let _ = writeln!(out, "model, softmax(W_E·W_U / T):");
    let _ = writeln!(out, "{shown_prompt}{}\n", shown(v.vocab, &s.model));
    let _ = writeln!(out, "table, the data's bigram P (the count model):");
    let _ = writeln!(out, "{shown_prompt}{}\n", shown(v.vocab, &s.table));
    if let Some(t) = s.table_stopped_at {
        let _ = writeln!(
            out,
            "the table's text stops after {} characters: {} is the text's last character and is never followed, so its row of P is empty",
            s.table.len(),
            v.vocab.label(t)
        );
    }
    let ch = |x: Option<&usize>| x.map_or("the end".into(), |&i| v.vocab.label(i).to_string());
    match s.first_divergence {
        Some(0) => {
            let _ = writeln!(
                out,
                "first divergence: the first generated character already differs: model {}, table {}",
                ch(s.model.first()),
                ch(s.table.first())
            );
        }
        Some(k) => {
            let _ = writeln!(
                out,
                "first divergence: the texts agree on their first {k} generated character(s), then the model writes {} where the table writes {}",
                ch(s.model.get(k)),
                ch(s.table.get(k))
            );
        }
        None => {
            let _ = writeln!(out, "first divergence: none; the two texts are the same");
        }
    }
    out
}

/// `zl sample --json`'s schema: `model_text` and `table_text` are the generated characters
/// (after the prompt), `first_divergence` an index into them or null.
#[derive(Serialize)]
struct SampleJson {
    prompt: String,
    model_text: String,
    table_text: String,
    first_divergence: Option<usize>,
    table_stopped_at: Option<String>,
    seed: u64,
    temperature: f64,
    rng: &'static str,
    model: String,
}

/// `zl sample --json`.
pub fn sample_json(v: &SampleView) -> Value {
    let s = v.samples;
    value(SampleJson {
        prompt: string(v.vocab, v.prompt),
        model_text: string(v.vocab, &s.model),
        table_text: string(v.vocab, &s.table),
        first_divergence: s.first_divergence,
        table_stopped_at: s.table_stopped_at.map(|t| string(v.vocab, &[t])),
        seed: v.seed,
        temperature: v.temperature,
        rng: "ChaCha8 (rand 0.10), u = 53 random bits / 2^53",
        model: v.what.to_string(),
    })
}

/// What `zl run` shows.
pub struct RunView<'a> {
    pub what: &'a dyn fmt::Display,
    pub vocab: &'a Vocab,
    pub run: &'a Run,
}

/// `zl run`'s text: per position the character, the target, the model's top 5 with Q, the
/// target's ln Q and the position's loss; then the mean loss.
pub fn run_text(v: &RunView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "zl run: {}", v.what);
    let _ = writeln!(
        out,
        "{} positions; Q = softmax(W_E[char]·W_U); loss = −ln Q(next)\n",
        v.run.positions.len()
    );
    let _ = writeln!(
        out,
        "{:>5}  {:<6} {:<6} {:<58} {:>11} {:>9}",
        "pos", "char", "next", "model's top 5 next (Q)", "ln Q(next)", "loss"
    );
    for (k, p) in v.run.positions.iter().enumerate() {
        let top: Vec<String> = p
            .top
            .iter()
            .map(|&(j, q)| format!("{} {q:.3}", v.vocab.label(j)))
            .collect();
        let next = p.next.map_or("-".into(), |n| v.vocab.label(n).to_string());
        let (lp, loss) = match p.log_prob {
            Some(lp) => (format!("{lp:.4}"), format!("{:.4}", -lp)),
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "{k:>5}  {:<6} {next:<6} {:<58} {lp:>11} {loss:>9}",
            v.vocab.label(p.token).to_string(),
            top.join(", ")
        );
    }
    if let Some(l) = v.run.loss {
        let n = v.run.predictions;
        let _ = writeln!(out, "\nmean loss over {n} predictions: {l:.6} nats");
    }
    out
}

/// `zl run --json`'s schema: every position's `hook_embed` (W_E's row, each f32 exactly) and
/// `logits` (f32), the target and its ln Q, and the mean loss.
#[derive(Serialize)]
struct RunJson {
    model: String,
    vocab: Vec<String>,
    positions: Vec<PositionJson>,
    loss: Option<f64>,
}

#[derive(Serialize)]
struct PositionJson {
    char: String,
    token: usize,
    hook_embed: Vec<Option<f64>>,
    logits: Vec<Option<f64>>,
    next: Option<String>,
    log_prob: Option<f64>,
}

/// `zl run --json`.
pub fn run_json(v: &RunView) -> Value {
    let exact = |xs: &[f32]| xs.iter().map(|&x| f32_exact(x)).collect();
    value(RunJson {
        model: v.what.to_string(),
        vocab: (0..v.vocab.len()).map(|i| string(v.vocab, &[i])).collect(),
        positions: v
            .run
            .positions
            .iter()
            .map(|p| PositionJson {
                char: string(v.vocab, &[p.token]),
                token: p.token,
                hook_embed: exact(&p.hook_embed),
                logits: exact(&p.logits),
                next: p.next.map(|n| string(v.vocab, &[n])),
                log_prob: p.log_prob,
            })
            .collect(),
        loss: v.run.loss,
    })
}

/// A loss that may be infinite, for text.
fn nats(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.6}")
    } else {
        "inf".into()
    }
}

/// The held-out section: the model's loss beside the count model's, and the unseen pairs.
pub fn held_out_text(h: &HeldOut) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "held-out loss (--val-fraction {}): trained on the first {} characters, evaluated on the last {} ({} predictions)",
        h.fraction, h.train_chars, h.held_chars, h.held_predictions
    );
    let _ = writeln!(
        out,
        "  {} of the {} held-out predictions ({} distinct pairs) are of a pair the training part never has",
        h.unseen_predictions, h.held_predictions, h.unseen_pairs
    );
    let _ = writeln!(
        out,
        "  the trained model:                    {} nats",
        nats(h.model_loss)
    );
    for &(a, l) in &h.table_losses {
        let why = if a == 0.0 && !l.is_finite() {
            " (an unseen pair has P = 0)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  the count model, add-α with α = {a:<5} {} nats{why}",
            nats(l)
        );
    }
    out
}

/// The held-out losses at the logged epochs, one line each, as the notebook logs the training
/// loss.
pub fn held_out_curve_text(h: &HeldOut) -> String {
    let mut out = String::new();
    for &(e, l) in &h.curve {
        let _ = writeln!(out, "Epoch: {e}, held-out loss: {l}");
    }
    out
}

/// The held-out numbers' schema (an infinite loss is JSON's null).
#[derive(Serialize)]
pub struct HeldOutJson<'a> {
    #[serde(flatten)]
    held_out: &'a HeldOut,
    table_losses: Vec<AlphaLoss>,
    val_losses: Vec<EpochLoss>,
}

#[derive(Serialize)]
struct AlphaLoss {
    alpha: f64,
    loss: f64,
}

#[derive(Serialize)]
struct EpochLoss {
    epoch: u32,
    loss: f64,
}

impl<'a> HeldOutJson<'a> {
    pub fn new(h: &'a HeldOut) -> Self {
        HeldOutJson {
            held_out: h,
            table_losses: h
                .table_losses
                .iter()
                .map(|&(alpha, loss)| AlphaLoss { alpha, loss })
                .collect(),
            val_losses: h
                .curve
                .iter()
                .map(|&(epoch, loss)| EpochLoss { epoch, loss })
                .collect(),
        }
    }
}
