//! Count files (`zl count`): a text's bigram counts as a safetensors file, so that any engine can
//! count shards of a corpus in parallel, merge them exactly, and train from the merge
//! (docs/SCALE.md).
//!
//! Version 2 (written) holds the pairs that occur as compressed sparse rows: `row_start` U64
//! [V + 1], `col` U32 [pairs] (ascending in each row), `count` U64 [pairs] (each > 0); and string
//! metadata: `format` ([`FORMAT`]), `version`, the vocabulary (`vocab`, a JSON list of
//! one-character strings in id order, or `tokenizer`, the tokenizer.json itself, with
//! `tokenizer_sha256`), `tokens` and `documents` (decimal), `first` and `last` (token ids) and
//! `semantics` (`documents` or `concatenate`, [`Semantics`]). Version 1 (read) held a dense
//! `counts` U64 [V, V] over characters, `chars`, and `first` and `last` as characters.

use std::{collections::HashMap, path::Path};

use anyhow::{bail, Context, Result};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};

use super::{
    corpus::{is_stdin, read_text, tally, tally_tokens, Corpus, Source, Tokens},
    merge::{Ends, Table},
    pairs::Pairs,
    tokenizer::Tokenizer,
    vocab::Vocab,
};

/// The `format` metadata of a count file.
pub const FORMAT: &str = "zl bigram counts";
/// The format's version zl writes, in the `version` metadata (sparse rows).
pub const VERSION: &str = "2";
/// The dense format's version, which zl still reads.
pub const DENSE_VERSION: &str = "1";

/// How the texts of several files (or of several count files) go together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Semantics {
    /// Each file is its own document: no pair spans two files.
    Documents,
    /// The files are consecutive pieces of one text, in order: the pair across each boundary
    /// (the last character of one and the first of the next) is counted.
    Concatenate,
}

impl Semantics {
    /// The name in the `semantics` metadata and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Semantics::Documents => "documents",
            Semantics::Concatenate => "concatenate",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Semantics::Documents, Semantics::Concatenate]
            .into_iter()
            .find(|m| m.name() == s)
    }

    /// How to ask for this semantics on the command line, for messages.
    fn flag(self) -> &'static str {
        match self {
            Semantics::Documents => "without --concatenate",
            Semantics::Concatenate => "with --concatenate",
        }
    }
}

