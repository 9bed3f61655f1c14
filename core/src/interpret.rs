//! What a zero-layer model learned, in numbers: the evidence that `W_E·W_U` is a bigram table.
//!
//! A zero-layer transformer sees only the current token, so `L = W_E·W_U` (V×V) is a lookup
//! table from the current token to next-token logits, and the lowest mean cross-entropy it can
//! reach is the text's bigram conditional entropy. With `C` the bigram counts (`n_i` row totals,
//! `N` predictions), `P_i = C_i / n_i` and `Q_i = softmax(L_i)`:
//!
//! ```text
//! model loss = −(1/N) Σ_ij C_ij ln Q_ij
//!            = H(next | current) + Σ_i (n_i/N) · KL(P_i ‖ Q_i)
//! ```
//!
//! (add and subtract `(1/N) Σ C_ij ln P_ij`; Cover & Thomas, *Elements of Information Theory*,
//! §2.3). The KL term is the whole gap between the model and the floor. Every number comes from
//! one row's logits at a time ([`row_facts`], [`seen_sums`]), at any vocabulary size, and one
//! pooling over the rows ([`summarise`]): it computes the three terms independently and the
//! identity's residual, and splits each row's KL into the probability leaked onto pairs that
//! never occur and the misfit on those that do ([`GapRow`]).
//!
//! Evidence and sanity checks are different things. Three facts hold for *any* weights of this
//! architecture, trained or not, and so are sanity checks of the code, not evidence of what was
//! learned: [`ablate_embedding_row`] (a position's logits depend on its token alone, so zeroing
//! a row of `W_E` changes nothing elsewhere), [`substitution_loss`] (it reads only the counts)
//! and the rank of [`Spectrum`] (at most d_model for any `W_E·W_U`). Evidence is what an
//! untrained or wrongly trained model fails: the gap, the per-row agreement, the margins
//! ([`RowFacts::margin`]).
//!
//! Precision: everything here is f64 arithmetic on the model's f32 weights. A product of two f32
//! is exact in f64 (24 + 24 < 53 significant bits), so `L` is the table the weights define, to
//! f64 rounding of 16-term sums; the model's own f32 forward ([`crate::loss::forward`]) differs
//! from it by f32 rounding (about 1e-7 relative).
//!
//! Sizes: interpretation is f64 off the training path, so it runs at the model's own size
//! ([`Weights`], [`Counts`], `DMatrix`), allocating (the `alloc` feature); only training keeps
//! the compile-time capacities of [`crate::capacity`].
//!
//! Layout: `DMatrix` is column-major; `l[(i, j)]` is always current token `i`, next token `j`.

use alloc::vec::Vec;

use nalgebra::{DMatrix, DVector};

use crate::{
    bigram::{self, Bigrams},
    corpus::CorpusError,
    csr::Csr,
    model::Model,
};

/// A V×V table indexed (current token, next token), in f64.
pub type Table = DMatrix<f64>;

/// A model's weights at their own size, in f32 as trained.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    /// `W_Eᵀ` (D×V): column `t` is token `t`'s embedding, contiguous.
    embed: DMatrix<f32>,
    /// `W_Uᵀ` (V×D): column `k` is row `k` of `W_U`, contiguous over the next token.
    unembed: DMatrix<f32>,
}

impl Weights {
    /// From row-major `W_E` (`vocab_len` rows of `d_model`) and `W_U` (`d_model` rows of
    /// `vocab_len`), as PyTorch stores them. Panics unless both hold `vocab_len × d_model`
    /// values: callers build them from a checked model or file.
    pub fn from_row_major(vocab_len: usize, d_model: usize, w_e: &[f32], w_u: &[f32]) -> Self {
        Weights {
            embed: DMatrix::from_column_slice(d_model, vocab_len, w_e),
            unembed: DMatrix::from_column_slice(vocab_len, d_model, w_u),
        }
    }

    /// The weights of a model held at a capacity tier (its used rows and columns only).
    pub fn of_model<const V: usize, const D: usize>(m: &Model<V, D>) -> Self {
        let (v, d) = (m.vocab_len(), m.d_model());
        Weights {
            embed: DMatrix::from_fn(d, v, |k, i| m.w_e[(i, k)]),
            unembed: DMatrix::from_fn(v, d, |j, k| m.w_u[(k, j)]),
        }
    }

    /// Tokens in the vocabulary.
    pub fn vocab_len(&self) -> usize {
        self.embed.ncols()
    }

    /// d_model.
    pub fn d_model(&self) -> usize {
        self.embed.nrows()
    }

    /// `hook_embed`: token `t`'s row of `W_E`.
    fn embedding(&self, t: usize) -> &[f32] {
        let d = self.d_model();
        &self.embed.as_slice()[t * d..(t + 1) * d]
    }

    /// Row `k` of `W_U`.
    fn unembedding_row(&self, k: usize) -> &[f32] {
        let v = self.vocab_len();
        &self.unembed.as_slice()[k * v..(k + 1) * v]
    }

    /// Next-token logits for `token` in f32: `W_E[token] · W_U`, summed over d ascending, the
    /// bits of [`Model::logits_of`] and of [`crate::loss::forward`]'s table.
    pub fn logits_of(&self, token: usize) -> Vec<f32> {
        let mut out = alloc::vec![0.0; self.vocab_len()];
        self.logits_into(token, &mut out);
        out
    }

    /// [`Weights::logits_of`] into `out` (`vocab_len` long): each entry is `0 + e_0·u_0j +
    /// e_1·u_1j + …` in that order, written as a row update over `j` (as `loss::forward` does).
    fn logits_into(&self, token: usize, out: &mut [f32]) {
        out.fill(0.0);
        for (k, &x) in self.embedding(token).iter().enumerate() {
            for (o, &u) in out.iter_mut().zip(self.unembedding_row(k)) {
                *o += x * u;
            }
        }
    }
}

/// Bigram counts at their own size, in f64 with the values training sees: each count, row total
/// and the number of predictions rounded to f32 as [`Bigrams`] holds them.
#[derive(Clone, Debug, PartialEq)]
pub struct Counts {
    counts: DMatrix<f64>,
    row_totals: Vec<f64>,
    total: f64,
}

impl Counts {
    /// From a row-major `vocab_len × vocab_len` table, rounded as
    /// [`Bigrams::from_count_table`] rounds it.
    pub fn from_table(vocab_len: usize, table: &[u64]) -> Result<Self, CorpusError> {
        let v = vocab_len;
        let mut counts = DMatrix::zeros(v, v);
        let mut row_totals = Vec::with_capacity(v);
        let mut n: u64 = 0;
        for i in 0..v {
            let mut row: u64 = 0;
            for j in 0..v {
                let c = table[i * v + j];
                counts[(i, j)] = c as f32 as f64;
                row += c;
            }
            row_totals.push(row as f32 as f64);
            n += row;
        }
        if n == 0 {
            return Err(CorpusError::TooShort { chars: 1 });
        }
        Ok(Counts {
            counts,
            row_totals,
            total: n as f32 as f64,
        })
    }

    /// The pairs that occur as compressed sparse rows, owned ([`Csr::new`] takes them): the
    /// form every comparison reads.
    pub fn sparse(&self) -> (Vec<usize>, Vec<u32>, Vec<u64>) {
        let v = self.vocab_len();
        let (mut row_start, mut col, mut count) = (alloc::vec![0], Vec::new(), Vec::new());
        for i in 0..v {
            for j in 0..v {
                let c = self.counts[(i, j)];
                if c > 0.0 {
                    col.push(j as u32);
                    count.push(c as u64);
                }
            }
            row_start.push(col.len());
        }
        (row_start, col, count)
    }

