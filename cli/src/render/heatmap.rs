//! Terminal heatmaps of two V×V probability tables side by side, one character per cell, labelled
//! with the vocabulary: 24-bit background colours on a terminal, plain ASCII shades otherwise
//! (so that a pipe, a file or a log keeps the picture).

use std::fmt::Write;

use crate::analysis::Shown;

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

/// Two tables (rows = current token, columns = next token) side by side, with titles, the
/// vocabulary along the top and down the side, and a legend: the characters `shown`, saying how
/// many are hidden.
pub fn side_by_side(
    left: &[Vec<f64>],
    right: &[Vec<f64>],
    shown: &Shown,
    vocab: &[char],
    titles: (&str, &str),
    colour: bool,
) -> String {
    let ids = &shown.ids;
    let v = ids.len();
    let width = v.max(titles.0.chars().count()) + 4;
    let header: String = ids.iter().map(|&i| glyph(vocab[i])).collect();
    let mut s = String::new();
    let pad = |t: &str| format!("{t:<width$}");
    // How many are hidden, on the titles' line: the summary keeps to one screen.
    let hidden = match shown.hidden {
        0 => String::new(),
        h => format!("   ({v} most frequent of {}; {h} hidden)", v + h),
    };
    let _ = writeln!(s, "   {}   {}{hidden}", pad(titles.0), titles.1);
    let _ = writeln!(s, "   {}   {header}", pad(&header));
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
        let s = side_by_side(&t, &t, &Shown::of(&t), &['a', ' '], ("L", "R"), false);
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
        let s = side_by_side(&t, &t, &Shown::of(&t), &['a', 'b'], ("L", "R"), true);
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
        let s = side_by_side(&p, &p, &Shown::of(&c), &vocab, ("P", "Q"), false);
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
}
