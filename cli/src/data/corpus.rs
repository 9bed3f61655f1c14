//! Training text: the seed notebook's sentence, or a UTF-8 file of any size.
//!
//! The model sees a text only through its bigram counts, so a file is read once, memory-mapped,
//! and counted in parallel: each core validates and counts its own chunk, and the pairs that
//! straddle chunk boundaries are added when the chunks are merged. Token ids follow nanoGPT's
//! `sorted(set(text))` (code-point order), so a person's PyTorch code assigns the same ids; the
//! seed text keeps the notebook's printed order.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use zl_core::{Bigrams, Ids, Vocab, SEED_TEXT, SEED_V};

use super::merge::{Ends, Table};

/// The largest vocabulary a model can have (token ids 0..=255): zl-core's capacity.
pub use zl_core::capacity::MAX_VOCAB;

/// A text's vocabulary and bigram counts, all a zero-layer model can learn from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    /// Where the text came from, for messages.
    pub source: Source,
    /// Characters in token-id order.
    pub vocab: Vec<char>,
    /// `counts[i * V + j]`: times token j follows token i.
    pub counts: Vec<u64>,
    /// Characters in the text.
    pub chars: u64,
    /// Documents the characters fall into (1 for one text): no pair spans two documents, so
    /// `predictions() == chars - documents`.
    pub documents: u64,
    /// The first character of the text and the last (of its first and last document).
    pub first: char,
    pub last: char,
    /// Seconds spent reading, validating and counting (files only).
    pub count_seconds: Option<f64>,
}

/// Where a corpus came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The seed notebook's sentence.
    Seed,
    /// A file given with --corpus.
    File(PathBuf),
    /// Standard input (`--corpus -`), kept: it cannot be read again.
    Stdin(std::sync::Arc<str>),
    /// A shuffle of another corpus's characters (a control: its bigrams destroyed).
    Shuffled { of: String, seed: u64 },
    /// A count file given with --counts (`zl count`): the counts without the text.
    Counts(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Seed => f.write_str("the seed notebook's text"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Stdin(_) => f.write_str("standard input"),
            Source::Shuffled { of, seed } => write!(f, "a shuffle of {of} (seed {seed})"),
            Source::Counts(p) => write!(f, "the counts in {}", p.display()),
        }
    }
}

impl Corpus {
    /// The seed notebook's text with its printed vocabulary order, counted by zl-core.
    pub fn seed() -> Self {
        let vocab = Vocab::seed();
        let b = Bigrams::<SEED_V>::from_text(&vocab, SEED_TEXT).expect("the seed text counts");
        let v = vocab.len();
        // Whole numbers below 2^24, exact in f32.
        let counts = (0..v * v)
            .map(|n| b.counts[(n / v, n % v)] as u64)
            .collect();
        let mut text = SEED_TEXT.chars();
        Corpus {
            source: Source::Seed,
            vocab: vocab.chars().to_vec(),
            counts,
            chars: SEED_TEXT.chars().count() as u64,
            documents: 1,
            first: text.next().expect("the seed text has characters"),
            last: text.next_back().expect("the seed text has characters"),
            count_seconds: None,
        }
    }