    /// The counts training holds at a capacity tier.
    pub fn of_bigrams<const V: usize>(b: &Bigrams<V>) -> Self {
        let v = b.vocab_len();
        Counts {
            counts: DMatrix::from_fn(v, v, |i, j| b.counts[(i, j)] as f64),
            row_totals: (0..v).map(|i| b.row_totals[i] as f64).collect(),
            total: b.total as f64,
        }
    }

    /// Tokens in the vocabulary.
    pub fn vocab_len(&self) -> usize {
        self.row_totals.len()
    }

    /// `C_ij`: how often token `j` follows token `i`.
    pub fn count(&self, i: usize, j: usize) -> f64 {
        self.counts[(i, j)]
    }

    /// `n_i`: how often token `i` is followed by anything.
    pub fn row_total(&self, i: usize) -> f64 {
        self.row_totals[i]
    }

    /// `N`: the number of predictions.
    pub fn total(&self) -> f64 {
        self.total
    }

    /// `H(next | current)`: [`bigram::conditional_entropy`] of these counts.
    pub fn conditional_entropy(&self) -> f64 {
        bigram::conditional_entropy(self.vocab_len(), |i, j| self.counts[(i, j)])
    }
}

/// `W_E·W_U` in f64: exact f32×f32 products, summed over `d` ascending.
pub fn logit_table(w: &Weights) -> Table {
    let v = w.vocab_len();
    Table::from_fn(v, v, |i, j| {
        let mut acc = 0.0f64;
        for (k, &x) in w.embedding(i).iter().enumerate() {
            acc += x as f64 * w.unembed[(j, k)] as f64;
        }
        acc
    })
}

/// `ln Σ_j exp(l_j)` of a row of logits, shifted by the row's maximum: the one log-sum-exp of
/// the analysis. `−∞` entries count as probability 0; a row of only `−∞` gives `−∞`.
pub fn log_sum_exp(l: impl Iterator<Item = f64> + Clone) -> f64 {
    let mut mx = f64::NEG_INFINITY;
    for x in l.clone() {
        mx = mx.max(x);
    }
    if mx == f64::NEG_INFINITY {
        return mx;
    }
    let mut s = 0.0f64;
    for x in l {
        s += libm::exp(x - mx);
    }
    mx + libm::log(s)
}

/// [`log_sum_exp`] of row `i` of a table.
fn row_lse(l: &Table, i: usize) -> f64 {
    log_sum_exp((0..l.ncols()).map(|j| l[(i, j)]))
}

/// `ln V`: the loss of uniform predictions (all-zero logits) over `v` tokens.
pub fn uniform_loss(v: usize) -> f64 {
    libm::log(v as f64)
}

/// Row-wise log-softmax of a logit table: `ln Q_ij`.
pub fn log_softmax(l: &Table) -> Table {
    let mut out = l.clone();
    for i in 0..l.nrows() {
        let lse = row_lse(l, i);
        out.row_mut(i).iter_mut().for_each(|x| *x -= lse);
    }
    out
}

/// The mean next-token cross-entropy of a logit table on the counts:
/// `(1/N) Σ_i (Σ_j C_ij (lse_i − l_ij))`, each row's sum over its pairs that occur, then the rows
/// in ascending order: [`row_facts`]' `loss_sum`, to the bit. An entry of `−∞` (probability 0)
/// where the data has a count gives `+∞`, as it should: the model rules out what happens.
pub fn cross_entropy(l: &Table, b: &Counts) -> f64 {
    let v = b.vocab_len();
    let mut total = 0.0f64;
    for i in 0..v {
        if b.row_totals[i] == 0.0 {
            continue;
        }
        let lse = row_lse(l, i);
        let mut row = 0.0f64;
        for j in 0..v {
            let c = b.counts[(i, j)];
            if c > 0.0 {
                row += c * (lse - l[(i, j)]);
            }
        }
        total += row;
    }
    total / b.total
}

/// The model's loss split into the floor and the gap.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Decomposition {
    /// Mean cross-entropy of `softmax(W_E·W_U)` on the counts (f64).
    pub model_loss: f64,
    /// `H(next | current)`: the floor, the bigram conditional entropy.
    pub bigram_entropy: f64,
    /// `Σ_i (n_i/N) · KL(P_i ‖ Q_i)`: the gap between the model and the floor.
    pub kl_weighted: f64,
    /// `model_loss − (bigram_entropy + kl_weighted)`: zero up to f64 rounding.
    pub residual: f64,
    /// `ln V`: the loss of uniform predictions (all-zero logits).
    pub uniform_loss: f64,
    /// [`unigram_entropy`]: the loss of the best context-free predictor.
    pub unigram_entropy: f64,
}

/// One input token's row of the comparison.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TokenRow {
    /// `n_i`: how often the token is followed by another.
    pub count: f64,
    /// `KL(P_i ‖ Q_i)` in nats (0 when `count` is 0).
    pub kl: f64,
    /// The model's most likely next token (lowest id among ties).
    pub model_top: usize,
    /// Its probability `Q_i[model_top]`.
    pub model_top_q: f64,
    /// The largest count in the data's row (0 when never followed).
    pub data_top_count: f64,
    /// Whether the model's top-1 is one of the data's most frequent next tokens (false when the
    /// token is never followed).
    pub argmax_agrees: bool,
}

/// The model's top-1 against the data's most frequent next tokens, over the rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Agreement {
    /// Of the rows followed by something, those whose most frequent next tokens (a set, with
    /// ties) contain the model's top-1.
    pub agree: usize,
    /// Rows followed by something.
    pub followed: usize,
    /// Rows with a single most frequent next token.
    pub single_max: usize,
    /// Of those, the agreeing ones.
    pub single_max_agree: usize,
    /// Rows with one possible next token only (agreement there needs no more than its order).
    pub single_successor: usize,
}

/// Writes into `out` the indices `0..v` ranked by `score` (highest first, lower id first among
/// equals), as many as `out` holds; returns how many it wrote (`min(out.len(), v)`).
pub fn ranked(score: impl Fn(usize) -> f64, v: usize, out: &mut [usize]) -> usize {
    let k = out.len().min(v);
    // Selection: O(k·v), no allocation; k is a handful.
    for slot in 0..k {
        let mut best: Option<usize> = None;
        for j in 0..v {
            if out[..slot].contains(&j) {
                continue;
            }
            if best.is_none_or(|b| score(j) > score(b)) {
                best = Some(j);
            }
        }
        out[slot] = best.unwrap_or(0);
    }
    k
}

/// Above this many characters a heatmap shows only the most frequent ones ([`most_frequent`]):
/// two tables of 60 columns side by side fit a 130-column terminal, and a figure of 60² cells
/// keeps the report and the browser page small (each SVG cell is a rectangle and its hover text).
pub const MAX_SHOWN: usize = 60;

/// The characters a heatmap of many characters shows: at most `out.len()` token ids, the most
/// frequent ones, written into `out` in token-id order; returns how many (`min(out.len(), v)`).
/// A character's frequency is how often it occurs in the pairs, as current or as next character
/// (its row total plus its column total, each count as [`Counts`] holds it: sums of integers,
/// exact in any order); ties keep the lower id. The `zl` heatmaps, at any vocabulary size, and
/// the browser page's all choose this way.
pub fn most_frequent(b: &Csr<'_>, out: &mut [usize]) -> usize {
    let v = b.vocab_len();
    if out.len() >= v {
        for (i, o) in out.iter_mut().take(v).enumerate() {
            *o = i;
        }
        return v;
    }
    let mut freq = alloc::vec![0.0f64; v];
    for i in 0..v {
        let (cols, counts) = b.row(i);
        for (&j, &c) in cols.iter().zip(counts) {
            freq[i] += csr_count(c);
            freq[j as usize] += csr_count(c);
        }
    }
    let k = ranked(|i| freq[i], v, out);
    out[..k].sort_unstable();
    k
}

