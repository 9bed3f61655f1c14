//! Your own text and your own weights on a microcontroller: docs/EMBEDDED.md shows this file
//! whole. no_std, no allocator. tests/cli/embedded.rs builds it for thumbv7em-none-eabihf and
//! runs it on the host beside `zl train`, which must agree with it bit for bit.
#![no_std]

use core::fmt::{self, Write};

use zl_core::{AdamWConfig, Bigrams, CorpusError, Model, ShapeError, Trainer, Vocab};

/// Capacities, fixed when the firmware is built: at most `V` distinct characters and `d_model`
/// at most `D`. Every matrix has this size; the sizes in use (a text's vocabulary, your
/// d_model) are passed at run time, and the unused rows and columns stay exactly zero.
pub const V: usize = 64;
pub const D: usize = 16;

/// Why a call failed.
#[derive(Debug)]
pub enum Error {
    /// The text has fewer than 2 or more than `V` distinct characters, or is too short.
    Corpus(CorpusError),
    /// The sizes do not fit the capacities `V` × `D`.
    Shape(ShapeError),
    /// The loss stopped being finite at this epoch.
    Diverged { epoch: u32, loss: f32 },
    /// The bytes are not the layout `zl train --save` writes for this vocabulary.
    NotAZlModel,
}

/// Trains a model of `d_model` dimensions on `text`, as `zl train --corpus FILE --d-model D
/// --seed SEED --epochs EPOCHS` does (AdamW lr 1e-3, weight decay 0.01): token ids in
/// code-point order, nanoGPT's `sorted(set(text))`. Returns the vocabulary, the trained model
/// and the loss after the last update.
pub fn train_on(
    text: &str,
    d_model: usize,
    seed: u64,
    epochs: u32,
) -> Result<(Vocab<V>, Model<V, D>, f32), Error> {
    let vocab = Vocab::<V>::from_text_sorted(text).map_err(Error::Corpus)?;
    let bigrams = Bigrams::from_text(&vocab, text).map_err(Error::Corpus)?;
    let model = Model::init_torch(seed, vocab.len(), d_model).map_err(Error::Shape)?;
    let mut trainer = Trainer::new(model, AdamWConfig::default());
    let final_loss = trainer
        .run(&bigrams, epochs, |_epoch, _loss| {})
        .map_err(|zl_core::Diverged { epoch, loss }| Error::Diverged { epoch, loss })?;
    Ok((vocab, trainer.model, final_loss))
}

/// The model in a file written by `zl train --save`, for a vocabulary of `vocab_len`
/// characters; embed the file in the firmware with
/// `static WEIGHTS: &[u8] = include_bytes!("model.safetensors");`.
///
/// A safetensors file is an 8-byte little-endian header length, that many bytes of JSON
/// header, then the tensors' bytes. zl writes exactly two tensors, `W_E` [v, d] then `W_U`
/// [d, v], both F32, little-endian and row-major, so after the header come v·d floats of W_E
/// and d·v of W_U, and d follows from the length. The JSON itself is not read: this is zl's
/// layout, not a general safetensors reader (check a file from elsewhere on the host first,
/// with `zl interpret --load FILE`).
pub fn load_zl_weights(file: &[u8], vocab_len: usize) -> Result<Model<V, D>, Error> {
    let header: [u8; 8] = file.get(..8).ok_or(Error::NotAZlModel)?.try_into().unwrap();
    let data = usize::try_from(u64::from_le_bytes(header))
        .ok()
        .and_then(|n| file.get(8usize.checked_add(n)?..))
        .ok_or(Error::NotAZlModel)?;
    let per_dim = 2 * 4 * vocab_len;
    if vocab_len == 0 || data.is_empty() || data.len() % per_dim != 0 {
        return Err(Error::NotAZlModel);
    }
    let (v, d) = (vocab_len, data.len() / per_dim);
    // Checks v ≤ V and d ≤ D before anything is copied.
    Model::<V, D>::zeros(v, d).map_err(Error::Shape)?;
    let mut w_e = [0.0f32; V * D];
    let mut w_u = [0.0f32; D * V];
    let floats = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    for (dst, x) in w_e[..v * d].iter_mut().chain(&mut w_u[..d * v]).zip(floats) {
        *dst = x;
    }
    Model::from_row_major(v, d, &w_e[..v * d], &w_u[..d * v]).map_err(Error::Shape)
}

/// The model's most likely next character after `c` (the largest of `W_E[c]·W_U`, the lowest
/// id among equals); `None` for a character outside the vocabulary.
pub fn next_char(model: &Model<V, D>, vocab: &Vocab<V>, c: char) -> Option<char> {
    let logits = model.logits_of(vocab.id(c)?);
    let mut best = 0;
    for j in 1..vocab.len() {
        if logits[j] > logits[best] {
            best = j;
        }
    }
    vocab.char(best)
}

/// Writes `n` characters, each the most likely after the one before, starting after `c`.
pub fn write_greedy(
    out: &mut impl Write,
    model: &Model<V, D>,
    vocab: &Vocab<V>,
    mut c: char,
    n: usize,
) -> fmt::Result {
    for _ in 0..n {
        match next_char(model, vocab, c) {
            Some(next) => c = next,
            None => return Err(fmt::Error),
        }
        out.write_char(c)?;
    }
    Ok(())
}
