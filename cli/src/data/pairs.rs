//! A text's bigram counts as the pairs that occur: compressed sparse rows that own their slices
//! and lend them as zl-core's [`Csr`], the view training and analysis read. A V×V table is built
//! only on request, and only for V ≤ [`DENSE_MAX`].

use anyhow::{bail, Result};
use zl_core::{Csr, CsrError};

/// The largest vocabulary [`Pairs::dense`] builds a V×V table for (zl-core's capacity tiers).
pub const DENSE_MAX: usize = zl_core::capacity::MAX_VOCAB;

/// Bigram counts over a vocabulary of `vocab_len` tokens: row `i` holds the tokens that follow
/// token `i`, ascending, each with its count (> 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairs {
    vocab_len: usize,
    row_start: Vec<usize>,
    col: Vec<u32>,
    count: Vec<u64>,
}

impl Pairs {
    /// No pair over `vocab_len` tokens.
    pub fn empty(vocab_len: usize) -> Pairs {
        Pairs {
            vocab_len,
            row_start: vec![0; vocab_len + 1],
            col: vec![],
            count: vec![],
        }
    }

    /// The pairs of `(current, next, count)` triples in any order: repeats added (checked), zero
    /// counts dropped. Ids must be below `vocab_len`.
    pub fn from_triples(vocab_len: usize, mut triples: Vec<(u32, u32, u64)>) -> Result<Pairs> {
        triples.retain(|t| t.2 > 0);
        triples.sort_unstable_by_key(|t| (t.0, t.1));
        let mut p = Pairs::empty(vocab_len);
        let mut rows = vec![0usize; vocab_len];
        for (i, j, n) in triples {
            if i as usize >= vocab_len || j as usize >= vocab_len {
                bail!("the pair ({i}, {j}) is outside a vocabulary of {vocab_len}");
            }
            if p.col.last() == Some(&j) && rows[i as usize] > 0 {
                let last = p.count.last_mut().expect("a pair");
                *last = last.checked_add(n).ok_or_else(overflow)?;
            } else {
                p.col.push(j);
                p.count.push(n);
                rows[i as usize] += 1;
            }
        }
        p.set_rows(&rows);
        Ok(p)
    }

    /// The pairs of sorted keys `(current << 32) | next`, one per occurrence (a text's pairs,
    /// sorted): each run of equal keys is one pair.
    pub fn from_sorted_keys(vocab_len: usize, keys: &[u64]) -> Pairs {
        let mut p = Pairs::empty(vocab_len);
        let mut rows = vec![0usize; vocab_len];
        for run in keys.chunk_by(|a, b| a == b) {
            rows[(run[0] >> 32) as usize] += 1;
            p.col.push(run[0] as u32);
            p.count.push(run.len() as u64);
        }
        p.set_rows(&rows);
        p
    }

    /// The pairs of a dense V×V table (row-major).
    pub fn from_dense(vocab_len: usize, table: &[u64]) -> Pairs {
        let mut p = Pairs::empty(vocab_len);
        let mut rows = vec![0usize; vocab_len];
        for (i, row) in table.chunks_exact(vocab_len.max(1)).enumerate() {
            for (j, &n) in row.iter().enumerate().filter(|e| *e.1 > 0) {
                p.col.push(j as u32);
                p.count.push(n);
                rows[i] += 1;
            }
        }
        p.set_rows(&rows);
        p
    }

    /// Checks stored slices (a count file's) and takes them; a broken invariant is one line.
    pub fn from_parts(
        vocab_len: usize,
        row_start: Vec<usize>,
        col: Vec<u32>,
        count: Vec<u64>,
    ) -> Result<Pairs> {
        if !col.is_empty() || row_start.iter().any(|&r| r != 0) {
            Csr::new(vocab_len, &row_start, &col, &count).map_err(|e| anyhow::anyhow!(why(e)))?;
        } else if row_start.len() != vocab_len + 1 {
            bail!(why(CsrError::RowStartLength {
                found: row_start.len(),
                expected: vocab_len + 1
            }));
        }
        Ok(Pairs {
            vocab_len,
            row_start,
            col,
            count,
        })
    }

    fn set_rows(&mut self, rows: &[usize]) {
        for (i, &n) in rows.iter().enumerate() {
            self.row_start[i + 1] = self.row_start[i] + n;
        }
    }

    /// Tokens in the vocabulary (V).
    pub fn vocab_len(&self) -> usize {
        self.vocab_len
    }

    /// Distinct pairs that occur.
    pub fn len(&self) -> usize {
        self.col.len()
    }

    /// Whether no pair occurs.
    pub fn is_empty(&self) -> bool {
        self.col.is_empty()
    }