/// The substitution test: the loss when the logits are replaced by the log bigram
/// probabilities, `l_ij = ln P_ij`. A pair never seen (`C_ij = 0`) gets `ln 0 = −∞`, which the
/// softmax turns into probability exactly 0 (`exp(−∞) = 0`); it is never a target, so it adds
/// nothing to the loss. A token never followed keeps all-zero logits (it is never a current
/// token at a prediction, so its row is never read). The result is the floor
/// `H(next | current)` up to f64 rounding: no table of logits does better.
pub fn substitution_table(b: &Counts) -> Table {
    let v = b.vocab_len();
    Table::from_fn(v, v, |i, j| {
        let (c, n) = (b.counts[(i, j)], b.row_totals[i]);
        if n == 0.0 {
            0.0
        } else if c > 0.0 {
            libm::log(c / n)
        } else {
            f64::NEG_INFINITY
        }
    })
}

/// [`cross_entropy`] of [`substitution_table`].
pub fn substitution_loss(b: &Counts) -> f64 {
    cross_entropy(&substitution_table(b), b)
}

fn check_tokens(tokens: &[usize], vocab_len: usize) -> Result<(), CorpusError> {
    match tokens.iter().position(|&t| t >= vocab_len) {
        Some(offset) => Err(CorpusError::TokenOutOfRange {
            token: tokens[offset],
            offset,
            vocab_len,
        }),
        None => Ok(()),
    }
}

/// Cross-entropy of one position in f64 from its f32 logits.
fn position_loss(logits: &[f32], target: usize) -> f64 {
    let mut mx = f64::NEG_INFINITY;
    for &x in logits {
        mx = mx.max(x as f64);
    }
    let mut s = 0.0f64;
    for &x in logits {
        s += libm::exp(x as f64 - mx);
    }
    mx + libm::log(s) - logits[target] as f64
}

/// What zeroing one row of `W_E` did, position by position over a token sequence.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Ablation {
    /// The ablated token.
    pub token: usize,
    /// Predictions whose current token is `token`.
    pub positions_with: usize,
    /// Predictions whose current token is another.
    pub positions_without: usize,
    /// Of `positions_with`, how many got different logits (any bit).
    pub changed_with: usize,
    /// Of `positions_without`, how many got different logits or embeddings (any bit). A
    /// zero-layer model must leave every one unchanged: it sees only the current token.
    pub changed_without: usize,
    /// Change of the mean loss over all N predictions from the positions with `token`:
    /// `Σ_{p: cur = token} (ablated_p − original_p) / N`.
    #[cfg_attr(feature = "serde", serde(rename = "delta_loss_with"))]
    pub delta_with: f64,
    /// The same sum over the positions without `token`: exactly 0 when none changed.
    #[cfg_attr(feature = "serde", serde(rename = "delta_loss_without"))]
    pub delta_without: f64,
    /// Mean loss at the positions with `token`, before and after (NaN when there are none).
    #[cfg_attr(feature = "serde", serde(rename = "mean_loss_with_before"))]
    pub mean_before: f64,
    /// After the ablation: `ln V` when the row is zero (all-zero logits are uniform).
    #[cfg_attr(feature = "serde", serde(rename = "mean_loss_with_after"))]
    pub mean_after: f64,
}

/// The ablation test: zero row `token` of `W_E` and run both models over the sequence position
/// by position (the notebook's `run_with_cache`: each position's embedding `W_E[token]` and
/// logits), comparing every position's embedding and logits bit for bit and its loss.
/// Predictions are the `tokens.len() − 1` positions with a next token, as in the notebook's
/// `loss_fn`. Every token is checked before the first is run.
pub fn ablate_embedding_row(
    w: &Weights,
    tokens: &[usize],
    token: usize,
) -> Result<Ablation, CorpusError> {
    check_tokens(&[token], w.vocab_len())?;
    check_tokens(tokens, w.vocab_len())?;
    let mut ablated = w.clone();
    ablated.embed.column_mut(token).fill(0.0);
    let n = tokens.len().saturating_sub(1);
    let mut r = Ablation {
        token,
        ..Ablation::default()
    };
    let (mut sum_before, mut sum_after) = (0.0f64, 0.0f64);
    let bits = |x: &[f32], y: &[f32]| x.iter().zip(y).all(|(x, y)| x.to_bits() == y.to_bits());
    let (mut before, mut after) = (
        alloc::vec![0.0; w.vocab_len()],
        alloc::vec![0.0; w.vocab_len()],
    );
    for (p, &cur) in tokens.iter().take(n).enumerate() {
        let target = tokens[p + 1];
        w.logits_into(cur, &mut before);
        ablated.logits_into(cur, &mut after);
        let same = bits(w.embedding(cur), ablated.embedding(cur)) && bits(&before, &after);
        let (la, lb) = (
            position_loss(&before, target),
            position_loss(&after, target),
        );
        if cur == token {
            r.positions_with += 1;
            r.changed_with += usize::from(!same);
            r.delta_with += lb - la;
            sum_before += la;
            sum_after += lb;
        } else {
            r.positions_without += 1;
            r.changed_without += usize::from(!same);
            r.delta_without += lb - la;
        }
    }
    r.delta_with /= n as f64;
    r.delta_without /= n as f64;
    r.mean_before = sum_before / r.positions_with as f64;
    r.mean_after = sum_after / r.positions_with as f64;
    Ok(r)
}

/// One row's KL gap split in two: `KL(P_i ‖ Q_i) = leak + misfit`, with `ε_i` the probability
/// `Q_i` puts on next tokens that never follow token `i` in the data.
///
/// With `Q'_i = Q_i / (1 − ε_i)` on the seen pairs (the model's row renormalised onto them),
/// `KL(P_i ‖ Q_i) = KL(P_i ‖ Q'_i) − ln(1 − ε_i)`: the leak `−ln(1 − ε_i) ≈ ε_i` is what the
/// unseen pairs cost, and the misfit `KL(P_i ‖ Q'_i) ≥ 0` what the seen ones do. Both are
/// computed on their own (neither as the KL minus the other), so their sum checks the split.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct GapRow {
    /// `ε_i`: `Q_i`'s mass on unseen pairs (0 for a row never followed).
    pub unseen_mass: f64,
    /// `−ln(1 − ε_i)`.
    pub leak: f64,
    /// `KL(P_i ‖ Q'_i)`.
    pub misfit: f64,
}

/// Rows `first..` of [`logit_table`] into `out` (row-major, `vocab_len` entries a row, as many
/// rows as `out` holds), bit for bit: each entry is `0 + e_0·u_0j + e_1·u_1j + …` in f64, the
/// same sum in the same order. O(rows·V·d) time and no table: what analysis at large V reads a
/// tile of rows at a time. The columns go in blocks, so that a block of `W_U` is read from memory
/// once per tile rather than once per row.
pub fn logit_rows(w: &Weights, first: usize, out: &mut [f64]) {
    /// Columns per block: a block of `W_U` (d × 512 f32) and a tile's block of logits stay in
    /// cache.
    const BLOCK: usize = 512;
    let v = w.vocab_len();
    let rows = out.len() / v.max(1);
    out.fill(0.0);
    for j0 in (0..v).step_by(BLOCK) {
        let j1 = (j0 + BLOCK).min(v);
        for k in 0..w.d_model() {
            let u = &w.unembedding_row(k)[j0..j1];
            for t in 0..rows {
                let x = w.embedding(first + t)[k] as f64;
                for (o, &u) in out[t * v + j0..t * v + j1].iter_mut().zip(u) {
                    *o += x * u as f64;
                }
            }
        }
    }
}

