//! The training text and its character vocabulary.
//!
//! Tokens are `char`s, not bytes: the seed text holds a U+2019 apostrophe, one token of three
//! UTF-8 bytes. The seed vocabulary keeps the order the notebook printed (`set(text)` in one
//! CPython process), so that token ids, and every number indexed by them, line up with it.
//! Other texts get nanoGPT's order, `sorted(set(text))`, so that a person's own PyTorch code
//! assigns the same ids.

use heapless::Vec;

/// The seed notebook's corpus, exactly: 193 characters, 30 distinct, with a U+2019 apostrophe.
pub const SEED_TEXT: &str = "Before moving on to more complex models, it\u{2019}s useful to briefly consider a zero-layer transformer. Such a model takes a token, embeds it, unembeds it to produce logits predicting the next token";

/// The notebook's `char_to_token` mapping, in token-id order:
/// `{'h': 0, 'i': 1, 'B': 2, … ' ': 29}`.
pub const SEED_VOCAB: [char; 30] = [
    'h', 'i', 'B', 'y', 'x', 'o', 'd', 'c', 'm', '.', 'a', 'r', 'u', 'f', 'n', '-', 'p', 's', 'z',
    'l', 't', '\u{2019}', 'e', 'S', 'k', 'g', ',', 'v', 'b', ' ',
];

/// Why a text could not be turned into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorpusError {
    /// The text holds more distinct characters than the vocabulary's capacity.
    TooManyDistinct {
        /// Distinct characters found (counted up to `capacity + 1`).
        found: usize,
        /// The most this build supports.
        capacity: usize,
    },
    /// A character that is not in the vocabulary, at this char offset.
    UnknownChar {
        /// The character.
        ch: char,
        /// Its position in the text, counted in characters.
        offset: usize,
    },
    /// A character listed twice in a vocabulary.
    Repeated {
        /// The character.
        ch: char,
    },
    /// Fewer than two characters: there is no next-token prediction to train on.
    TooShort {
        /// Characters in the text.
        chars: usize,
    },
    /// Only one distinct character: every prediction is trivially certain.
    OneDistinct,
    /// A token id outside the vocabulary, at this position of a token sequence.
    TokenOutOfRange {
        /// The id.
        token: usize,
        /// Its position in the sequence.
        offset: usize,
        /// Tokens in the vocabulary.
        vocab_len: usize,
    },
    /// The text is longer than the counts can hold exactly (2^24 bigrams, the f32 integer limit).
    TooLong {
        /// Characters in the text (counted up to the limit + 2).
        chars: usize,
    },
}

impl core::fmt::Display for CorpusError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            CorpusError::TooManyDistinct { found, capacity } => write!(
                f,
                "the text has at least {found} distinct characters, more than the {capacity} this model supports"
            ),
            CorpusError::UnknownChar { ch, offset } => {
                write!(f, "character {ch:?} (U+{:04X}) at character offset {offset} is not in the vocabulary", ch as u32)
            }
            CorpusError::Repeated { ch } => write!(f, "the vocabulary lists {ch:?} twice"),
            CorpusError::TooShort { chars } => {
                write!(f, "the text has {chars} character(s); at least 2 are needed for one next-token prediction")
            }
            CorpusError::OneDistinct => {
                write!(f, "the text has only one distinct character; at least 2 are needed")
            }
            CorpusError::TokenOutOfRange { token, offset, vocab_len } => {
                write!(f, "token id {token} at position {offset} is outside the vocabulary of {vocab_len} tokens")
            }
            CorpusError::TooLong { chars } => write!(
                f,
                "the text has {chars}+ characters; bigram counts are exact only up to 2^24 = 16777216 predictions"
            ),
        }
    }
}

impl core::error::Error for CorpusError {}

/// Characters → token ids: the one lookup every vocabulary uses, by binary search over the
/// characters sorted with their ids (a few comparisons at V = 256, no hashing, no allocator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids<const V: usize> {
    sorted: Vec<(char, u16), V>,
}

