//! What zl computes about a model on a text, for every command that shows it: the per-token
//! comparison ([`Comparison`], which `zl train` prints and `zl interpret` starts from) and the
//! whole analysis ([`Analysis`], for `zl interpret` and `zl report`), and the sweep's verdict
//! ([`sweep`]). The maths is `zl_core::interpret` (no_std, f64 on the f32 weights); this layer
//! gathers it out of the core's generic types. It never trains and never prints.

pub mod sweep;

use std::time::Instant;

use anyhow::{bail, Context, Result};
use zl_core::{
    interpret::{self as zi, Ablation, Decomposition, TokenRow},
    Bigrams, Model,
};

use crate::{
    backend::capacity::{self, AtCapacity},
    data::{corpus::Corpus, files::Weights},
};

/// How many next tokens the model's own lists hold.
pub const TOP: usize = 3;

/// The data's next-token distributions beside the model's, token by token: the numbers behind
/// `zl train`'s table and `zl interpret`'s sections 1 and 2.
pub struct Comparison {
    /// Characters in token-id order.
    pub vocab: Vec<char>,
    pub d_model: usize,
    pub decomposition: Decomposition,
    /// The model's loss from its own f32 forward, as training reports it.
    pub model_loss_f32: f64,
    /// Bigram counts C, the data's P(next|cur) and the model's Q = softmax(W_E W_U), by
    /// [current][next].
    pub counts: Vec<Vec<f64>>,
    pub p: Vec<Vec<f64>>,
    pub q: Vec<Vec<f64>>,
    pub rows: Vec<TokenRow>,
    /// Per row: every next token that occurs, most frequent first (lower id first among equals).
    pub data_top: Vec<Vec<usize>>,
    /// Per row: the model's [`TOP`] most likely next tokens.
    pub model_top: Vec<Vec<usize>>,
}

impl Comparison {
    /// Tokens followed by another, and of those, how many have the model's top-1 among the
    /// data's most frequent next tokens.
    pub fn argmax_agreement(&self) -> (usize, usize) {
        let followed = self.rows.iter().filter(|r| r.count > 0.0);
        let agree = followed.clone().filter(|r| r.argmax_agrees).count();
        (agree, followed.count())
    }
}

/// Everything `zl interpret` and `zl report` show about one model, computed (never stored).
pub struct Analysis {
    pub cmp: Comparison,
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
}

fn table(v: usize, f: impl Fn(usize, usize) -> f64) -> Vec<Vec<f64>> {
    (0..v).map(|i| (0..v).map(|j| f(i, j)).collect()).collect()
}

fn ranked(score: impl Fn(usize) -> f64, v: usize, keep: impl Fn(usize) -> bool) -> Vec<usize> {
    let mut out = vec![0; v];
    let n = zi::ranked(score, v, &mut out);
    out.truncate(n);
    out.into_iter().filter(|&j| keep(j)).collect()
}

/// The comparison of any model and counts, generic over the capacities.
fn compare_at<const V: usize, const D: usize>(
    m: &Model<V, D>,
    b: &Bigrams<V>,
    vocab: &[char],
) -> Result<Comparison> {
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
    Ok(Comparison {
        vocab: vocab.to_vec(),
        d_model: m.d_model(),
        decomposition: zi::decompose(m, b),
        model_loss_f32: zl_core::loss::loss(m, b) as f64,
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
        rows: (0..v).map(|i| zi::token_row(&log_q, b, i)).collect(),
        data_top: (0..v)
            .map(|i| ranked(|j| b.counts[(i, j)] as f64, v, |j| b.counts[(i, j)] > 0.0))
            .collect(),
        model_top: (0..v)
            .map(|i| {
                let mut r = ranked(|j| log_q[(i, j)], v, |_| true);
                r.truncate(TOP);
                r
            })
            .collect(),
    })
}

/// The comparison of saved or trained weights on a corpus.
pub fn compare(w: &Weights, corpus: &Corpus) -> Result<Comparison> {
    struct At<'a>(&'a Weights, &'a Corpus);
    impl AtCapacity for At<'_> {
        type Output = Result<Comparison>;
        fn at<const V: usize, const D: usize>(self) -> Result<Comparison> {
            let (m, b) = model_and_counts::<V, D>(self.0, self.1)?;
            compare_at(&m, &b, &self.0.vocab)
        }
    }
    capacity::dispatch(w.vocab.len(), w.d_model, At(w, corpus))
}

fn model_and_counts<const V: usize, const D: usize>(
    w: &Weights,
    c: &Corpus,
) -> Result<(Model<V, D>, Bigrams<V>)> {
    let b = Bigrams::<V>::from_count_table(c.vocab.len(), &c.counts)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((w.model()?, b))
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

/// Analyses weights on a corpus: the comparison, the ablation (over the first
/// [`ablation_chars`] characters), substitution and the spectrum. `source` says in words where
/// the model came from; `losses` is its training curve, when it was trained here.
pub fn analyse(
    w: &Weights,
    corpus: &Corpus,
    source: String,
    losses: Option<Vec<f32>>,
) -> Result<Analysis> {
    let start = Instant::now();
    let tokens = corpus.tokens(ablation_chars(w.vocab.len(), w.d_model))?;
    struct At<'a>(&'a Weights, &'a Corpus, &'a [usize]);
    impl AtCapacity for At<'_> {
        type Output = Result<Analysis>;
        fn at<const V: usize, const D: usize>(self) -> Result<Analysis> {
            let (m, b) = model_and_counts::<V, D>(self.0, self.1)?;
            let cmp = compare_at(&m, &b, &self.0.vocab)?;
            let v = b.vocab_len();
            let ablations = (0..v)
                .map(|i| zi::ablate_embedding_row(&m, self.2, i))
                .collect::<Result<Vec<_>, _>>()
                .context("running the corpus through the model")?;
            let spectrum = zi::Spectrum::of(&zi::logit_table(&m), v);
            Ok(Analysis {
                text: self
                    .2
                    .iter()
                    .take(TEXT_SHOWN)
                    .map(|&t| self.0.vocab[t])
                    .collect(),
                corpus_chars: self.1.chars as usize,
                ablation_chars: self.2.len(),
                predictions: b.total as f64,
                source: String::new(),
                losses: None,
                ablations,
                substitution_loss: zi::substitution_loss(&b),
                singular_values: spectrum.singular_values.as_slice()[..v].to_vec(),
                rank_threshold: spectrum.threshold,
                rank: spectrum.rank,
                rank_losses: (0..=v).map(|k| spectrum.loss_at_rank(k, &b)).collect(),
                analysis_seconds: 0.0,
                cmp,
            })
        }
    }
    let mut an = capacity::dispatch(w.vocab.len(), w.d_model, At(w, corpus, &tokens))?;
    an.source = source;
    an.losses = losses;
    an.analysis_seconds = start.elapsed().as_secs_f64();
    Ok(an)
}
