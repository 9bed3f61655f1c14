//! Subword tokens: a Hugging Face `tokenizer.json` (`--tokenizer FILE`), or a byte-level BPE
//! trained on the corpus (`--bpe V`), both through the `tokenizers` crate (pure Rust, no network).
//!
//! A tokenizer is identified by the SHA-256 of its canonical JSON (the crate's serialisation,
//! which is what zl writes beside a model and into a count file), so that a model and a text are
//! compared by what tokenizes them, not by file names.

use std::path::Path;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use tokenizers::{
    decoders::DecoderWrapper,
    models::{bpe::BpeTrainerBuilder, bpe::BPE, TrainerWrapper},
    pre_tokenizers::byte_level::ByteLevel,
};

/// Fewest tokens `--bpe` trains: the 256 bytes, so that every text can be encoded.
pub const MIN_BPE: usize = 256;
/// Most tokens `--bpe` trains (token ids are u32, and count files store them so).
pub const MAX_BPE: usize = 1 << 20;

/// A loaded tokenizer, its canonical JSON and that JSON's hash.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    json: String,
    hash: String,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokenizer(sha256 {})", self.hash)
    }
}

impl PartialEq for Tokenizer {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
    }
}

impl Tokenizer {
    /// Reads a `tokenizer.json`; messages do not name the file (the caller prefixes the flag).
    pub fn from_file(path: &Path) -> Result<Tokenizer> {
        if path.is_dir() {
            bail!("this is a folder; give a Hugging Face tokenizer.json file");
        }
        let bytes = std::fs::read(path).context("cannot read it")?;
        Tokenizer::from_json(&bytes)
    }

    /// Parses a `tokenizer.json` and checks that its ids are 0..V with every id a token.
    pub fn from_json(bytes: &[u8]) -> Result<Tokenizer> {
        let inner = tokenizers::Tokenizer::from_bytes(bytes).map_err(|e| {
            anyhow::anyhow!("not a Hugging Face tokenizer.json zl can read ({e}); give the tokenizer.json of a tokenizers model, such as GPT-2's")
        })?;
        Tokenizer::new(inner)
    }

    fn new(inner: tokenizers::Tokenizer) -> Result<Tokenizer> {
        let v = inner.get_vocab_size(true);
        if v < 2 {
            bail!("the tokenizer has {v} token(s); a model needs at least 2");
        }
        if v > MAX_BPE {
            bail!("the tokenizer has {v} tokens, more than the {MAX_BPE} zl reads");
        }
        if let Some(id) = (0..v as u32).find(|&id| inner.id_to_token(id).is_none()) {
            bail!(
                "the tokenizer's ids are not 0 to {}: id {id} has no token",
                v - 1
            );
        }
        let json = inner
            .to_string(false)
            .map_err(|e| anyhow::anyhow!("the tokenizer cannot be written back as JSON ({e})"))?;
        let hash = format!("{:x}", Sha256::digest(json.as_bytes()));
        Ok(Tokenizer { inner, json, hash })
    }

    /// A byte-level BPE of `vocab_size` tokens (fewer where the text has fewer pairs to merge)
    /// trained on `text`, as GPT-2's is built: the 256 bytes, then the most frequent merges.
    /// Deterministic: the same text gives the same tokenizer on every run and thread count.
    pub fn train_bpe(text: &str, vocab_size: usize) -> Result<Tokenizer> {
        let byte_level = ByteLevel::new(false, true, true);
        let mut inner = tokenizers::Tokenizer::new(BPE::default());
        inner.with_pre_tokenizer(Some(byte_level));
        inner.with_decoder(Some(byte_level));
        let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
            .vocab_size(vocab_size)
            .min_frequency(0)
            .show_progress(false)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build()
            .into();
        inner
            .train(&mut trainer, text.split_inclusive('\n'))
            .map_err(|e| anyhow::anyhow!("training the BPE failed ({e})"))?;
        Tokenizer::new(inner)
    }

    /// The canonical JSON (what `--save` writes beside a model, and a count file holds).
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The SHA-256 of [`Tokenizer::json`], in hex.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Tokens in the vocabulary.
    pub fn len(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Whether the vocabulary is empty (never: [`Tokenizer::from_json`] refuses it).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each token's bytes, in id order: a byte-level tokenizer's pieces mapped back to the bytes
    /// they stand for (GPT-2's `Ġ` is the space), any other tokenizer's pieces as written.
    pub fn token_bytes(&self) -> Vec<Box<[u8]>> {
        let byte_level = matches!(self.inner.get_decoder(), Some(DecoderWrapper::ByteLevel(_)));
        let unicode_to_byte = gpt2_unicode_to_byte();
        (0..self.len() as u32)
            .map(|id| {
                let piece = self.inner.id_to_token(id).expect("checked ids");
                let bytes: Option<Vec<u8>> = byte_level
                    .then(|| piece.chars().map(&unicode_to_byte).collect())
                    .flatten();
                bytes
                    .unwrap_or_else(|| piece.into_bytes())
                    .into_boxed_slice()
            })
            .collect()
    }

    /// The token ids of `text`, as the tokenizer encodes it whole (no special tokens added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let e = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| anyhow::anyhow!("the tokenizer cannot encode the text ({e})"))?;
        Ok(e.get_ids().to_vec())
    }
}

/// GPT-2's byte-to-character map (its `bytes_to_unicode`), inverted: the printable bytes stand
/// for themselves, the others for U+0100 on, in byte order.
fn gpt2_unicode_to_byte() -> impl Fn(char) -> Option<u8> {
    let mut table = [0u8; 324];
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut n = 0;
    for b in 0..=255u8 {
        if printable(b) {
            table[b as usize] = b;
        } else {
            table[256 + n] = b;
            n += 1;
        }
    }
    move |c: char| {
        let k = c as usize;
        match k {
            0..=255 if printable(k as u8) => Some(k as u8),
            256..=323 => Some(table[k]),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trained_bpe_is_deterministic_and_round_trips() {
        let text = "the cat sat on the mat; the hat — ünïcode 日本語\n".repeat(50);
        let a = Tokenizer::train_bpe(&text, 300).unwrap();
        let b = Tokenizer::train_bpe(&text, 300).unwrap();
        assert_eq!(a.hash(), b.hash());
        let back = Tokenizer::from_json(a.json().as_bytes()).unwrap();
        assert_eq!(back.hash(), a.hash());
        let tokens = a.token_bytes();
        assert!(tokens.len() > 256 && tokens.len() <= 300);
        let ids = a.encode(&text).unwrap();
        let decoded: Vec<u8> = ids
            .iter()
            .flat_map(|&i| tokens[i as usize].to_vec())
            .collect();
        assert_eq!(decoded, text.as_bytes());
        assert!(ids.len() < text.len() / 2, "merges happened");
    }

    #[test]
    fn corrupt_tokenizers_are_refused() {
        for bad in [&b"{"[..], b"{\"model\": {\"type\": \"Nope\"}}", b"\x00\x01"] {
            let e = Tokenizer::from_json(bad).unwrap_err().to_string();
            assert!(e.contains("not a Hugging Face tokenizer.json"), "{e}");
        }
    }
}
