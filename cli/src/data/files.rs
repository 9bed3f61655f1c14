//! Files zl writes and reads: atomic writes, and weights as safetensors.
//!
//! The safetensors layout is PyTorch's: `W_E` is F32 [vocab, d_model] and `W_U` is F32
//! [d_model, vocab], row-major, little-endian, so that
//! `model.load_state_dict(safetensors.torch.load_file(PATH))` works on the notebook's
//! `ZeroLayerTransformer`. The metadata holds the vocabulary (a JSON array of one-character
//! strings in token-id order) and the training settings; a model over a tokenizer's tokens
//! records the tokenizer's hash (`tokenizer_sha256`) and the file beside it that holds it
//! (`tokenizer_file`), which [`save_model`] writes.

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use zl_core::Model;

use super::{corpus::Source, tokenizer::Tokenizer, vocab::Vocab};

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so that an
/// existing file is only ever replaced by a complete new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = temp_beside(path)?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    // tempfile creates 0600; an output such as a figure or report is meant to be shared.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// The temporary file `path` is written through: in its folder, so that the rename is atomic.
fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if path.is_dir() {
        bail!(
            "{} is a folder; give the path of a file (inside it, for example)",
            path.display()
        );
    }
    tempfile::Builder::new()
        .prefix(".zl-tmp-")
        .tempfile_in(&dir)
        .map_err(|e| {
            // The reason alone: tempfile's message names its random file, not the user's.
            anyhow::anyhow!(
                "cannot write in folder {} ({}); does it exist, and may you write there?",
                dir.display(),
                std::io::Error::from(e.kind())
            )
        })
}

/// Checks, before any work, that [`write_atomic`] can write `path`: it is not a folder, and its
/// folder exists and takes a new file. Nothing is left behind.
pub fn check_output_file(path: &Path) -> Result<()> {
    temp_beside(path).map(drop)
}

/// Checks, before any work, that [`write_folder`] can write into `dir`: it is a folder, or
/// missing with a writable folder above it. Nothing is created.
pub fn check_output_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!(
            "{} exists and is not a folder; give a folder for the figures",
            dir.display()
        );
    }
    let existing = dir
        .ancestors()
        .find(|a| a.as_os_str().is_empty() || a.exists())
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .unwrap_or(Path::new("."));
    if !existing.is_dir() {
        bail!(
            "{} is inside {}, which is not a folder; give a folder for the figures",
            dir.display(),
            existing.display()
        );
    }
    check_output_file(&existing.join(".zl-check"))
}

/// Creates the folder `dir` if it is missing, or says why it cannot hold files.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!(
            "{} exists and is not a folder; give a folder for the figures",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create folder {} (may you write there?)",
            dir.display()
        )
    })
}

