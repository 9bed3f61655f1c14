//! Held-out loss (`--val-fraction F`): the text's last fraction F kept from training, with the
//! vocabulary still the whole text's so that token ids do not change; the trained model's loss
//! on it beside the count model's with add-α smoothing. An unseen pair has probability 0 in the
//! table (α = 0), which is what a model that generalises does better than.

use std::{ops::ControlFlow, sync::Mutex};

use anyhow::{bail, Result};
use zl_core::interpret as zi;

use super::{controls, large};
use crate::{
    backend::{Backend, Job, Trained},
    data::{corpus::Corpus, files::Weights, pairs::Pairs},
};

/// The α values of the count model's add-α smoothing.
pub const ALPHAS: [f64; 4] = [0.0, 0.01, 0.1, 1.0];

/// A text cut in two at a character: the training part (a [`Corpus`] of its own counts, the
/// whole text's vocabulary) and the held-out part's bigram counts. A pair that crosses the cut
/// (the training part's last character, then the held-out part's first) is a held-out
/// prediction: it predicts a held-out character.
#[derive(Debug, Clone)]
pub struct Split {
    pub fraction: f64,
    pub train: Corpus,
    /// Characters of the held-out part.
    pub held_chars: u64,
    /// How often token j follows token i in the held-out predictions.
    pub held: Pairs,
}

/// The characters of an `n`-character text that `--val-fraction fraction` trains on: Python's
/// `int(n * (1 - fraction))`, the product in f64 and truncated.
pub fn train_chars(n: usize, fraction: f64) -> usize {
    ((n as f64) * (1.0 - fraction)) as usize
}

impl Split {
    /// The text cut as nanoGPT cuts it (`data[:int(n*(1-F))]` trains, the rest is held out),
    /// so that the numbers compare with its split; at least one character held out, and at
    /// least one training pair.
    pub fn new(corpus: &Corpus, fraction: f64) -> Result<Split> {
        let n = corpus.chars as usize;
        let cut = train_chars(n, fraction);
        let held_chars = n - cut;
        if held_chars < 1 || cut < 2 {
            bail!(
                "--val-fraction {fraction}: {} has {n} characters, which leaves {cut} to train on and {held_chars} held out; give a fraction that leaves at least 2 and 1",
                corpus.source
            );
        }
        let tokens = corpus.tokens(n)?;
        let v = corpus.vocab.len();
        let (mut train, mut held) = (vec![], vec![]);
        for k in 1..tokens.len() {
            let pair = (tokens[k - 1] as u32, tokens[k] as u32, 1);
            match k < cut {
                true => train.push(pair),
                false => held.push(pair),
            }
        }
        Ok(Split {
            fraction,
            train: Corpus {
                source: corpus.source.clone(),
                vocab: corpus.vocab.clone(),
                pairs: Pairs::from_triples(v, train)?,
                chars: cut as u64,
                documents: 1,
                first: corpus.first,
                last: tokens[cut - 1],
                count_seconds: corpus.count_seconds,
            },
            held_chars: held_chars as u64,
            held: Pairs::from_triples(v, held)?,
        })
    }

    /// Held-out predictions.
    pub fn held_predictions(&self) -> u64 {
        self.held.total().unwrap_or(0)
    }

    /// [`unseen`] of this split.
    pub fn unseen(&self) -> (u64, usize) {
        unseen(&self.train.pairs, &self.held)
    }

    /// The model's mean cross-entropy on the held-out predictions, a row of logits at a time.
    pub fn model_loss(&self, w: &Weights) -> Result<f64> {
        let v = w.vocab.len();
        let m = zi::Weights::from_row_major(v, w.d_model, &w.w_e, &w.w_u);
        let held = self
            .held
            .csr()
            .ok_or_else(|| anyhow::anyhow!("no held-out pair"))?;
        Ok(large::cross_entropy(&m, &held))
    }

    /// [`table_loss`] of this split.
    pub fn table_loss(&self, alpha: f64) -> f64 {
        table_loss(&self.train.pairs, &self.held, alpha)
    }
}

/// Held-out predictions (`held`) whose pair never occurs in the training part (`train`), and
/// how many distinct such pairs there are.
pub fn unseen(train: &Pairs, held: &Pairs) -> (u64, usize) {
    let (mut predictions, mut pairs) = (0u64, 0usize);
    for (i, j, h) in held.iter() {
        if train.get(i, j) == 0 {
            predictions += h;
            pairs += 1;
        }
    }
    (predictions, pairs)
}