    /// zl-core's view of these counts, for training and analysis; `None` when no pair occurs
    /// (a corpus that can be trained on always has one).
    pub fn csr(&self) -> Option<Csr<'_>> {
        Csr::new(self.vocab_len, &self.row_start, &self.col, &self.count).ok()
    }

    /// Row `i`: the tokens that follow token `i` (ascending) and how often.
    pub fn row(&self, i: usize) -> (&[u32], &[u64]) {
        let (a, b) = (self.row_start[i], self.row_start[i + 1]);
        (&self.col[a..b], &self.count[a..b])
    }

    /// Every pair `(current, next, count)`, in row order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, usize, u64)> + '_ {
        (0..self.vocab_len).flat_map(move |i| {
            let (c, n) = self.row(i);
            c.iter().zip(n).map(move |(&j, &n)| (i, j as usize, n))
        })
    }

    /// How often token `j` follows token `i`.
    pub fn get(&self, i: usize, j: usize) -> u64 {
        let (c, n) = self.row(i);
        c.binary_search(&(j as u32)).map_or(0, |k| n[k])
    }

    /// The sum of every count (the predictions), or `None` past 2^64.
    pub fn total(&self) -> Option<u64> {
        self.count.iter().try_fold(0u64, |a, &n| a.checked_add(n))
    }

    /// The stored slices `(row_start, col, count)`.
    pub fn parts(&self) -> (&[usize], &[u32], &[u64]) {
        (&self.row_start, &self.col, &self.count)
    }

    /// The counts as a dense V×V table, row-major, for the callers that compute at V ≤
    /// [`DENSE_MAX`]; above it, one line saying so (no V×V table is built there).
    pub fn dense(&self) -> Result<Vec<u64>> {
        let v = self.vocab_len;
        if v > DENSE_MAX {
            bail!("a vocabulary of {v} tokens is more than the {DENSE_MAX} this step computes with a V×V table");
        }
        let mut t = vec![0u64; v * v];
        for (i, j, n) in self.iter() {
            t[i * v + j] = n;
        }
        Ok(t)
    }
}

fn overflow() -> anyhow::Error {
    anyhow::anyhow!("the counts add up to more than 2^64")
}

/// A broken [`Csr`] invariant as one line.
fn why(e: CsrError) -> String {
    match e {
        CsrError::RowStartLength { found, expected } => {
            format!("its row_start has {found} offsets; a vocabulary of {} needs {expected}", expected - 1)
        }
        CsrError::RowStart { row } => {
            format!("its row_start is not ascending from 0 to the number of pairs (at row {row})")
        }
        CsrError::PairLengths { cols, counts } => {
            format!("it has {cols} column ids but {counts} counts; each pair needs one of each")
        }
        CsrError::Column { row, col } => format!(
            "row {row} holds column id {col}, which is beyond the vocabulary or not above the one before it (ids out of range, unsorted or repeated pairs)"
        ),
        CsrError::ZeroCount { row, col } => {
            format!("the pair ({row}, {col}) is stored with count 0; only pairs that occur are stored")
        }
        CsrError::Overflow => "its counts add up to more than 2^64; they cannot be a text's".into(),
        CsrError::Empty => "it holds no pair".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constructor_gives_the_same_rows() {
        let dense = [0, 2, 0, 1, 0, 0, 0, 0, 5];
        let a = Pairs::from_dense(3, &dense);
        let b = Pairs::from_triples(
            3,
            vec![(2, 2, 3), (0, 1, 2), (1, 0, 1), (2, 2, 2), (1, 1, 0)],
        )
        .unwrap();
        let mut keys = vec![];
        for (i, j, n) in a.iter() {
            keys.extend(std::iter::repeat_n(
                ((i as u64) << 32) | j as u64,
                n as usize,
            ));
        }
        keys.sort_unstable();
        let c = Pairs::from_sorted_keys(3, &keys);
        assert_eq!((&a, &a), (&b, &c));
        assert_eq!(a.dense().unwrap(), dense);
        assert_eq!((a.get(2, 2), a.get(0, 0), a.total()), (5, 0, Some(8)));
        assert_eq!(a.csr().unwrap().total(), 8);
        let (rs, col, count) = a.parts();
        assert_eq!(
            Pairs::from_parts(3, rs.to_vec(), col.to_vec(), count.to_vec()).unwrap(),
            a
        );
    }

    #[test]
    fn broken_parts_and_overflow_are_refused() {
        let e = |r: Result<Pairs>| r.unwrap_err().to_string();
        assert!(e(Pairs::from_parts(2, vec![0, 1, 2], vec![0, 5], vec![1, 1])).contains("beyond"));
        assert!(
            e(Pairs::from_parts(2, vec![0, 2, 2], vec![1, 0], vec![1, 1])).contains("unsorted")
        );
        assert!(
            e(Pairs::from_parts(2, vec![0, 2, 2], vec![1, 1], vec![1, 1])).contains("repeated")
        );
        assert!(e(Pairs::from_parts(
            2,
            vec![0, 2, 2],
            vec![0, 1],
            vec![u64::MAX, 1]
        ))
        .contains("2^64"));
        assert!(e(Pairs::from_triples(2, vec![(0, 0, u64::MAX), (0, 0, 1)])).contains("2^64"));
        assert!(Pairs::from_parts(2, vec![0, 0, 0], vec![], vec![])
            .unwrap()
            .is_empty());
        assert!(Pairs::from_dense(300, &vec![0; 300 * 300]).dense().is_err());
    }
}