/// Serialises a corpus's counts with their semantics (version 2: the pairs that occur).
pub fn to_bytes(c: &Corpus, semantics: Semantics) -> Result<Vec<u8>> {
    let v = c.vocab.len();
    let (row_start, col, count) = c.pairs.parts();
    let row_start: Vec<u8> = row_start
        .iter()
        .flat_map(|&n| (n as u64).to_le_bytes())
        .collect();
    let col_bytes: Vec<u8> = col.iter().flat_map(|n| n.to_le_bytes()).collect();
    let count_bytes: Vec<u8> = count.iter().flat_map(|n| n.to_le_bytes()).collect();
    let tensors = [
        (
            "row_start",
            TensorView::new(Dtype::U64, vec![v + 1], &row_start)?,
        ),
        (
            "col",
            TensorView::new(Dtype::U32, vec![col.len()], &col_bytes)?,
        ),
        (
            "count",
            TensorView::new(Dtype::U64, vec![count.len()], &count_bytes)?,
        ),
    ];
    let mut meta: HashMap<String, String> = [
        ("format", FORMAT.to_string()),
        ("version", VERSION.to_string()),
        ("tokens", c.chars.to_string()),
        ("documents", c.documents.to_string()),
        ("first", c.first.to_string()),
        ("last", c.last.to_string()),
        ("semantics", semantics.name().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    match (c.vocab.tokenizer(), c.vocab.as_chars()) {
        (Some(t), _) => {
            meta.insert("tokenizer".into(), t.json().to_string());
            meta.insert("tokenizer_sha256".into(), t.hash().to_string());
        }
        (None, Some(chars)) => {
            let vocab: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
            meta.insert("vocab".into(), serde_json::to_string(&vocab)?);
        }
        (None, None) => bail!("a vocabulary of neither characters nor a tokenizer's tokens"),
    }
    Ok(safetensors::serialize(tensors, Some(meta))?)
}

/// Reads a count file. Messages do not name the file: the caller prefixes the flag and path.
pub fn read(path: &Path) -> Result<(Corpus, Semantics)> {
    if path.is_dir() {
        bail!("this is a folder; give a count file written by zl count");
    }
    let cannot = |e: std::io::Error| anyhow::Error::new(e).context("cannot read it");
    if is_stdin(path) {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes).map_err(cannot)?;
        return from_bytes(&bytes, path);
    }
    let file = std::fs::File::open(path).map_err(cannot)?;
    // SAFETY: read-only, and dropped before this returns; a concurrent writer could change
    // the bytes read (which every check below then sees), not this process's memory safety.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(cannot)?;
    from_bytes(&map, path)
}

/// Parses and checks count-file bytes; `path` becomes the corpus's source.
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<(Corpus, Semantics)> {
    if super::files::looks_like_text(bytes) {
        bail!("this is a text file, not a count file: count it first (zl count FILE --out FILE.counts), or give it with --corpus");
    }
    let corrupt = |e: safetensors::SafeTensorError| {
        anyhow::anyhow!(
            "not a complete safetensors file (truncated or corrupt? {e}); write it again with zl count"
        )
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(corrupt)?;
    let st = SafeTensors::deserialize(bytes).map_err(corrupt)?;
    let empty = HashMap::new();
    let meta = header.metadata().as_ref().unwrap_or(&empty);
    let get = |key: &str| {
        meta.get(key).map(String::as_str).with_context(|| {
            format!("no '{key}' metadata, so not a zl count file; write it with zl count")
        })
    };
    if get("format")? != FORMAT {
        bail!(
            "its 'format' metadata is {:?}, not {FORMAT:?}; write it with zl count",
            get("format")?
        );
    }
    let version = get("version")?;
    if version != VERSION && version != DENSE_VERSION {
        bail!("count-file format version {version:?}; this zl reads version {DENSE_VERSION} (dense) and {VERSION} (sparse rows)");
    }
    let dense = version == DENSE_VERSION;
    let vocab = match (meta.get("tokenizer"), dense) {
        (Some(json), false) => {
            let t = Tokenizer::from_json(json.as_bytes()).context("its 'tokenizer' metadata")?;
            match meta.get("tokenizer_sha256") {
                Some(h) if h == t.hash() => {}
                _ => bail!("its 'tokenizer_sha256' metadata is not the hash of its tokenizer; the file is corrupt, count the text again"),
            }
            Vocab::tokens(std::sync::Arc::new(t))
        }
        _ => {
            let strings: Vec<String> = serde_json::from_str(get("vocab")?)
                .context("the 'vocab' metadata is not a JSON array of strings")?;
            let chars = strings
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    one_char(s)
                        .with_context(|| format!("vocab entry {i} is {s:?}, not one character"))
                })
                .collect::<Result<Vec<char>>>()?;
            let mut sorted = chars.clone();
            sorted.sort_unstable();
            if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                bail!("the vocab metadata lists {:?} twice", w[0]);
            }
            Vocab::chars(&chars)
        }
    };
    let number = |key: &str| -> Result<u64> {
        let s = get(key)?;
        s.parse::<u64>().map_err(|_| {
            anyhow::anyhow!("its '{key}' metadata is {s:?}, not a whole number from 0 to 2^64 − 1")
        })
    };
    let (chars, documents) = (
        number(if dense { "chars" } else { "tokens" })?,
        number("documents")?,
    );
    let v = vocab.len();
    let ends = if dense {
        let end = |key: &str| -> Result<usize> {
            let s = get(key)?;
            let c = one_char(s)
                .with_context(|| format!("its '{key}' metadata is {s:?}, not one character"))?;
            (0..v)
                .find(|&i| vocab.char(i) == Some(c))
                .with_context(|| format!("the {key} character {c:?} is not in the vocabulary"))
        };
        (end("first")?, end("last")?)
    } else {
        (number("first")? as usize, number("last")? as usize)
    };
    let semantics = Semantics::parse(get("semantics")?).with_context(|| {
        format!(
            "its 'semantics' metadata is {:?}, not \"documents\" or \"concatenate\"",
            get("semantics").unwrap_or_default()
        )
    })?;
    if semantics == Semantics::Concatenate && documents != 1 {
        bail!("it says {documents} documents but concatenate semantics (one text); the metadata is inconsistent");
    }
    let tensor = |name: &str, dtype: Dtype, shape: Option<Vec<usize>>| {
        let t = st.tensor(name).map_err(|_| {
            anyhow::anyhow!(
                "no tensor named {name} (it has {:?}); write it with zl count",
                st.names()
            )
        })?;
        if t.dtype() != dtype {
            bail!("its {name} tensor is {:?}, expected {dtype:?}", t.dtype());
        }
        match shape {
            Some(s) if t.shape() != s => bail!(
                "its {name} tensor has shape {:?}, but a vocabulary of {v} needs {s:?}",
                t.shape()
            ),
            None if t.shape().len() != 1 => {
                bail!(
                    "its {name} tensor has shape {:?}; expected one dimension",
                    t.shape()
                )
            }
            _ => Ok(t),
        }
    };
    let u64s = |b: &[u8]| -> Vec<u64> {
        b.chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect()
    };
    let pairs = if dense {
        let t = tensor("counts", Dtype::U64, Some(vec![v, v]))?;
        Pairs::from_dense(v, &u64s(t.data()))
    } else {
        let rs = tensor("row_start", Dtype::U64, Some(vec![v + 1]))?;
        let col = tensor("col", Dtype::U32, None)?;
        let count = tensor("count", Dtype::U64, None)?;
        let row_start = u64s(rs.data())
            .into_iter()
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .collect();
        let col = col
            .data()
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        Pairs::from_parts(v, row_start, col, u64s(count.data()))?
    };
    let c = Corpus::from_counts(
        Source::Counts(path.to_path_buf()),
        vocab,
        pairs,
        chars,
        documents,
        ends,
    )?;
    Ok((c, semantics))
}

