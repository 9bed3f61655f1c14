//! The one merge of bigram parts: chunks of a text counted in parallel, count files, and texts
//! counted one by one all become one table here. The pair across each boundary (the last token
//! of one part and the first of the next) is added for parts of one text. Parts of characters
//! are unioned by character; parts of a tokenizer's tokens must share the tokenizer.

use std::{
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
};

use anyhow::{bail, Result};

use super::{
    corpus::Tally,
    pairs::{Pairs, DENSE_MAX},
    vocab::Vocab,
};

/// What a merge keeps of each part besides its counts: its first and last tokens (ids into the
/// part's vocabulary when added, the table's inside it), its length and documents.
#[derive(Clone, Copy, Debug)]
pub struct Ends {
    pub first: usize,
    pub last: usize,
    pub chars: u64,
    pub documents: u64,
}

/// The tokens a table has ids for.
#[derive(Debug)]
enum Kind {
    /// Characters, ids in order of first appearance.
    Chars {
        chars: Vec<char>,
        ids: HashMap<char, u32>,
    },
    /// A tokenizer's tokens, ids its own.
    Tokens(Vocab),
}

/// Counts by pair: a dense table while every id is below [`DENSE_MAX`] (the common case, and the
/// fast one for many small files), a map from the first id past it.
#[derive(Debug)]
enum Cells {
    Dense(Vec<u64>),
    Sparse(HashMap<u64, u64, BuildHasherDefault<Fx>>),
}

/// Fx hashing (rustc's) of the u64 pair keys: one multiply, no attacker to defend against here.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl Cells {
    fn add(&mut self, i: u32, j: u32, n: u64) -> Result<()> {
        let d = DENSE_MAX as u32;
        if let Cells::Dense(t) = self {
            if i < d && j < d {
                let cell = &mut t[(i * d + j) as usize];
                *cell = cell.checked_add(n).ok_or_else(overflow)?;
                return Ok(());
            }
            let sparse = t
                .iter()
                .enumerate()
                .filter(|e| *e.1 > 0)
                .map(|(k, &n)| ((((k / DENSE_MAX) as u64) << 32) | (k % DENSE_MAX) as u64, n))
                .collect();
            *self = Cells::Sparse(sparse);
        }
        let Cells::Sparse(m) = self else {
            unreachable!("made sparse above")
        };
        let cell = m.entry(((i as u64) << 32) | j as u64).or_insert(0);
        *cell = cell.checked_add(n).ok_or_else(overflow)?;
        Ok(())
    }

    fn iter(&self) -> Box<dyn Iterator<Item = (u32, u32, u64)> + '_> {
        match self {
            Cells::Dense(t) => Box::new(
                t.iter()
                    .enumerate()
                    .filter(|e| *e.1 > 0)
                    .map(|(k, &n)| ((k / DENSE_MAX) as u32, (k % DENSE_MAX) as u32, n)),
            ),
            Cells::Sparse(m) => Box::new(m.iter().map(|(&k, &n)| ((k >> 32) as u32, k as u32, n))),
        }
    }
}

/// Counts over the tokens seen so far: parts are added into it, and tables into each other;
/// [`Table::finish`] re-indexes characters in code-point order once.
#[derive(Debug)]
pub struct Table {
    kind: Kind,
    cells: Cells,
    /// Each part's ends (table ids), with its place in the merge's order.
    ends: Vec<(usize, Ends)>,
}

fn overflow() -> anyhow::Error {
    anyhow::anyhow!("the merged counts exceed 2^64; merge fewer files at once")
}

impl Default for Table {
    fn default() -> Self {
        Table {
            kind: Kind::Chars {
                chars: vec![],
                ids: HashMap::new(),
            },
            cells: Cells::Dense(vec![0; DENSE_MAX * DENSE_MAX]),
            ends: Vec::new(),
        }
    }
}

impl Table {
    /// Whether no part has been added.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The table's id of character `c`, new if it is new.
    fn char_id(&mut self, c: char) -> Result<u32> {
        let Kind::Chars { chars, ids } = &mut self.kind else {
            bail!("a part counted by characters cannot be merged with parts counted by a tokenizer; count them all the same way");
        };
        let next = chars.len() as u32;
        let id = *ids.entry(c).or_insert(next);
        if id == next {
            chars.push(c);
        }
        Ok(id)
    }

