//! How results look: text for the terminal ([`text`], [`heatmap`]), JSON ([`json`]), figures as
//! SVG and PNG ([`plot`] and [`sweep_plot`] through plotters, [`heatmap_figure`] directly) and
//! the HTML report ([`html`]). Renderers read
//! analysis results and runs; they never train and never compute a meaning of their own.

pub mod against;
pub mod capacity;
pub mod heatmap;
pub mod heatmap_figure;
pub mod html;
pub mod json;
pub mod large;
pub mod mechanism;
mod origin;
pub mod page;
pub mod plot;
pub mod sweep_plot;
pub mod text;
pub mod verbs;
pub mod verdict;

/// How many terminal columns `s` takes: two for a double-width (CJK) character, none for a
/// combining mark. Every column zl aligns on a terminal is padded by this, not by characters.
pub fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// `s` left-aligned in `w` terminal columns (as is, where it is wider).
pub fn pad_left(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

/// `s` right-aligned in `w` terminal columns (as is, where it is wider).
pub fn pad_right(s: &str, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(width(s))))
}

/// Escapes text for XML and HTML element content and double-quoted attribute values (every
/// attribute zl writes is double-quoted). `'` stays as it is: the heatmap's titles quote
/// characters thousands of times in a large vocabulary's figure, and the report has a size limit.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}
