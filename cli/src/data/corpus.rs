//! Training text: the seed notebook's sentence, or a UTF-8 file of any size, as characters or as
//! a tokenizer's subword tokens.
//!
//! The model sees a text only through its bigram counts, so a file is read once, memory-mapped,
//! and counted in parallel: each core validates and counts its own chunk, and the pairs that
//! straddle chunk boundaries are added when the chunks are merged. Character ids follow
//! nanoGPT's `sorted(set(text))` (code-point order), so a person's PyTorch code assigns the same
//! ids; the seed text keeps the notebook's printed order. A tokenizer's ids are its own. The
//! counts are the pairs that occur ([`Pairs`]), however many distinct tokens the text has.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use zl_core::{Bigrams, Csr, Vocab as SeedVocab, SEED_TEXT, SEED_V};

use super::{
    merge::{Ends, Table},
    pairs::Pairs,
    tokenizer::Tokenizer,
    vocab::Vocab,
};

/// The largest vocabulary the const-generic training tiers hold (zl-core's capacity); a corpus
/// itself has no such limit.
pub use zl_core::capacity::MAX_VOCAB;

/// How a text becomes tokens: its characters, a tokenizer file's tokens, or a byte-level BPE
/// trained on it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Tokens {
    /// Each character a token (the default).
    #[default]
    Chars,
    /// `--tokenizer FILE`: a Hugging Face tokenizer.json.
    File(PathBuf),
    /// `--bpe V`: a byte-level BPE of V tokens trained on the text.
    Bpe(usize),
    /// A tokenizer already loaded (a model's).
    Loaded(Arc<Tokenizer>),
}

impl Tokens {
    /// The tokenizer for `text`: loaded, read, or trained on it; `None` for characters.
    pub fn tokenizer(&self, text: Option<&str>) -> Result<Option<Arc<Tokenizer>>> {
        Ok(match self {
            Tokens::Chars => None,
            Tokens::Loaded(t) => Some(t.clone()),
            Tokens::File(p) => Some(Arc::new(
                Tokenizer::from_file(p).with_context(|| format!("--tokenizer {}", p.display()))?,
            )),
            Tokens::Bpe(v) => {
                let text = text.context("--bpe trains on a text; give it with --corpus")?;
                Some(Arc::new(Tokenizer::train_bpe(text, *v)?))
            }
        })
    }
}

/// A text's vocabulary and bigram counts, all a zero-layer model can learn from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    /// Where the text came from, for messages.
    pub source: Source,
    /// Tokens in id order: characters, or a tokenizer's.
    pub vocab: Vocab,
    /// The pairs that occur: how often token j follows token i.
    pub pairs: Pairs,
    /// Tokens in the text (characters, for a vocabulary of characters).
    pub chars: u64,
    /// Documents the tokens fall into (1 for one text): no pair spans two documents, so
    /// `predictions() == chars - documents`.
    pub documents: u64,
    /// The ids of the text's first token and its last (of its first and last document).
    pub first: usize,
    pub last: usize,
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
    /// A shuffle of another corpus's tokens (a control: its bigrams destroyed).
    Shuffled { of: Box<Source>, seed: u64 },
    /// A count file given with --counts (`zl count`): the counts without the text.
    Counts(PathBuf),
}

/// Why a corpus has no text to read back, only its counts.
#[derive(Clone, Debug, PartialEq)]
pub enum NoText {
    /// A shuffled control (its source, the corpus it shuffles).
    Shuffled(Source),
    /// A count file.
    Counts(PathBuf),
}