fn one_char(s: &str) -> Option<char> {
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// Counts text files (each at least one character; `-` is standard input) as one corpus with
/// the given semantics: each counted on its own, then merged, so that counting and merging are
/// one implementation. Pieces of one text cut through a character (`split -b`) are joined
/// again in [`Semantics::Concatenate`]: the character cut at each boundary is counted as a
/// piece of its own between the two.
///
/// With a tokenizer (`tokens`), each file is tokenized whole and counted; `--bpe` trains one BPE
/// on all of the files first. Pieces of one text are joined by the pair across each boundary, so
/// cut a text where the tokenizer would split anyway (at line ends, for GPT-2's).
pub fn count_files(paths: &[&Path], semantics: Semantics, tokens: &Tokens) -> Result<Corpus> {
    if paths.iter().filter(|p| is_stdin(p)).count() > 1 {
        bail!("- (standard input) is given twice; it can be read once");
    }
    let name = |p: &Path| match is_stdin(p) {
        true => "standard input".to_string(),
        false => p.display().to_string(),
    };
    let texts = paths
        .iter()
        .map(|p| read_text(p, &name(p), "count"))
        .collect::<Result<Vec<_>>>()?;
    if *tokens != Tokens::Chars {
        let strs = paths
            .iter()
            .zip(&texts)
            .map(|(p, t)| {
                std::str::from_utf8(t).map_err(|e| {
                    anyhow::anyhow!(
                        "{}: {}",
                        name(p),
                        super::corpus::not_utf8(t, e.valid_up_to())
                    )
                })
            })
            .collect::<Result<Vec<&str>>>()?;
        let tokenizer = tokens
            .tokenizer(Some(&strs.concat()))?
            .context("a tokenizer")?;
        let parts = paths
            .iter()
            .zip(strs)
            .map(|(p, t)| {
                tally_tokens(t, tokenizer.clone(), &name(p))?
                    .corpus(Source::File(p.to_path_buf()))
                    .with_context(|| name(p))
            })
            .collect::<Result<Vec<_>>>()?;
        return merge(&parts, semantics);
    }
    let piece = |bytes: &[u8], label: &str, p: &Path| -> Result<Corpus> {
        tally(bytes, label)?
            .corpus(Source::File(p.to_path_buf()))
            .with_context(|| label.to_string())
    };
    let joined = semantics == Semantics::Concatenate;
    let mut parts = Vec::with_capacity(paths.len());
    let mut carry: &[u8] = &[];
    for (k, (p, t)) in paths.iter().zip(&texts).enumerate() {
        let label = name(p);
        // The bytes of a character the previous piece ended in, and the rest of it here.
        let head = if joined && k > 0 { continuation(t) } else { 0 };
        let tail = if joined && k + 1 < paths.len() {
            cut_at_end(t)
        } else {
            0
        };
        if head > 0 || !carry.is_empty() {
            let across = [carry, &t[..head]].concat();
            let label = format!("the character across the boundary before {label}");
            parts.push(piece(&across, &label, p)?);
        }
        parts.push(piece(&t[head..t.len() - tail], &label, p)?);
        carry = &t[t.len() - tail..];
    }
    merge(&parts, semantics)
}

/// Bytes at the start of `bytes` that continue a character begun before it (at most 3).
fn continuation(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take(3)
        .take_while(|&&b| b & 0xC0 == 0x80)
        .count()
}

/// Bytes at the end of `bytes` that begin a character it does not finish (at most 3).
fn cut_at_end(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let b = bytes[bytes.len() - back];
        if b & 0xC0 != 0x80 {
            let width = match b {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => return 0,
            };
            return if width > back { back } else { 0 };
        }
    }
    0
}

