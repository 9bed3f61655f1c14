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
//! §2.3). The KL term is the whole gap between the model and the floor; [`decompose`] computes
//! all three terms independently and the identity's residual; [`gap_row`] splits each row's KL
//! into the probability leaked onto pairs that never occur and the misfit on those that do.
//!
//! Evidence and sanity checks are different things. Three facts hold for *any* weights of this
//! architecture, trained or not, and so are sanity checks of the code, not evidence of what was
//! learned: [`ablate_embedding_row`] (a position's logits depend on its token alone, so zeroing
//! a row of `W_E` changes nothing elsewhere), [`substitution_loss`] (it reads only the counts)
//! and the rank of [`Spectrum`] (at most d_model for any `W_E·W_U`). Evidence is what an
//! untrained or wrongly trained model fails: the gap, the per-row agreement, the margins of
//! [`unseen_margin`].
//!
//! Precision: everything here is f64 arithmetic on the model's f32 weights. A product of two f32
//! is exact in f64 (24 + 24 < 53 significant bits), so `L` is the table the weights define, to
//! f64 rounding of 16-term sums; the model's own f32 forward ([`crate::loss::forward`]) differs
//! from it by f32 rounding (about 1e-7 relative).
//!
//! Layout: `SMatrix` is column-major; `l[(i, j)]` is always current token `i`, next token `j`.
//! No allocation: every result is a fixed-size array or matrix, or written into caller slices.

use nalgebra::{SMatrix, SVector};

use crate::{bigram::Bigrams, corpus::CorpusError, model::Model};

/// A V×V table indexed (current token, next token), in f64.
pub type Table<const V: usize> = SMatrix<f64, V, V>;

/// `W_E·W_U` in f64: exact f32×f32 products, summed over `d` ascending. Rows and columns at
/// or beyond `vocab_len` are zero.
pub fn logit_table<const V: usize, const D: usize>(m: &Model<V, D>) -> Table<V> {
    let (v, d) = (m.vocab_len(), m.d_model());
    let mut l = Table::<V>::zeros();
    for i in 0..v {
        for j in 0..v {
            let mut acc = 0.0f64;
            for k in 0..d {
                acc += m.w_e[(i, k)] as f64 * m.w_u[(k, j)] as f64;
            }
            l[(i, j)] = acc;
        }
    }
    l
}

/// `ln Σ_j exp(l[i][j])` over the first `v` entries of row `i`, shifted by the row maximum.
/// `−∞` entries count as probability 0; a row of only `−∞` gives `−∞`.
fn row_lse<const V: usize>(l: &Table<V>, i: usize, v: usize) -> f64 {
    let mut mx = f64::NEG_INFINITY;
    for j in 0..v {
        mx = mx.max(l[(i, j)]);
    }
    if mx == f64::NEG_INFINITY {
        return mx;
    }
    let mut s = 0.0f64;
    for j in 0..v {
        s += libm::exp(l[(i, j)] - mx);
    }
    mx + libm::log(s)
}

/// Row-wise log-softmax of a logit table over the first `v` tokens: `ln Q_ij`.
pub fn log_softmax<const V: usize>(l: &Table<V>, v: usize) -> Table<V> {
    let mut out = Table::<V>::zeros();
    for i in 0..v {
        let lse = row_lse(l, i, v);
        for j in 0..v {
            out[(i, j)] = l[(i, j)] - lse;
        }
    }
    out
}

/// The mean next-token cross-entropy of a logit table on the counts:
/// `(1/N) Σ_ij C_ij (lse_i − l_ij)`, summed only where `C_ij > 0`. An entry of `−∞` (probability
/// 0) where the data has a count gives `+∞`, as it should: the model rules out what happens.
pub fn cross_entropy<const V: usize>(l: &Table<V>, b: &Bigrams<V>) -> f64 {
    let v = b.vocab_len();
    let mut total = 0.0f64;
    for i in 0..v {
        if b.row_totals[i] == 0.0 {
            continue;
        }
        let lse = row_lse(l, i, v);
        for j in 0..v {
            let c = b.counts[(i, j)] as f64;
            if c > 0.0 {
                total += c * (lse - l[(i, j)]);
            }
        }
    }
    total / b.total as f64
}