/// The count model's held-out loss with add-α smoothing:
/// `−(1/N) Σ_ij H_ij ln((C_ij + α) / (n_i + α·V))`, with C the training part's counts and H the
/// held-out ones (summed in row order, then column order); `+∞` at α = 0 wherever a held-out pair
/// is unseen (or its row never occurs).
pub fn table_loss(train: &Pairs, held: &Pairs, alpha: f64) -> f64 {
    let v = train.vocab_len();
    let mut total = 0.0f64;
    for i in 0..v {
        let (cols, counts) = held.row(i);
        if cols.is_empty() {
            continue;
        }
        let n: u64 = train.row(i).1.iter().sum();
        for (&j, &h) in cols.iter().zip(counts) {
            let c = train.get(i, j as usize);
            let p = (c as f64 + alpha) / (n as f64 + alpha * v as f64);
            if p.is_nan() || p <= 0.0 {
                // Unseen (p = 0), or a row never seen with α = 0 (0/0).
                return f64::INFINITY;
            }
            total -= h as f64 * p.ln();
        }
    }
    total / held.total().unwrap_or(0) as f64
}

/// The held-out numbers of one model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HeldOut {
    #[serde(rename = "val_fraction")]
    pub fraction: f64,
    pub train_chars: u64,
    #[serde(rename = "held_out_chars")]
    pub held_chars: u64,
    #[serde(rename = "held_out_predictions")]
    pub held_predictions: u64,
    /// Held-out predictions of a pair unseen in training, and distinct such pairs.
    pub unseen_predictions: u64,
    pub unseen_pairs: usize,
    /// The model's held-out loss at the end.
    pub model_loss: f64,
    /// (α, the count model's held-out loss).
    #[serde(skip)]
    pub table_losses: Vec<(f64, f64)>,
    /// (epoch, the model's held-out loss with the weights after that many updates), where
    /// training was recorded.
    #[serde(skip)]
    pub curve: Vec<(u32, f64)>,
}

/// How often `zl interpret --val-fraction` measures the held-out loss (the notebook logs every
/// 100 epochs).
pub const HELD_EVERY: u32 = 100;

/// Trains `job` on `split`'s training part in segments of `every` epochs, and measures the
/// held-out loss at epoch 0, after every segment and at the end; `watch` sees each segment's run
/// so far (`zl train` prints its losses from it), and the run stops where it breaks.
pub fn train_holding_out(
    backend: &Backend,
    split: &Split,
    job: Job,
    every: u32,
    watch: &(dyn Fn(&Trained) -> ControlFlow<()> + Sync),
) -> Result<(Trained, Vec<(u32, f64)>)> {
    let mut start = job;
    start.config.epochs = 0;
    let init = backend.train(&split.train, &[start], false)?.remove(0);
    let curve = Mutex::new(vec![(0u32, split.model_loss(&init.weights)?)]);
    let ends = controls::every(every, job.config.epochs);
    let after = |_: usize, t: &Trained| {
        let l = split.model_loss(&t.weights)?;
        curve.lock().unwrap().push((t.job.config.epochs, l));
        Ok(watch(t))
    };
    let run = controls::segmented(backend, &split.train, &[job], &ends, true, None, &after)?;
    Ok((
        run.into_iter().next().expect("one job"),
        curve.into_inner().unwrap(),
    ))
}

/// [`HeldOut`] of the final weights `w` (and the curve, if any).
pub fn held_out(split: &Split, w: &Weights, curve: Vec<(u32, f64)>) -> Result<HeldOut> {
    let (unseen_predictions, unseen_pairs) = split.unseen();
    Ok(HeldOut {
        fraction: split.fraction,
        train_chars: split.train.chars,
        held_chars: split.held_chars,
        held_predictions: split.held_predictions(),
        unseen_predictions,
        unseen_pairs,
        model_loss: split.model_loss(w)?,
        table_losses: ALPHAS.iter().map(|&a| (a, split.table_loss(a))).collect(),
        curve,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_text_splits_into_all_its_pairs() {
        let c = Corpus::seed();
        let s = Split::new(&c, 0.25).unwrap();
        assert_eq!(s.train.chars + s.held_chars, c.chars);
        let held = s.held.dense().unwrap();
        let both: Vec<u64> = s
            .train
            .dense_counts()
            .unwrap()
            .iter()
            .zip(&held)
            .map(|(a, b)| a + b)
            .collect();
        assert_eq!(both, c.dense_counts().unwrap());
        assert_eq!(s.held_predictions(), s.held_chars);
        // α = 0 is infinite exactly when some held-out pair is unseen.
        assert_eq!(s.table_loss(0.0).is_infinite(), s.unseen().0 > 0);
        assert!(s.table_loss(1.0).is_finite());
    }
}