impl Corpus {
    /// The seed notebook's text with its printed vocabulary order, counted by zl-core.
    pub fn seed() -> Self {
        let vocab = SeedVocab::seed();
        let b = Bigrams::<SEED_V>::from_text(&vocab, SEED_TEXT).expect("the seed text counts");
        let v = vocab.len();
        // Whole numbers below 2^24, exact in f32.
        let counts: Vec<u64> = (0..v * v)
            .map(|n| b.counts[(n / v, n % v)] as u64)
            .collect();
        let mut text = SEED_TEXT.chars();
        let id = |c: Option<char>| vocab.id(c.expect("the seed text has characters"));
        let (first, last) = (id(text.next()), id(text.next_back()));
        Corpus {
            source: Source::Seed,
            vocab: Vocab::chars(vocab.chars()),
            pairs: Pairs::from_dense(v, &counts),
            chars: SEED_TEXT.chars().count() as u64,
            documents: 1,
            first: first.expect("in the vocabulary"),
            last: last.expect("in the vocabulary"),
            count_seconds: None,
        }
    }

    /// The corpus named by `--corpus` (tokenized as `tokens` says), or the seed text.
    pub fn load(path: Option<&Path>, tokens: &Tokens) -> Result<Self> {
        match (path, tokens) {
            (Some(p), _) => Corpus::from_file(p, tokens),
            (None, Tokens::Chars) => Ok(Corpus::seed()),
            (None, _) => {
                Corpus::from_text(SEED_TEXT, Source::Seed, tokens, "the seed notebook's text")
            }
        }
    }

    /// The corpus named by `--corpus` or by `--counts` (a `zl count` file; clap keeps the two
    /// apart), or the seed text. A count file records its tokenizer; a `--tokenizer` given
    /// beside it must be the same one.
    pub fn load_either(
        corpus: Option<&Path>,
        counts: Option<&Path>,
        tokens: &Tokens,
    ) -> Result<Self> {
        match counts {
            Some(p) => {
                let flag = || format!("--counts {}", p.display());
                let c = super::counts::read(p)
                    .and_then(|(c, _)| c.trainable())
                    .with_context(flag)?;
                if let Some(t) = tokens.tokenizer(None).with_context(flag)? {
                    Vocab::tokens(t).same_tokenizer(&c.vocab, "--tokenizer", &flag())?;
                }
                Ok(c)
            }
            None => Corpus::load(corpus, tokens),
        }
    }

    /// A corpus from counts alone (a count file, a merge): the one constructor that checks that
    /// they describe a text. `pairs` is over `vocab`'s ids, and `first` and `last` are ids; every
    /// check names what is wrong in one line, for the caller to prefix with the file.
    pub fn from_counts(
        source: Source,
        vocab: Vocab,
        pairs: Pairs,
        chars: u64,
        documents: u64,
        (first, last): (usize, usize),
    ) -> Result<Self> {
        let v = vocab.len();
        if v == 0 {
            bail!("an empty vocabulary; a text has at least one token");
        }
        if pairs.vocab_len() != v {
            bail!(
                "counts over {} tokens for a vocabulary of {v}",
                pairs.vocab_len()
            );
        }
        for (what, id) in [("first", first), ("last", last)] {
            if id >= v {
                bail!("the {what} token's id {id} is outside the vocabulary of {v}");
            }
        }
        let total = pairs
            .total()
            .context("the counts add up to more than 2^64; they cannot be a text's")?;
        if documents == 0 || documents > chars {
            let u = vocab.unit();
            bail!("{chars} {u}s in {documents} documents; every document has at least one {u}");
        }
        if total != chars - documents {
            bail!(
                "the counts hold {total} pairs, but {chars} {}s in {documents} document(s) have {}; the totals are inconsistent",
                vocab.unit(),
                chars - documents
            );
        }
        if documents == 1 {
            // One text: every token is entered as often as it is left, except that the text is
            // left at its last token and entered at its first (sums fit: their total does).
            let (mut outs, mut intos) = (vec![0u64; v], vec![0u64; v]);
            for (i, j, n) in pairs.iter() {
                outs[i] += n;
                intos[j] += n;
            }
            for k in 0..v {
                let (out, into) = (outs[k], intos[k]);
                if out + (k == last) as u64 != into + (k == first) as u64 {
                    bail!(
                        "{} follows other {}s {into} times and is followed {out} times, which no text from {} to {} does; the counts are inconsistent",
                        vocab.label(k),
                        vocab.unit(),
                        vocab.label(first),
                        vocab.label(last)
                    );
                }
            }
        }
        Ok(Corpus {
            source,
            vocab,
            pairs,
            chars,
            documents,
            first,
            last,
            count_seconds: None,
        })
    }

