//! Terminal heatmaps of two V×V probability tables side by side, one character per cell, labelled
//! with the vocabulary: 24-bit background colours on a terminal, plain ASCII shades otherwise
//! (so that a pipe, a file or a log keeps the picture).

use std::fmt::Write;

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

pub use zl_core::glyph;

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

/// Above this many characters a heatmap shows only the most frequent ones: two tables of 60
/// columns side by side fit a 130-column terminal, and a figure of 60² cells keeps the report
/// small (each SVG cell is a rectangle and its hover text).
pub const MAX_SHOWN: usize = 60;

/// The characters a heatmap shows, and how many it leaves out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown {
    /// Token ids, ascending: every id up to [`MAX_SHOWN`] characters, else the [`MAX_SHOWN`]
    /// most frequent.
    pub ids: Vec<usize>,
    /// Characters left out (0 when all are shown).
    pub hidden: usize,
}

impl Shown {
    /// The characters to show for a V×V table of bigram counts (`counts[current][next]`).
    /// A character's frequency is how often it occurs in the pairs, as current or as next
    /// character (its row total plus its column total: every occurrence twice, once for the
    /// text's first and last); ties keep the lower id. The ones shown stay in token-id order.
    pub fn of(counts: &[Vec<f64>]) -> Shown {
        Shown::at_most(counts, MAX_SHOWN)
    }

    /// The same with `max` characters in place of [`MAX_SHOWN`].
    pub fn at_most(counts: &[Vec<f64>], max: usize) -> Shown {
        let v = counts.len();
        if v <= max {
            return Shown {
                ids: (0..v).collect(),
                hidden: 0,
            };
        }
        let mut ids = vec![0; max];
        zl_core::interpret::most_frequent(|i, j| counts[i][j], v, &mut ids);
        Shown {
            ids,
            hidden: v - max,
        }
    }

    /// One sentence saying what is left out, for a table of `v` characters; `None` when
    /// nothing is.
    pub fn note(&self) -> Option<String> {
        (self.hidden > 0).then(|| {
            format!(
                "showing the {} most frequent of {} characters; {} less frequent ones are hidden",
                self.ids.len(),
                self.ids.len() + self.hidden,
                self.hidden
            )
        })
    }
}

/// Two tables (rows = current token, columns = next token) side by side, with titles, the
/// vocabulary along the top and down the side, and a legend. Above `max` characters only the
/// most frequent are drawn (by `counts`, the bigram counts; see [`Shown::at_most`]), and a line
/// says how many are hidden.
pub fn side_by_side(
    left: &[Vec<f64>],
    right: &[Vec<f64>],
    counts: &[Vec<f64>],
    vocab: &[char],
    titles: (&str, &str),
    colour: bool,
    max: usize,
) -> String {
    let shown = Shown::at_most(counts, max);
    let ids = &shown.ids;
    let v = ids.len();
    let width = v.max(titles.0.chars().count()) + 4;
    let header: String = ids.iter().map(|&i| glyph(vocab[i])).collect();
    let mut s = String::new();
    let pad = |t: &str| format!("{t:<width$}");
    if let Some(note) = shown.note() {
        let _ = writeln!(s, "   ({note})");
    }
    let _ = writeln!(s, "   {}   {}", pad(titles.0), titles.1);
    let _ = writeln!(s, "   {}   {}", pad(&header), header);
    for &i in ids {
        let row =
            |t: &[Vec<f64>]| -> String { ids.iter().map(|&j| cell(t[i][j], colour)).collect() };
        let g = glyph(vocab[i]);
        let gap = " ".repeat(width - v);
        let _ = writeln!(s, " {g} {}{gap} {g} {}", row(left), row(right));
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
    let _ = writeln!(s, "{legend}; ␣ is a space");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_heatmap_is_ascii_shades_in_a_grid() {
        let t = vec![vec![0.0, 1.0], vec![0.5, 0.05]];
        let s = side_by_side(&t, &t, &t, &['a', ' '], ("L", "R"), false, MAX_SHOWN);
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
        let s = side_by_side(&t, &t, &t, &['a', 'b'], ("L", "R"), true, MAX_SHOWN);
        assert!(s.contains("\x1b[48;2;253;231;37m \x1b[0m"));
    }

    /// 70 characters: character i occurs i times, except that ids 0 and 1 are the most
    /// frequent and id 12 ties with 11, at the cut.
    fn counts_70() -> Vec<Vec<f64>> {
        let v = 70;
        let mut c = vec![vec![0.0; v]; v];
        for (i, row) in c.iter_mut().enumerate() {
            row[i] = match i {
                0 | 1 => 500.0,
                12 => 11.0,
                _ => i as f64,
            };
        }
        c
    }

    #[test]
    fn above_the_limit_the_most_frequent_are_shown_in_id_order() {
        let c = counts_70();
        let shown = Shown::of(&c);
        assert_eq!(shown.hidden, 10);
        assert_eq!(shown.ids.len(), MAX_SHOWN);
        assert!(shown.ids.windows(2).all(|w| w[0] < w[1]), "token-id order");
        // Frequency (row + column total) is 2n: ids 0 and 1 are the largest.
        assert!(shown.ids.starts_with(&[0, 1]));
        // Hidden: the nine least frequent, 2..=10, and of 11 and 12 (a tie) the higher id.
        let hidden: Vec<usize> = (0..70).filter(|i| !shown.ids.contains(i)).collect();
        assert_eq!(hidden, [2, 3, 4, 5, 6, 7, 8, 9, 10, 12]);
        let note = shown.note().unwrap();
        assert!(note.contains("60 most frequent of 70") && note.contains("10 less frequent"));
        let small = Shown::of(&c[..2].iter().map(|r| r[..2].to_vec()).collect::<Vec<_>>());
        assert_eq!(small.note(), None);
        assert_eq!((small.ids, small.hidden), (vec![0, 1], 0));
    }

    #[test]
    fn a_large_vocabulary_fits_a_terminal_and_says_what_is_hidden() {
        let c = counts_70();
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
        let s = side_by_side(&p, &p, &c, &vocab, ("P", "Q"), false, MAX_SHOWN);
        assert!(s.contains("10 less frequent ones are hidden"), "{s}");
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
        assert_eq!(rows, MAX_SHOWN);
    }
}
