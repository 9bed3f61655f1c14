//! A model's vocabulary: the characters of a text (any number of them), or a tokenizer's tokens,
//! each token its bytes in id order, shown by zl-core's one [`Label`].

use std::{collections::HashMap, sync::Arc};

use anyhow::{bail, Result};
use zl_core::Label;

use super::tokenizer::Tokenizer;

/// Tokens in id order: characters, or a tokenizer's subword tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocab {
    tokens: Vec<Box<[u8]>>,
    /// The tokenizer, where tokens are not characters.
    tokenizer: Option<Arc<Tokenizer>>,
}

impl Vocab {
    /// Characters, ids in the order given.
    pub fn chars(chars: &[char]) -> Vocab {
        let tokens = chars
            .iter()
            .map(|c| c.to_string().into_bytes().into_boxed_slice())
            .collect();
        Vocab {
            tokens,
            tokenizer: None,
        }
    }

    /// A tokenizer's tokens, ids its own.
    pub fn tokens(tokenizer: Arc<Tokenizer>) -> Vocab {
        Vocab {
            tokens: tokenizer.token_bytes(),
            tokenizer: Some(tokenizer),
        }
    }

    /// What one token is, for messages: "character", or "token" for a tokenizer's.
    pub fn unit(&self) -> &'static str {
        match self.tokenizer {
            Some(_) => "token",
            None => "character",
        }
    }

    /// Tokens in the vocabulary (V).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether it has no token.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The tokenizer, where the tokens are subword tokens.
    pub fn tokenizer(&self) -> Option<&Arc<Tokenizer>> {
        self.tokenizer.as_ref()
    }

    /// Token `id`'s bytes (a character's UTF-8).
    pub fn bytes(&self, id: usize) -> &[u8] {
        &self.tokens[id]
    }

    /// Token `id`'s text, as JSON carries it (bytes that are not UTF-8 as U+FFFD: the label
    /// says which they were).
    pub fn text(&self, id: usize) -> String {
        String::from_utf8_lossy(&self.tokens[id]).into_owned()
    }

    /// Token `id` as zl shows it: Python's `repr` of its text, bytes that are not UTF-8 escaped.
    pub fn label(&self, id: usize) -> Label<&[u8]> {
        Label(&self.tokens[id])
    }

    /// Token `id` as one character, in a vocabulary of characters.
    pub fn char(&self, id: usize) -> Option<char> {
        self.tokenizer.is_none().then(|| self.single_char(id))?
    }

    /// Token `id`'s text where it is one character, in any vocabulary (a tokenizer's
    /// single-letter tokens too).
    pub fn single_char(&self, id: usize) -> Option<char> {
        let s = std::str::from_utf8(&self.tokens[id]).ok()?;
        let mut it = s.chars();
        it.next().filter(|_| it.next().is_none())
    }

    /// The characters, in a vocabulary of characters.
    pub fn as_chars(&self) -> Option<Vec<char>> {
        (0..self.len()).map(|i| self.char(i)).collect()
    }

    /// Token `id` where one short cell is all there is (a heatmap's axes): each character as
    /// zl-core's `glyph` shows it, bytes that are not UTF-8 as `\xNN`.
    pub fn glyph(&self, id: usize) -> String {
        let mut s = String::new();
        for chunk in self.tokens[id].utf8_chunks() {
            s.extend(chunk.valid().chars().map(zl_core::glyph));
            for b in chunk.invalid() {
                s.push_str(&format!("\\x{b:02x}"));
            }
        }
        s
    }

    /// The bytes of a sequence of tokens: the text they decode to.
    pub fn decode(&self, ids: &[usize]) -> Vec<u8> {
        ids.iter()
            .flat_map(|&i| self.tokens[i].iter().copied())
            .collect()
    }

    /// The token ids of `text`: the tokenizer's encoding, or each character's id. `flag` names
    /// the text in the one line that says which character is outside the vocabulary.
    pub fn encode(&self, text: &str, flag: &str) -> Result<Vec<usize>> {
        if let Some(t) = &self.tokenizer {
            return Ok(t.encode(text)?.into_iter().map(|i| i as usize).collect());
        }
        let ids: HashMap<char, usize> = (0..self.len())
            .filter_map(|i| Some((self.char(i)?, i)))
            .collect();
        text.chars()
            .enumerate()
            .map(|(k, c)| {
                ids.get(&c).copied().ok_or_else(|| {
                    anyhow::anyhow!(
                        "{flag}: character {k} ({c:?}) is not in the model's vocabulary of {} characters; use only its characters",
                        self.len()
                    )
                })
            })
            .collect()
    }

    /// Whether `other` tokenizes as this vocabulary does, or one line saying how they differ
    /// (`what` and `other_what` name them).
    pub fn same_tokenizer(&self, other: &Vocab, what: &str, other_what: &str) -> Result<()> {
        let name = |v: &Vocab| match &v.tokenizer {
            Some(t) => format!("tokenizer sha256 {}", &t.hash()[..12]),
            None => "characters".to_string(),
        };
        if self.tokenizer.as_ref().map(|t| t.hash()) != other.tokenizer.as_ref().map(|t| t.hash()) {
            bail!(
                "{what} is tokenized by {} but {other_what} by {}; give both the same --tokenizer (or --bpe on the same text)",
                name(self),
                name(other)
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_keep_their_labels_and_ids() {
        let v = Vocab::chars(&['h', '\'', '\n', '日']);
        assert_eq!(v.label(1).to_string(), Label('\'').to_string());
        assert_eq!(v.label(2).to_string(), "'\\n'");
        assert_eq!((v.char(3), v.glyph(2)), (Some('日'), "↵".to_string()));
        assert_eq!(v.encode("h日\n", "t").unwrap(), vec![0, 3, 2]);
        assert!(v
            .encode("hx", "--text")
            .unwrap_err()
            .to_string()
            .contains("'x'"));
        assert_eq!(v.decode(&[0, 3]), "h日".as_bytes());
        assert_eq!(v.as_chars().unwrap(), vec!['h', '\'', '\n', '日']);
    }
}