/// Writes each `(name, bytes)` as `dir/name`, atomically, creating `dir` if it is missing;
/// returns the paths written.
pub fn write_folder(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<PathBuf>> {
    ensure_dir(dir)?;
    let mut written = vec![];
    for (name, bytes) in files {
        let path = dir.join(name);
        write_atomic(&path, bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// Weights in PyTorch's layout, with the vocabulary they index.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// Tokens in id order.
    pub vocab: Vocab,
    /// Columns of W_E (rows of W_U).
    pub d_model: usize,
    /// W_E, row-major, vocab × d_model.
    pub w_e: Vec<f32>,
    /// W_U, row-major, d_model × vocab.
    pub w_u: Vec<f32>,
}

impl Weights {
    /// A model's weights, row-major (zl-core's one conversion: `Model::w_e_row_major`).
    pub fn of<const V: usize, const D: usize>(m: &Model<V, D>, vocab: &Vocab) -> Weights {
        Weights {
            vocab: vocab.clone(),
            d_model: m.d_model(),
            w_e: m.w_e_row_major().collect(),
            w_u: m.w_u_row_major().collect(),
        }
    }
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Serialises weights and metadata to safetensors bytes.
pub fn to_safetensors(w: &Weights, extra: &[(&str, String)]) -> Result<Vec<u8>> {
    let v = w.vocab.len();
    let (we, wu) = (le_bytes(&w.w_e), le_bytes(&w.w_u));
    let tensors = [
        ("W_E", TensorView::new(Dtype::F32, vec![v, w.d_model], &we)?),
        ("W_U", TensorView::new(Dtype::F32, vec![w.d_model, v], &wu)?),
    ];
    let mut meta: HashMap<String, String> = HashMap::new();
    match (w.vocab.tokenizer(), w.vocab.as_chars()) {
        (Some(t), _) => {
            meta.insert("tokenizer_sha256".into(), t.hash().to_string());
        }
        (None, Some(chars)) => {
            let vocab: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
            meta.insert("vocab".into(), serde_json::to_string(&vocab)?);
        }
        (None, None) => bail!("a vocabulary of neither characters nor a tokenizer's tokens"),
    }
    meta.insert(
        "format".into(),
        "zl zero-layer transformer: logits = W_E[token] @ W_U".into(),
    );
    for (k, val) in extra {
        meta.insert((*k).into(), val.clone());
    }
    Ok(safetensors::serialize(tensors, Some(meta))?)
}

/// The file beside a model `path` that holds its tokenizer: `m.safetensors` → `m.tokenizer.json`.
pub fn tokenizer_beside(path: &Path) -> PathBuf {
    path.with_extension("tokenizer.json")
}

/// Writes a model to `path` ([`to_safetensors`]), and its tokenizer beside it where it has one
/// ([`tokenizer_beside`], recorded in the metadata with its hash).
pub fn save_model(path: &Path, w: &Weights, extra: &[(&str, String)]) -> Result<()> {
    let mut extra = extra.to_vec();
    if let Some(t) = w.vocab.tokenizer() {
        let beside = tokenizer_beside(path);
        let name = beside
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        write_atomic(&beside, t.json().as_bytes())?;
        extra.push(("tokenizer_file", name));
    }
    write_atomic(path, &to_safetensors(w, &extra)?)
}

/// The tokenizer a model file records, read from the file beside it and checked against the
/// recorded hash; `None` for a model of characters.
pub fn model_tokenizer(path: &Path) -> Result<Option<std::sync::Arc<Tokenizer>>> {
    let flag = || format!("--load {}", path.display());
    let bytes = std::fs::read(path)
        .context("cannot read it")
        .with_context(flag)?;
    let Ok((_, header)) = SafeTensors::read_metadata(&bytes) else {
        return Ok(None);
    };
    let Some(m) = header.metadata().as_ref() else {
        return Ok(None);
    };
    let Some(hash) = m.get("tokenizer_sha256") else {
        return Ok(None);
    };
    let file = m
        .get("tokenizer_file")
        .map_or_else(|| tokenizer_beside(path), |name| path.with_file_name(name));
    let t = Tokenizer::from_file(&file).with_context(|| {
        format!(
            "{}: its tokenizer {} (which --save writes beside it)",
            flag(),
            file.display()
        )
    })?;
    if t.hash() != hash {
        bail!(
            "{}: the tokenizer beside it, {}, is not the one it was trained with (sha256 {} recorded, {} found); give the right one with --tokenizer",
            flag(),
            file.display(),
            &hash[..hash.len().min(12)],
            &t.hash()[..12]
        );
    }
    Ok(Some(std::sync::Arc::new(t)))
}

/// Reads weights saved by `zl train --save` (or any safetensors file with F32 `W_E` [V, D] and
/// `W_U` [D, V] and a `vocab` metadata entry, or a recorded tokenizer beside it).
pub fn read_safetensors(path: &Path) -> Result<Weights> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if let Some(t) = model_tokenizer(path)? {
        let l = loaded_from_safetensors(&bytes).with_context(|| path.display().to_string())?;
        let vocab = Vocab::tokens(t);
        if vocab.len() != l.vocab_len {
            bail!(
                "{}: W_E has {} rows but its tokenizer has {} tokens",
                path.display(),
                l.vocab_len,
                vocab.len()
            );
        }
        return Ok(l.with_vocab(vocab));
    }
    weights_from_safetensors(&bytes, path)
}

/// The training settings a weights file records (`zl train --save` writes them in the metadata):
/// each `None` where the file does not record it, or records it in a form zl does not read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    pub seed: Option<u64>,
    pub epochs: Option<u32>,
    pub lr: Option<f64>,
    pub weight_decay: Option<f64>,
    /// The corpus as [`source_record`] writes it.
    pub corpus: Option<String>,
    /// The fraction of the corpus held out (`--val-fraction`): the model trained on the rest,
    /// the text's first part.
    pub val_fraction: Option<f64>,
}

/// The settings `path` records; all `None` for a file without metadata.
pub fn recorded(path: &Path) -> Result<Recorded> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let Ok((_, header)) = SafeTensors::read_metadata(&bytes) else {
        return Ok(Recorded::default());
    };
    let Some(m) = header.metadata().as_ref() else {
        return Ok(Recorded::default());
    };
    let lr = m.get("lr").and_then(|s| s.parse::<f64>().ok());
    let weight_decay = m.get("weight_decay").and_then(|s| s.parse::<f64>().ok());
    Ok(Recorded {
        seed: m.get("seed").and_then(|s| s.parse().ok()),
        epochs: m
            .get("epochs")
            .and_then(|s| s.parse().ok())
            .filter(|&e: &u32| e >= 1),
        lr: lr.filter(|x| x.is_finite() && *x > 0.0),
        weight_decay: weight_decay.filter(|x| x.is_finite() && *x >= 0.0),
        corpus: m.get("corpus").cloned(),
        val_fraction: m
            .get("val_fraction")
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|x| x.is_finite() && *x > 0.0 && *x < 1.0),
    })
}