    /// The corpus named by `--corpus`, or the seed text.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        match path {
            Some(p) => Corpus::from_file(p),
            None => Ok(Corpus::seed()),
        }
    }

    /// The corpus named by `--corpus` or by `--counts` (a `zl count` file; clap keeps the two
    /// apart), or the seed text.
    pub fn load_either(corpus: Option<&Path>, counts: Option<&Path>) -> Result<Self> {
        match counts {
            Some(p) => super::counts::read(p)
                .and_then(|(c, _)| c.trainable())
                .with_context(|| format!("--counts {}", p.display())),
            None => Corpus::load(corpus),
        }
    }

    /// A corpus from counts alone (a count file, a merge): the one constructor that checks that
    /// they describe a text. `counts` is V×V row-major over `vocab` (ids in its order); every
    /// check names what is wrong in one line, for the caller to prefix with the file.
    pub fn from_counts(
        source: Source,
        vocab: Vec<char>,
        counts: Vec<u64>,
        chars: u64,
        documents: u64,
        (first, last): (char, char),
    ) -> Result<Self> {
        let v = vocab.len();
        if !(1..=MAX_VOCAB).contains(&v) {
            bail!("a vocabulary of {v} characters; zl counts 1 to {MAX_VOCAB}");
        }
        let ids = Ids::<MAX_VOCAB>::new(&vocab)?;
        if counts.len() != v * v {
            bail!(
                "{} counts for a vocabulary of {v}; expected {v}×{v} = {}",
                counts.len(),
                v * v
            );
        }
        for (what, c) in [("first", first), ("last", last)] {
            if ids.get(c).is_none() {
                bail!("the {what} character {c:?} is not in the vocabulary");
            }
        }
        let pairs = counts
            .iter()
            .try_fold(0u64, |a, &n| a.checked_add(n))
            .context("the counts add up to more than 2^64; they cannot be a text's")?;
        if documents == 0 || documents > chars {
            bail!("{chars} characters in {documents} documents; every document has at least one character");
        }
        if pairs != chars - documents {
            bail!(
                "the counts hold {pairs} pairs, but {chars} characters in {documents} document(s) have {}; the totals are inconsistent",
                chars - documents
            );
        }
        if documents == 1 {
            // One text: every character is entered as often as it is left, except that the
            // text is left at its last character and entered at its first.
            let id = |c: char| ids.get(c).expect("checked above");
            let (f, l) = (id(first), id(last));
            // Row and column sums in one pass in memory order (they fit in u64: their total
            // does).
            let (mut outs, mut intos) = (vec![0u64; v], vec![0u64; v]);
            for (row, out) in counts.chunks_exact(v).zip(&mut outs) {
                *out = row.iter().sum();
                for (into, &n) in intos.iter_mut().zip(row) {
                    *into += n;
                }
            }
            for k in 0..v {
                let (out, into) = (outs[k], intos[k]);
                if out + (k == l) as u64 != into + (k == f) as u64 {
                    bail!(
                        "{:?} follows other characters {into} times and is followed {out} times, which no text from {first:?} to {last:?} does; the counts are inconsistent",
                        vocab[k]
                    );
                }
            }
        }
        Ok(Corpus {
            source,
            vocab,
            counts,
            chars,
            documents,
            first,
            last,
            count_seconds: None,
        })
    }

    /// This corpus, if a model can train on it: at least 2 characters in one document and 2
    /// distinct ones (the limits `--corpus` checks).
    pub fn trainable(self) -> Result<Self> {
        if self.predictions() == 0 {
            if self.documents == 1 {
                bail!("the text has {} character(s); give at least 2 so that there is a next character to predict", self.chars);
            }
            bail!("its {} documents have one character each, so no next character to predict; give documents of at least 2", self.documents);
        }
        if self.vocab.len() < 2 {
            bail!("the text uses only one distinct character; give a text with at least 2");
        }
        Ok(self)
    }

    /// Why this corpus has no text to read back (a count file's or a shuffle's), if so.
    pub fn without_text(&self) -> Option<String> {
        match &self.source {
            Source::Seed | Source::File(_) | Source::Stdin(_) => None,
            Source::Shuffled { .. } => Some(format!(
                "{}: a shuffled control keeps only its counts, not its text",
                self.source
            )),
            Source::Counts(p) => Some(format!(
                "{} holds the bigram counts, not the text",
                p.display()
            )),
        }
    }

    /// Reads, validates and counts a UTF-8 file, or standard input for `-`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let start = Instant::now();
        let label = format!("--corpus {}", path.display());
        let bytes = read_text(path, &label, "--corpus")?;
        let t = tally(&bytes, &label)?;
        let source = match bytes {
            Text::Read(b) if is_stdin(path) => {
                Source::Stdin(String::from_utf8(b).expect("tally validated it").into())
            }
            _ => Source::File(path.to_path_buf()),
        };
        let mut c = t
            .corpus(source)
            .and_then(Corpus::trainable)
            .with_context(|| label.clone())?;
        c.count_seconds = Some(start.elapsed().as_secs_f64());
        Ok(c)
    }

    /// Next-token predictions (characters − documents).
    pub fn predictions(&self) -> u64 {
        self.counts.iter().sum()
    }
    /// The same characters in a random order (Fisher–Yates, from SplitMix64 seeded with
    /// `seed`): the same vocabulary and unigram counts, the bigrams destroyed. Built from the
    /// counts alone (each character's count is its count as a next token, plus one for the
    /// first character), so it works for a text of any length.
    pub fn shuffled(&self, seed: u64) -> Result<Corpus> {
        let v = self.vocab.len();
        let text = self.shuffled_text(seed)?;
        let mut counts = vec![0u64; v * v];
        for w in text.windows(2) {
            counts[w[0] as usize * v + w[1] as usize] += 1;
        }
        Ok(Corpus {
            source: Source::Shuffled {
                of: self.source.to_string(),
                seed,
            },
            vocab: self.vocab.clone(),
            counts,
            chars: text.len() as u64,
            documents: 1,
            first: self.vocab[text[0] as usize],
            last: self.vocab[*text.last().expect("a text") as usize],
            count_seconds: None,
        })
    }

    /// [`Corpus::shuffled`]'s text, as token ids.
    fn shuffled_text(&self, seed: u64) -> Result<Vec<u8>> {
        let v = self.vocab.len();
        let first = Ids::<MAX_VOCAB>::new(&self.vocab)?
            .get(self.first)
            .context("the first character is not in the vocabulary")?;
        let mut text: Vec<u8> = Vec::with_capacity(self.chars as usize);
        for j in 0..v {
            let n: u64 = (0..v).map(|i| self.counts[i * v + j]).sum::<u64>() + (j == first) as u64;
            text.extend(std::iter::repeat_n(j as u8, n as usize));
        }
        let mut state = seed;
        let mut next = || {
            // SplitMix64 (Steele, Lea and Flood 2014), as java.util.SplittableRandom.
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        for k in (1..text.len()).rev() {
            // Lemire's multiply-shift: an index in 0..=k (bias below 2^-40 for these lengths).
            let r = ((next() as u128 * (k as u128 + 1)) >> 64) as usize;
            text.swap(k, r);
        }
        Ok(text)
    }

    /// H(next | current), the bigram entropy floor (zl-core's).
    pub fn bigram_entropy(&self) -> f64 {
        let v = self.vocab.len();
        zl_core::bigram::conditional_entropy(v, |i, j| self.counts[i * v + j] as f64)
    }

    /// The text's first `limit` characters as token ids: all of the seed text, or a prefix of a
    /// file (read again: the counts are all that was kept of it).
    pub fn tokens(&self, limit: usize) -> Result<Vec<usize>> {
        let text = match &self.source {
            Source::Seed => SEED_TEXT.chars().take(limit).collect::<String>(),
            Source::Stdin(text) => text.chars().take(limit).collect(),
            Source::Shuffled { .. } | Source::Counts(_) => {
                bail!("{}", self.without_text().expect("no text"))
            }
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
        let ids = Ids::<MAX_VOCAB>::new(&self.vocab)?;
        text.chars()
            .map(|c| {
                ids.get(c).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--corpus {}: the file changed since it was counted ({c:?} is new)",
                        self.source
                    )
                })
            })
            .collect()
    }
}