/// `KL(P_i ‖ Q_i) = Σ_j P_ij (ln P_ij − ln Q_ij)` in nats, from the log-probabilities `log_q`;
/// 0 for a token never followed by anything (its `P_i` is undefined and weighs nothing).
pub fn row_kl<const V: usize>(log_q: &Table<V>, b: &Bigrams<V>, i: usize) -> f64 {
    let n = b.row_totals[i] as f64;
    let mut kl = 0.0f64;
    for j in 0..b.vocab_len() {
        let c = b.counts[(i, j)] as f64;
        if c > 0.0 {
            let p = c / n;
            kl += p * (libm::log(p) - log_q[(i, j)]);
        }
    }
    kl
}

/// `H(next)` in nats for the next-token marginal `m_j = Σ_i C_ij / N`: the distribution of the
/// N prediction targets (the text without its first character). It is the lowest loss of a model
/// that ignores the current token (constant logits).
pub fn unigram_entropy<const V: usize>(b: &Bigrams<V>) -> f64 {
    let v = b.vocab_len();
    let n = b.total as f64;
    let mut h = 0.0f64;
    for j in 0..v {
        let mut c = 0.0f64;
        for i in 0..v {
            c += b.counts[(i, j)] as f64;
        }
        if c > 0.0 {
            h -= c / n * libm::log(c / n);
        }
    }
    h
}

/// The model's loss split into the floor and the gap.
#[derive(Clone, Copy, Debug, PartialEq)]
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

/// The loss decomposition of `m` on `b` (each term computed on its own, see the module docs).
pub fn decompose<const V: usize, const D: usize>(m: &Model<V, D>, b: &Bigrams<V>) -> Decomposition {
    let v = b.vocab_len();
    let l = logit_table(m);
    let log_q = log_softmax(&l, v);
    let model_loss = cross_entropy(&l, b);
    let bigram_entropy = b.conditional_entropy();
    let mut kl_weighted = 0.0f64;
    for i in 0..v {
        kl_weighted += b.row_totals[i] as f64 / b.total as f64 * row_kl(&log_q, b, i);
    }
    Decomposition {
        model_loss,
        bigram_entropy,
        kl_weighted,
        residual: model_loss - (bigram_entropy + kl_weighted),
        uniform_loss: libm::log(v as f64),
        unigram_entropy: unigram_entropy(b),
    }
}

/// One input token's row of the comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
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