/// The seed text's and a count file's marks in a weights file's `corpus` metadata.
const SEED_RECORD: &str = "the seed notebook's text";
const COUNTS_RECORD: &str = "the counts in ";

/// A corpus's source as a weights file's `corpus` metadata records it (`zl train --save`), which
/// [`recorded_corpus`] reads back: a file format, so it stays as files already written have it,
/// whatever words render gives a source.
pub fn source_record(source: &Source) -> String {
    match source {
        Source::Seed => SEED_RECORD.into(),
        Source::File(p) => p.display().to_string(),
        Source::Counts(p) => format!("{COUNTS_RECORD}{}", p.display()),
        // Not read back (nothing to read again).
        Source::Stdin(_) => "standard input".into(),
        Source::Shuffled { of, seed } => {
            format!("a shuffle of {} (seed {seed})", source_record(of))
        }
    }
}

/// The corpus a weights file records ([`source_record`]), as a source that can be read again:
/// the seed text, a text file or a count file that exists here. `None` where the file records
/// none, or one that is gone (a shuffle, a moved file, a pipe).
pub fn recorded_corpus(path: &Path) -> Result<Option<Source>> {
    let Some(s) = recorded(path)?.corpus else {
        return Ok(None);
    };
    if s == SEED_RECORD {
        return Ok(Some(Source::Seed));
    }
    let (file, counts) = match s.strip_prefix(COUNTS_RECORD) {
        Some(p) => (PathBuf::from(p), true),
        None => (PathBuf::from(s), false),
    };
    let source = match counts {
        true => Source::Counts(file.clone()),
        false => Source::File(file.clone()),
    };
    Ok(file.is_file().then_some(source))
}

/// Parses and checks safetensors bytes that carry their vocabulary; `path` only names the file
/// in messages.
pub fn weights_from_safetensors(bytes: &[u8], path: &Path) -> Result<Weights> {
    let l = loaded_from_safetensors(bytes).with_context(|| path.display().to_string())?;
    match l.vocab.clone() {
        Some(vocab) => Ok(l.with_vocab(vocab)),
        None => bail!(
            "{}: no 'vocab' metadata; save the model with zl train --save",
            path.display()
        ),
    }
}

/// Weights as a safetensors file holds them: `W_E` [V, D] and `W_U` [D, V] in f32, and the
/// vocabulary where its metadata names one (a file written by PyTorch or numpy has none).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The `vocab` metadata (characters), in token-id order, if the file has it.
    pub vocab: Option<Vocab>,
    /// The hash of the tokenizer the model was trained with, if it records one.
    pub tokenizer_sha256: Option<String>,
    /// Rows of W_E.
    pub vocab_len: usize,
    /// Columns of W_E.
    pub d_model: usize,
    /// W_E, row-major, V × D.
    pub w_e: Vec<f32>,
    /// W_U, row-major, D × V.
    pub w_u: Vec<f32>,
    /// The stored type where it was not F32 (F64, F16 or BF16), converted to f32.
    pub converted_from: Option<String>,
}