/// Local token ids of one chunk: ASCII bytes are their own ids, other characters get ids from
/// 128 on, in order of appearance, up to [`MAX_VOCAB`] of them (a text with more cannot be
/// trained on; the rest are only recorded, for the message). Pairs are counted in a dense table.
const DENSE: usize = 128 + MAX_VOCAB;
/// No character yet.
const NONE: u32 = u32::MAX;
/// A character past the local ids.
const OVER: u32 = u32::MAX - 1;

struct ChunkCounts {
    /// Non-ASCII characters by local id − 128.
    others: Vec<char>,
    ids: Ids<MAX_VOCAB>,
    /// Non-ASCII characters past [`MAX_VOCAB`] of them.
    more: BTreeSet<char>,
    /// `dense[a * DENSE + b]` for local ids a, b.
    dense: Vec<u32>,
    first: Option<char>,
    last: Option<char>,
    chars: u64,
}

/// ASCII pairs are counted in four 128×128 tables, taken in turn by position, so that a run of
/// one repeated pair ("    ", "----") updates four counters in turn instead of waiting on one.
const ASCII_PAIRS: usize = 128 * 128;
type AsciiTables = [[u32; ASCII_PAIRS]; 4];

/// Counts the ASCII pairs of `bytes[i..]` from previous byte `p` (< 128) until the first
/// non-ASCII byte; returns the new position and the last byte. 16 bytes at a time while a whole
/// block is ASCII: one test per block, no bounds checks (indices are masked below 2^14).
fn count_ascii_run(
    bytes: &[u8],
    mut i: usize,
    mut p: usize,
    t: &mut AsciiTables,
) -> (usize, usize) {
    while let Some(block) = bytes.get(i..i + 16) {
        let block: [u8; 16] = block.try_into().expect("16 bytes");
        if u128::from_le_bytes(block) & 0x8080_8080_8080_8080_8080_8080_8080_8080 != 0 {
            break;
        }
        for k in (0..16).step_by(4) {
            let b = [
                block[k] as usize & 127,
                block[k + 1] as usize & 127,
                block[k + 2] as usize & 127,
                block[k + 3] as usize & 127,
            ];
            t[0][((p & 127) << 7) | b[0]] += 1;
            t[1][(b[0] << 7) | b[1]] += 1;
            t[2][(b[1] << 7) | b[2]] += 1;
            t[3][(b[2] << 7) | b[3]] += 1;
            p = b[3];
        }
        i += 16;
    }
    while let Some(&b) = bytes.get(i) {
        if b >= 0x80 {
            break;
        }
        t[0][((p & 127) << 7) | b as usize] += 1;
        p = b as usize;
        i += 1;
    }
    (i, p)
}