impl<const V: usize> Default for Ids<V> {
    fn default() -> Self {
        Ids { sorted: Vec::new() }
    }
}

impl<const V: usize> Ids<V> {
    /// The ids of `chars`, each its position. Fails with more than `V` characters or a repeat.
    pub fn new(chars: &[char]) -> Result<Self, CorpusError> {
        let mut ids = Ids::default();
        for (id, &c) in chars.iter().enumerate() {
            if ids.insert(c, id)? != id {
                return Err(CorpusError::Repeated { ch: c });
            }
        }
        Ok(ids)
    }

    /// The id of `c`, if it has one.
    pub fn get(&self, c: char) -> Option<usize> {
        self.sorted
            .binary_search_by_key(&c, |&(x, _)| x)
            .ok()
            .map(|k| self.sorted[k].1 as usize)
    }

    /// The id of `c`: the one it has, or else `id`, given to it now. Fails when `V` characters
    /// already have ids (or `id` does not fit in 16 bits).
    pub fn insert(&mut self, c: char, id: usize) -> Result<usize, CorpusError> {
        match self.sorted.binary_search_by_key(&c, |&(x, _)| x) {
            Ok(k) => Ok(self.sorted[k].1 as usize),
            Err(k) => {
                let full = CorpusError::TooManyDistinct {
                    found: V + 1,
                    capacity: V,
                };
                let id16 = u16::try_from(id).map_err(|_| full)?;
                self.sorted.insert(k, (c, id16)).map_err(|_| full)?;
                Ok(id)
            }
        }
    }

    /// Characters with ids.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether no character has an id.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }
}

/// A character vocabulary of at most `V` tokens; token id = position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocab<const V: usize> {
    chars: Vec<char, V>,
    ids: Ids<V>,
}

impl Vocab<30> {
    /// The seed notebook's vocabulary, in the order its `char_to_token` printed.
    pub fn seed() -> Self {
        Vocab::from_chars(&SEED_VOCAB).expect("30 distinct characters")
    }
}

impl<const V: usize> Vocab<V> {
    /// A vocabulary of these characters, ids in the order given; a repeated character keeps its
    /// first id. Fails with more than `V` distinct characters, or fewer than 2.
    pub fn from_chars(list: &[char]) -> Result<Self, CorpusError> {
        let (mut chars, mut ids): (Vec<char, V>, Ids<V>) = (Vec::new(), Ids::default());
        for &c in list {
            if ids.insert(c, chars.len())? == chars.len() {
                // `ids` holds as many characters as `chars` can.
                let _ = chars.push(c);
            }
        }
        if chars.len() < 2 {
            return Err(CorpusError::OneDistinct);
        }
        Ok(Vocab { chars, ids })
    }

    /// nanoGPT's vocabulary for a text: `sorted(set(text))`, ids in code-point order.
    pub fn from_text_sorted(text: &str) -> Result<Self, CorpusError> {
        let mut chars: Vec<char, V> = Vec::new();
        let mut n = 0usize;
        for c in text.chars() {
            n += 1;
            match chars.binary_search(&c) {
                Ok(_) => {}
                Err(at) => {
                    if chars.insert(at, c).is_err() {
                        return Err(CorpusError::TooManyDistinct {
                            found: V + 1,
                            capacity: V,
                        });
                    }
                }
            }
        }
        if n < 2 {
            return Err(CorpusError::TooShort { chars: n });
        }
        if chars.len() < 2 {
            return Err(CorpusError::OneDistinct);
        }
        let ids = Ids::new(&chars)?;
        Ok(Vocab { chars, ids })
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Whether the vocabulary is empty (never, for one built by this module).
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The characters in token-id order.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// The token id of `c`, if it is in the vocabulary.
    pub fn id(&self, c: char) -> Option<usize> {
        self.ids.get(c)
    }

    /// The character of token `id`.
    pub fn char(&self, id: usize) -> Option<char> {
        self.chars.get(id).copied()
    }

    /// Token ids of `text`, in order, failing at the first character outside the vocabulary.
    pub fn encode<'a>(
        &'a self,
        text: &'a str,
    ) -> impl Iterator<Item = Result<usize, CorpusError>> + 'a {
        text.chars()
            .enumerate()
            .map(move |(offset, ch)| self.id(ch).ok_or(CorpusError::UnknownChar { ch, offset }))
    }
}

