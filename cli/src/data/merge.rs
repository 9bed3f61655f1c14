//! The one merge of bigram parts: chunks of a text counted in parallel, count files, and texts
//! counted one by one all become one table here. The pair across each boundary (the last
//! character of one part and the first of the next) is added for parts of one text.

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use zl_core::corpus::Ids;

use super::{corpus::Tally, MAX_VOCAB};

/// What a merge keeps of each part besides its counts.
#[derive(Clone, Copy, Debug)]
pub struct Ends {
    pub first: char,
    pub last: char,
    pub chars: u64,
    pub documents: u64,
}

/// Counts over the characters seen so far, ids in order of first appearance: parts are added
/// into it, and tables into each other; [`Table::finish`] re-indexes in code-point order once.
pub struct Table {
    chars: Vec<char>,
    ids: Ids<MAX_VOCAB>,
    /// Characters past [`MAX_VOCAB`]: kept only so that the message can say how many.
    more: BTreeSet<char>,
    /// `counts[a * MAX_VOCAB + b]` over the table's ids a, b.
    counts: Vec<u64>,
    /// Each part's ends, with its place in the merge's order.
    ends: Vec<(usize, Ends)>,
}

fn overflow() -> anyhow::Error {
    anyhow::anyhow!("the merged counts exceed 2^64; merge fewer files at once")
}

impl Default for Table {
    fn default() -> Self {
        Table {
            chars: Vec::new(),
            ids: Ids::default(),
            more: BTreeSet::new(),
            counts: vec![0; MAX_VOCAB * MAX_VOCAB],
            ends: Vec::new(),
        }
    }
}

impl Table {
    /// The id of `c`, new if it is new; `None` past [`MAX_VOCAB`] characters, where it is only
    /// recorded.
    pub fn id(&mut self, c: char) -> Option<usize> {
        if let Some(i) = self.ids.get(c) {
            return Some(i);
        }
        if self.more.contains(&c) {
            return None;
        }
        match self.ids.insert(c, self.chars.len()) {
            Ok(i) => {
                self.chars.push(c);
                Some(i)
            }
            Err(_) => {
                self.more.insert(c);
                None
            }
        }
    }

    /// Distinct characters seen, [`MAX_VOCAB`] or fewer for a merge that can finish.
    pub fn distinct(&self) -> usize {
        self.chars.len() + self.more.len()
    }

    /// Adds a part: `pairs` (current, next, count) over ids into `vocab`, and the part's ends,
    /// at place `rank` in the merge. Only the characters of a pair or an end are recorded.
    pub fn add(
        &mut self,
        rank: usize,
        vocab: &[char],
        pairs: impl IntoIterator<Item = (usize, usize, u64)>,
        ends: Ends,
    ) -> Result<()> {
        self.id(ends.first);
        self.id(ends.last);
        self.ends.push((rank, ends));
        // Ids into `vocab` → the table's, looked up once each.
        let mut ours: Vec<Option<Option<usize>>> = vec![None; vocab.len()];
        for (a, b, n) in pairs {
            if n == 0 {
                continue;
            }
            let mut id = |k: usize| *ours[k].get_or_insert_with(|| self.id(vocab[k]));
            let (Some(i), Some(j)) = (id(a), id(b)) else {
                continue;
            };
            let cell = &mut self.counts[i * MAX_VOCAB + j];
            *cell = cell.checked_add(n).ok_or_else(overflow)?;
        }
        Ok(())
    }

    /// This table with `other`'s counts and ends added.
    pub fn absorb(mut self, other: Table) -> Result<Table> {
        let n = other.chars.len();
        let pairs = (0..n * n).map(|k| (k / n, k % n, other.counts[(k / n) * MAX_VOCAB + k % n]));
        let mut ends = other.ends.into_iter();
        if let Some((rank, e)) = ends.next() {
            self.add(rank, &other.chars, pairs, e)?;
        }
        for c in other.chars.into_iter().chain(other.more) {
            self.id(c);
        }
        self.ends.extend(ends);
        Ok(self)
    }

    /// The merged counts: ids in code-point order, and for `joined` parts (pieces of one text)
    /// the pair across each boundary added, the pieces one document.
    pub fn finish(mut self, joined: bool) -> Result<Tally> {
        if self.ends.is_empty() {
            bail!("nothing to merge; give at least one count file");
        }
        if self.distinct() > MAX_VOCAB {
            bail!(
                "the {} parts use {} distinct characters together, more than the {MAX_VOCAB} a zl model supports; merge fewer, or use a smaller alphabet (for example, lower-case the text)",
                self.ends.len(),
                self.distinct()
            );
        }
        self.ends.sort_unstable_by_key(|&(rank, _)| rank);
        let mut vocab = self.chars.clone();
        vocab.sort_unstable();
        let sorted = Ids::<MAX_VOCAB>::new(&vocab).expect("distinct characters within capacity");
        let id = |c: char| sorted.get(c).expect("in the vocab");
        let v = vocab.len();
        let to: Vec<usize> = self.chars.iter().map(|&c| id(c)).collect();
        let mut counts = vec![0u64; v * v];
        for a in 0..v {
            for b in 0..v {
                counts[to[a] * v + to[b]] = self.counts[a * MAX_VOCAB + b];
            }
        }
        let (mut chars, mut documents) = (0u64, 0u64);
        for (n, (_, e)) in self.ends.iter().enumerate() {
            chars = chars.checked_add(e.chars).ok_or_else(overflow)?;
            documents = documents.checked_add(e.documents).ok_or_else(overflow)?;
            if joined && n > 0 {
                let pair = &mut counts[id(self.ends[n - 1].1.last) * v + id(e.first)];
                *pair = pair.checked_add(1).ok_or_else(overflow)?;
                documents -= 1;
            }
        }
        let (first, last) = (self.ends[0].1.first, self.ends[self.ends.len() - 1].1.last);
        Ok(Tally {
            vocab,
            counts,
            chars,
            documents,
            first,
            last,
        })
    }
}