/// Decodes the non-ASCII character at `bytes[i]`, validating it (overlong forms, surrogates and
/// truncated sequences included, by `str::from_utf8` on its few bytes); `None` if it is invalid.
fn decode_at(bytes: &[u8], i: usize) -> Option<char> {
    let len = match bytes[i] {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let s = std::str::from_utf8(bytes.get(i..i + len)?).ok()?;
    s.chars().next()
}

/// Validates and counts one chunk, which starts at a character start. ASCII bytes are valid by
/// themselves, so validation costs nothing on the fast path: only the non-ASCII characters are
/// decoded and checked. Returns the offset (within the chunk) of the first invalid byte.
fn count_chunk(bytes: &[u8], progress: &AtomicU64) -> Result<ChunkCounts, usize> {
    let mut c = ChunkCounts {
        others: Vec::new(),
        ids: Ids::default(),
        more: BTreeSet::new(),
        dense: vec![0u32; DENSE * DENSE],
        first: None,
        last: None,
        chars: 0,
    };
    let mut t: Box<AsciiTables> = vec![[0u32; ASCII_PAIRS]; 4]
        .into_boxed_slice()
        .try_into()
        .expect("4 tables");
    // The last non-ASCII character and its id: runs such as "━━━━" skip the lookup.
    let mut cached: (char, u32) = ('\0', NONE);
    let mut prev = NONE;
    let mut i = 0;
    let mut reported = 0;
    while i < bytes.len() {
        // ASCII run after an ASCII character: the hot loop for most text.
        if prev < 128 {
            let start = i;
            let (end, last) = count_ascii_run(bytes, i, prev as usize, &mut t);
            if end > start {
                c.chars += (end - start) as u64;
                prev = last as u32;
            }
            i = end;
            if i >= bytes.len() {
                break;
            }
        }
        // One character outside the fast path (the first, a non-ASCII one, or one after it).
        let (ch, id) = if bytes[i] < 0x80 {
            (bytes[i] as char, bytes[i] as u32)
        } else {
            let Some(ch) = decode_at(bytes, i) else {
                return Err(i);
            };
            if cached.0 != ch || cached.1 == NONE {
                let id = match c.ids.insert(ch, c.others.len()) {
                    Ok(k) if k == c.others.len() => {
                        c.others.push(ch);
                        128 + k as u32
                    }
                    Ok(k) => 128 + k as u32,
                    Err(_) => {
                        c.more.insert(ch);
                        OVER
                    }
                };
                cached = (ch, id);
            }
            (ch, cached.1)
        };
        if prev == NONE {
            c.first = Some(ch);
        } else if prev != OVER && id != OVER {
            c.dense[prev as usize * DENSE + id as usize] += 1;
        }
        prev = id;
        c.chars += 1;
        i += ch.len_utf8();
        if i - reported > 1 << 24 {
            progress.fetch_add((i - reported) as u64, Ordering::Relaxed);
            reported = i;
        }
    }
    progress.fetch_add((bytes.len() - reported) as u64, Ordering::Relaxed);
    for a in 0..128 {
        for b in 0..128 {
            c.dense[a * DENSE + b] += t.iter().map(|t| t[a * 128 + b]).sum::<u32>();
        }
    }
    // The last character: the chunk is valid UTF-8 here, and ends at a character's end.
    let start = (0..bytes.len()).rev().find(|&k| bytes[k] & 0xC0 != 0x80);
    c.last = start.and_then(|k| decode_at(bytes, k).or(Some(bytes[k] as char)));
    Ok(c)
}

/// Splits `bytes` into about `n` chunks at UTF-8 character starts (never before a continuation
/// byte), so that each chunk of a valid text is valid on its own and an invalid byte is found
/// by the chunk that holds it.
fn split(bytes: &[u8], n: usize) -> Vec<(usize, usize)> {
    let mut cuts = vec![0];
    for k in 1..n {
        let mut at = bytes.len() * k / n;
        while at < bytes.len() && (bytes[at] & 0xC0) == 0x80 {
            at += 1;
        }
        if at > *cuts.last().unwrap() && at < bytes.len() {
            cuts.push(at);
        }
    }
    cuts.push(bytes.len());
    cuts.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Counts before zl's limits for training: the vocabulary in code-point order, the V×V
/// counts, the length in characters and documents, and the first and last characters.
pub struct Tally {
    pub vocab: Vec<char>,
    pub counts: Vec<u64>,
    pub chars: u64,
    pub documents: u64,
    pub first: char,
    pub last: char,
}

impl Tally {
    /// The counts as a corpus ([`Corpus::from_counts`] checks them).
    pub fn corpus(self, source: Source) -> Result<Corpus> {
        let ends = (self.first, self.last);
        Corpus::from_counts(
            source,
            self.vocab,
            self.counts,
            self.chars,
            self.documents,
            ends,
        )
    }
}

/// Validates and counts a whole text in parallel: (vocab in code-point order, counts, chars).
pub fn count(bytes: &[u8], name: &str) -> Result<(Vec<char>, Vec<u64>, u64)> {
    let label = format!("--corpus {name}");
    let c = tally(bytes, &label)?
        .corpus(Source::File(name.into()))
        .and_then(Corpus::trainable)
        .with_context(|| label.clone())?;
    Ok((c.vocab, c.counts, c.chars))
}

/// Whether `path` names standard input (`-`, as Unix tools read it).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// A text's bytes: a mapped file, or what a pipe or standard input gave.
pub enum Text {
    Map(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for Text {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Text::Map(m) => m,
            Text::Read(v) => v,
        }
    }
}

/// Opens and maps (or, for standard input and pipes, reads) a text file of at least one byte
/// that is not compressed; `label` names it in every message ("--corpus FILE"), and `flag` is
/// how to give it on standard input instead ("--corpus", or "count" for `zl count`'s files).
pub fn read_text(path: &Path, label: &str, flag: &str) -> Result<Text> {
    let read = |r: &mut dyn std::io::Read| -> Result<Text> {
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes)
            .with_context(|| format!("{label}: cannot read it"))?;
        Ok(Text::Read(bytes))
    };
    let text = if is_stdin(path) {
        read(&mut std::io::stdin().lock())?
    } else {
        let file = std::fs::File::open(path).with_context(|| format!("{label}: cannot open it"))?;
        let meta = file.metadata().with_context(|| label.to_string())?;
        if meta.is_dir() {
            bail!("{label}: this is a folder; give a UTF-8 text file");
        }
        if meta.is_file() && meta.len() > 0 {
            // SAFETY: the map is read-only and lives as long as the Text; zl does not write the
            // file, and a concurrent writer could at worst change the counts, not the memory
            // safety of this process on Linux (pages stay mapped until the Mmap is dropped).
            let map = unsafe { memmap2::Mmap::map(&file) }
                .with_context(|| format!("{label}: cannot map it"))?;
            Text::Map(map)
        } else {
            // A pipe, a process substitution (`--corpus <(zcat text.gz)`), a device, or a file
            // that is empty: it cannot be mapped, so it is read into memory.
            read(&mut &file)?
        }
    };
    if text.is_empty() {
        bail!("{label}: it is empty; give a text of at least 2 characters");
    }
    if let Some((format, cat)) = compressed(&text) {
        let file = match is_stdin(path) {
            true => "FILE".to_string(),
            false => path.display().to_string(),
        };
        let pipe = if flag == "count" {
            format!("{cat} {file} | zl count - --out OUT")
        } else {
            format!("{cat} {file} | zl … {flag} -")
        };
        bail!("{label}: this is {format}-compressed; decompress it first, e.g. {pipe}");
    }
    Ok(text)
}

/// The compression format whose magic bytes `bytes` starts with, and the tool that decompresses
/// it to standard output.
fn compressed(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    const MAGIC: [(&[u8], &str, &str); 4] = [
        (b"\x1f\x8b", "gzip", "zcat"),
        (b"\x28\xb5\x2f\xfd", "zstd", "zstdcat"),
        (b"BZh", "bzip2", "bzcat"),
        (b"\xfd7zXZ\x00", "xz", "xzcat"),
    ];
    MAGIC
        .iter()
        .find(|(m, ..)| bytes.starts_with(m))
        .map(|&(_, f, c)| (f, c))
}

/// What is wrong at `offset`, the first byte of `bytes` that is not UTF-8, with the fix.
fn not_utf8(bytes: &[u8], offset: usize) -> String {
    const CUT: &str = "split by bytes? split on lines (split -n l/N), or count the pieces in order with zl count --concatenate";
    let cont = |b: u8| b & 0xC0 == 0x80;
    if offset == 0 && cont(bytes[0]) {
        return format!(
            "it starts inside a UTF-8 character (byte 0x{:02x} continues one that is not in the file); {CUT}",
            bytes[0]
        );
    }
    match std::str::from_utf8(&bytes[offset..]) {
        Err(e) if e.valid_up_to() == 0 && e.error_len().is_none() => format!(
            "it ends inside a UTF-8 character (its last {} byte(s) begin one that is not in the file); {CUT}",
            bytes.len() - offset
        ),
        _ => format!(
            "not valid UTF-8 at byte offset {offset} (byte 0x{:02x}); save the file as UTF-8",
            bytes[offset]
        ),
    }
}

/// Validates and counts a non-empty text in parallel, with at most [`MAX_VOCAB`] distinct
/// characters.
pub fn tally(bytes: &[u8], label: &str) -> Result<Tally> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // At least 4 MiB a chunk, and at most 1 GiB so that u32 counts cannot overflow.
    let n = (bytes.len() / (4 << 20))
        .clamp(1, threads)
        .max(bytes.len().div_ceil(1 << 30));
    let chunks = split(bytes, n);
    let progress = AtomicU64::new(0);
    let bar = progress_bar(bytes.len() as u64);
    let results: Vec<Result<ChunkCounts, usize>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|&(a, b)| {
                let progress = &progress;
                scope.spawn(move || count_chunk(&bytes[a..b], progress).map_err(|at| a + at))
            })
            .collect();
        // Only a visible bar is worth polling for; small texts just join.
        while !bar.is_hidden() && !handles.iter().all(|h| h.is_finished()) {
            bar.set_position(progress.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(50));
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("counting thread"))
            .collect()
    });
    bar.finish_and_clear();
    merge_chunks(results, bytes, label)
}

