//! Files zl writes and reads: atomic writes, and weights as safetensors.
//!
//! The safetensors layout is PyTorch's: `W_E` is F32 [vocab, d_model] and `W_U` is F32
//! [d_model, vocab], row-major, little-endian, so that
//! `model.load_state_dict(safetensors.torch.load_file(PATH))` works on the notebook's
//! `ZeroLayerTransformer`. The metadata holds the vocabulary (a JSON array of one-character
//! strings in token-id order) and the training settings.

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use zl_core::Model;

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
    /// Characters in token-id order.
    pub vocab: Vec<char>,
    /// Columns of W_E (rows of W_U).
    pub d_model: usize,
    /// W_E, row-major, vocab × d_model.
    pub w_e: Vec<f32>,
    /// W_U, row-major, d_model × vocab.
    pub w_u: Vec<f32>,
}

impl Weights {
    /// A model's weights, row-major (zl-core's one conversion: `Model::w_e_row_major`).
    pub fn of<const V: usize, const D: usize>(m: &Model<V, D>, vocab: &[char]) -> Weights {
        Weights {
            vocab: vocab.to_vec(),
            d_model: m.d_model(),
            w_e: m.w_e_row_major().collect(),
            w_u: m.w_u_row_major().collect(),
        }
    }

    /// The model, at capacity `V` × `D` (zl-core's `Model::from_row_major`).
    pub fn model<const V: usize, const D: usize>(&self) -> Result<Model<V, D>> {
        Ok(Model::from_row_major(
            self.vocab.len(),
            self.d_model,
            &self.w_e,
            &self.w_u,
        )?)
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
    let vocab: Vec<String> = w.vocab.iter().map(|c| c.to_string()).collect();
    let mut meta: HashMap<String, String> = HashMap::new();
    meta.insert("vocab".into(), serde_json::to_string(&vocab)?);
    meta.insert(
        "format".into(),
        "zl zero-layer transformer: logits = W_E[token] @ W_U".into(),
    );
    for (k, val) in extra {
        meta.insert((*k).into(), val.clone());
    }
    Ok(safetensors::serialize(tensors, Some(meta))?)
}

/// Reads weights saved by `zl train --save` (or any safetensors file with F32 `W_E` [V, D] and
/// `W_U` [D, V] and a `vocab` metadata entry).
pub fn read_safetensors(path: &Path) -> Result<Weights> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    weights_from_safetensors(&bytes, path)
}

/// Parses and checks safetensors bytes; `path` only names the file in messages.
pub fn weights_from_safetensors(bytes: &[u8], path: &Path) -> Result<Weights> {
    let what = || format!("{} is not a zl model", path.display());
    let corrupt = || {
        format!(
            "{}: not a complete safetensors file (truncated or corrupt?)",
            path.display()
        )
    };
    // The header (for the metadata) and the tensors are two views of the same bytes.
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(corrupt)?;
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(corrupt)?;
    let vocab_json = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("vocab"))
        .with_context(|| {
            format!(
                "{}: no 'vocab' metadata; save the model with zl train --save",
                path.display()
            )
        })?;
    let vocab_strings: Vec<String> = serde_json::from_str(vocab_json).with_context(|| {
        format!(
            "{}: the 'vocab' metadata is not a JSON array of strings",
            path.display()
        )
    })?;
    let mut vocab = Vec::with_capacity(vocab_strings.len());
    for (i, s) in vocab_strings.iter().enumerate() {
        let mut it = s.chars();
        match (it.next(), it.next()) {
            (Some(c), None) => vocab.push(c),
            _ => bail!(
                "{}: vocab entry {i} is {s:?}, not one character",
                path.display()
            ),
        }
    }
    let tensor = |name: &str| -> Result<(Vec<usize>, Vec<f32>)> {
        let t = st.tensor(name).map_err(|_| {
            let names: Vec<&str> = st.names();
            anyhow::anyhow!(
                "{}: no tensor named {name} (it has {names:?}); expected W_E and W_U",
                what()
            )
        })?;
        if t.dtype() != Dtype::F32 {
            bail!(
                "{}: {name} is {:?}, expected F32",
                path.display(),
                t.dtype()
            );
        }
        let values: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some(i) = values.iter().position(|x| !x.is_finite()) {
            bail!(
                "{}: {name} holds a non-finite value ({}) at flat index {i}",
                path.display(),
                values[i]
            );
        }
        Ok((t.shape().to_vec(), values))
    };
    let (se, w_e) = tensor("W_E")?;
    let (su, w_u) = tensor("W_U")?;
    let v = vocab.len();
    if se.len() != 2 || su.len() != 2 || se[0] != v || su[1] != v || se[1] != su[0] {
        bail!(
            "{}: shapes W_E {se:?} and W_U {su:?} do not fit a vocabulary of {v}; expected [{v}, D] and [D, {v}]",
            path.display()
        );
    }
    let d = se[1];
    if !(2..=super::MAX_VOCAB).contains(&v) || !(1..=super::MAX_D_MODEL).contains(&d) {
        bail!(
            "{}: a vocabulary of {v} and d_model {d}; zl models have 2 to {} characters and d_model 1 to {}",
            path.display(),
            super::MAX_VOCAB,
            super::MAX_D_MODEL
        );
    }
    let mut sorted = vocab.clone();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        bail!(
            "{}: the vocab metadata lists {:?} twice",
            path.display(),
            w[0]
        );
    }
    Ok(Weights {
        vocab,
        d_model: d,
        w_e,
        w_u,
    })
}