/// A count as analysis reads it: rounded to f32 as training holds it ([`Counts::from_table`]).
fn csr_count(c: u64) -> f64 {
    c as f32 as f64
}

/// `n_i` of a [`Csr`] row as [`Counts::row_total`] holds it: the u64 sum rounded to f32.
pub fn csr_row_total(b: &Csr<'_>, i: usize) -> f64 {
    b.row_total(i) as f32 as f64
}

/// `N` of a [`Csr`] as [`Counts::total`] holds it.
pub fn csr_total(b: &Csr<'_>) -> f64 {
    b.total() as f32 as f64
}

/// What one row of the model gives against one row of the counts, from that row's logits alone:
/// the row's comparison, its gap's split, its margin and its terms of the decomposition.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RowFacts {
    /// The row's comparison.
    pub token: TokenRow,
    /// The row's KL split into the leak and the misfit.
    pub gap: GapRow,
    /// Its weakest logit on a pair that occurs minus its strongest logit on a pair that never
    /// occurs: positive when every unseen pair is ranked below every seen one; `None` for a row
    /// with no seen or no unseen pair.
    pub margin: Option<f64>,
    /// `Σ_j C_ij (lse_i − l_ij)`: the row's part of `N ×` the model's loss.
    pub loss_sum: f64,
    /// `−Σ_j C_ij ln(C_ij / n_i)`: the row's part of `N ×` the floor.
    pub entropy_sum: f64,
    /// `ln Σ_j exp(l_ij)`: `ln Q_ij = l_ij − lse`.
    pub lse: f64,
    /// The row's most frequent next token is unique.
    pub single_max: bool,
    /// The row has one possible next token only.
    pub single_successor: bool,
}

/// The model's top next tokens of one row, by exact log Q (highest first, lower id first among
/// bit-equal values), with their log Q and logits: [`row_facts`] writes it.
#[derive(Clone, Debug, Default)]
pub struct TopList {
    /// The token ids.
    pub top: Vec<usize>,
    /// Their log Q.
    pub top_log_q: Vec<f64>,
    /// Their logits.
    pub top_logit: Vec<f64>,
}

/// [`RowFacts`] of row `i` from its logits `l` ([`logit_rows`]) against the counts `b`, and the
/// model's top list of that row in `s` (`top` long, at most V). O(V) time.
pub fn row_facts(l: &[f64], b: &Csr<'_>, i: usize, top: usize, s: &mut TopList) -> RowFacts {
    let v = l.len();
    let (cols, counts) = b.row(i);
    let n = csr_row_total(b, i);
    // The margin, on the logits themselves: weakest seen minus strongest unseen.
    let mut margin = None;
    if !cols.is_empty() && cols.len() < v {
        let weakest_seen = cols
            .iter()
            .fold(f64::INFINITY, |m, &j| m.min(l[j as usize]));
        let (mut strongest_unseen, mut next) = (f64::NEG_INFINITY, 0usize);
        for (j, &x) in l.iter().enumerate() {
            if next < cols.len() && cols[next] as usize == j {
                next += 1;
            } else {
                strongest_unseen = strongest_unseen.max(x);
            }
        }
        margin = (weakest_seen.is_finite() && strongest_unseen.is_finite())
            .then_some(weakest_seen - strongest_unseen);
    }
    let lse = log_sum_exp(l.iter().copied());
    // The model's top list and top-1 by log Q = l − lse (log_softmax's values).
    s.top.clear();
    s.top_log_q.clear();
    s.top_logit.clear();
    let k = top.min(v);
    for (j, &x) in l.iter().enumerate() {
        let q = x - lse;
        if s.top.len() == k && (k == 0 || q <= s.top_log_q[k - 1]) {
            continue;
        }
        // Strictly below every kept value that is lower: bit-equal values keep the lower id.
        let at = s
            .top_log_q
            .iter()
            .position(|&t| q > t)
            .unwrap_or(s.top.len());
        if s.top.len() == k {
            s.top.pop();
            s.top_log_q.pop();
            s.top_logit.pop();
        }
        s.top.insert(at, j);
        s.top_log_q.insert(at, q);
        s.top_logit.insert(at, x);
    }
    let mut model_top = 0;
    for j in 0..v {
        if l[j] - lse > l[model_top] - lse {
            model_top = j;
        }
    }
    let mut facts = RowFacts {
        token: TokenRow {
            count: n,
            kl: 0.0,
            model_top,
            model_top_q: libm::exp(l[model_top] - lse),
            data_top_count: 0.0,
            argmax_agrees: false,
        },
        margin,
        lse,
        single_successor: cols.len() == 1,
        ..RowFacts::default()
    };
    if n == 0.0 {
        return facts;
    }
    let log_q = |j: u32| l[j as usize] - lse;
    let data_top = counts.iter().map(|&c| csr_count(c)).fold(0.0f64, f64::max);
    let at_top = counts.iter().filter(|&&c| csr_count(c) == data_top).count();
    facts.token.data_top_count = data_top;
    facts.single_max = at_top == 1;
    facts.token.argmax_agrees = data_top > 0.0
        && cols
            .binary_search(&(model_top as u32))
            .is_ok_and(|p| csr_count(counts[p]) == data_top);
    let (mut kl, mut loss_sum, mut entropy_sum) = (0.0f64, 0.0f64, 0.0f64);
    let mut seen_mx = f64::NEG_INFINITY;
    for (&j, &c) in cols.iter().zip(counts) {
        let (c, lq) = (csr_count(c), log_q(j));
        let p = c / n;
        kl += p * (libm::log(p) - lq);
        loss_sum += c * (lse - l[j as usize]);
        seen_mx = seen_mx.max(lq);
    }
    let nf: f64 = counts.iter().map(|&c| csr_count(c)).sum();
    for &c in counts {
        let c = csr_count(c);
        entropy_sum -= c * libm::log(c / nf);
    }
    let mut sum = 0.0f64;
    for &j in cols {
        sum += libm::exp(log_q(j) - seen_mx);
    }
    let log_seen = seen_mx + libm::log(sum);
    let mut misfit = 0.0f64;
    for (&j, &c) in cols.iter().zip(counts) {
        let p = csr_count(c) / n;
        misfit += p * (libm::log(p) - (log_q(j) - log_seen));
    }
    facts.token.kl = kl;
    facts.gap = GapRow {
        unseen_mass: -libm::expm1(log_seen),
        leak: -log_seen,
        misfit,
    };
    facts.loss_sum = loss_sum;
    facts.entropy_sum = entropy_sum;
    facts
}

/// `H(next)` in nats for the next-token marginal `m_j = Σ_i C_ij / N`: the distribution of the
/// N prediction targets (the text without its first character). It is the lowest loss of a model
/// that ignores the current token (constant logits).
pub fn unigram_entropy(b: &Csr<'_>) -> f64 {
    let v = b.vocab_len();
    let mut col = alloc::vec![0.0f64; v];
    for i in 0..v {
        let (cols, counts) = b.row(i);
        for (&j, &c) in cols.iter().zip(counts) {
            col[j as usize] += csr_count(c);
        }
    }
    let n = csr_total(b);
    let mut h = 0.0f64;
    for c in col {
        if c > 0.0 {
            h -= c / n * libm::log(c / n);
        }
    }
    h
}