/// The chunks' counts as one text's, the pair across each boundary added ([`Table`]), or the
/// first invalid byte's message.
fn merge_chunks(
    results: Vec<Result<ChunkCounts, usize>>,
    bytes: &[u8],
    label: &str,
) -> Result<Tally> {
    let mut table = Table::default();
    for (rank, r) in results.into_iter().enumerate() {
        let c = r.map_err(|offset| anyhow::anyhow!("{label}: {}", not_utf8(bytes, offset)))?;
        let (Some(first), Some(last)) = (c.first, c.last) else {
            continue;
        };
        let vocab: Vec<char> = (0..128u8).map(char::from).chain(c.others).collect();
        let n = vocab.len();
        let pairs = (0..n * n).map(|k| (k / n, k % n, c.dense[(k / n) * DENSE + k % n] as u64));
        let ends = Ends {
            first,
            last,
            chars: c.chars,
            documents: 1,
        };
        table.add(rank, &vocab, pairs, ends)?;
        for ch in c.more {
            table.id(ch);
        }
    }
    if table.distinct() == 0 {
        bail!("{label}: the text has no characters; give a text of at least 2");
    }
    if table.distinct() > MAX_VOCAB {
        bail!(
            "{label}: the text has {} distinct characters, more than the {MAX_VOCAB} a zl model supports; use a smaller alphabet (for example, lower-case the text)",
            table.distinct()
        );
    }
    table.finish(true)
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    // Drawn on stderr only when it is a terminal and the count takes a while.
    if len < 64 << 20 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "counting bigrams {bar:40} {bytes}/{total_bytes} {bytes_per_sec}",
        )
        .expect("valid template"),
    );
    bar
}

