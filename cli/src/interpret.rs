//! `zl interpret`: the evidence that the trained model is the text's bigram table.
//!
//! The maths is `zl_core::interpret` (no_std, f64 on the f32 weights); this file gathers it for
//! one model into an [`Analysis`], then prints it as text (with terminal heatmaps) or JSON, and
//! writes the figures. `zl report` renders the same [`Analysis`] as HTML.

use std::{io::IsTerminal, path::Path, time::Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use zl_core::{
    interpret::{self as zi, Ablation, Decomposition, TokenRow},
    Bigrams, Model, SEED_TEXT,
};

use crate::{
    args::{Backend, InterpretArgs, ModelSource},
    corpus::{Corpus, Source},
    files, heatmap, plot,
    shape::{on_big_stack, with_capacity},
    show, train,
};

/// How many next tokens the per-token tables list.
const TOP: usize = 3;

/// Everything `zl interpret` and `zl report` show about one model, computed (never stored).
pub struct Analysis {
    /// Characters in token-id order.
    pub vocab: Vec<char>,
    pub d_model: usize,
    /// The start of the corpus (at most [`TEXT_SHOWN`] characters), for display.
    pub text: String,
    /// The corpus's length in characters, and N, the number of next-token predictions.
    pub corpus_chars: usize,
    pub predictions: f64,
    /// Characters the ablation reruns position by position: the whole corpus, or the first
    /// [`ablation_chars`] of a longer one.
    pub ablation_chars: usize,
    /// Where the model came from, in words.
    pub source: String,
    /// The training curve (the notebook's `train_losses`), when the model was trained here.
    pub losses: Option<Vec<f32>>,
    /// The model's loss from its own f32 forward, as training reports it.
    pub model_loss_f32: f64,
    pub decomposition: Decomposition,
    /// Bigram counts C, the data's P(next|cur) and the model's Q = softmax(W_E W_U), by
    /// [current][next].
    pub counts: Vec<Vec<f64>>,
    pub p: Vec<Vec<f64>>,
    pub q: Vec<Vec<f64>>,
    pub rows: Vec<TokenRow>,
    /// Per row: the data's most frequent next tokens (count > 0) and the model's most likely.
    pub data_top: Vec<Vec<usize>>,
    pub model_top: Vec<Vec<usize>>,
    pub ablations: Vec<Ablation>,
    pub substitution_loss: f64,
    pub singular_values: Vec<f64>,
    pub rank_threshold: f64,
    pub rank: usize,
    /// `rank_losses[k]`: the loss with W_E W_U truncated to rank k, k = 0..=vocab.
    pub rank_losses: Vec<f64>,
    pub analysis_seconds: f64,
}

/// Characters of the corpus that the text report, the JSON and the HTML page show.
pub const TEXT_SHOWN: usize = 2_000;

impl Analysis {
    /// What the ablation reruns, in words ("the whole 193-character text"), and how many
    /// predictions that is.
    pub fn ablation_scope(&self) -> (String, usize) {
        let predictions = self.ablation_chars.saturating_sub(1);
        let what = if self.ablation_chars < self.corpus_chars {
            format!(
                "the first {} characters of the {}-character text",
                self.ablation_chars, self.corpus_chars
            )
        } else {
            format!("the whole {}-character text", self.corpus_chars)
        };
        (what, predictions)
    }

    /// Tokens followed by another, and of those, how many have the model's top-1 among the
    /// data's most frequent next tokens.
    pub fn argmax_agreement(&self) -> (usize, usize) {
        let followed = self.rows.iter().filter(|r| r.count > 0.0);
        let agree = followed.clone().filter(|r| r.argmax_agrees).count();
        (agree, followed.count())
    }
}

fn table(v: usize, f: impl Fn(usize, usize) -> f64) -> Vec<Vec<f64>> {
    (0..v).map(|i| (0..v).map(|j| f(i, j)).collect()).collect()
}

fn top(score: impl Fn(usize) -> f64, v: usize, keep: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut out = vec![0; v];
    let n = zi::ranked(score, v, &mut out);
    out.truncate(n);
    out.into_iter().filter(|&j| keep(j)).take(TOP).collect()
}

/// Analyses any model and corpus: generic over the capacities, so that other vocabularies and
/// widths (custom corpora) use the same code. `tokens` is the corpus as token ids; `b` its counts.
pub fn analyse<const V: usize, const D: usize>(
    m: &Model<V, D>,
    b: &Bigrams<V>,
    vocab: &[char],
    tokens: &[usize],
) -> Result<Analysis> {
    let start = Instant::now();
    let v = b.vocab_len();
    if m.vocab_len() != v || vocab.len() != v {
        bail!(
            "the model has {} tokens, the corpus {v} and the vocabulary {}; they must agree",
            m.vocab_len(),
            vocab.len()
        );
    }
    let l = zi::logit_table(m);
    let log_q = zi::log_softmax(&l, v);
    let rows: Vec<TokenRow> = (0..v).map(|i| zi::token_row(&log_q, b, i)).collect();
    let ablations = (0..v)
        .map(|i| zi::ablate_embedding_row(m, tokens, i))
        .collect::<Result<Vec<_>, _>>()
        .context("running the corpus through the model")?;
    let spectrum = zi::Spectrum::of(&l, v);
    Ok(Analysis {
        vocab: vocab.to_vec(),
        d_model: m.d_model(),
        text: tokens.iter().take(TEXT_SHOWN).map(|&t| vocab[t]).collect(),
        corpus_chars: tokens.len(),
        ablation_chars: tokens.len(),
        predictions: b.total as f64,
        source: String::new(),
        losses: None,
        model_loss_f32: zl_core::loss::loss(m, b) as f64,
        decomposition: zi::decompose(m, b),
        counts: table(v, |i, j| b.counts[(i, j)] as f64),
        // P in f64 (Bigrams::probability divides in f32).
        p: table(v, |i, j| {
            let n = b.row_totals[i] as f64;
            if n > 0.0 {
                b.counts[(i, j)] as f64 / n
            } else {
                0.0
            }
        }),
        q: table(v, |i, j| log_q[(i, j)].exp()),
        data_top: (0..v)
            .map(|i| top(|j| b.counts[(i, j)] as f64, v, |j| b.counts[(i, j)] > 0.0))
            .collect(),
        model_top: (0..v)
            .map(|i| top(|j| log_q[(i, j)], v, |_| true))
            .collect(),
        rows,
        ablations,
        substitution_loss: zi::substitution_loss(b),
        singular_values: spectrum.singular_values.as_slice()[..v].to_vec(),
        rank_threshold: spectrum.threshold,
        rank: spectrum.rank,
        rank_losses: (0..=v).map(|k| spectrum.loss_at_rank(k, b)).collect(),
        analysis_seconds: start.elapsed().as_secs_f64(),
    })
}

/// The most characters of a --corpus file that the position-by-position ablation reruns (the
/// decomposition, table, substitution and spectrum always use the whole text's counts).
pub const ABLATION_CHARS: usize = 1 << 22;
/// The ablation's budget, in multiply-adds: each of `v` ablations reruns every position through
/// the model and the ablated model, `v·d` multiply-adds (and `v` exps) a position each, so a text
/// of `n` characters costs about `2·n·v²·d`. 2^32 is a few seconds on one core (measured: 2.5 ns
/// per `n·v²·d`, 251 s for a 10^6-character text of 80 characters at d_model 16 uncapped).
pub const ABLATION_WORK: usize = 1 << 32;
/// The fewest characters the ablation reruns, whatever the budget says.
pub const ABLATION_MIN_CHARS: usize = 1 << 10;

/// How many characters the ablation reruns for `v` tokens and `d_model` `d`: as many as
/// [`ABLATION_WORK`] allows, from [`ABLATION_MIN_CHARS`] up to [`ABLATION_CHARS`].
pub fn ablation_chars(v: usize, d: usize) -> usize {
    (ABLATION_WORK / (2 * v * v * d).max(1)).clamp(ABLATION_MIN_CHARS, ABLATION_CHARS)
}

/// The corpus as token ids for the ablation: all of the seed text, or the first `limit`
/// characters of a file.
fn corpus_tokens(c: &Corpus, limit: usize) -> Result<Vec<usize>> {
    let text = match &c.source {
        Source::Seed => SEED_TEXT.to_string(),
        Source::File(path) => {
            use std::io::Read;
            let mut bytes = Vec::new();
            std::fs::File::open(path)
                .and_then(|f| f.take(4 * limit as u64).read_to_end(&mut bytes))
                .with_context(|| format!("--corpus {}", path.display()))?;
            // The file was validated when it was counted; a cut may split one character.
            let valid = match std::str::from_utf8(&bytes) {
                Ok(s) => s.len(),
                Err(e) => e.valid_up_to(),
            };
            std::str::from_utf8(&bytes[..valid])
                .expect("valid prefix")
                .chars()
                .take(limit)
                .collect()
        }
    };
    let id: std::collections::HashMap<char, usize> =
        c.vocab.iter().enumerate().map(|(i, &ch)| (ch, i)).collect();
    Ok(text.chars().map(|ch| id[&ch]).collect())
}

fn analyse_weights<const V: usize, const D: usize>(
    w: &files::Weights,
    c: &Corpus,
    tokens: &[usize],
) -> Result<Analysis> {
    let m = Model::<V, D>::from_row_major(w.vocab.len(), w.d_model, &w.w_e, &w.w_u)?;
    let b = train::bigrams::<V>(c)?;
    analyse(&m, &b, &w.vocab, tokens)
}

/// A model loaded from `--load` or trained now, analysed on its corpus (the seed text unless
/// `--corpus` names a file).
pub fn prepare(backend: Backend, src: &ModelSource) -> Result<Analysis> {
    let corpus = train::load_corpus(src.corpus.as_deref())?;
    let (weights, source, losses) = match &src.load {
        Some(path) => {
            let w = load_model(path, &corpus)?;
            let what = format!(
                "weights loaded from {} (d_model {}), on {}",
                path.display(),
                w.d_model,
                corpus.source
            );
            (w, what, None)
        }
        None => {
            let a = src.train_args();
            let s = train::Settings::from_args(&a);
            let run = match backend {
                Backend::Cpu => train::train_cpu(&corpus, &s)?,
                Backend::Cuda => train::train_cuda(&corpus, &s)?,
            };
            let what = format!(
                "a model trained here ({backend} backend) on {}: seed {}, {} epochs, d_model {}, AdamW lr {} weight decay {} ({:.0} ms)",
                corpus.source,
                a.hyper.seed,
                a.hyper.epochs,
                a.d_model,
                a.hyper.lr,
                a.hyper.weight_decay,
                run.train_seconds * 1e3
            );
            (run.weights, what, Some(run.losses))
        }
    };
    let limit = ablation_chars(weights.vocab.len(), weights.d_model);
    let tokens = corpus_tokens(&corpus, limit)?;
    let mut an = on_big_stack(|| {
        with_capacity!(
            weights.vocab.len(),
            weights.d_model,
            analyse_weights(&weights, &corpus, &tokens)
        )
    })?;
    an.source = source;
    an.losses = losses;
    an.corpus_chars = corpus.chars as usize;
    Ok(an)
}

/// Reads `--load PATH` and checks that its vocabulary is the corpus's, in token-id order.
fn load_model(path: &Path, corpus: &Corpus) -> Result<files::Weights> {
    let flag = || format!("--load {}", path.display());
    let w = files::read_safetensors(path).with_context(flag)?;
    if w.vocab != corpus.vocab {
        let got: String = w.vocab.iter().collect();
        let want: String = corpus.vocab.iter().collect();
        bail!(
            "{}: its vocabulary {got:?} ({} characters) is not that of {} {want:?} ({} characters); pass the --corpus it was trained on",
            flag(),
            w.vocab.len(),
            corpus.source,
            corpus.vocab.len()
        );
    }
    Ok(w)
}

/// A character label for tables: as Python prints it.
fn label(c: char) -> String {
    show::py_repr(c)
}

/// Every metric as one JSON object. Tables are nested arrays indexed [current][next].
pub fn to_json(an: &Analysis) -> Value {
    let (agree, followed) = an.argmax_agreement();
    let d = &an.decomposition;
    let rows: Vec<Value> = an
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let a = &an.ablations[i];
            json!({
                "token": i,
                "char": an.vocab[i].to_string(),
                "count": r.count,
                "kl": r.kl,
                "data_top": an.data_top[i].iter().map(|&j| json!({"token": j, "char": an.vocab[j].to_string(), "p": an.p[i][j], "q": an.q[i][j]})).collect::<Vec<_>>(),
                "model_top": an.model_top[i].iter().map(|&j| json!({"token": j, "char": an.vocab[j].to_string(), "p": an.p[i][j], "q": an.q[i][j]})).collect::<Vec<_>>(),
                "argmax_agrees": r.argmax_agrees,
                "ablation": {
                    "positions_with": a.positions_with,
                    "positions_without": a.positions_without,
                    "changed_with": a.changed_with,
                    "changed_without": a.changed_without,
                    "delta_loss_with": a.delta_with,
                    "delta_loss_without": a.delta_without,
                    "mean_loss_with_before": a.mean_before,
                    "mean_loss_with_after": a.mean_after,
                },
            })
        })
        .collect();
    json!({
        "source": an.source,
        "vocab": an.vocab.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        "d_model": an.d_model,
        "text": an.text,
        "corpus_chars": an.corpus_chars,
        "ablation_chars": an.ablation_chars,
        "predictions": an.predictions,
        "model_loss": d.model_loss,
        "model_loss_f32": an.model_loss_f32,
        "bigram_entropy": d.bigram_entropy,
        "kl_weighted": d.kl_weighted,
        "decomposition_residual": d.residual,
        "uniform_loss": d.uniform_loss,
        "unigram_entropy": d.unigram_entropy,
        "unigram_entropy_of": "next-token marginal: the N prediction targets",
        "argmax_agreement": agree,
        "tokens_followed": followed,
        "rows": rows,
        "ablation_changed_elsewhere": an.ablations.iter().map(|a| a.changed_without).sum::<usize>(),
        "substitution_loss": an.substitution_loss,
        "singular_values": an.singular_values,
        "rank_threshold": an.rank_threshold,
        "rank_threshold_rule": "sigma_1 * vocab * 2^-23 (f32 epsilon)",
        "rank": an.rank,
        "rank_k_losses": an.rank_losses,
        "losses": an.losses.as_ref().map(|l| l.iter().map(|&x| x as f64).collect::<Vec<_>>()),
        "bigram_counts": an.counts,
        "bigram_probs": an.p,
        "model_probs": an.q,
        "analysis_seconds": an.analysis_seconds,
    })
}