/// One row's sums behind the pooled evidence (the seen logits against ln P, the indicator fit):
/// [`summarise`] pools them over the rows in ascending order.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SeenSums {
    /// Seen logits (y) against ln P (x), both centred on the row's seen pairs: Σxy.
    pub xy: f64,
    /// Σxx.
    pub xx: f64,
    /// Σyy.
    pub yy: f64,
    /// The RMS of (y − x) over the row's seen pairs, with two or more.
    pub spread: Option<f64>,
    /// The row-centred logits (y) against the row-centred seen indicator (x): Σxy.
    pub ind_xy: f64,
    /// Σxx.
    pub ind_xx: f64,
    /// Σyy.
    pub ind_yy: f64,
}

/// [`SeenSums`] of row `i` from its logits `l` against the counts `b`, the row's `n_i` as
/// [`RowFacts`] holds it. O(V) time.
pub fn seen_sums(l: &[f64], b: &Csr<'_>, i: usize, n: f64) -> SeenSums {
    let (cols, counts) = b.row(i);
    let mut s = SeenSums::default();
    if n == 0.0 || cols.is_empty() {
        return s;
    }
    let k = cols.len() as f64;
    let lp = |c: u64| libm::log(csr_count(c) / n);
    let mx = counts.iter().map(|&c| lp(c)).sum::<f64>() / k;
    let my = cols.iter().map(|&j| l[j as usize]).sum::<f64>() / k;
    let mut sq = 0.0;
    for (&j, &c) in cols.iter().zip(counts) {
        let (x, y) = (lp(c) - mx, l[j as usize] - my);
        s.xy += x * y;
        s.xx += x * x;
        s.yy += y * y;
        sq += (y - x) * (y - x);
    }
    s.spread = (cols.len() >= 2).then(|| libm::sqrt(sq / k));
    // The indicator's sums from the row's Σl and Σl² and its seen entries: with y = l − mean
    // and x = 1[seen] − m, Σxy = Σ_seen y − m·Σy, Σx² = k(1 − m)² + (V − k)m², Σy² = Σl² − V·mean².
    let v = l.len() as f64;
    let (sum, sq) = l
        .iter()
        .fold((0.0f64, 0.0f64), |(a, b), &x| (a + x, b + x * x));
    let mean = sum / v;
    let m = k / v;
    let seen_y: f64 = cols.iter().map(|&j| l[j as usize] - mean).sum();
    s.ind_xy = seen_y - m * (sum - v * mean);
    s.ind_xx = k * (1.0 - m) * (1.0 - m) + (v - k) * m * m;
    s.ind_yy = (sq - v * mean * mean).max(0.0);
    s
}

/// The margins (weakest seen logit − strongest unseen logit, per row), summarised.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MarginSummary {
    /// Rows with a margin (some seen and some unseen pair).
    pub rows: usize,
    /// Of those, the positive ones.
    pub positive: usize,
    /// The smallest margin (`None` when no row has one).
    pub smallest: Option<f64>,
}

/// A model against the counts, over all rows: what [`summarise`] pools from [`row_facts`] and
/// [`seen_sums`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// The loss, the floor and the gap.
    pub decomposition: Decomposition,
    /// The top-1 agreement.
    pub agreement: Agreement,
    /// The margins.
    pub margin: MarginSummary,
    /// `Σ_i (n_i/N)·leak_i`; with the misfit it sums to the gap to f64 rounding.
    pub gap_leak: f64,
    /// `Σ_i (n_i/N)·misfit_i`.
    pub gap_seen_misfit: f64,
    /// The seen/unseen indicator's least-squares fit `β·x` to the row-centred logits over the
    /// rows that are followed, and its `R² = 1 − Σ(y − βx)² / Σy²`: a trained table is mostly
    /// "which pairs occur", an untrained one is not. β:
    pub indicator_beta: f64,
    /// R².
    pub indicator_r2: f64,
    /// Pearson's correlation of the seen logits with ln P, each centred on its row's seen pairs
    /// (so that softmax's free per-row constant does not count), pooled over the rows.
    pub seen_logit_correlation: f64,
    /// The largest [`SeenSums::spread`] (0 when no row has two seen pairs).
    pub seen_spread_max: f64,
}

/// The one pooling of every row's facts and sums (ascending row order) into the model's
/// decomposition and evidence. The terms of the decomposition are computed each on its own, so
/// that `residual` checks the identity; the floor is [`bigram::conditional_entropy_rows`].
pub fn summarise(facts: &[RowFacts], sums: &[SeenSums], b: &Csr<'_>) -> Summary {
    let n = csr_total(b);
    let (mut loss, mut kl, mut leak, mut misfit) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let mut a = Agreement::default();
    let mut margin = MarginSummary {
        rows: 0,
        positive: 0,
        smallest: None,
    };
    for f in facts {
        let weight = f.token.count / n;
        loss += f.loss_sum;
        kl += weight * f.token.kl;
        leak += weight * f.gap.leak;
        misfit += weight * f.gap.misfit;
        if f.token.count > 0.0 {
            a.followed += 1;
            a.agree += f.token.argmax_agrees as usize;
            a.single_max += f.single_max as usize;
            a.single_max_agree += (f.single_max && f.token.argmax_agrees) as usize;
            a.single_successor += f.single_successor as usize;
        }
        if let Some(m) = f.margin {
            margin.rows += 1;
            margin.positive += (m > 0.0) as usize;
            margin.smallest = Some(margin.smallest.map_or(m, |s: f64| s.min(m)));
        }
    }
    let sum = |g: &dyn Fn(&SeenSums) -> f64| sums.iter().map(g).sum::<f64>();
    let (xy, xx, yy) = (sum(&|s| s.xy), sum(&|s| s.xx), sum(&|s| s.yy));
    let (ixy, ixx, iyy) = (sum(&|s| s.ind_xy), sum(&|s| s.ind_xx), sum(&|s| s.ind_yy));
    let beta = if ixx > 0.0 { ixy / ixx } else { 0.0 };
    let sse = iyy - 2.0 * beta * ixy + beta * beta * ixx;
    let model_loss = loss / n;
    let v = b.vocab_len();
    let floor =
        bigram::conditional_entropy_rows((0..v).map(|i| b.row(i).1.iter().map(|&c| csr_count(c))));
    Summary {
        decomposition: Decomposition {
            model_loss,
            bigram_entropy: floor,
            kl_weighted: kl,
            residual: model_loss - (floor + kl),
            uniform_loss: uniform_loss(v),
            unigram_entropy: unigram_entropy(b),
        },
        agreement: a,
        margin,
        gap_leak: leak,
        gap_seen_misfit: misfit,
        indicator_beta: beta,
        indicator_r2: if iyy > 0.0 { 1.0 - sse / iyy } else { 0.0 },
        seen_logit_correlation: if xx > 0.0 && yy > 0.0 {
            xy / libm::sqrt(xx * yy)
        } else {
            0.0
        },
        seen_spread_max: sums.iter().filter_map(|s| s.spread).fold(0.0, f64::max),
    }
}

/// Every row's [`RowFacts`] and [`SeenSums`] of `w` on `b`, one row's logits at a time (no
/// table, no top lists): what [`summarise`] pools.
pub fn rows(w: &Weights, b: &Csr<'_>) -> (Vec<RowFacts>, Vec<SeenSums>) {
    let v = w.vocab_len();
    let (mut l, mut top) = (alloc::vec![0.0; v], TopList::default());
    (0..v)
        .map(|i| {
            logit_rows(w, i, &mut l);
            let f = row_facts(&l, b, i, 0, &mut top);
            (f, seen_sums(&l, b, i, f.token.count))
        })
        .unzip()
}

