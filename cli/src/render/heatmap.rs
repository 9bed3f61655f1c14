//! Terminal heatmaps of two V×V probability tables side by side, one cell a token pair,
//! labelled with the vocabulary ([`Axis`]): 24-bit background colours on a terminal, plain ASCII shades otherwise
//! (so that a pipe, a file or a log keeps the picture).

use std::fmt::Write;

use super::{pad_left, width};
use crate::{analysis::Shown, data::vocab::Vocab};

/// Probability bins, upper bounds: a cell with p < BINS[k] (and ≥ the previous bound) is level k.
/// The first bin (p < 1%) is left blank, so that what the text never does stays empty.
const BINS: [f64; 9] = [0.01, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
/// Plain shades, one per level: blank, then darker as p grows.
const SHADES: [char; 10] = [' ', '.', ':', '-', '=', '+', '*', '#', '%', '@'];
/// Viridis at ten points (matplotlib's colormap, dark purple to yellow): readable on dark and
/// light terminals alike. Level 0 keeps the terminal's own background.
const COLOURS: [(u8, u8, u8); 10] = [
    (0, 0, 0),
    (72, 40, 120),
    (62, 74, 137),
    (49, 104, 142),
    (38, 130, 142),
    (31, 158, 137),
    (53, 183, 121),
    (109, 205, 89),
    (180, 222, 44),
    (253, 231, 37),
];

/// The shade of `p`, binned after rounding to 3 decimals (the precision the tables print), so
/// that P = 0.5 and a model's Q = 0.49998 fall in the same bin rather than either side of an edge.
fn level(p: f64) -> usize {
    let p = (p * 1000.0).round() / 1000.0;
    BINS.iter().take_while(|&&b| p >= b).count()
}

fn cell(p: f64, colour: bool) -> String {
    let k = level(p);
    if !colour {
        return SHADES[k].to_string();
    }
    if k == 0 {
        return " ".into();
    }
    let (r, g, b) = COLOURS[k];
    format!("\x1b[48;2;{r};{g};{b}m \x1b[0m")
}

/// One sentence saying which characters a heatmap leaves out; `None` when it shows them all.
pub fn hidden_note(shown: &Shown) -> Option<String> {
    (shown.hidden > 0).then(|| {
        format!(
            "showing the {} most frequent of {} characters; {} less frequent ones are hidden",
            shown.ids.len(),
            shown.ids.len() + shown.hidden,
            shown.hidden
        )
    })
}

/// The keys of a tokenizer's shown tokens, in the order shown: one character each, enough for
/// [`zl_core::interpret::MAX_SHOWN`].
const KEYS: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// How a heatmap names the tokens along its axes, one glyph a column.
///
/// Characters head their own columns and rows, as [`glyph`] shows them; where one of them is
/// double-width (CJK), every cell is two columns wide so that the grid stays square. A
/// tokenizer's tokens are mostly longer than one cell, so each shown token gets a key from
/// [`KEYS`] in the order shown: the columns are headed by the keys, and each row of the left
/// table gives its key and then the token's label ([`zl_core::Label`]), which makes the rows the
/// key to the columns.
struct Axis {
    /// Per shown token: its column heading (one glyph) and its row label on the left table.
    heads: Vec<String>,
    rows: Vec<String>,
    /// Terminal columns a cell takes (1, or 2 for double-width characters).
    cell: usize,
}

impl Axis {
    fn new(shown: &Shown, vocab: &Vocab) -> Axis {
        let ids = &shown.ids;
        if vocab.tokenizer().is_none() {
            let heads: Vec<String> = ids.iter().map(|&i| vocab.glyph(i)).collect();
            let cell = heads
                .iter()
                .map(|h| width(h))
                .max()
                .unwrap_or(1)
                .clamp(1, 2);
            let heads: Vec<String> = heads.iter().map(|h| pad_left(h, cell)).collect();
            return Axis {
                rows: heads.clone(),
                heads,
                cell,
            };
        }
        let heads: Vec<String> = KEYS.chars().take(ids.len()).map(String::from).collect();
        let labels: Vec<String> = ids.iter().map(|&i| vocab.label(i).to_string()).collect();
        let widest = labels.iter().map(|l| width(l)).max().unwrap_or(0);
        Axis {
            rows: heads
                .iter()
                .zip(&labels)
                .map(|(k, l)| format!("{k} {}", pad_left(l, widest)))
                .collect(),
            heads,
            cell: 1,
        }
    }
}

/// Two tables (rows = current token, columns = next token) side by side, with titles, the
/// vocabulary along the top and down the side ([`Axis`]), and a legend: the tokens `shown`,
/// saying how many are hidden. Every line is padded by display width.
pub fn side_by_side_vocab(
    left: &[Vec<f64>],
    right: &[Vec<f64>],
    shown: &Shown,
    vocab: &Vocab,
    titles: (&str, &str),
    colour: bool,
) -> String {
    let ids = &shown.ids;
    side_by_side_at(
        |a, b| left[ids[a]][ids[b]],
        |a, b| right[ids[a]][ids[b]],
        shown,
        vocab,
        titles,
        colour,
    )
}

/// [`side_by_side_vocab`] with each table's cells by their positions among `shown.ids`: `(a, b)`
/// is current `ids[a]`, next `ids[b]` (the large-V view holds only those cells).
pub fn side_by_side_at(
    left: impl Fn(usize, usize) -> f64,
    right: impl Fn(usize, usize) -> f64,
    shown: &Shown,
    vocab: &Vocab,
    titles: (&str, &str),
    colour: bool,
) -> String {
    let v = shown.ids.len();
    let axis = Axis::new(shown, vocab);
    // Left of the left table: its row labels; left of the right one: the column headings.
    let (lw, rw) = (
        axis.rows.iter().map(|r| width(r)).max().unwrap_or(1),
        axis.cell,
    );
    let grid = v * axis.cell;
    let block = grid.max(width(titles.0)) + 4;
    let header: String = axis.heads.concat();
    let mut s = String::new();
    // How many are hidden, on the titles' line: the summary keeps to one screen.
    let hidden = match shown.hidden {
        0 => String::new(),
        h => format!("   ({v} most frequent of {}; {h} hidden)", v + h),
    };
    let (l_in, r_in) = (" ".repeat(lw + 2), " ".repeat(rw + 2));
    let _ = writeln!(
        s,
        "{l_in}{}{r_in}{}{hidden}",
        pad_left(titles.0, block),
        titles.1
    );
    let _ = writeln!(s, "{l_in}{}{r_in}{header}", pad_left(&header, block));
    for k in 0..v {
        let row = |t: &dyn Fn(usize, usize) -> f64| -> String {
            (0..v)
                .map(|b| cell(t(k, b), colour).repeat(axis.cell))
                .collect()
        };
        let gap = " ".repeat(block - grid);
        let (l, r) = (pad_left(&axis.rows[k], lw), &axis.heads[k]);
        let _ = writeln!(s, " {l} {}{gap} {r} {}", row(&left), row(&right));
    }
    let mut legend = String::from("   legend:");
    for k in 0..SHADES.len() {
        let lo = if k == 0 { 0.0 } else { BINS[k - 1] };
        let range = match BINS.get(k) {
            Some(hi) => format!("{:.0}–{:.0}%", lo * 100.0, hi * 100.0),
            None => format!("≥{:.0}%", lo * 100.0),
        };
        let shown = if colour && k > 0 {
            cell(lo, true)
        } else {
            format!("'{}'", SHADES[k])
        };
        let _ = write!(legend, " {shown} {range}");
    }
    let keys = match vocab.tokenizer() {
        Some(_) => "columns are keyed as the rows: key, then the token",
        None => "␣ is a space",
    };
    let _ = writeln!(s, "{legend}; {keys}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_heatmap_is_ascii_shades_in_a_grid() {
        let t = vec![vec![0.0, 1.0], vec![0.5, 0.05]];
        let s = side_by_side_vocab(
            &t,
            &t,
            &Shown::of_table(&t),
            &Vocab::chars(&['a', ' ']),
            ("L", "R"),
            false,
        );
        assert!(!s.contains('\x1b'));
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[2], " a  @     a  @");
        assert_eq!(lines[3], " ␣ *.     ␣ *.");
        assert_eq!(level(0.0094), 0);
        assert_eq!(level(0.4999), level(0.5));
        assert_eq!(level(0.01), 1);
        assert_eq!(level(0.85), 9);
    }

    #[test]
    fn colour_heatmap_uses_background_escapes() {
        let t = vec![vec![0.0, 1.0], vec![0.5, 0.05]];
        let s = side_by_side_vocab(
            &t,
            &t,
            &Shown::of_table(&t),
            &Vocab::chars(&['a', 'b']),
            ("L", "R"),
            true,
        );
        assert!(s.contains("\x1b[48;2;253;231;37m \x1b[0m"));
    }

    #[test]
    fn a_large_vocabulary_fits_a_terminal_and_says_what_is_hidden() {
        // 70 characters, character i occurring i times.
        let c: Vec<Vec<f64>> = (0..70)
            .map(|i| {
                (0..70)
                    .map(|j| if i == j { i as f64 + 1.0 } else { 0.0 })
                    .collect()
            })
            .collect();
        let p: Vec<Vec<f64>> = c
            .iter()
            .map(|r| {
                let n: f64 = r.iter().sum();
                r.iter().map(|x| x / n).collect()
            })
            .collect();
        let vocab: Vec<char> = (0..70u32)
            .map(|i| char::from_u32(0x3b1 + i).unwrap())
            .collect();
        let s = side_by_side_vocab(
            &p,
            &p,
            &Shown::of_table(&c),
            &Vocab::chars(&vocab),
            ("P", "Q"),
            false,
        );
        assert!(s.contains("60 most frequent of 70; 10 hidden"), "{s}");
        let widest = s.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= 130, "{widest} columns:\n{s}");
        // 60 rows of cells: the title, note and header lines aside.
        let rows = s
            .lines()
            .filter(|l| {
                l.starts_with(' ')
                    && l.chars().nth(2) == Some(' ')
                    && l.chars().nth(1).is_some_and(|g| vocab.contains(&g))
            })
            .count();
        assert_eq!(rows, zl_core::interpret::MAX_SHOWN);
    }

    /// A diagonal table of `v` tokens, token i occurring i + 1 times, as P.
    fn diagonal(v: usize) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let c: Vec<Vec<f64>> = (0..v)
            .map(|i| {
                (0..v)
                    .map(|j| if i == j { i as f64 + 1.0 } else { 0.0 })
                    .collect()
            })
            .collect();
        let p = c
            .iter()
            .map(|r| r.iter().map(|x| x / r.iter().sum::<f64>()).collect())
            .collect();
        (c, p)
    }

    #[test]
    fn double_width_characters_keep_every_row_as_wide_and_the_grid_square() {
        let vocab = ['日', '本', 'a', ' ', 'ー', '語'];
        let (c, p) = diagonal(vocab.len());
        for colour in [false, true] {
            let s = side_by_side_vocab(
                &p,
                &p,
                &Shown::of_table(&c),
                &Vocab::chars(&vocab),
                ("P", "Q"),
                colour,
            );
            let plain = strip_escapes(&s);
            let lines: Vec<&str> = plain.lines().collect();
            // The header and every row of cells: the same display width, and a cell under
            // each heading (two columns a cell, since some headings are two columns wide).
            let grid: Vec<usize> = lines[1..=vocab.len() + 1]
                .iter()
                .map(|l| width(l))
                .collect();
            assert!(grid.windows(2).all(|w| w[0] == w[1]), "{grid:?}\n{plain}");
            assert!(lines[1].contains("日本a ␣ ー語"), "{plain}");
            // Row 日's cell on the diagonal sits under its heading, in both tables.
            let row = lines[2];
            let at = |l: &str, n: usize| -> Vec<usize> {
                let mut cols = vec![];
                let mut x = 0;
                for ch in l.chars() {
                    if n == 0 && ch == '@' || n == 1 && ch == '日' {
                        cols.push(x);
                    }
                    x += width(&ch.to_string());
                }
                cols
            };
            if !colour {
                let heads = at(lines[1], 1);
                let cells = at(row, 0);
                assert_eq!(heads.len(), 2, "{plain}");
                assert_eq!(cells.len(), 4, "{plain}");
                assert_eq!((cells[0], cells[2]), (heads[0], heads[1]), "{plain}");
            }
        }
    }

    /// `s` without its colour escapes.
    fn strip_escapes(s: &str) -> String {
        let mut out = String::new();
        let mut it = s.chars();
        while let Some(c) = it.next() {
            if c == '\x1b' {
                it.by_ref().find(|&c| c == 'm');
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn tokens_head_their_columns_with_keys_that_the_rows_spell_out() {
        let t = crate::data::tokenizer::Tokenizer::train_bpe("the then them there 日本", 256)
            .expect("a tokenizer");
        let vocab = Vocab::tokens(std::sync::Arc::new(t));
        let v = vocab.len();
        let (c, p) = diagonal(v);
        let shown = Shown::of_table(&c);
        let s = side_by_side_vocab(&p, &p, &shown, &vocab, ("P", "Q"), false);
        let lines: Vec<&str> = s.lines().collect();
        let n = shown.ids.len();
        let widths: Vec<usize> = lines[1..=n + 1].iter().map(|l| width(l)).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{widths:?}\n{s}");
        assert!(lines[1].contains(&KEYS[..n]), "{s}");
        for (k, &i) in shown.ids.iter().enumerate() {
            let key = &KEYS[k..=k];
            let label = vocab.label(i).to_string();
            assert!(lines[2 + k].starts_with(&format!(" {key} {label}")), "{s}");
        }
        assert!(
            s.contains("\\x"),
            "bytes that are not UTF-8 are escaped:\n{s}"
        );
    }
}
