//! Bigram counts: everything a zero-layer model can learn from a text.
//!
//! The model sees only the current token, so the mean cross-entropy over a text depends on the
//! text only through `C[i][j]`, the number of times token `j` follows token `i`. This module
//! counts them once; [`crate::loss`] then costs O(V²·D) per step whatever the corpus length.

use nalgebra::{SMatrix, SVector};

use crate::corpus::{CorpusError, Vocab};

/// Largest number of predictions whose counts stay exact in f32 (2^24).
pub const MAX_PREDICTIONS: u64 = 1 << 24;

/// Bigram counts of a token sequence over a vocabulary of `vocab_len ≤ V` tokens.
#[derive(Clone, Debug, PartialEq)]
pub struct Bigrams<const V: usize> {
    /// `counts[(i, j)]`: how often token `j` follows token `i`. Whole numbers, exact in f32.
    pub counts: SMatrix<f32, V, V>,
    /// `row_totals[i] = Σ_j counts[(i, j)]`: how often token `i` is followed by anything.
    pub row_totals: SVector<f32, V>,
    /// Number of predictions (corpus length − 1).
    pub total: f32,
    vocab_len: usize,
}

impl<const V: usize> Bigrams<V> {
    /// Counts the bigrams of a token sequence. Ids must be `< vocab_len ≤ V`; the sequence must
    /// hold at least 2 tokens and at most 2^24 + 1.
    pub fn from_tokens(
        vocab_len: usize,
        tokens: impl IntoIterator<Item = usize>,
    ) -> Result<Self, CorpusError> {
        let mut b = Bigrams {
            counts: SMatrix::zeros(),
            row_totals: SVector::zeros(),
            total: 0.0,
            vocab_len,
        };
        let mut prev: Option<usize> = None;
        let mut n: u64 = 0;
        let mut seen = 0;
        for (offset, t) in tokens.into_iter().enumerate() {
            if t >= vocab_len || t >= V {
                return Err(CorpusError::TokenOutOfRange {
                    token: t,
                    offset,
                    vocab_len: vocab_len.min(V),
                });
            }
            seen += 1;
            if let Some(p) = prev {
                n += 1;
                if n > MAX_PREDICTIONS {
                    return Err(CorpusError::TooLong { chars: seen });
                }
                b.counts[(p, t)] += 1.0;
                b.row_totals[p] += 1.0;
            }
            prev = Some(t);
        }
        if n == 0 {
            return Err(CorpusError::TooShort { chars: seen });
        }
        b.total = n as f32;
        Ok(b)
    }

    /// Counts the bigrams of `text` under `vocab`.
    pub fn from_text(vocab: &Vocab<V>, text: &str) -> Result<Self, CorpusError> {
        let mut err = None;
        let tokens = vocab.encode(text).map_while(|r| match r {
            Ok(t) => Some(t),
            Err(e) => {
                err = Some(e);
                None
            }
        });
        let b = Self::from_tokens(vocab.len(), tokens);
        match err {
            Some(e) => Err(e),
            None => b,
        }
    }

    /// Builds counts from a row-major `vocab_len × vocab_len` table of whole numbers (for
    /// counts made elsewhere, such as a parallel counter over a large file). Counts above 2^24
    /// are rounded to the nearest f32 (a relative change below 6e-8, as PyTorch's f32 mean over
    /// that many positions would also round).
    pub fn from_count_table(vocab_len: usize, table: &[u64]) -> Result<Self, CorpusError> {
        if vocab_len > V {
            return Err(CorpusError::TooManyDistinct {
                found: vocab_len,
                capacity: V,
            });
        }
        let mut b = Bigrams {
            counts: SMatrix::zeros(),
            row_totals: SVector::zeros(),
            total: 0.0,
            vocab_len,
        };
        let mut n: u64 = 0;
        for i in 0..vocab_len {
            let mut row: u64 = 0;
            for j in 0..vocab_len {
                let c = table[i * vocab_len + j];
                b.counts[(i, j)] = c as f32;
                row += c;
            }
            b.row_totals[i] = row as f32;
            n += row;
        }
        if n == 0 {
            return Err(CorpusError::TooShort { chars: 1 });
        }
        b.total = n as f32;
        Ok(b)
    }

    /// Tokens in the vocabulary.
    pub fn vocab_len(&self) -> usize {
        self.vocab_len
    }

    /// `H(next | current) = −Σ_ij (C_ij / N) ln(C_ij / n_i)` in nats: the bigram entropy, the
    /// lowest mean cross-entropy any model that sees only the current token can reach.
    pub fn conditional_entropy(&self) -> f64 {
        conditional_entropy(self.vocab_len, |i, j| self.counts[(i, j)] as f64)
    }
}

/// [`Bigrams::conditional_entropy`] of any `v`×`v` table of counts, `count(i, j)` the times
/// token `j` follows token `i` (for tables outside [`Bigrams`] too).
pub fn conditional_entropy(v: usize, count: impl Fn(usize, usize) -> f64) -> f64 {
    conditional_entropy_rows((0..v).map(|i| {
        let count = &count;
        (0..v).map(move |j| count(i, j))
    }))
}

/// The one implementation of `H(next | current)`: each row's counts in ascending column order
/// (zeros may be left out, as a sparse table does: they add nothing to either sum, so a dense
/// and a sparse table of the same counts give the same bits).
pub fn conditional_entropy_rows<R: Iterator<Item = f64> + Clone>(
    rows: impl Iterator<Item = R>,
) -> f64 {
    let (mut h, mut total) = (0.0f64, 0.0f64);
    for row in rows {
        let n: f64 = row.clone().sum();
        total += n;
        for c in row {
            if c > 0.0 {
                h -= c * libm::log(c / n);
            }
        }
    }
    h / total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{Vocab, SEED_TEXT};

    #[test]
    fn seed_counts() {
        let b = Bigrams::from_text(&Vocab::seed(), SEED_TEXT).unwrap();
        assert_eq!(b.total, 192.0);
        assert_eq!(b.counts.iter().sum::<f32>(), 192.0);
        // "Be": 'B' (2) is followed once, by 'e' (22).
        assert_eq!(b.counts[(2, 22)], 1.0);
        assert_eq!(b.row_totals[2], 1.0);
        // The last character, 'n' of "token", is followed by nothing more.
        let space = 29;
        assert_eq!(b.row_totals[space], b.counts.row(space).sum());
    }

    #[test]
    fn rejects_out_of_range_and_short() {
        assert!(Bigrams::<4>::from_tokens(3, [0, 1, 3]).is_err());
        assert_eq!(
            Bigrams::<4>::from_tokens(3, [0]),
            Err(CorpusError::TooShort { chars: 1 })
        );
    }
}