/// The model's decomposition on `b`: [`summarise`] of [`rows`].
pub fn decompose(w: &Weights, b: &Csr<'_>) -> Decomposition {
    let (facts, sums) = rows(w, b);
    summarise(&facts, &sums, b).decomposition
}

/// The singular values of `W_E·W_U` (or of its row-centred table) without the V×V table.
///
/// `L = W_E·W_U` has rank at most d. With the thin QR factorisations `W_E = Q_E R_E` and
/// `W_Uᵀ = Q_U R_U` (`Q` V×d with orthonormal columns, `R` d×d), `L = Q_E (R_E R_Uᵀ) Q_Uᵀ`, and
/// multiplying by matrices with orthonormal columns keeps singular values: those of `L` are
/// those of the d×d core `R_E R_Uᵀ`, exactly, in O(V·d²). The row-centred table is
/// `W_E (W_U − row means of W_U)`: the same with `W_U`'s rows centred first.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ThinSpectrum {
    /// σ_1 ≥ … ≥ σ_d (the other V − d are 0).
    pub singular_values: Vec<f64>,
    /// [`Spectrum::threshold`]'s rule: `σ_1 · V · ε_f32`.
    pub threshold: f64,
    /// How many singular values exceed it.
    pub rank: usize,
}

/// [`ThinSpectrum`] with its singular vectors, `u_r` and `v_r` each V long (columns sorted by
/// σ, largest first): the rank-k truncations of a large table one row at a time.
#[derive(Clone, Debug)]
pub struct ThinSvd {
    /// The singular values, the threshold and the rank.
    pub spectrum: ThinSpectrum,
    /// `Q_E U` (V×d) and `Q_U V` (V×d), with `R_E R_Uᵀ = U Σ Vᵀ`.
    left: DMatrix<f64>,
    right: DMatrix<f64>,
}

impl ThinSvd {
    /// Of `W_E·W_U`, or with `centred`, of its row-centred table.
    pub fn of(w: &Weights, centred: bool) -> Self {
        let (v, d) = (w.vocab_len(), w.d_model());
        let e = DMatrix::<f64>::from_fn(v, d, |i, k| w.embed[(k, i)] as f64);
        let mut u = DMatrix::<f64>::from_fn(v, d, |j, k| w.unembed[(j, k)] as f64);
        if centred {
            for k in 0..d {
                let mean = u.column(k).iter().sum::<f64>() / v as f64;
                u.column_mut(k).iter_mut().for_each(|x| *x -= mean);
            }
        }
        let (qe, qu) = (e.qr(), u.qr());
        let svd = (qe.r() * qu.r().transpose()).svd(true, true);
        let sigma = svd.singular_values;
        let mut order: Vec<usize> = (0..sigma.len()).collect();
        order.sort_by(|&a, &b| sigma[b].total_cmp(&sigma[a]).then(a.cmp(&b)));
        let (cu, cv_t) = (svd.u.expect("u requested"), svd.v_t.expect("v requested"));
        let cu = DMatrix::from_fn(d, d, |k, r| cu[(k, order[r])]);
        let cv = DMatrix::from_fn(d, d, |k, r| cv_t[(order[r], k)]);
        let singular_values: Vec<f64> = order.iter().map(|&r| sigma[r]).collect();
        let threshold =
            singular_values.first().copied().unwrap_or(0.0) * v as f64 * f32::EPSILON as f64;
        let rank = singular_values.iter().filter(|&&s| s > threshold).count();
        ThinSvd {
            spectrum: ThinSpectrum {
                singular_values,
                threshold,
                rank,
            },
            left: qe.q() * cu,
            right: qu.q() * cv,
        }
    }

    /// Row `i` of the rank-`k` truncation `Σ_{r<k} σ_r u_r[i] v_r` into `out` (V long).
    pub fn truncated_row(&self, i: usize, k: usize, out: &mut [f64]) {
        out.fill(0.0);
        for r in 0..k.min(self.spectrum.singular_values.len()) {
            let a = self.spectrum.singular_values[r] * self.left[(i, r)];
            for (o, &x) in out.iter_mut().zip(self.right.column(r).iter()) {
                *o += a * x;
            }
        }
    }
}

/// The logit table with each row's mean subtracted. Softmax ignores a constant added to a row,
/// so this table gives the same `Q` as `l`, and it is the one whose truncations and directions
/// mean something: an SVD of `l` itself spends rank on the row shifts, which no prediction sees.
pub fn row_centred(l: &Table) -> Table {
    let v = l.ncols();
    let mut out = l.clone();
    for i in 0..l.nrows() {
        let mut mean = 0.0f64;
        for j in 0..v {
            mean += l[(i, j)];
        }
        mean /= v as f64;
        out.row_mut(i).iter_mut().for_each(|x| *x -= mean);
    }
    out
}

/// The singular value decomposition of a logit table (nalgebra's: Householder bidiagonalisation
/// and implicit QR), and its truncations.
///
/// Signs: a singular pair `(u_r, v_r)` is defined up to a common sign; each is chosen so that
/// the largest entry of `u_r` in absolute value (the lowest index among equals) is positive.
#[derive(Clone, Debug)]
pub struct Spectrum {
    /// σ_1 ≥ σ_2 ≥ … ≥ 0.
    pub singular_values: Vec<f64>,
    /// The numerical-rank threshold: `σ_1 · vocab_len · ε_f32` (ε_f32 = 2⁻²³). The weights and
    /// the model's own logits are f32, so structure below f32 rounding of the table is not part
    /// of the model. (NumPy's `matrix_rank` uses the same form with ε of the array's dtype.)
    pub threshold: f64,
    /// How many singular values exceed `threshold`: at most `d_model`, since `L = W_E·W_U`
    /// passes through d_model dimensions.
    pub rank: usize,
    /// Column r: `u_r`.
    u: DMatrix<f64>,
    /// Row r: `v_rᵀ`.
    v_t: DMatrix<f64>,
}

impl Spectrum {
    /// The SVD of a square table.
    pub fn of(a: &Table) -> Self {
        let v = a.nrows();
        let svd = a.clone().svd(true, true);
        let (mut u, mut v_t) = (svd.u.expect("u requested"), svd.v_t.expect("v requested"));
        let sigma: Vec<f64> = svd.singular_values.iter().copied().collect();
        for r in 0..sigma.len() {
            let col = u.column(r);
            let big = (0..v).fold(0, |b, i| {
                if libm::fabs(col[i]) > libm::fabs(col[b]) {
                    i
                } else {
                    b
                }
            });
            if col[big] < 0.0 {
                u.column_mut(r).neg_mut();
                v_t.row_mut(r).neg_mut();
            }
        }
        let threshold = sigma.first().copied().unwrap_or(0.0) * v as f64 * f32::EPSILON as f64;
        let rank = sigma.iter().filter(|&&s| s > threshold).count();
        Spectrum {
            singular_values: sigma,
            threshold,
            rank,
            u,
            v_t,
        }
    }

    /// Entry `i` of the `r`-th left singular vector `u_r` (unit length).
    pub fn left(&self, r: usize, i: usize) -> f64 {
        self.u[(i, r)]
    }

    /// Entry `j` of the `r`-th right singular vector `v_r` (unit length).
    pub fn right(&self, r: usize, j: usize) -> f64 {
        self.v_t[(r, j)]
    }