    /// This corpus, if a model can train on it: at least 2 tokens in one document and 2
    /// distinct ones (the limits `--corpus` checks).
    pub fn trainable(self) -> Result<Self> {
        let u = self.vocab.unit();
        if self.predictions() == 0 {
            if self.documents == 1 {
                bail!("the text has {} {u}(s); give at least 2 so that there is a next {u} to predict", self.chars);
            }
            bail!("its {} documents have one {u} each, so no next {u} to predict; give documents of at least 2", self.documents);
        }
        if self.vocab.len() < 2 {
            bail!("the text uses only one distinct character; give a text with at least 2");
        }
        Ok(self)
    }

    /// zl-core's view of the counts, which training and analysis read (a trainable corpus has
    /// at least one pair).
    pub fn csr(&self) -> Csr<'_> {
        self.pairs
            .csr()
            .expect("a corpus that is trained or analysed has at least one pair")
    }

    /// The counts as a dense V×V table, row-major, for the steps that compute with one at
    /// V ≤ 256; above it, one line saying so (nothing V×V is built there).
    pub fn dense_counts(&self) -> Result<Vec<u64>> {
        self.pairs.dense()
    }

    /// Why this corpus has no text to read back (a count file's or a shuffle's), if so.
    pub fn without_text(&self) -> Option<NoText> {
        match &self.source {
            Source::Seed | Source::File(_) | Source::Stdin(_) => None,
            Source::Shuffled { .. } => Some(NoText::Shuffled(self.source.clone())),
            Source::Counts(p) => Some(NoText::Counts(p.clone())),
        }
    }

    /// Reads, validates and counts a UTF-8 file, or standard input for `-`, as `tokens` says.
    pub fn from_file(path: &Path, tokens: &Tokens) -> Result<Self> {
        let start = Instant::now();
        let label = format!("--corpus {}", path.display());
        let bytes = read_text(path, &label, "--corpus")?;
        let source = |b: &Text| match b {
            Text::Read(b) if is_stdin(path) => {
                Source::Stdin(String::from_utf8(b.clone()).unwrap_or_default().into())
            }
            _ => Source::File(path.to_path_buf()),
        };
        let mut c = match tokens {
            Tokens::Chars => {
                let t = tally(&bytes, &label)?;
                t.corpus(source(&bytes))
                    .and_then(Corpus::trainable)
                    .with_context(|| label.clone())?
            }
            _ => {
                let text = std::str::from_utf8(&bytes).map_err(|e| {
                    anyhow::anyhow!("{label}: {}", not_utf8(&bytes, e.valid_up_to()))
                })?;
                Corpus::from_text(text, source(&bytes), tokens, &label)?
            }
        };
        c.count_seconds = Some(start.elapsed().as_secs_f64());
        Ok(c)
    }

    /// A text tokenized by a tokenizer (`tokens`: a file's, a loaded one, or a BPE trained on
    /// it now) and counted; `label` names it in messages.
    pub fn from_text(text: &str, source: Source, tokens: &Tokens, label: &str) -> Result<Self> {
        let tokenizer = tokens
            .tokenizer(Some(text))?
            .context("characters are counted by tally")?;
        tally_tokens(text, tokenizer, label)?
            .corpus(source)
            .and_then(Corpus::trainable)
            .with_context(|| label.to_string())
    }

    /// Next-token predictions (tokens − documents).
    pub fn predictions(&self) -> u64 {
        self.pairs.total().unwrap_or(u64::MAX)
    }

    /// The same tokens in a random order (Fisher–Yates, from SplitMix64 seeded with `seed`): the
    /// same vocabulary and unigram counts, the bigrams destroyed. Built from the counts alone
    /// (each token's count is its count as a next token, plus one for the first token), so it
    /// works for a text of any length.
    pub fn shuffled(&self, seed: u64) -> Result<Corpus> {
        let v = self.vocab.len();
        let text = self.shuffled_text(seed)?;
        let mut keys: Vec<u64> = text
            .windows(2)
            .map(|w| ((w[0] as u64) << 32) | w[1] as u64)
            .collect();
        keys.sort_unstable();
        Ok(Corpus {
            source: Source::Shuffled {
                of: Box::new(self.source.clone()),
                seed,
            },
            vocab: self.vocab.clone(),
            pairs: Pairs::from_sorted_keys(v, &keys),
            chars: text.len() as u64,
            documents: 1,
            first: text[0] as usize,
            last: *text.last().expect("a text") as usize,
            count_seconds: None,
        })
    }

    /// [`Corpus::shuffled`]'s text, as token ids.
    fn shuffled_text(&self, seed: u64) -> Result<Vec<u32>> {
        let v = self.vocab.len();
        let mut into = vec![0u64; v];
        for (_, j, n) in self.pairs.iter() {
            into[j] += n;
        }
        into[self.first] += 1;
        let mut text: Vec<u32> = Vec::with_capacity(self.chars as usize);
        for (j, &n) in into.iter().enumerate() {
            text.extend(std::iter::repeat_n(j as u32, n as usize));
        }
        zl_core::rng::shuffle(&mut text, seed);
        Ok(text)
    }

    /// H(next | current), the bigram entropy floor (zl-core's, over the pairs that occur: the
    /// same bits as over the dense table).
    pub fn bigram_entropy(&self) -> f64 {
        let p = &self.pairs;
        zl_core::bigram::conditional_entropy_rows(
            (0..p.vocab_len()).map(|i| p.row(i).1.iter().map(|&n| n as f64)),
        )
    }

    /// The text's first `limit` tokens as ids: all of the seed text, or a prefix of a file (read
    /// again: the counts are all that was kept of it).
    pub fn tokens(&self, limit: usize) -> Result<Vec<usize>> {
        let tokenized = self.vocab.tokenizer().is_some();
        let text = match &self.source {
            Source::Seed => SEED_TEXT.to_string(),
            Source::Stdin(text) => text.to_string(),
            Source::Shuffled { .. } | Source::Counts(_) => {
                bail!("{}", self.without_text().expect("no text"))
            }
            Source::File(path) => {
                use std::io::Read;
                let mut bytes = Vec::new();
                // A tokenizer's tokens are as many bytes as they like: the whole text is read.
                let cap = if tokenized {
                    u64::MAX
                } else {
                    4 * limit as u64
                };
                std::fs::File::open(path)
                    .and_then(|f| f.take(cap).read_to_end(&mut bytes))
                    .with_context(|| format!("--corpus {}", path.display()))?;
                // The file was validated when it was counted; a cut may split one character.
                let valid = match std::str::from_utf8(&bytes) {
                    Ok(s) => s.len(),
                    Err(e) => e.valid_up_to(),
                };
                bytes.truncate(valid);
                String::from_utf8(bytes).expect("valid prefix")
            }
        };
        let text: String = match tokenized {
            true => text,
            false => text.chars().take(limit).collect(),
        };
        let mut ids = self.vocab.encode(&text, "--corpus").map_err(|_| {
            anyhow::anyhow!(
                "--corpus {}: the file changed since it was counted (it holds a new character)",
                self.source
            )
        })?;
        ids.truncate(limit);
        Ok(ids)
    }
}