/// A token as Python's `repr` of its string prints it, which is what the notebook prints for its
/// vocabulary: `'a'`, `"'"`, `'\\n'`, `'\\x1b'`, `'\\ufeff'`, `' the'`. Every label zl shows
/// (tables, figures, the interactive page) is this one. A token is a character or a subword
/// token's bytes ([`Token`]); bytes that are not valid UTF-8 (a piece of a character that a
/// byte-level tokenizer split) are escaped as `\\xNN`, as in Python's `repr` of bytes.
///
/// Python escapes what `str.isprintable()` rejects: the general categories Cc, Cf, Zs (but the
/// space), Zl, Zp, Co, Cs and Cn. All but Cn are listed here; unassigned code points (Cn)
/// print as themselves, since which ones are unassigned changes with each Unicode version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label<T = char>(pub T);

/// What [`Label`] and [`Escaped`] show: a character, or a token's bytes (`&str`, `&[u8]`, …).
pub trait Token {
    /// The token's bytes (UTF-8 for a character, written into `buf`).
    fn token_bytes<'a>(&'a self, buf: &'a mut [u8; 4]) -> &'a [u8];
}

impl Token for char {
    fn token_bytes<'a>(&'a self, buf: &'a mut [u8; 4]) -> &'a [u8] {
        self.encode_utf8(buf).as_bytes()
    }
}

impl<T: AsRef<[u8]> + ?Sized> Token for &T {
    fn token_bytes<'a>(&'a self, _: &'a mut [u8; 4]) -> &'a [u8] {
        (*self).as_ref()
    }
}

impl<T: Token> core::fmt::Display for Label<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use core::fmt::Write;
        let mut buf = [0u8; 4];
        let bytes = self.0.token_bytes(&mut buf);
        // Python's choice: double quotes when the text holds a single quote and no double one.
        let has = |q: char| bytes.utf8_chunks().any(|c| c.valid().contains(q));
        let quote = if has('\'') && !has('"') { '"' } else { '\'' };
        f.write_char(quote)?;
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\'' if quote == '\'' => f.write_str("\\'")?,
                    c => escape(c, f)?,
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_char(quote)
    }
}

/// A generated text as zl prints it: each character as in its [`Label`] without the quotes,
/// except that line breaks stay line breaks and a backslash stays one, so that a sample reads
/// as text and no escape sequence reaches the terminal; bytes that are not UTF-8 as `\\xNN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escaped<T>(pub T);

impl<T: Token> core::fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use core::fmt::Write;
        let mut buf = [0u8; 4];
        for chunk in self.0.token_bytes(&mut buf).utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\n' | '\\' => f.write_char(c)?,
                    _ => escape(c, f)?,
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

/// A character where one cell is all there is (a heatmap's axes): visible stand-ins for the
/// space and control characters, every other character as itself.
pub fn glyph(c: char) -> char {
    match c {
        ' ' => '␣',
        '\n' => '↵',
        '\t' => '⇥',
        c if c.is_control() => '·',
        c => c,
    }
}