    /// Adds a part of characters: `pairs` (current, next, count) over ids into `chars`, and the
    /// part's ends (ids into `chars`), at place `rank` in the merge. Only the characters of a
    /// pair or an end are recorded.
    pub fn add_chars(
        &mut self,
        rank: usize,
        chars: &[char],
        pairs: impl IntoIterator<Item = (usize, usize, u64)>,
        ends: Ends,
    ) -> Result<()> {
        let mut ours: Vec<Option<u32>> = vec![None; chars.len()];
        let mut id = |t: &mut Table, k: usize| -> Result<u32> {
            if let Some(i) = ours[k] {
                return Ok(i);
            }
            let i = t.char_id(chars[k])?;
            ours[k] = Some(i);
            Ok(i)
        };
        let (first, last) = (id(self, ends.first)?, id(self, ends.last)?);
        self.ends.push((
            rank,
            Ends {
                first: first as usize,
                last: last as usize,
                ..ends
            },
        ));
        for (a, b, n) in pairs {
            if n == 0 {
                continue;
            }
            let (i, j) = (id(self, a)?, id(self, b)?);
            self.cells.add(i, j, n)?;
        }
        Ok(())
    }

    /// Adds a part over `vocab` (all of its characters recorded, or its tokenizer's tokens).
    pub fn add(
        &mut self,
        rank: usize,
        vocab: &Vocab,
        pairs: impl IntoIterator<Item = (usize, usize, u64)>,
        ends: Ends,
    ) -> Result<()> {
        if let Some(chars) = vocab.as_chars() {
            for &c in &chars {
                self.char_id(c)?;
            }
            return self.add_chars(rank, &chars, pairs, ends);
        }
        match &self.kind {
            Kind::Chars { chars, .. } if chars.is_empty() => {
                self.kind = Kind::Tokens(vocab.clone());
            }
            Kind::Chars { .. } => bail!(
                "a part counted by a tokenizer cannot be merged with parts counted by characters; count them all the same way"
            ),
            Kind::Tokens(v) => v.same_tokenizer(vocab, "this part", "the parts before it")?,
        }
        self.ends.push((rank, ends));
        for (a, b, n) in pairs {
            if n > 0 {
                self.cells.add(a as u32, b as u32, n)?;
            }
        }
        Ok(())
    }

    /// This table with `other`'s counts and ends added.
    pub fn absorb(mut self, other: Table) -> Result<Table> {
        let pairs = other
            .cells
            .iter()
            .map(|(a, b, n)| (a as usize, b as usize, n));
        let mut ends = other.ends.into_iter();
        let Some((rank, first)) = ends.next() else {
            return Ok(self);
        };
        match &other.kind {
            Kind::Chars { chars, .. } => {
                for &c in chars {
                    self.char_id(c)?;
                }
                self.add_chars(rank, chars, pairs, first)?;
                for (rank, e) in ends {
                    let (f, l) = (self.char_id(chars[e.first])?, self.char_id(chars[e.last])?);
                    let e = Ends {
                        first: f as usize,
                        last: l as usize,
                        ..e
                    };
                    self.ends.push((rank, e));
                }
            }
            Kind::Tokens(vocab) => {
                self.add(rank, vocab, pairs, first)?;
                self.ends.extend(ends);
            }
        }
        Ok(self)
    }

    /// The merged counts: characters re-indexed in code-point order (a tokenizer's ids kept),
    /// and for `joined` parts (pieces of one text) the pair across each boundary added, the
    /// pieces one document.
    pub fn finish(mut self, joined: bool) -> Result<Tally> {
        if self.ends.is_empty() {
            bail!("nothing to merge; give at least one count file");
        }
        self.ends.sort_unstable_by_key(|&(rank, _)| rank);
        let (vocab, to): (Vocab, Vec<u32>) = match self.kind {
            Kind::Chars { chars, .. } => {
                let mut sorted = chars.clone();
                sorted.sort_unstable();
                let to = chars
                    .iter()
                    .map(|c| sorted.binary_search(c).expect("in the vocab") as u32)
                    .collect();
                (Vocab::chars(&sorted), to)
            }
            Kind::Tokens(v) => {
                let to = (0..v.len() as u32).collect();
                (v, to)
            }
        };
        let mut triples: Vec<(u32, u32, u64)> = self
            .cells
            .iter()
            .map(|(a, b, n)| (to[a as usize], to[b as usize], n))
            .collect();
        let (mut chars, mut documents) = (0u64, 0u64);
        for (n, (_, e)) in self.ends.iter().enumerate() {
            chars = chars.checked_add(e.chars).ok_or_else(overflow)?;
            documents = documents.checked_add(e.documents).ok_or_else(overflow)?;
            if joined && n > 0 {
                let before = self.ends[n - 1].1.last;
                triples.push((to[before], to[e.first], 1));
                documents -= 1;
            }
        }
        let pairs = Pairs::from_triples(vocab.len(), triples).map_err(|_| overflow())?;
        let (first, last) = (self.ends[0].1.first, self.ends[self.ends.len() - 1].1.last);
        Ok(Tally {
            vocab,
            pairs,
            chars,
            documents,
            first: to[first] as usize,
            last: to[last] as usize,
        })
    }
}