/// Row `i` of the comparison, from the model's log-probabilities.
pub fn token_row<const V: usize>(log_q: &Table<V>, b: &Bigrams<V>, i: usize) -> TokenRow {
    let v = b.vocab_len();
    let mut model_top = 0;
    let mut data_top_count = 0.0f64;
    for j in 0..v {
        if log_q[(i, j)] > log_q[(i, model_top)] {
            model_top = j;
        }
        data_top_count = data_top_count.max(b.counts[(i, j)] as f64);
    }
    TokenRow {
        count: b.row_totals[i] as f64,
        kl: row_kl(log_q, b, i),
        model_top,
        model_top_q: libm::exp(log_q[(i, model_top)]),
        data_top_count,
        argmax_agrees: data_top_count > 0.0 && b.counts[(i, model_top)] as f64 == data_top_count,
    }
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

/// The characters a heatmap of many characters shows: at most `out.len()` token ids, the most
/// frequent ones, written into `out` in token-id order; returns how many (`min(out.len(), v)`).
/// A character's frequency is how often it occurs in the pairs, as current or as next character
/// (its row total plus its column total of `count(current, next)`); ties keep the lower id. The
/// `zl` heatmaps and the browser page's both choose this way.
pub fn most_frequent(count: impl Fn(usize, usize) -> f64, v: usize, out: &mut [usize]) -> usize {
    let freq = |i: usize| (0..v).map(|j| count(i, j) + count(j, i)).sum::<f64>();
    if out.len() >= v {
        for (i, o) in out.iter_mut().take(v).enumerate() {
            *o = i;
        }
        return v;
    }
    let k = ranked(freq, v, out);
    out[..k].sort_unstable();
    k
}

/// The substitution test: the loss when the logits are replaced by the log bigram
/// probabilities, `l_ij = ln P_ij`. A pair never seen (`C_ij = 0`) gets `ln 0 = −∞`, which the
/// softmax turns into probability exactly 0 (`exp(−∞) = 0`); it is never a target, so it adds
/// nothing to the loss. A token never followed keeps all-zero logits (it is never a current
/// token at a prediction, so its row is never read). The result is the floor
/// `H(next | current)` up to f64 rounding: no table of logits does better.
pub fn substitution_table<const V: usize>(b: &Bigrams<V>) -> Table<V> {
    let v = b.vocab_len();
    let mut l = Table::<V>::zeros();
    for i in 0..v {
        if b.row_totals[i] == 0.0 {
            continue;
        }
        for j in 0..v {
            let c = b.counts[(i, j)] as f64;
            l[(i, j)] = if c > 0.0 {
                libm::log(c / b.row_totals[i] as f64)
            } else {
                f64::NEG_INFINITY
            };
        }
    }
    l
}

/// [`cross_entropy`] of [`substitution_table`].
pub fn substitution_loss<const V: usize>(b: &Bigrams<V>) -> f64 {
    cross_entropy(&substitution_table(b), b)
}

/// One position's activations, as the notebook's model exposes them: `hook_embed` (the
/// embedding `W_E[token]`) and the logits `embed · W_U` (f32, summed over d ascending, the same
/// bits as [`crate::loss::forward`]'s table).
#[derive(Clone, Debug, PartialEq)]
pub struct Activation<const V: usize, const D: usize> {
    /// The input token at this position.
    pub token: usize,
    /// `hook_embed`: row `token` of `W_E` (entries at and beyond `d_model` are 0).
    pub embed: SVector<f32, D>,
    /// Next-token logits (entries at and beyond `vocab_len` are 0).
    pub logits: SVector<f32, V>,
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

/// The forward pass over a token sequence with its cache, one [`Activation`] per position, in
/// order: what `model.run_with_cache(tokens)` gives in TransformerLens. Every token is checked
/// before the first is run.
pub fn run_with_cache<'a, const V: usize, const D: usize>(
    m: &'a Model<V, D>,
    tokens: &'a [usize],
) -> Result<impl Iterator<Item = Activation<V, D>> + 'a, CorpusError> {
    check_tokens(tokens, m.vocab_len())?;
    Ok(tokens.iter().map(move |&t| {
        let embed = m.embed(t);
        // logits = embed · W_U, d ascending: the sum Model::logits_of computes.
        let mut logits = SVector::<f32, V>::zeros();
        for j in 0..m.vocab_len() {
            let mut acc = 0.0f32;
            for k in 0..D {
                acc += embed[k] * m.w_u[(k, j)];
            }
            logits[j] = acc;
        }
        Activation {
            token: t,
            embed,
            logits,
        }
    }))
}

/// Why [`run_into`] could not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardError {
    /// A token outside the vocabulary.
    Token(CorpusError),
    /// A buffer of the wrong length.
    Buffer {
        /// `"embed"` or `"logits"`.
        which: &'static str,
        /// Its length.
        len: usize,
        /// The length it needs: positions × d_model, or positions × vocab_len.
        needed: usize,
    },
}

impl core::fmt::Display for ForwardError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ForwardError::Token(e) => e.fmt(f),
            ForwardError::Buffer { which, len, needed } => write!(
                f,
                "the {which} buffer holds {len} values; this sequence needs {needed}"
            ),
        }
    }
}

impl core::error::Error for ForwardError {}