impl Loaded {
    /// The weights with this vocabulary (of `vocab_len` tokens).
    pub fn with_vocab(self, vocab: Vocab) -> Weights {
        debug_assert_eq!(vocab.len(), self.vocab_len);
        Weights {
            vocab,
            d_model: self.d_model,
            w_e: self.w_e,
            w_u: self.w_u,
        }
    }
}

/// Where a loaded model's vocabulary came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VocabFrom {
    /// The file's `vocab` metadata.
    Metadata,
    /// The `--corpus` text's vocabulary (the file has no metadata; the sizes match).
    Corpus,
    /// The seed notebook's 30 characters (no metadata, no `--corpus`, V = 30).
    Seed,
}

/// Reads `--load PATH` and names its vocabulary: the file's metadata, which must be the
/// corpus's; else the corpus's (the `--corpus` text, or the seed notebook's when
/// `corpus_given` is false) when its size is W_E's row count.
pub fn load_weights(
    path: &Path,
    corpus: &super::corpus::Corpus,
    corpus_given: bool,
) -> Result<(Weights, VocabFrom, Option<String>)> {
    let flag = || format!("--load {}", path.display());
    // The io error stays in the chain (Python's bindings raise FileNotFoundError from it).
    let bytes = std::fs::read(path)
        .context("cannot read it")
        .with_context(flag)?;
    let l = loaded_from_safetensors(&bytes).with_context(flag)?;
    let note = l.converted_from.clone().map(|t| {
        format!(
            "{}: W_E and W_U are stored as {t}; converted to f32",
            flag()
        )
    });
    let (v, want) = (l.vocab_len, corpus.vocab.len());
    let model_tokens = match &l.tokenizer_sha256 {
        Some(h) => format!("tokenizer sha256 {}", &h[..h.len().min(12)]),
        None => "characters".into(),
    };
    let text_tokens = match corpus.vocab.tokenizer() {
        Some(t) => format!("tokenizer sha256 {}", &t.hash()[..12]),
        None => "characters".into(),
    };
    if l.tokenizer_sha256.as_deref() != corpus.vocab.tokenizer().map(|t| t.hash()) {
        bail!(
            "{}: the model is tokenized by {model_tokens} but {} by {text_tokens}; give the text with the model's tokenizer (--tokenizer {}, which --save wrote), or a model trained on these tokens",
            flag(),
            corpus.source,
            tokenizer_beside(path).display()
        );
    }
    if l.tokenizer_sha256.is_some() {
        if v != want {
            bail!(
                "{}: W_E has {v} rows but its tokenizer has {want} tokens",
                flag()
            );
        }
        return Ok((
            l.with_vocab(corpus.vocab.clone()),
            VocabFrom::Metadata,
            note,
        ));
    }
    let from = match &l.vocab {
        Some(vocab) if *vocab != corpus.vocab => {
            let got: String = vocab.as_chars().unwrap_or_default().iter().collect();
            let want_s: String = corpus.vocab.as_chars().unwrap_or_default().iter().collect();
            bail!(
                "{}: its vocabulary {got:?} ({} characters) is not that of {} {want_s:?} ({} characters); pass the --corpus it was trained on",
                flag(),
                vocab.len(),
                corpus.source,
                want
            );
        }
        Some(_) => VocabFrom::Metadata,
        None if v == want && corpus_given => VocabFrom::Corpus,
        None if v == want => VocabFrom::Seed,
        None if corpus_given => bail!(
            "{}: no vocab metadata, and W_E has {v} rows but {} has {want} distinct characters; pass the --corpus it was trained on",
            flag(),
            corpus.source
        ),
        None => bail!(
            "{}: no vocab metadata, and W_E has {v} rows but the seed notebook's vocabulary has {want}; pass --corpus with the text it was trained on",
            flag()
        ),
    };
    Ok((l.with_vocab(corpus.vocab.clone()), from, note))
}