/// What [`Corpus::restricted_to`] left out: the pairs with a character outside the vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// Next-token predictions (pairs) left out.
    pub pairs: u64,
    /// The text's characters outside the vocabulary, with how many pairs each is in (a pair of
    /// two such characters counts for both), most frequent first.
    pub chars: Vec<(char, u64)>,
}

impl Corpus {
    /// The counts of the pairs whose two characters are both in `vocab`, indexed by `vocab`'s
    /// ids (a model's), and what was left out. The text's own ids do not matter: a model
    /// trained on one text scores another by character.
    pub fn restricted_to(&self, vocab: &[char]) -> (Corpus, Skipped) {
        let (v, w) = (self.vocab.len(), vocab.len());
        let ids = Ids::<MAX_VOCAB>::new(vocab)
            .expect("a model's vocabulary: distinct, at most MAX_VOCAB");
        let ours: Vec<Option<usize>> = self.vocab.iter().map(|&c| ids.get(c)).collect();
        let mut counts = vec![0u64; w * w];
        let mut pairs = 0u64;
        let mut outside = vec![0u64; v];
        for i in 0..v {
            for j in 0..v {
                let n = self.counts[i * v + j];
                match (ours[i], ours[j]) {
                    (Some(a), Some(b)) => counts[a * w + b] += n,
                    _ => {
                        pairs += n;
                        for k in [i, j] {
                            if ours[k].is_none() {
                                outside[k] += n;
                            }
                        }
                        if i == j && ours[i].is_none() {
                            outside[i] -= n;
                        }
                    }
                }
            }
        }
        let mut chars: Vec<(char, u64)> = (0..v)
            .filter(|&k| ours[k].is_none())
            .map(|k| (self.vocab[k], outside[k]))
            .collect();
        chars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        (
            Corpus {
                source: self.source.clone(),
                vocab: vocab.to_vec(),
                counts,
                chars: self.chars,
                documents: self.documents,
                first: self.first,
                last: self.last,
                count_seconds: self.count_seconds,
            },
            Skipped { pairs, chars },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shuffled control has exactly the text's characters (as token ids), in another order;
    /// its counts are that sequence's bigrams; the same seed gives the same shuffle.
    #[test]
    fn a_shuffle_keeps_the_unigrams_and_destroys_the_bigrams() {
        let c = Corpus::seed();
        let v = c.vocab.len();
        let ids = c.tokens(usize::MAX).unwrap();
        let text = c.shuffled_text(0).unwrap();
        let mut a: Vec<usize> = text.iter().map(|&t| t as usize).collect();
        assert_ne!(a, ids, "another order");
        let mut b = ids.clone();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "the same characters");
        let s = c.shuffled(0).unwrap();
        let mut counts = vec![0u64; v * v];
        for w in text.windows(2) {
            counts[w[0] as usize * v + w[1] as usize] += 1;
        }
        assert_eq!(s.counts, counts);
        assert_eq!(s.chars, c.chars);
        assert_ne!(s.counts, c.counts, "the bigrams changed");
        assert_eq!(c.shuffled(0).unwrap().counts, s.counts, "deterministic");
        assert_ne!(c.shuffled(1).unwrap().counts, s.counts, "the seed matters");
    }

    fn naive(text: &str) -> (Vec<char>, Vec<u64>, u64) {
        let mut vocab: Vec<char> = text.chars().collect();
        vocab.sort();
        vocab.dedup();
        let v = vocab.len();
        let mut counts = vec![0; v * v];
        let ids: Vec<usize> = text
            .chars()
            .map(|c| vocab.binary_search(&c).unwrap())
            .collect();
        for w in ids.windows(2) {
            counts[w[0] * v + w[1]] += 1;
        }
        (vocab, counts, ids.len() as u64)
    }

    #[test]
    fn parallel_chunks_count_like_the_naive_loop() {
        let text =
            "Ærøskøbing café — naïve façade; 日本語のテキスト and plain ASCII.\n".repeat(40_000);
        for n in [1, 2, 3, 7, 16] {
            let chunks = split(text.as_bytes(), n);
            let progress = AtomicU64::new(0);
            let parts: Vec<ChunkCounts> = chunks
                .iter()
                .map(|&(a, b)| count_chunk(&text.as_bytes()[a..b], &progress).unwrap())
                .collect();
            let t =
                merge_chunks(parts.into_iter().map(Ok).collect(), text.as_bytes(), "t").unwrap();
            assert_eq!((t.vocab, t.counts, t.chars), naive(&text), "{n} chunks");
            assert_eq!((t.first, t.last), ('Æ', '\n'));
        }
        assert_eq!(count(text.as_bytes(), "t").unwrap(), naive(&text));
    }

    #[test]
    fn invalid_utf8_reports_the_byte_offset() {
        let mut bytes = b"hello world".to_vec();
        bytes.insert(6, 0xff);
        let e = count(&bytes, "x.txt").unwrap_err().to_string();
        assert!(e.contains("byte offset 6") && e.contains("0xff"), "{e}");
    }

    /// 256 distinct characters, none ASCII, fill a chunk's local ids exactly; one more is refused
    /// with the count.
    #[test]
    fn a_full_vocabulary_counts_and_one_more_is_refused() {
        let text: String = (0..2560u32)
            .map(|i| char::from_u32(0x4e00 + (i * 7919) % 256).unwrap())
            .collect();
        assert_eq!(count(text.as_bytes(), "full.txt").unwrap(), naive(&text));
        let e = count(format!("{text}\u{a0}").as_bytes(), "more.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("257 distinct"), "{e}");
    }

    #[test]
    fn too_many_distinct_names_both_numbers() {
        let text: String = (0..300u32)
            .map(|i| char::from_u32(0x4e00 + i).unwrap())
            .collect();
        let e = count(text.as_bytes(), "big.txt").unwrap_err().to_string();
        assert!(e.contains("300 distinct") && e.contains("256"), "{e}");
    }

    #[test]
    fn seed_corpus_matches_the_core() {
        let c = Corpus::seed();
        let b = zl_core::Bigrams::<30>::from_text(&zl_core::Vocab::seed(), SEED_TEXT).unwrap();
        for i in 0..30 {
            for j in 0..30 {
                assert_eq!(c.counts[i * 30 + j] as f32, b.counts[(i, j)]);
            }
        }
        assert_eq!(c.chars, 193);
    }

    #[test]
    fn a_restricted_corpus_keeps_the_pairs_inside_and_counts_the_rest() {
        let (vocab, counts, chars) = naive("abcab?cc?");
        let c = Corpus {
            source: Source::Seed,
            vocab,
            counts,
            chars,
            documents: 1,
            first: 'a',
            last: '?',
            count_seconds: None,
        };
        // The model's ids differ from the text's: c, a, b, and z (not in the text).
        let (r, skipped) = c.restricted_to(&['c', 'a', 'b', 'z']);
        // Pairs: ab bc ca ab b? ?c cc c? -> inside: ab ×2, bc, ca, cc.
        let at = |x: usize, y: usize| r.counts[x * 4 + y];
        assert_eq!((at(1, 2), at(2, 0), at(0, 1), at(0, 0)), (2, 1, 1, 1));
        assert_eq!(r.predictions(), 5);
        assert_eq!(skipped.pairs, 3);
        assert_eq!(skipped.chars, vec![('?', 3)]);
        assert_eq!(r.predictions() + skipped.pairs, c.predictions());
    }
}
