//! Bigram counts stored as the pairs that occur: compressed sparse rows over borrowed slices.
//!
//! At a vocabulary of V tokens the dense table has V² cells, but a text of N tokens fills at most
//! N of them (0.4% at V = 5,000 on tinyshakespeare). Row `i` holds the tokens that follow token
//! `i`, in ascending id order, with their counts. The slices belong to the caller, so this stays
//! `no_std` without an allocator; [`Csr::new`] checks every invariant the trainers rely on.

/// Why a set of slices is not a valid [`Csr`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsrError {
    /// `row_start` must hold `vocab_len + 1` offsets.
    RowStartLength {
        /// Its length.
        found: usize,
        /// `vocab_len + 1`.
        expected: usize,
    },
    /// `row_start` must start at 0, never decrease and end at the number of pairs.
    RowStart {
        /// The first row whose offsets are wrong.
        row: usize,
    },
    /// `col` and `count` must both hold one entry per pair.
    PairLengths {
        /// `col.len()`.
        cols: usize,
        /// `count.len()`.
        counts: usize,
    },
    /// A column id is not below `vocab_len`, or not above the previous one in its row (unsorted
    /// or duplicated).
    Column {
        /// The row.
        row: usize,
        /// The offending column id.
        col: u32,
    },
    /// A stored count is zero (only pairs that occur are stored).
    ZeroCount {
        /// The row.
        row: usize,
        /// The column.
        col: u32,
    },
    /// The counts' sum does not fit in a u64.
    Overflow,
    /// No pair at all: nothing to train on.
    Empty,
}

/// Bigram counts as compressed sparse rows: the pairs `(i, col[p])` for `p` in
/// `row_start[i]..row_start[i + 1]`, each occurring `count[p] > 0` times; columns strictly
/// ascending within a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Csr<'a> {
    vocab_len: usize,
    row_start: &'a [usize],
    col: &'a [u32],
    count: &'a [u64],
    total: u64,
}

impl<'a> Csr<'a> {
    /// Checks the slices and wraps them.
    pub fn new(
        vocab_len: usize,
        row_start: &'a [usize],
        col: &'a [u32],
        count: &'a [u64],
    ) -> Result<Self, CsrError> {
        if row_start.len() != vocab_len + 1 {
            return Err(CsrError::RowStartLength {
                found: row_start.len(),
                expected: vocab_len + 1,
            });
        }
        if col.len() != count.len() {
            return Err(CsrError::PairLengths {
                cols: col.len(),
                counts: count.len(),
            });
        }
        if row_start[0] != 0 {
            return Err(CsrError::RowStart { row: 0 });
        }
        if row_start[vocab_len] != col.len() {
            return Err(CsrError::RowStart {
                row: vocab_len.saturating_sub(1),
            });
        }
        let mut total: u64 = 0;
        for row in 0..vocab_len {
            let (a, b) = (row_start[row], row_start[row + 1]);
            if b < a || b > col.len() {
                return Err(CsrError::RowStart { row });
            }
            let mut prev: Option<u32> = None;
            for p in a..b {
                let c = col[p];
                if c as usize >= vocab_len || prev.is_some_and(|q| c <= q) {
                    return Err(CsrError::Column { row, col: c });
                }
                if count[p] == 0 {
                    return Err(CsrError::ZeroCount { row, col: c });
                }
                total = total.checked_add(count[p]).ok_or(CsrError::Overflow)?;
                prev = Some(c);
            }
        }
        if total == 0 {
            return Err(CsrError::Empty);
        }
        Ok(Csr {
            vocab_len,
            row_start,
            col,
            count,
            total,
        })
    }

    /// Tokens in the vocabulary (V).
    pub fn vocab_len(&self) -> usize {
        self.vocab_len
    }

    /// Distinct pairs that occur.
    pub fn pairs(&self) -> usize {
        self.col.len()
    }

    /// Number of predictions: the sum of every count.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Row `i`: the tokens that follow token `i` (ascending) and how often.
    pub fn row(&self, i: usize) -> (&'a [u32], &'a [u64]) {
        let (a, b) = (self.row_start[i], self.row_start[i + 1]);
        (&self.col[a..b], &self.count[a..b])
    }

    /// How often token `i` is followed by anything.
    pub fn row_total(&self, i: usize) -> u64 {
        self.row(i).1.iter().sum()
    }

    /// The raw slices: `(row_start, col, count)`.
    pub fn parts(&self) -> (&'a [usize], &'a [u32], &'a [u64]) {
        (self.row_start, self.col, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_rows_read_back() {
        let c = Csr::new(3, &[0, 2, 2, 3], &[0, 2, 1], &[5, 1, 7]).unwrap();
        assert_eq!((c.vocab_len(), c.pairs(), c.total()), (3, 3, 13));
        assert_eq!(c.row(0), (&[0u32, 2][..], &[5u64, 1][..]));
        assert_eq!(c.row(1).0.len(), 0);
        assert_eq!((c.row_total(0), c.row_total(2)), (6, 7));
    }

    #[test]
    fn every_broken_invariant_is_refused() {
        type Case<'a> = (&'a [usize], &'a [u32], &'a [u64], CsrError);
        let bad: [Case; 7] = [
            (
                &[0, 1],
                &[0],
                &[1],
                CsrError::RowStartLength {
                    found: 2,
                    expected: 3,
                },
            ),
            (
                &[0, 1, 2],
                &[0],
                &[1, 1],
                CsrError::PairLengths { cols: 1, counts: 2 },
            ),
            (&[0, 2, 1], &[0, 1], &[1, 1], CsrError::RowStart { row: 1 }),
            (
                &[0, 2, 2],
                &[1, 1],
                &[1, 1],
                CsrError::Column { row: 0, col: 1 },
            ),
            (
                &[0, 1, 2],
                &[0, 2],
                &[1, 1],
                CsrError::Column { row: 1, col: 2 },
            ),
            (
                &[0, 1, 1],
                &[0],
                &[0],
                CsrError::ZeroCount { row: 0, col: 0 },
            ),
            (&[0, 2, 2], &[0, 1], &[u64::MAX, 1], CsrError::Overflow),
        ];
        for (rs, col, count, e) in bad {
            assert_eq!(Csr::new(2, rs, col, count), Err(e));
        }
        assert_eq!(Csr::new(2, &[0, 0, 0], &[], &[]), Err(CsrError::Empty));
    }
}