/// [`run_with_cache`] into caller buffers, row-major as PyTorch lays out the notebook's
/// `[1, n, d_model]` embedding and `[1, n, vocab]` logits: `embed[p·d + k]`, `logits[p·v + j]`.
pub fn run_into<const V: usize, const D: usize>(
    m: &Model<V, D>,
    tokens: &[usize],
    embed: &mut [f32],
    logits: &mut [f32],
) -> Result<(), ForwardError> {
    let (v, d, n) = (m.vocab_len(), m.d_model(), tokens.len());
    for (which, len, needed) in [
        ("embed", embed.len(), n * d),
        ("logits", logits.len(), n * v),
    ] {
        if len != needed {
            return Err(ForwardError::Buffer { which, len, needed });
        }
    }
    let acts = run_with_cache(m, tokens).map_err(ForwardError::Token)?;
    for (p, a) in acts.enumerate() {
        embed[p * d..(p + 1) * d].copy_from_slice(&a.embed.as_slice()[..d]);
        logits[p * v..(p + 1) * v].copy_from_slice(&a.logits.as_slice()[..v]);
    }
    Ok(())
}

/// Cross-entropy of one position in f64 from its f32 logits.
fn position_loss<const V: usize>(logits: &SVector<f32, V>, v: usize, target: usize) -> f64 {
    let mut mx = f64::NEG_INFINITY;
    for j in 0..v {
        mx = mx.max(logits[j] as f64);
    }
    let mut s = 0.0f64;
    for j in 0..v {
        s += libm::exp(logits[j] as f64 - mx);
    }
    mx + libm::log(s) - logits[target] as f64
}

/// What zeroing one row of `W_E` did, position by position over a token sequence.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
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
    pub delta_with: f64,
    /// The same sum over the positions without `token`: exactly 0 when none changed.
    pub delta_without: f64,
    /// Mean loss at the positions with `token`, before and after (NaN when there are none).
    pub mean_before: f64,
    /// After the ablation: `ln V` when the row is zero (all-zero logits are uniform).
    pub mean_after: f64,
}