/// Merges corpora into one, as counting their texts at once would give: the vocabularies
/// unioned and re-indexed in code-point order, the counts added, and in
/// [`Semantics::Concatenate`] the pair across each boundary added from the recorded last and
/// first characters (so the order matters).
pub fn merge(parts: &[Corpus], semantics: Semantics) -> Result<Corpus> {
    let mut t = Table::default();
    for (rank, p) in parts.iter().enumerate() {
        add(&mut t, rank, p)?;
    }
    let source = parts.first().map_or(Source::Seed, |p| p.source.clone());
    t.finish(semantics == Semantics::Concatenate)?
        .corpus(source)
}

/// Reads count files and merges them with `semantics` (as [`merge`]), refusing a file that was
/// counted with the other one. The files are read and added across cores, each core into a
/// table of its own, so memory stays at a few tables whatever the number of files.
pub fn merge_files(paths: &[&Path], semantics: Semantics) -> Result<Corpus> {
    use rayon::prelude::*;
    let tables = paths
        .par_iter()
        .enumerate()
        .try_fold(Table::default, |mut t, (rank, p)| {
            let (c, s) = read(p).with_context(|| p.display().to_string())?;
            if s != semantics {
                bail!(
                    "{}: it was counted as {} ({}), but this merge is {} ({}); count it again {}, or merge {}",
                    p.display(),
                    s.name(),
                    s.flag(),
                    semantics.name(),
                    semantics.flag(),
                    semantics.flag(),
                    s.flag()
                );
            }
            add(&mut t, rank, &c).with_context(|| p.display().to_string())?;
            Ok(t)
        })
        .try_reduce(Table::default, |a, b| a.absorb(b));
    let source = Source::Counts(paths.first().map(|p| p.to_path_buf()).unwrap_or_default());
    tables?
        .finish(semantics == Semantics::Concatenate)?
        .corpus(source)
}