    /// The best rank-`k` approximation of the table: `Σ_{r<k} σ_r u_r v_rᵀ` (`k = 0` gives
    /// zeros; `k ≥ vocab_len` the whole table, to rounding).
    pub fn truncated(&self, k: usize) -> Table {
        let k = k.min(self.singular_values.len());
        let us = self.u.columns(0, k)
            * DMatrix::from_diagonal(&DVector::from_column_slice(&self.singular_values[..k]));
        us * self.v_t.rows(0, k)
    }

    /// The table's loss with it truncated to rank `k`: `k = 0` is the uniform loss `ln V`,
    /// `k ≥ rank` the table's own loss.
    pub fn loss_at_rank(&self, k: usize, b: &Counts) -> f64 {
        cross_entropy(&self.truncated(k), b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{corpus::Vocab, rng::TorchGenerator, SEED_TEXT};

    fn seed() -> (Counts, Vec<usize>) {
        let vocab = Vocab::seed();
        let tokens: Vec<usize> = vocab.encode(SEED_TEXT).map(|t| t.unwrap()).collect();
        let b = Bigrams::<30>::from_tokens(30, tokens.iter().copied()).unwrap();
        (Counts::of_bigrams(&b), tokens)
    }

    fn random(seed: u64, d: usize, scale: f32) -> Weights {
        let mut g = TorchGenerator::new(seed);
        let (mut we, mut wu) = (alloc::vec![0f32; 30 * d], alloc::vec![0f32; 30 * d]);
        g.randn(&mut we);
        g.randn(&mut wu);
        we.iter_mut().chain(wu.iter_mut()).for_each(|x| *x *= scale);
        Weights::from_row_major(30, d, &we, &wu)
    }

    /// Every row's facts and sums of a logit table on `csr`, a row at a time.
    fn facts_of(l: &Table, csr: &Csr<'_>) -> (Vec<RowFacts>, Vec<SeenSums>) {
        let v = l.nrows();
        (0..v)
            .map(|i| {
                let row: Vec<f64> = (0..v).map(|j| l[(i, j)]).collect();
                let f = row_facts(&row, csr, i, 3, &mut TopList::default());
                (f, seen_sums(&row, csr, i, f.token.count))
            })
            .unzip()
    }

    #[test]
    fn gap_split_sums_to_the_kl_and_row_centring_keeps_q() {
        let (b, _) = seed();
        let (rs, col, cnt) = b.sparse();
        let csr = Csr::new(30, &rs, &col, &cnt).unwrap();
        for (s, scale) in [(1, 0.3), (2, 1.0), (3, 2.0)] {
            let m = random(s, 16, scale);
            let l = logit_table(&m);
            let log_q = log_softmax(&l);
            let (facts, _) = rows(&m, &csr);
            for (i, f) in facts.iter().enumerate() {
                let (g, kl) = (f.gap, f.token.kl);
                // The KL straight from the table, term by term.
                let n = b.row_total(i);
                let direct: f64 = (0..30)
                    .filter(|&j| b.count(i, j) > 0.0)
                    .map(|j| {
                        let p = b.count(i, j) / n;
                        p * (libm::log(p) - log_q[(i, j)])
                    })
                    .sum();
                assert!((kl - direct).abs() <= 1e-13 * (1.0 + kl), "row {i}");
                assert!(
                    (g.leak + g.misfit - kl).abs() <= 1e-12 * (1.0 + kl),
                    "row {i}"
                );
                assert!(
                    g.misfit >= -1e-12 && g.unseen_mass >= 0.0 && g.unseen_mass <= 1.0,
                    "row {i}: {g:?}"
                );
            }
            let c = row_centred(&l);
            let log_qc = log_softmax(&c);
            for i in 0..30 {
                let row: f64 = (0..30).map(|j| c[(i, j)]).sum();
                assert!(row.abs() < 1e-12);
                for j in 0..30 {
                    assert!((log_qc[(i, j)] - log_q[(i, j)]).abs() < 1e-12);
                }
            }
        }
    }

    /// Row 0 ties its two successors, row 1 has one maximum and the model's top-1 is not it,
    /// row 2 has one successor, row 3 is never followed.
    #[test]
    fn agreement_counts_ties_single_maxima_and_single_successors_apart() {
        let b = Counts::from_table(4, &[1, 1, 0, 0, 3, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0]).unwrap();
        let (rs, col, cnt) = b.sparse();
        let csr = Csr::new(4, &rs, &col, &cnt).unwrap();
        let l = Table::from_fn(4, 4, |i, j| match (i, j) {
            (0, 1) | (1, 2) | (2, 3) => 1.0,
            _ => 0.0,
        });
        let (facts, sums) = facts_of(&l, &csr);
        assert_eq!(
            summarise(&facts, &sums, &csr).agreement,
            Agreement {
                agree: 2,
                followed: 3,
                single_max: 2,
                single_max_agree: 1,
                single_successor: 1,
            }
        );
    }

    #[test]
    fn exact_bigram_logits_have_positive_margins_and_fit_the_indicator() {
        // ln P where the pair occurs and a constant far below elsewhere: every margin is
        // positive and the indicator explains the table up to the spread of ln P.
        let (b, _) = seed();
        let (rs, col, cnt) = b.sparse();
        let csr = Csr::new(30, &rs, &col, &cnt).unwrap();
        let l = Table::from_fn(30, 30, |i, j| {
            let c = b.count(i, j);
            if c > 0.0 {
                libm::log(c / b.row_total(i))
            } else {
                -30.0
            }
        });
        let (facts, sums) = facts_of(&l, &csr);
        for (i, f) in facts.iter().enumerate().take(29) {
            assert!(f.margin.unwrap() > 20.0, "row {i}");
        }
        let s = summarise(&facts, &sums, &csr);
        assert!(s.indicator_beta > 20.0 && s.indicator_r2 > 0.95, "{s:?}");
        assert!(s.seen_logit_correlation > 0.999_999, "{s:?}");
        // Random weights: no margin, and the indicator explains almost nothing.
        let (facts, sums) = rows(&random(1, 16, 1.0), &csr);
        let s = summarise(&facts, &sums, &csr);
        assert!(s.indicator_r2 < 0.2, "{s:?}");
        assert!(s.margin.positive < s.margin.rows, "{s:?}");
    }

    #[test]
    fn decomposition_identity_holds_and_matches_the_f32_forward() {
        let vocab = Vocab::seed();
        let bigrams = Bigrams::<30>::from_text(&vocab, SEED_TEXT).unwrap();
        let (b, _) = seed();
        let (rs, col, cnt) = b.sparse();
        let csr = Csr::new(30, &rs, &col, &cnt).unwrap();
        for (s, scale) in [(1, 0.3), (2, 1.0), (3, 2.0)] {
            let w = random(s, 16, scale);
            let d = decompose(&w, &csr);
            // f64 sums of ~900 terms of size ≤ 10: rounding well under 1e-12.
            assert!(libm::fabs(d.residual) < 1e-12, "{d:?}");
            assert!(d.kl_weighted > 0.0);
            // The one loss and the one floor: the table's cross-entropy and the counts' entropy,
            // to the bit.
            assert_eq!(d.model_loss, cross_entropy(&logit_table(&w), &b));
            assert_eq!(d.bigram_entropy, b.conditional_entropy());
            // The f32 forward agrees to f32 rounding of the loss (~1e-7 relative).
            let mut g = TorchGenerator::new(s);
            let (mut we, mut wu) = (alloc::vec![0f32; 480], alloc::vec![0f32; 480]);
            g.randn(&mut we);
            g.randn(&mut wu);
            we.iter_mut().chain(wu.iter_mut()).for_each(|x| *x *= scale);
            let m = Model::<30, 16>::from_row_major(30, 16, &we, &wu).unwrap();
            assert_eq!(Weights::of_model(&m), w);
            let f32_loss = crate::loss::loss(&m, &bigrams) as f64;
            assert!(
                libm::fabs(f32_loss - d.model_loss) < 1e-5 * d.model_loss,
                "{f32_loss} vs {d:?}"
            );
        }
        let d = decompose(&random(4, 16, 0.0), &csr);
        assert!(
            libm::fabs(d.model_loss - libm::log(30.0)) < 1e-14,
            "zero weights are uniform"
        );
        // The unigram entropy from the column totals, directly.
        let col_total = |j: usize| (0..30).map(|i| b.count(i, j)).sum::<f64>();
        let h: f64 = (0..30)
            .map(col_total)
            .filter(|&c| c > 0.0)
            .map(|c| -c / b.total() * libm::log(c / b.total()))
            .sum();
        assert!((d.unigram_entropy - h).abs() < 1e-13, "{d:?}");
    }

    #[test]
    fn substitution_reaches_the_floor() {
        let (b, _) = seed();
        let floor = b.conditional_entropy();
        assert!(libm::fabs(substitution_loss(&b) - floor) < 1e-14);
        // A table one step off the bigram logits, at a pair the text has, does worse.
        let mut l = substitution_table(&b);
        let j = (0..30).find(|&j| b.count(29, j) > 0.0).unwrap();
        l[(29, j)] += 1.0;
        assert!(cross_entropy(&l, &b) > floor + 1e-6);
    }

    #[test]
    fn ablation_changes_only_positions_with_the_token() {
        let (_, tokens) = seed();
        let m = random(5, 16, 1.0);
        for t in 0..30 {
            let a = ablate_embedding_row(&m, &tokens, t).unwrap();
            assert_eq!(a.positions_with + a.positions_without, 192);
            assert_eq!(a.changed_with, a.positions_with);
            assert_eq!((a.changed_without, a.delta_without), (0, 0.0));
            assert!(libm::fabs(a.mean_after - libm::log(30.0)) < 1e-12);
        }
        assert!(ablate_embedding_row(&m, &tokens, 30).is_err());
        assert!(ablate_embedding_row(&m, &[0, 31], 0).is_err());
    }

    #[test]
    fn logits_match_the_loss_tables_bits() {
        let vocab = Vocab::seed();
        let bigrams = Bigrams::<30>::from_text(&vocab, SEED_TEXT).unwrap();
        let mut g = TorchGenerator::new(6);
        let (mut we, mut wu) = (alloc::vec![0f32; 480], alloc::vec![0f32; 480]);
        g.randn(&mut we);
        g.randn(&mut wu);
        let m = Model::<30, 16>::from_row_major(30, 16, &we, &wu).unwrap();
        let mut ws = crate::loss::Workspace::<30, 16>::default();
        crate::loss::forward(&m, &bigrams, &mut ws);
        let w = Weights::of_model(&m);
        for t in 0..30 {
            let l = w.logits_of(t);
            for j in 0..30 {
                assert_eq!(l[j].to_bits(), ws.logits[(t, j)].to_bits());
            }
        }
    }

    #[test]
    fn spectrum_has_rank_d_and_reconstructs() {
        let (b, _) = seed();
        for d in [16, 5] {
            let m = random(7, d, 1.0);
            let l = logit_table(&m);
            let s = Spectrum::of(&l);
            assert_eq!(s.rank, d);
            let full = s.truncated(30);
            let err = (full - &l).abs().max();
            assert!(
                err < 1e-12 * s.singular_values[0],
                "reconstruction error {err}"
            );
            assert!(s.singular_values[d] < 1e-13 * s.singular_values[0]);
            assert!(libm::fabs(s.loss_at_rank(0, &b) - libm::log(30.0)) < 1e-14);
            let full_loss = cross_entropy(&l, &b);
            assert!(libm::fabs(s.loss_at_rank(d, &b) - full_loss) < 1e-12);
            // σ_1² + … = ‖L‖_F²
            let fro: f64 = l.iter().map(|x| x * x).sum();
            let ss: f64 = s.singular_values.iter().map(|x| x * x).sum();
            assert!(libm::fabs(fro - ss) < 1e-12 * fro);
            // Unit vectors, the sign convention, and A v_r = σ_r u_r.
            for r in 0..d {
                let u: Vec<f64> = (0..30).map(|i| s.left(r, i)).collect();
                let top = u
                    .iter()
                    .fold(0.0f64, |a, &x| if x.abs() > a.abs() { x } else { a });
                assert!(top > 0.0);
                for i in 0..30 {
                    let av: f64 = (0..30).map(|j| l[(i, j)] * s.right(r, j)).sum();
                    assert!(
                        (av - s.singular_values[r] * u[i]).abs() < 1e-12 * s.singular_values[0]
                    );
                }
            }
        }
    }

    #[test]
    fn a_row_at_a_time_gives_the_tables_logits_and_top_lists() {
        let (b, _) = seed();
        let (rs, col, cnt) = b.sparse();
        let csr = Csr::new(30, &rs, &col, &cnt).unwrap();
        for (s, scale) in [(1, 0.3), (2, 1.0), (3, 2.0)] {
            let w = random(s, 16, scale);
            let l = logit_table(&w);
            let log_q = log_softmax(&l);
            let mut sc = TopList::default();
            let mut rows = alloc::vec![0.0; 30 * 30];
            logit_rows(&w, 0, &mut rows);
            for i in 0..30 {
                let f = row_facts(&rows[i * 30..(i + 1) * 30], &csr, i, 3, &mut sc);
                let mut top = [0; 3];
                ranked(|j| log_q[(i, j)], 30, &mut top);
                assert_eq!(sc.top, top, "row {i}");
                assert_eq!(f.token.model_top, top[0], "row {i}");
                assert_eq!(sc.top_log_q[0], log_q[(i, top[0])]);
                assert_eq!(sc.top_logit[0], l[(i, top[0])]);
                let mut row = alloc::vec![0.0; 60];
                logit_rows(&w, i.min(28), &mut row);
                let t = i - i.min(28);
                assert!((0..30).all(|j| row[t * 30 + j].to_bits() == l[(i, j)].to_bits()));
            }
        }
    }

    #[test]
    fn the_thin_spectrum_is_the_full_one() {
        for d in [16, 5] {
            let w = random(7, d, 1.0);
            let l = logit_table(&w);
            for centred in [false, true] {
                let full = Spectrum::of(&if centred { row_centred(&l) } else { l.clone() });
                let svd = ThinSvd::of(&w, centred);
                let thin = &svd.spectrum;
                assert_eq!(thin.singular_values.len(), d);
                assert_eq!(thin.rank, full.rank);
                for (a, b) in thin.singular_values.iter().zip(&full.singular_values) {
                    assert!((a - b).abs() < 1e-12 * full.singular_values[0], "{a} {b}");
                }
                // Each rank-k truncation's rows are the full SVD's.
                let mut row = alloc::vec![0.0; 30];
                for k in [1, 3, d] {
                    let t = full.truncated(k);
                    for i in 0..30 {
                        svd.truncated_row(i, k, &mut row);
                        for j in 0..30 {
                            assert!((row[j] - t[(i, j)]).abs() < 1e-11 * full.singular_values[0]);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn ranked_orders_by_score_then_id() {
        let s = [0.1, 0.5, 0.5, 0.2];
        let mut out = [9; 3];
        assert_eq!(ranked(|j| s[j], 4, &mut out), 3);
        assert_eq!(out, [1, 2, 3]);
        let mut big = [9; 6];
        assert_eq!(ranked(|j| s[j], 4, &mut big), 4);
    }
}