/// Parses and checks safetensors bytes. Messages do not name the file: the caller prefixes the
/// flag or path.
pub fn loaded_from_safetensors(bytes: &[u8]) -> Result<Loaded> {
    if looks_like_text(bytes) {
        bail!("this is a text file, not model weights; train on it with --corpus instead (zl train --corpus FILE --save FILE.safetensors writes weights)");
    }
    let what = || "not a zl model".to_string();
    let corrupt = || "not a complete safetensors file (truncated or corrupt?)".to_string();
    // The header (for the metadata) and the tensors are two views of the same bytes.
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(corrupt)?;
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(corrupt)?;
    let vocab = match header.metadata().as_ref().and_then(|m| m.get("vocab")) {
        None => None,
        Some(vocab_json) => Some(Vocab::chars(&parse_vocab(vocab_json)?)),
    };
    let tokenizer_sha256 = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("tokenizer_sha256"))
        .cloned();
    let mut converted = None;
    let mut tensor = |name: &str| -> Result<(Vec<usize>, Vec<f32>)> {
        let t = st.tensor(name).map_err(|_| {
            let names: Vec<&str> = st.names();
            anyhow::anyhow!(
                "{}: no tensor named {name} (it has {names:?}); expected W_E and W_U",
                what()
            )
        })?;
        let d = t.data();
        let values: Vec<f32> = match t.dtype() {
            Dtype::F32 => d
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F64 => d
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                .collect(),
            Dtype::F16 => d
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => d
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => bail!("{name} is {other:?}; zl reads F32, F64, F16 or BF16"),
        };
        if t.dtype() != Dtype::F32 {
            converted = Some(format!("{:?}", t.dtype()));
        }
        if let Some(i) = values.iter().position(|x| !x.is_finite()) {
            bail!(
                "{name} holds a non-finite value ({}) at flat index {i}{}",
                values[i],
                if t.dtype() == Dtype::F64 {
                    " (as f32)"
                } else {
                    ""
                }
            );
        }
        Ok((t.shape().to_vec(), values))
    };
    let (se, w_e) = tensor("W_E")?;
    let (su, w_u) = tensor("W_U")?;
    let v = match (&vocab, se.first()) {
        (Some(vocab), _) => vocab.len(),
        (None, Some(&rows)) => rows,
        (None, None) => 0,
    };
    if se.len() != 2 || su.len() != 2 || se[0] != v || su[1] != v || se[1] != su[0] {
        bail!(
            "shapes W_E {se:?} and W_U {su:?} do not fit a vocabulary of {v}; expected [{v}, D] and [D, {v}]"
        );
    }
    let d = se[1];
    if v < 2 || !(1..=zl_core::flags::MAX_D_MODEL as usize).contains(&d) {
        bail!(
            "a vocabulary of {v} and d_model {d}; zl models have at least 2 tokens and d_model 1 to {}",
            zl_core::flags::MAX_D_MODEL
        );
    }
    Ok(Loaded {
        vocab,
        tokenizer_sha256,
        vocab_len: v,
        d_model: d,
        w_e,
        w_u,
        converted_from: converted,
    })
}

/// The `vocab` metadata: a JSON array of distinct one-character strings.
fn parse_vocab(vocab_json: &str) -> Result<Vec<char>> {
    let vocab_strings: Vec<String> = serde_json::from_str(vocab_json)
        .context("the 'vocab' metadata is not a JSON array of strings")?;
    let mut vocab = Vec::with_capacity(vocab_strings.len());
    for (i, s) in vocab_strings.iter().enumerate() {
        let mut it = s.chars();
        match (it.next(), it.next()) {
            (Some(c), None) => vocab.push(c),
            _ => bail!("vocab entry {i} is {s:?}, not one character"),
        }
    }
    let mut sorted = vocab.clone();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        bail!("the vocab metadata lists {:?} twice", w[0]);
    }
    Ok(vocab)
}

/// Whether `bytes`, which a safetensors reader refused, look like text: they do not open with a
/// safetensors header (a little-endian length, then `{`), and their first 4 KiB are UTF-8 (a
/// character cut by the 4 KiB allowed) without a NUL.
pub fn looks_like_text(bytes: &[u8]) -> bool {
    let start = &bytes[..bytes.len().min(4096)];
    let utf8 = match std::str::from_utf8(start) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && e.valid_up_to() + 4 > start.len(),
    };
    !start.is_empty() && start.get(8) != Some(&b'{') && utf8 && !start.contains(&0)
}