/// Adds a corpus into a merge table: all of its vocabulary, its counts and its ends.
fn add(t: &mut Table, rank: usize, p: &Corpus) -> Result<()> {
    let ends = Ends {
        first: p.first,
        last: p.last,
        chars: p.chars,
        documents: p.documents,
    };
    t.add(rank, &p.vocab, p.pairs.iter(), ends)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Corpus {
        let t = super::super::corpus::tally(t.as_bytes(), "t").unwrap();
        t.corpus(Source::Seed).unwrap()
    }

    #[test]
    fn a_count_file_reads_back_as_written() {
        let c = Corpus::seed();
        for s in [Semantics::Documents, Semantics::Concatenate] {
            let bytes = to_bytes(&c, s).unwrap();
            let (back, semantics) = from_bytes(&bytes, Path::new("c.safetensors")).unwrap();
            assert_eq!(semantics, s);
            assert_eq!(back.vocab, c.vocab, "the seed's notebook order is kept");
            assert_eq!(
                (
                    back.pairs,
                    back.chars,
                    back.documents,
                    back.first,
                    back.last
                ),
                (c.pairs.clone(), c.chars, 1, c.first, c.last)
            );
        }
    }

    #[test]
    fn merging_pieces_concatenated_counts_the_whole() {
        let whole = "the cat sat on the mat; ünïcode too — and the end.";
        let chars: Vec<char> = whole.chars().collect();
        let cut = |at: &[usize]| -> Vec<Corpus> {
            let mut bounds = vec![0];
            bounds.extend_from_slice(at);
            bounds.push(chars.len());
            bounds
                .windows(2)
                .map(|w| text(&chars[w[0]..w[1]].iter().collect::<String>()))
                .collect()
        };
        let want = text(whole);
        for at in [&[1][..], &[10, 11, 30], &[5, 25, 49]] {
            let got = merge(&cut(at), Semantics::Concatenate).unwrap();
            assert_eq!(
                (&got.vocab, &got.pairs),
                (&want.vocab, &want.pairs),
                "{at:?}"
            );
            assert_eq!(
                (got.chars, got.documents, got.first, got.last),
                (want.chars, 1, want.first, want.last)
            );
        }
    }

    #[test]
    fn merging_documents_adds_no_boundary_pair() {
        let (a, b) = (text("ab"), text("ba"));
        let got = merge(&[a, b], Semantics::Documents).unwrap();
        assert_eq!(got.vocab, Vocab::chars(&['a', 'b']));
        assert_eq!(got.dense_counts().unwrap(), vec![0, 1, 1, 0]);
        assert_eq!((got.chars, got.documents), (4, 2));
    }

    /// Tables filled out of order (as rayon's workers fill them) and absorbed into each other
    /// give the merge in the given order: the ranks put the boundary pairs back in place.
    #[test]
    fn tables_absorbed_out_of_order_merge_in_order() {
        let pieces = ["zebra ", "ände", "rt—ab", "c\n", "日x"];
        let parts: Vec<Corpus> = pieces.iter().map(|p| text(p)).collect();
        let want = text(&pieces.concat());
        let (mut a, mut b) = (Table::default(), Table::default());
        for k in [4, 1] {
            add(&mut b, k, &parts[k]).unwrap();
        }
        for k in [2, 0, 3] {
            add(&mut a, k, &parts[k]).unwrap();
        }
        let got = b.absorb(a).unwrap().finish(true).unwrap();
        assert_eq!((&got.vocab, &got.pairs), (&want.vocab, &want.pairs));
        assert_eq!(
            (got.chars, got.documents, got.first, got.last),
            (want.chars, 1, want.first, want.last)
        );
        let empty = Table::default().absorb(Table::default()).unwrap();
        assert!(empty.finish(false).is_err());
    }
}