/// The ablation test: zero row `token` of `W_E` and run both models over the sequence
/// ([`run_with_cache`]), comparing every position's embedding and logits bit for bit and its
/// loss. Predictions are the `tokens.len() − 1` positions with a next token, as in the notebook's
/// `loss_fn`.
pub fn ablate_embedding_row<const V: usize, const D: usize>(
    m: &Model<V, D>,
    tokens: &[usize],
    token: usize,
) -> Result<Ablation, CorpusError> {
    let v = m.vocab_len();
    check_tokens(&[token], v)?;
    let mut ablated = m.clone();
    for k in 0..D {
        ablated.w_e[(token, k)] = 0.0;
    }
    let n = tokens.len().saturating_sub(1);
    let mut r = Ablation {
        token,
        ..Ablation::default()
    };
    let (mut sum_before, mut sum_after) = (0.0f64, 0.0f64);
    let before = run_with_cache(m, tokens)?;
    let after = run_with_cache(&ablated, tokens)?;
    for (p, (a, b)) in before.zip(after).take(n).enumerate() {
        let target = tokens[p + 1];
        let same = a
            .embed
            .iter()
            .zip(b.embed.iter())
            .all(|(x, y)| x.to_bits() == y.to_bits())
            && a.logits
                .iter()
                .zip(b.logits.iter())
                .all(|(x, y)| x.to_bits() == y.to_bits());
        let (la, lb) = (
            position_loss(&a.logits, v, target),
            position_loss(&b.logits, v, target),
        );
        if a.token == token {
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
pub struct GapRow {
    /// `ε_i`: `Q_i`'s mass on unseen pairs (0 for a row never followed).
    pub unseen_mass: f64,
    /// `−ln(1 − ε_i)`.
    pub leak: f64,
    /// `KL(P_i ‖ Q'_i)`.
    pub misfit: f64,
}

/// [`GapRow`] of row `i`, from the model's log-probabilities.
pub fn gap_row<const V: usize>(log_q: &Table<V>, b: &Bigrams<V>, i: usize) -> GapRow {
    let n = b.row_totals[i] as f64;
    if n == 0.0 {
        return GapRow::default();
    }
    let v = b.vocab_len();
    // ln(1 − ε) = ln Σ_seen Q_ij, as a log-sum-exp of the seen log-probabilities: exact where ε
    // is tiny (a trained model) and where it is near 1 (an untrained one), unlike 1 − Σ_unseen.
    let mut mx = f64::NEG_INFINITY;
    for j in 0..v {
        if b.counts[(i, j)] > 0.0 {
            mx = mx.max(log_q[(i, j)]);
        }
    }
    let mut sum = 0.0f64;
    for j in 0..v {
        if b.counts[(i, j)] > 0.0 {
            sum += libm::exp(log_q[(i, j)] - mx);
        }
    }
    let log_seen = mx + libm::log(sum);
    let unseen_mass = -libm::expm1(log_seen);
    let mut misfit = 0.0f64;
    for j in 0..v {
        let c = b.counts[(i, j)] as f64;
        if c > 0.0 {
            let p = c / n;
            misfit += p * (libm::log(p) - (log_q[(i, j)] - log_seen));
        }
    }
    GapRow {
        unseen_mass,
        leak: -log_seen,
        misfit,
    }
}

/// The logit table with each row's mean (over the first `v` columns) subtracted. Softmax
/// ignores a constant added to a row, so this table gives the same `Q` as `l`, and it is the
/// one whose truncations and directions mean something: an SVD of `l` itself spends rank on
/// the row shifts, which no prediction sees.
pub fn row_centred<const V: usize>(l: &Table<V>, v: usize) -> Table<V> {
    let mut out = Table::<V>::zeros();
    for i in 0..v {
        let mut mean = 0.0f64;
        for j in 0..v {
            mean += l[(i, j)];
        }
        mean /= v as f64;
        for j in 0..v {
            out[(i, j)] = l[(i, j)] - mean;
        }
    }
    out
}

/// Row `i`'s margin: its weakest logit on a pair that occurs minus its strongest logit on a pair
/// that never occurs. Positive when every unseen pair is ranked below every seen one. `None`
/// for a row with no seen or no unseen pair.
pub fn unseen_margin<const V: usize>(l: &Table<V>, b: &Bigrams<V>, i: usize) -> Option<f64> {
    let (mut weakest_seen, mut strongest_unseen) = (f64::INFINITY, f64::NEG_INFINITY);
    for j in 0..b.vocab_len() {
        if b.counts[(i, j)] > 0.0 {
            weakest_seen = weakest_seen.min(l[(i, j)]);
        } else {
            strongest_unseen = strongest_unseen.max(l[(i, j)]);
        }
    }
    (weakest_seen.is_finite() && strongest_unseen.is_finite())
        .then_some(weakest_seen - strongest_unseen)
}

/// How much of the row-centred table one seen/unseen indicator explains: over the rows that are
/// followed, the row-centred logits `y_ij` are fitted by `β·x_ij`, with `x_ij` the row-centred
/// indicator (1 where the pair occurs, else 0) and one `β` for the whole table, by least squares;
/// returns `(β, R²)`, `R² = 1 − Σ(y − βx)² / Σy²`. A trained table is mostly "which pairs
/// occur"; an untrained one is not.
pub fn seen_indicator_fit<const V: usize>(l: &Table<V>, b: &Bigrams<V>) -> (f64, f64) {
    let v = b.vocab_len();
    let y = row_centred(l, v);
    // Each row's share of seen pairs: the mean its indicator is centred by.
    let mut mean = SVector::<f64, V>::zeros();
    for i in 0..v {
        mean[i] = (0..v).filter(|&j| b.counts[(i, j)] > 0.0).count() as f64 / v as f64;
    }
    let x = |i: usize, j: usize| {
        if b.counts[(i, j)] > 0.0 {
            1.0 - mean[i]
        } else {
            -mean[i]
        }
    };
    let followed = |i: usize| b.row_totals[i] > 0.0;
    let (mut sxy, mut sxx, mut syy) = (0.0f64, 0.0f64, 0.0f64);
    for i in (0..v).filter(|&i| followed(i)) {
        for j in 0..v {
            sxy += x(i, j) * y[(i, j)];
            sxx += x(i, j) * x(i, j);
            syy += y[(i, j)] * y[(i, j)];
        }
    }
    let beta = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let mut sse = 0.0f64;
    for i in (0..v).filter(|&i| followed(i)) {
        for j in 0..v {
            let r = y[(i, j)] - beta * x(i, j);
            sse += r * r;
        }
    }
    let r2 = if syy > 0.0 { 1.0 - sse / syy } else { 0.0 };
    (beta, r2)
}

/// The singular value decomposition of `W_E·W_U` (f64), and its truncations.
///
/// Method: one-sided Jacobi (Hestenes 1958; Demmel & Veselić 1992): rotate pairs of columns of
/// `A = L` until all are orthogonal, accumulating the rotations in `R`. Then `A·R = U·Σ` has
/// orthogonal columns whose norms are the singular values, and `A = (A·R)·Rᵀ`, so the rank-k
/// truncation is `Σ_{r<k} (A·R)[:, r] · R[:, r]ᵀ` with no division by a small singular value.
/// Its relative accuracy is high for the large singular values; the ones that are zero in exact
/// arithmetic come out at rounding level (about 1e-15 of the largest).
#[derive(Clone, Debug)]
pub struct Spectrum<const V: usize> {
    /// σ_1 ≥ σ_2 ≥ … (the first `vocab_len`; the rest 0).
    pub singular_values: SVector<f64, V>,
    /// The numerical-rank threshold: `σ_1 · vocab_len · ε_f32` (ε_f32 = 2⁻²³). The weights and
    /// the model's own logits are f32, so structure below f32 rounding of the table is not part
    /// of the model. (NumPy's `matrix_rank` uses the same form with ε of the array's dtype.)
    pub threshold: f64,
    /// How many singular values exceed `threshold`: at most `d_model`, since `L = W_E·W_U`
    /// passes through d_model dimensions.
    pub rank: usize,
    /// `A·R`: column r is `σ_r u_r`, sorted by σ descending.
    us: Table<V>,
    /// `R`: column r is the right singular vector `v_r`.
    right: Table<V>,
    v: usize,
}

/// Sweeps after which [`Spectrum::of`] stops even if a pair is not yet orthogonal to ε; Jacobi
/// converges quadratically, in well under 20 sweeps for the sizes here.
const MAX_SWEEPS: usize = 60;

impl<const V: usize> Spectrum<V> {
    /// The SVD of a `v × v` table (the first `v` rows and columns of `a`).
    pub fn of(a: &Table<V>, v: usize) -> Self {
        let mut a = *a;
        let mut r = Table::<V>::identity();
        for _ in 0..MAX_SWEEPS {
            let mut rotated = false;
            for p in 0..v {
                for q in p + 1..v {
                    let (mut alpha, mut beta, mut gamma) = (0.0f64, 0.0f64, 0.0f64);
                    for i in 0..v {
                        alpha += a[(i, p)] * a[(i, p)];
                        beta += a[(i, q)] * a[(i, q)];
                        gamma += a[(i, p)] * a[(i, q)];
                    }
                    // Columns orthogonal to working precision (or one of them zero): skip.
                    if libm::fabs(gamma) <= f64::EPSILON * libm::sqrt(alpha * beta) {
                        continue;
                    }
                    rotated = true;
                    // The rotation that zeroes the (p, q) entry of AᵀA (Golub & Van Loan §8.5).
                    let zeta = (beta - alpha) / (2.0 * gamma);
                    let t = libm::copysign(1.0, zeta)
                        / (libm::fabs(zeta) + libm::sqrt(1.0 + zeta * zeta));
                    let c = 1.0 / libm::sqrt(1.0 + t * t);
                    let s = c * t;
                    for m in [&mut a, &mut r] {
                        for i in 0..v {
                            let (x, y) = (m[(i, p)], m[(i, q)]);
                            m[(i, p)] = c * x - s * y;
                            m[(i, q)] = s * x + c * y;
                        }
                    }
                }
            }
            if !rotated {
                break;
            }
        }
        let mut sigma = SVector::<f64, V>::zeros();
        for j in 0..v {
            let mut s = 0.0f64;
            for i in 0..v {
                s += a[(i, j)] * a[(i, j)];
            }
            sigma[j] = libm::sqrt(s);
        }
        // Sort columns by σ descending (selection sort: v swaps at most).
        for j in 0..v {
            let mut best = j;
            for k in j + 1..v {
                if sigma[k] > sigma[best] {
                    best = k;
                }
            }
            if best != j {
                sigma.swap_rows(j, best);
                a.swap_columns(j, best);
                r.swap_columns(j, best);
            }
        }
        let threshold = sigma[0] * v as f64 * f32::EPSILON as f64;
        let rank = (0..v).filter(|&j| sigma[j] > threshold).count();
        Spectrum {
            singular_values: sigma,
            threshold,
            rank,
            us: a,
            right: r,
            v,
        }
    }

    /// Entry `i` of the `r`-th left singular vector `u_r` (unit length; 0 where `σ_r` is 0).
    pub fn left(&self, r: usize, i: usize) -> f64 {
        let s = self.singular_values[r];
        if s > 0.0 {
            self.us[(i, r)] / s
        } else {
            0.0
        }
    }

    /// Entry `j` of the `r`-th right singular vector `v_r` (unit length).
    pub fn right(&self, r: usize, j: usize) -> f64 {
        self.right[(j, r)]
    }

    /// The SVD of the model's `W_E·W_U` ([`logit_table`]).
    pub fn of_model<const D: usize>(m: &Model<V, D>) -> Self {
        Self::of(&logit_table(m), m.vocab_len())
    }

    /// The best rank-`k` approximation of the table: `Σ_{r<k} σ_r u_r v_rᵀ` (`k = 0` gives
    /// zeros; `k ≥ vocab_len` the whole table, to rounding).
    pub fn truncated(&self, k: usize) -> Table<V> {
        let mut l = Table::<V>::zeros();
        for r in 0..k.min(self.v) {
            for j in 0..self.v {
                let w = self.right[(j, r)];
                for i in 0..self.v {
                    l[(i, j)] += self.us[(i, r)] * w;
                }
            }
        }
        l
    }

    /// The model's loss with `W_E·W_U` truncated to rank `k`: `k = 0` is the uniform loss
    /// `ln V`, `k ≥ rank` the model's loss.
    pub fn loss_at_rank(&self, k: usize, b: &Bigrams<V>) -> f64 {
        cross_entropy(&self.truncated(k), b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{corpus::Vocab, rng::TorchGenerator, SEED_TEXT};

    fn seed() -> (Bigrams<30>, std::vec::Vec<usize>) {
        let vocab = Vocab::seed();
        let tokens: std::vec::Vec<usize> = vocab.encode(SEED_TEXT).map(|t| t.unwrap()).collect();
        (
            Bigrams::from_tokens(30, tokens.iter().copied()).unwrap(),
            tokens,
        )
    }

    fn random(seed: u64, d: usize, scale: f32) -> Model<30, 16> {
        let mut g = TorchGenerator::new(seed);
        let (mut we, mut wu) = (std::vec![0f32; 30 * d], std::vec![0f32; 30 * d]);
        g.randn(&mut we);
        g.randn(&mut wu);
        we.iter_mut().chain(wu.iter_mut()).for_each(|x| *x *= scale);
        Model::from_row_major(30, d, &we, &wu).unwrap()
    }

    #[test]
    fn gap_split_sums_to_the_kl_and_row_centring_keeps_q() {
        let (b, _) = seed();
        for (s, scale) in [(1, 0.3), (2, 1.0), (3, 2.0)] {
            let m = random(s, 16, scale);
            let l = logit_table(&m);
            let log_q = log_softmax(&l, 30);
            for i in 0..30 {
                let g = gap_row(&log_q, &b, i);
                let kl = row_kl(&log_q, &b, i);
                assert!(
                    (g.leak + g.misfit - kl).abs() <= 1e-12 * (1.0 + kl),
                    "row {i}"
                );
                assert!(
                    g.misfit >= -1e-12 && g.unseen_mass >= 0.0 && g.unseen_mass <= 1.0,
                    "row {i}: {g:?}"
                );
            }
            let c = row_centred(&l, 30);
            let log_qc = log_softmax(&c, 30);
            for i in 0..30 {
                let row: f64 = (0..30).map(|j| c[(i, j)]).sum();
                assert!(row.abs() < 1e-12);
                for j in 0..30 {
                    assert!((log_qc[(i, j)] - log_q[(i, j)]).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn exact_bigram_logits_have_positive_margins_and_fit_the_indicator() {
        // ln P where the pair occurs and a constant far below elsewhere: every margin is
        // positive and the indicator explains the table up to the spread of ln P.
        let (b, _) = seed();
        let mut l = Table::<30>::zeros();
        for i in 0..30 {
            for j in 0..30 {
                let c = b.counts[(i, j)] as f64;
                l[(i, j)] = if c > 0.0 {
                    libm::log(c / b.row_totals[i] as f64)
                } else {
                    -30.0
                };
            }
        }
        for i in 0..29 {
            assert!(unseen_margin(&l, &b, i).unwrap() > 20.0, "row {i}");
        }
        let (beta, r2) = seen_indicator_fit(&l, &b);
        assert!(beta > 20.0 && r2 > 0.95, "{beta} {r2}");
        // Random weights: no margin, and the indicator explains almost nothing.
        let l = logit_table(&random(1, 16, 1.0));
        let (_, r2) = seen_indicator_fit(&l, &b);
        assert!(r2 < 0.2, "{r2}");
    }

    #[test]
    fn decomposition_identity_holds_and_matches_the_f32_forward() {
        let (b, _) = seed();
        for (s, scale) in [(1, 0.3), (2, 1.0), (3, 2.0)] {
            let m = random(s, 16, scale);
            let d = decompose(&m, &b);
            // f64 sums of ~900 terms of size ≤ 10: rounding well under 1e-12.
            assert!(libm::fabs(d.residual) < 1e-12, "{d:?}");
            assert!(d.kl_weighted > 0.0);
            // The f32 forward agrees to f32 rounding of the loss (~1e-7 relative).
            let f32_loss = crate::loss::loss(&m, &b) as f64;
            assert!(
                libm::fabs(f32_loss - d.model_loss) < 1e-5 * d.model_loss,
                "{f32_loss} vs {d:?}"
            );
        }
        let d = decompose(&random(4, 16, 0.0), &b);
        assert!(
            libm::fabs(d.model_loss - libm::log(30.0)) < 1e-14,
            "zero weights are uniform"
        );
    }

    #[test]
    fn substitution_reaches_the_floor() {
        let (b, _) = seed();
        let floor = b.conditional_entropy();
        assert!(libm::fabs(substitution_loss(&b) - floor) < 1e-14);
        // A table one step off the bigram logits, at a pair the text has, does worse.
        let mut l = substitution_table(&b);
        let j = (0..30).find(|&j| b.counts[(29, j)] > 0.0).unwrap();
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
    fn run_into_matches_the_loss_tables_bits() {
        let (b, tokens) = seed();
        let m = random(6, 16, 1.0);
        let mut ws = crate::loss::Workspace::<30, 16>::default();
        crate::loss::forward(&m, &b, &mut ws);
        let (mut e, mut l) = (std::vec![0f32; 193 * 16], std::vec![0f32; 193 * 30]);
        run_into(&m, &tokens, &mut e, &mut l).unwrap();
        for (p, &t) in tokens.iter().enumerate() {
            for k in 0..16 {
                assert_eq!(e[p * 16 + k].to_bits(), m.w_e[(t, k)].to_bits());
            }
            for j in 0..30 {
                assert_eq!(l[p * 30 + j].to_bits(), ws.logits[(t, j)].to_bits());
            }
        }
        assert!(matches!(
            run_into(&m, &tokens, &mut e[1..], &mut l),
            Err(ForwardError::Buffer { which: "embed", .. })
        ));
    }

    #[test]
    fn spectrum_has_rank_d_and_reconstructs() {
        let (b, _) = seed();
        for d in [16, 5] {
            let m = random(7, d, 1.0);
            let s = Spectrum::of_model(&m);
            assert_eq!(s.rank, d);
            let l = logit_table(&m);
            let full = s.truncated(30);
            let err = (full - l).abs().max();
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