/// The data's and the model's most likely next tokens, for the comparison table.
fn comparison(an: &Analysis) -> show::Comparison {
    let v = an.vocab.len();
    let rows = an
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut data_top: Vec<(usize, f64, f64)> = (0..v)
                .filter(|&j| an.counts[i][j] > 0.0)
                .map(|j| (j, an.p[i][j], an.q[i][j]))
                .collect();
            data_top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            show::Row {
                count: r.count,
                kl: r.kl,
                data_top,
                model_top: (r.model_top, r.model_top_q),
                argmax_agrees: r.argmax_agrees,
            }
        })
        .collect();
    show::Comparison {
        rows,
        bigram_entropy: an.decomposition.bigram_entropy,
        kl_weighted: an.decomposition.kl_weighted,
    }
}

/// The text report: decomposition, per-token tables, the three tests, the heatmaps.
pub fn text(an: &Analysis, colour: bool) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let d = &an.decomposition;
    let v = an.vocab.len();
    let n = an.predictions;
    let _ = writeln!(s, "zl interpret: {}", an.source);
    let _ = writeln!(
        s,
        "model: logits = W_E[token]·W_U, W_E {v}×{}, W_U {}×{v}; corpus: {} characters, N = {n} next-token predictions",
        an.d_model, an.d_model, an.corpus_chars
    );
    let _ = writeln!(
        s,
        "All numbers are f64 arithmetic on the f32 weights, in nats."
    );

    let _ = writeln!(
        s,
        "\n1. Loss decomposition: model loss = H(next|current) + Σ_i (n_i/N)·KL(P_i‖Q_i)"
    );
    let _ = writeln!(
        s,
        "   model loss, −(1/N) Σ C_ij ln Q_ij        {:.9}   (its own f32 forward: {:.9})",
        d.model_loss, an.model_loss_f32
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
    let gap_share = d.kl_weighted / (d.uniform_loss - d.bigram_entropy);
    let _ = writeln!(
        s,
        "   the model has closed {:.4}% of the way from uniform to the floor",
        100.0 * (1.0 - gap_share)
    );

    let (agree, followed) = an.argmax_agreement();
    let _ = writeln!(s, "\n2. Per input token (P: the data's next-token distribution after it; Q: the model's row of softmax(W_E W_U))");
    s.push_str(&show::comparison_table(&comparison(an), &an.vocab, 4));
    let _ = writeln!(s, "model's top-1 next character is a most frequent one in the data for {agree} of {followed} characters");
    let _ = writeln!(
        s,
        "\nThe model's own top {TOP} next characters (Q, with the data's P):"
    );
    for (i, tops) in an.model_top.iter().enumerate() {
        let cells: Vec<String> = tops
            .iter()
            .map(|&j| {
                format!(
                    "{:<5} {:.3}/{:.3}",
                    label(an.vocab[j]),
                    an.q[i][j],
                    an.p[i][j]
                )
            })
            .collect();
        let _ = writeln!(s, "{:>5}  {}", label(an.vocab[i]), cells.join("   "));
    }

    let _ = writeln!(
        s,
        "\n3. Mechanistic tests (each would fail if the model were not a bigram table)"
    );
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
            label(an.vocab[i]),
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
        "\n(c) Spectrum: singular values of the {v}×{v} table W_E·W_U (f64, one-sided Jacobi)."
    );
    let _ = writeln!(
        s,
        "    numerical rank: σ > σ_1·{v}·2⁻²³ = {:.3e} (f32 rounding of the table) → rank {} (d_model {}, so at most {})",
        an.rank_threshold, an.rank, an.d_model, an.d_model.min(v)
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

    let _ = writeln!(
        s,
        "\n4. Heatmaps: row = current character, column = next character"
    );
    s.push_str(&heatmap::side_by_side(
        &an.p,
        &an.q,
        &an.vocab,
        (
            "Bigram statistics P(next|cur)",
            "W_E @ W_U (post softmax) Q",
        ),
        colour,
    ));
    let _ = writeln!(s, "\nanalysis time: {:.2} ms", an.analysis_seconds * 1e3);
    s
}

pub fn run(backend: Backend, a: &InterpretArgs) -> Result<()> {
    let an = prepare(backend, &a.source)?;
    if let Some(dir) = &a.plot {
        let written =
            plot::write_all(&an, dir).with_context(|| format!("--plot {}", dir.display()))?;
        for p in written {
            eprintln!("wrote {}", p.display());
        }
    }
    if a.json {
        println!("{}", to_json(&an));
    } else {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        print!("{}", text(&an, colour));
    }
    Ok(())
}