/// Local token ids of one chunk: ASCII bytes are their own ids, other characters get ids from
/// 128 on, in order of appearance, as many as the text has. Pairs of the first [`DENSE`] ids are
/// counted in a dense table, the rest in a map.
const DENSE: usize = 128 + 256;
/// No character yet.
const NONE: u32 = u32::MAX;

struct ChunkCounts {
    /// Non-ASCII characters by local id − 128.
    others: Vec<char>,
    ids: HashMap<char, u32>,
    /// `dense[a * DENSE + b]` for local ids a, b below [`DENSE`].
    dense: Vec<u32>,
    /// Pairs with a local id past [`DENSE`], by `(a << 32) | b`.
    sparse: HashMap<u64, u64>,
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
        ids: HashMap::new(),
        dense: vec![0u32; DENSE * DENSE],
        sparse: HashMap::new(),
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
                let next = 128 + c.others.len() as u32;
                let id = *c.ids.entry(ch).or_insert(next);
                if id == next {
                    c.others.push(ch);
                }
                cached = (ch, id);
            }
            (ch, cached.1)
        };
        if prev == NONE {
            c.first = Some(ch);
        } else if (prev as usize) < DENSE && (id as usize) < DENSE {
            c.dense[prev as usize * DENSE + id as usize] += 1;
        } else {
            *c.sparse
                .entry(((prev as u64) << 32) | id as u64)
                .or_insert(0) += 1;
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

/// Counts before zl's limits for training: the vocabulary (characters in code-point order, or a
/// tokenizer's), the pairs, the length in tokens and documents, and the first and last tokens'
/// ids.
pub struct Tally {
    pub vocab: Vocab,
    pub pairs: Pairs,
    pub chars: u64,
    pub documents: u64,
    pub first: usize,
    pub last: usize,
}

impl Tally {
    /// The counts as a corpus ([`Corpus::from_counts`] checks them).
    pub fn corpus(self, source: Source) -> Result<Corpus> {
        let ends = (self.first, self.last);
        Corpus::from_counts(
            source,
            self.vocab,
            self.pairs,
            self.chars,
            self.documents,
            ends,
        )
    }
}

/// Validates and counts a whole text of characters in parallel: (characters in code-point
/// order, the pairs, the number of characters).
pub fn count(bytes: &[u8], name: &str) -> Result<(Vec<char>, Pairs, u64)> {
    let label = format!("--corpus {name}");
    let c = tally(bytes, &label)?
        .corpus(Source::File(name.into()))
        .and_then(Corpus::trainable)
        .with_context(|| label.clone())?;
    let chars = c.vocab.as_chars().expect("characters");
    Ok((chars, c.pairs, c.chars))
}

/// Tokenizes a text with `tokenizer` and counts its pairs (sorted, so the counts are exact and
/// the same on every run); `label` names it in messages.
pub fn tally_tokens(text: &str, tokenizer: Arc<Tokenizer>, label: &str) -> Result<Tally> {
    let ids = tokenizer.encode(text).with_context(|| label.to_string())?;
    let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
        bail!("{label}: the tokenizer gives no token for it; give a text of at least 2 tokens");
    };
    let vocab = Vocab::tokens(tokenizer);
    let mut keys: Vec<u64> = ids
        .windows(2)
        .map(|w| ((w[0] as u64) << 32) | w[1] as u64)
        .collect();
    keys.sort_unstable();
    Ok(Tally {
        pairs: Pairs::from_sorted_keys(vocab.len(), &keys),
        vocab,
        chars: ids.len() as u64,
        documents: 1,
        first: first as usize,
        last: last as usize,
    })
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
pub(super) fn not_utf8(bytes: &[u8], offset: usize) -> String {
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

/// Validates and counts a non-empty text of characters in parallel, as many distinct ones as it
/// has.
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
        let chars: Vec<char> = (0..128u8).map(char::from).chain(c.others).collect();
        let n = chars.len().min(DENSE);
        let dense = (0..n * n).map(|k| (k / n, k % n, c.dense[(k / n) * DENSE + k % n] as u64));
        let sparse = c
            .sparse
            .iter()
            .map(|(&key, &count)| ((key >> 32) as usize, key as u32 as usize, count));
        let id = |ch: char| match ch as u32 {
            b @ 0..128 => b as usize,
            _ => c.ids[&ch] as usize,
        };
        let ends = Ends {
            first: id(first),
            last: id(last),
            chars: c.chars,
            documents: 1,
        };
        table.add_chars(rank, &chars, dense.chain(sparse), ends)?;
    }
    if table.is_empty() {
        bail!("{label}: the text has no characters; give a text of at least 2");
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

/// What [`Corpus::restricted_to`] left out: the pairs with a token outside the vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// Next-token predictions (pairs) left out.
    pub pairs: u64,
    /// The text's characters outside the vocabulary, with how many pairs each is in (a pair of
    /// two such characters counts for both), most frequent first.
    pub chars: Vec<(char, u64)>,
}

impl Corpus {
    /// The counts of the pairs whose two tokens are both in `vocab`, indexed by `vocab`'s ids (a
    /// model's), and what was left out. The text's own ids do not matter: a model trained on one
    /// text scores another by token (the same tokenizer's, or characters).
    pub fn restricted_to(&self, vocab: &Vocab) -> (Corpus, Skipped) {
        let v = self.vocab.len();
        let ids: HashMap<&[u8], usize> = (0..vocab.len()).map(|i| (vocab.bytes(i), i)).collect();
        let ours: Vec<Option<usize>> = (0..v)
            .map(|i| ids.get(self.vocab.bytes(i)).copied())
            .collect();
        let mut kept = vec![];
        let mut pairs = 0u64;
        let mut outside = vec![0u64; v];
        for (i, j, n) in self.pairs.iter() {
            match (ours[i], ours[j]) {
                (Some(a), Some(b)) => kept.push((a as u32, b as u32, n)),
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
        let mut chars: Vec<(char, u64)> = (0..v)
            .filter(|&k| ours[k].is_none())
            .filter_map(|k| Some((self.vocab.char(k)?, outside[k])))
            .collect();
        chars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let kept = Pairs::from_triples(vocab.len(), kept).expect("a subset of a text's counts");
        let end = |k: usize| ours[k].unwrap_or(0);
        (
            Corpus {
                source: self.source.clone(),
                vocab: vocab.clone(),
                pairs: kept,
                chars: self.chars,
                documents: self.documents,
                first: end(self.first),
                last: end(self.last),
                count_seconds: self.count_seconds,
            },
            Skipped { pairs, chars },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shuffled control has exactly the text's tokens, in another order; its counts are that
    /// sequence's bigrams; the same seed gives the same shuffle.
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
        assert_eq!(s.dense_counts().unwrap(), counts);
        assert_eq!(s.chars, c.chars);
        assert_ne!(s.pairs, c.pairs, "the bigrams changed");
        assert_eq!(c.shuffled(0).unwrap().pairs, s.pairs, "deterministic");
        assert_ne!(c.shuffled(1).unwrap().pairs, s.pairs, "the seed matters");
    }

    fn naive(text: &str) -> (Vec<char>, Pairs, u64) {
        let mut vocab: Vec<char> = text.chars().collect();
        vocab.sort();
        vocab.dedup();
        let ids: Vec<u32> = text
            .chars()
            .map(|c| vocab.binary_search(&c).unwrap() as u32)
            .collect();
        let triples = ids.windows(2).map(|w| (w[0], w[1], 1)).collect();
        let pairs = Pairs::from_triples(vocab.len(), triples).unwrap();
        (vocab, pairs, ids.len() as u64)
    }

    fn tallied(t: Tally) -> (Vec<char>, Pairs, u64) {
        (t.vocab.as_chars().unwrap(), t.pairs, t.chars)
    }

    #[test]
    fn parallel_chunks_count_like_the_naive_loop() {
        // More than DENSE distinct characters, so that both the dense and the sparse pairs count.
        let many: String = (0..600u32)
            .map(|i| char::from_u32(0x4e00 + i * 3).unwrap())
            .collect();
        let text =
            format!("Ærøskøbing café — naïve façade; 日本語のテキスト and plain ASCII.\n{many}")
                .repeat(4_000);
        for n in [1, 2, 3, 7, 16] {
            let chunks = split(text.as_bytes(), n);
            let progress = AtomicU64::new(0);
            let parts: Vec<ChunkCounts> = chunks
                .iter()
                .map(|&(a, b)| count_chunk(&text.as_bytes()[a..b], &progress).unwrap())
                .collect();
            let t =
                merge_chunks(parts.into_iter().map(Ok).collect(), text.as_bytes(), "t").unwrap();
            let v = t.vocab.clone();
            let (first, last) = (t.first, t.last);
            assert_eq!(tallied(t), naive(&text), "{n} chunks");
            assert_eq!(
                (v.char(first), v.char(last)),
                (Some('Æ'), many.chars().last())
            );
        }
        let (chars, pairs, n) = count(text.as_bytes(), "t").unwrap();
        assert_eq!((chars, pairs, n), naive(&text));
    }

    #[test]
    fn invalid_utf8_reports_the_byte_offset() {
        let mut bytes = b"hello world".to_vec();
        bytes.insert(6, 0xff);
        let e = count(&bytes, "x.txt").unwrap_err().to_string();
        assert!(e.contains("byte offset 6") && e.contains("0xff"), "{e}");
    }

    /// Any number of distinct characters counts, in code-point order, without a V×V table.
    #[test]
    fn a_text_of_many_distinct_characters_counts() {
        let text: String = (0..5000u32)
            .map(|i| char::from_u32(0x4e00 + (i * 7919) % 3000).unwrap())
            .collect();
        let (chars, pairs, n) = count(text.as_bytes(), "many.txt").unwrap();
        assert_eq!((chars.len(), n), (3000, 5000));
        assert!(chars.windows(2).all(|w| w[0] < w[1]));
        assert_eq!((chars.clone(), pairs.clone(), n), naive(&text));
        assert!(pairs.dense().is_err(), "no V×V table past 256");
    }

    #[test]
    fn seed_corpus_matches_the_core() {
        let c = Corpus::seed();
        let b = zl_core::Bigrams::<30>::from_text(&zl_core::Vocab::seed(), SEED_TEXT).unwrap();
        let dense = c.dense_counts().unwrap();
        for i in 0..30 {
            for j in 0..30 {
                assert_eq!(dense[i * 30 + j] as f32, b.counts[(i, j)]);
            }
        }
        assert_eq!(c.chars, 193);
        assert_eq!(
            c.bigram_entropy().to_bits(),
            b.conditional_entropy().to_bits(),
            "the sparse floor has the dense one's bits"
        );
    }

    #[test]
    fn a_restricted_corpus_keeps_the_pairs_inside_and_counts_the_rest() {
        let (vocab, pairs, chars) = naive("abcab?cc?");
        let c = Corpus {
            source: Source::Seed,
            vocab: Vocab::chars(&vocab),
            pairs,
            chars,
            documents: 1,
            first: 1,
            last: 0,
            count_seconds: None,
        };
        // The model's ids differ from the text's: c, a, b, and z (not in the text).
        let (r, skipped) = c.restricted_to(&Vocab::chars(&['c', 'a', 'b', 'z']));
        // Pairs: ab bc ca ab b? ?c cc c? -> inside: ab ×2, bc, ca, cc.
        let at = |x: usize, y: usize| r.pairs.get(x, y);
        assert_eq!((at(1, 2), at(2, 0), at(0, 1), at(0, 0)), (2, 1, 1, 1));
        assert_eq!(r.predictions(), 5);
        assert_eq!(skipped.pairs, 3);
        assert_eq!(skipped.chars, vec![('?', 3)]);
        assert_eq!(r.predictions() + skipped.pairs, c.predictions());
    }

    #[test]
    fn a_tokenized_text_counts_its_token_pairs() {
        let text = "the cat sat on the mat, the cat sat.\n".repeat(30);
        let t = Arc::new(Tokenizer::train_bpe(&text, 280).unwrap());
        let source = Source::Stdin(text.as_str().into());
        let c = Corpus::from_text(&text, source, &Tokens::Loaded(t.clone()), "t").unwrap();
        let ids = t.encode(&text).unwrap();
        assert_eq!(c.chars, ids.len() as u64);
        assert_eq!(c.vocab.len(), t.len());
        for w in ids.windows(2) {
            assert!(c.pairs.get(w[0] as usize, w[1] as usize) > 0);
        }
        assert_eq!(c.predictions(), ids.len() as u64 - 1);
        assert_eq!(
            c.vocab.decode(&c.tokens(usize::MAX).unwrap()),
            text.as_bytes()
        );
    }
}