/// `c` inside [`Label`]'s quotes.
fn escape(c: char, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    use core::fmt::Write;
    let n = c as u32;
    match c {
        '\\' => f.write_str("\\\\"),
        '\n' => f.write_str("\\n"),
        '\r' => f.write_str("\\r"),
        '\t' => f.write_str("\\t"),
        _ if printable(c) => f.write_char(c),
        _ if n <= 0xff => write!(f, "\\x{n:02x}"),
        _ if n <= 0xffff => write!(f, "\\u{n:04x}"),
        _ => write!(f, "\\U{n:08x}"),
    }
}

/// Whether Python's `str.isprintable()` accepts `c`, but for unassigned code points (see
/// [`Label`]): not a control (Cc), format (Cf), separator other than the space (Zs, Zl, Zp) or
/// private-use (Co) character, nor a noncharacter.
fn printable(c: char) -> bool {
    let n = c as u32;
    // Ranges of Cf, Zs, Zl and Zp (Unicode 15), in code-point order.
    const NOT: [(u32, u32); 30] = [
        (0x00a0, 0x00a0),
        (0x00ad, 0x00ad),
        (0x0600, 0x0605),
        (0x061c, 0x061c),
        (0x06dd, 0x06dd),
        (0x070f, 0x070f),
        (0x0890, 0x0891),
        (0x08e2, 0x08e2),
        (0x1680, 0x1680),
        (0x180e, 0x180e),
        (0x2000, 0x200f),
        (0x2028, 0x202f),
        (0x205f, 0x2064),
        (0x2066, 0x206f),
        (0x3000, 0x3000),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
        // Private use (Co).
        (0xe000, 0xf8ff),
        (0xf0000, 0x10ffff),
        // Noncharacters (Cn whatever the version).
        (0xfdd0, 0xfdef),
        (0xfffe, 0xffff),
        // C0 and C1 controls (Cc).
        (0x0000, 0x001f),
        (0x007f, 0x009f),
    ];
    !NOT.iter().any(|&(a, b)| (a..=b).contains(&n)) && (n & 0xfffe) != 0xfffe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_text_has_193_chars_30_distinct() {
        assert_eq!(SEED_TEXT.chars().count(), 193);
        assert_eq!(
            SEED_TEXT.len(),
            195,
            "the U+2019 apostrophe is 3 UTF-8 bytes"
        );
        let v = Vocab::<30>::from_text_sorted(SEED_TEXT).unwrap();
        assert_eq!(v.len(), 30);
        for c in SEED_VOCAB {
            assert!(
                v.id(c).is_some(),
                "{c:?} of the notebook's vocabulary is in the text"
            );
        }
    }

    #[test]
    fn seed_tokens_match_the_notebook_print() {
        // The first 126 ids of the tensor the notebook printed (it cut the rest off).
        const PRINTED: [usize; 126] = [
            2, 22, 13, 5, 11, 22, 29, 8, 5, 27, 1, 14, 25, 29, 5, 14, 29, 20, 5, 29, 8, 5, 11, 22,
            29, 7, 5, 8, 16, 19, 22, 4, 29, 8, 5, 6, 22, 19, 17, 26, 29, 1, 20, 21, 17, 29, 12, 17,
            22, 13, 12, 19, 29, 20, 5, 29, 28, 11, 1, 22, 13, 19, 3, 29, 7, 5, 14, 17, 1, 6, 22,
            11, 29, 10, 29, 18, 22, 11, 5, 15, 19, 10, 3, 22, 11, 29, 20, 11, 10, 14, 17, 13, 5,
            11, 8, 22, 11, 9, 29, 23, 12, 7, 0, 29, 10, 29, 8, 5, 6, 22, 19, 29, 20, 10, 24, 22,
            17, 29, 10, 29, 20, 5, 24, 22, 14, 26,
        ];
        let v = Vocab::seed();
        let ids: std::vec::Vec<usize> = v.encode(SEED_TEXT).map(|r| r.unwrap()).collect();
        assert_eq!(ids.len(), 193);
        assert_eq!(&ids[..126], &PRINTED[..]);
    }

    #[test]
    fn ids_find_each_character_and_refuse_repeats_and_overflow() {
        let chars = ['z', 'a', '\u{2019}', ' ', '日'];
        let ids = Ids::<8>::new(&chars).unwrap();
        for (i, &c) in chars.iter().enumerate() {
            assert_eq!(ids.get(c), Some(i));
        }
        assert_eq!(ids.get('b'), None);
        assert_eq!(
            Ids::<8>::new(&['a', 'b', 'a']),
            Err(CorpusError::Repeated { ch: 'a' })
        );
        assert!(matches!(
            Ids::<2>::new(&['a', 'b', 'c']),
            Err(CorpusError::TooManyDistinct { .. })
        ));
        let v = Vocab::<4>::from_chars(&['b', 'a', 'b', 'c']).unwrap();
        assert_eq!((v.chars(), v.id('c')), (&['b', 'a', 'c'][..], Some(2)));
    }

    #[test]
    fn sorted_vocab_is_code_point_order_and_rejects_overflow() {
        let v = Vocab::<8>::from_text_sorted("cabbé a").unwrap();
        assert_eq!(v.chars(), &[' ', 'a', 'b', 'c', 'é']);
        assert_eq!(
            Vocab::<3>::from_text_sorted("abcd"),
            Err(CorpusError::TooManyDistinct {
                found: 4,
                capacity: 3
            })
        );
        assert_eq!(
            Vocab::<3>::from_text_sorted("a"),
            Err(CorpusError::TooShort { chars: 1 })
        );
        assert_eq!(
            Vocab::<3>::from_text_sorted("aaaa"),
            Err(CorpusError::OneDistinct)
        );
    }

    /// Python's `repr` of each one-character string (CPython 3.11's output, pasted).
    #[test]
    fn labels_are_pythons_repr() {
        use std::string::ToString;
        for (c, want) in [
            ('a', "'a'"),
            (' ', "' '"),
            ('\'', "\"'\""),
            ('"', "'\"'"),
            ('\\', "'\\\\'"),
            ('\n', "'\\n'"),
            ('\t', "'\\t'"),
            ('\r', "'\\r'"),
            ('\0', "'\\x00'"),
            ('\x1b', "'\\x1b'"),
            ('\x7f', "'\\x7f'"),
            ('\u{85}', "'\\x85'"),
            ('\u{a0}', "'\\xa0'"),
            ('\u{ad}', "'\\xad'"),
            ('é', "'é'"),
            ('\u{2019}', "'\u{2019}'"),
            ('\u{200b}', "'\\u200b'"),
            ('\u{2028}', "'\\u2028'"),
            ('\u{3000}', "'\\u3000'"),
            ('\u{feff}', "'\\ufeff'"),
            ('\u{e000}', "'\\ue000'"),
            ('\u{ffff}', "'\\uffff'"),
            ('日', "'日'"),
            ('😀', "'😀'"),
            ('\u{e0001}', "'\\U000e0001'"),
            ('\u{10ffff}', "'\\U0010ffff'"),
        ] {
            assert_eq!(Label(c).to_string(), want, "{:?}", c);
        }
        // Tokens: Python's repr of the string, and of bytes where they are not UTF-8.
        for (t, want) in [
            (&b" the"[..], "' the'"),
            (b"don't", "\"don't\""),
            (b"'\"", "'\\'\"'"),
            (b"\xe2\x80", "'\\xe2\\x80'"),
            (b"a\xffb\n", "'a\\xffb\\n'"),
        ] {
            assert_eq!(Label(t).to_string(), want, "{t:?}");
        }
        assert_eq!(Escaped(&b"a\xff\n"[..]).to_string(), "a\\xff\n");
        assert_eq!(
            Escaped("a\tb\\\n\x1b[31mred\u{feff}é").to_string(),
            "a\\tb\\\n\\x1b[31mred\\ufeffé"
        );
    }
}
