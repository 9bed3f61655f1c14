//! The heatmap figures, laid out once as a list of [`Mark`]s and then either written as SVG
//! directly (each cell one `<rect>` with its values as a `<title>`, shown on hover, no script)
//! or drawn with plotters into a PNG.

use std::fmt::{self, Write};

use plotters::{
    coord::Shift,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{
    escape,
    plot::{style, DESC, TICK},
};
use crate::{
    analysis::{large::LargeView, Analysis},
    data::vocab::Vocab,
};

/// One thing drawn, in the figure's pixels.
pub(crate) enum Mark {
    /// A table cell: a filled square with its hover text.
    Cell {
        at: (i32, i32),
        size: i32,
        fill: RGBColor,
        title: String,
    },
    /// A filled rectangle from one corner to the other.
    Fill {
        from: (i32, i32),
        to: (i32, i32),
        fill: RGBColor,
    },
    /// A rectangle's 1-pixel black outline.
    Frame { from: (i32, i32), to: (i32, i32) },
    /// Text of `size` pixels anchored at `at`, turned to read upwards when `vertical`.
    Text {
        text: String,
        at: (i32, i32),
        size: u32,
        anchor: (HPos, VPos),
        ink: RGBColor,
        vertical: bool,
    },
}

fn text(text: impl Into<String>, at: (i32, i32), size: u32, anchor: (HPos, VPos)) -> Mark {
    Mark::Text {
        text: text.into(),
        at,
        size,
        anchor,
        ink: BLACK,
        vertical: false,
    }
}

/// Pixels around a heatmap's grid: its title above, the character labels and the axis title
/// left and below, the colour bar right.
const TOP: i32 = 60;
const LEFT: i32 = 80;
const BOTTOM: i32 = 84;
const BAR: i32 = 100;
/// Pixels under the grid that an upright token label may take (the axis title is below them).
const LABEL_UNDER: i32 = 36;

/// The font size, at most 22 px and at least 6, at which `n` columns of text fit in `px`
/// pixels (a character about 0.6 em wide).
fn fit(px: i32, n: u32) -> u32 {
    (px.max(0) as u32 * 10 / (6 * n.max(1))).clamp(6, 22)
}

/// The figures' widths: the counts alone in a narrow figure, P and Q in a wide one.
const NARROW: i32 = 960;
const WIDE: i32 = 1500;
/// The P-and-Q figure's heading above its two heatmaps.
const HEADING: i32 = 50;

/// Whether `n` shown tokens are too many for heatmaps side by side or in a narrow figure: the
/// heatmaps then take a wide figure's whole width each (P above Q), so that a token label, at
/// most as tall as a cell, stays readable where the report scales the figure to its column.
fn wide_for(n: usize) -> bool {
    n > 30
}

/// [`wide_for`] the analysis' shown tokens.
pub(crate) fn wide(an: &Analysis) -> bool {
    wide_for(an.cmp.shown.ids.len())
}

/// A heatmap figure, its size in pixels and its marks: the bigram counts alone, or the data's
/// P beside (or above) the model's Q. The height follows the grid, so no band is left empty.
pub(crate) fn marks(an: &Analysis, counts: bool) -> ((u32, u32), Vec<Mark>) {
    let shown = &an.cmp.shown;
    let ids = &shown.ids;
    let hover = |a: usize, b: usize| cell_title(an, ids[a], ids[b]);
    let title = |t: &str| titled(t, ids.len(), shown.hidden, an.cmp.vocab.unit());
    if !counts {
        let (p, q) = (&an.cmp.p, &an.cmp.q);
        return p_and_q(
            ids,
            &an.cmp.vocab,
            &title("Bigram statistics vs W_E @ W_U"),
            &|a, b| p[ids[a]][ids[b]],
            &|a, b| q[ids[a]][ids[b]],
            &hover,
        );
    }
    let wide = wide(an);
    let w = if wide { WIDE } else { NARROW };
    let cell = cell_size(w, ids.len());
    let annotate = |c: f64| {
        if c > 0.0 {
            format!("{c}")
        } else {
            String::new()
        }
    };
    let mut m = vec![];
    let c = &an.cmp.counts;
    heatmap(
        &mut m,
        Area {
            at: (0, 0),
            width: w,
            cell,
        },
        &|a, b| c[ids[a]][ids[b]],
        &an.cmp.vocab,
        ids,
        &title("Bigram frequency table (for training corpus)"),
        shown.max_count,
        // Counts in the cells only where the figure is narrow: past that the cells are
        // too many for their numbers to be read, and would double the figure's size.
        (!wide).then_some(&annotate as &dyn Fn(f64) -> String),
        &hover,
    );
    ((w as u32, panel_height(ids.len(), cell) as u32), m)
}

/// The large-V view's heatmap figure: the data's P beside (or above) the model's Q on the most
/// frequent tokens it shows, each cell with its P and Q on hover.
pub(crate) fn large_marks(view: &LargeView, vocab: &Vocab) -> ((u32, u32), Vec<Mark>) {
    let s = &view.shown;
    let hover = |a: usize, b: usize| {
        format!(
            "{}→{} P {}, Q {}",
            vocab.label(s.ids[a]),
            vocab.label(s.ids[b]),
            sig4(s.p[a][b]),
            sig4(s.q[a][b])
        )
    };
    p_and_q(
        &s.ids,
        vocab,
        &titled(
            "Bigram statistics vs W_E @ W_U",
            s.ids.len(),
            s.hidden,
            vocab.unit(),
        ),
        &|a, b| s.p[a][b],
        &|a, b| s.q[a][b],
        &hover,
    )
}

/// A heatmap's cell size, in pixels, for `n` tokens in a panel `panel` pixels wide.
fn cell_size(panel: i32, n: usize) -> i32 {
    ((panel - LEFT - BAR) / n.max(1) as i32).clamp(4, 48)
}

/// A heatmap panel's height, in pixels: its grid of `n` cells and its margins.
fn panel_height(n: usize, cell: i32) -> i32 {
    TOP + n.max(1) as i32 * cell + BOTTOM
}

/// P beside (or, for many tokens, above) Q for the tokens `ids`: `p(a, b)` and `q(a, b)` are
/// the cells of the `a`-th and `b`-th of them, and `hover(a, b)` their hover text.
fn p_and_q(
    ids: &[usize],
    vocab: &Vocab,
    title: &str,
    p: &dyn Fn(usize, usize) -> f64,
    q: &dyn Fn(usize, usize) -> f64,
    hover: &dyn Fn(usize, usize) -> String,
) -> ((u32, u32), Vec<Mark>) {
    let wide = wide_for(ids.len());
    let w = WIDE;
    let panel = if wide { w } else { w / 2 };
    let cell = cell_size(panel, ids.len());
    let panel_h = panel_height(ids.len(), cell);
    let mut m = vec![text(title, (w / 2, 10), 30, (HPos::Center, VPos::Top))];
    let second = if wide {
        (0, HEADING + panel_h)
    } else {
        (panel, HEADING)
    };
    for (at, table, title) in [
        ((0, HEADING), p, "Bigram statistics P(next | input)"),
        (second, q, "W_E @ W_U (post softmax) Q"),
    ] {
        let area = Area {
            at,
            width: panel,
            cell,
        };
        heatmap(&mut m, area, table, vocab, ids, title, 1.0, None, hover);
    }
    let h = second.1 + panel_h;
    ((w as u32, h as u32), m)
}

/// Where a heatmap goes in the figure: its top left corner, its width and its cells' size, all
/// in pixels.
#[derive(Clone, Copy)]
struct Area {
    at: (i32, i32),
    width: i32,
    cell: i32,
}

/// A labelled heatmap in `area`: title, the cells `t(a, b)` of the `a`-th and `b`-th of the
/// tokens `ids` (row ids[0] at the top), the tokens along both axes, axis titles and a colour
/// bar from 0 to `vmax`; each cell carries `hover(a, b)` as its title.
// Nine arguments: the output, the place, the table, its labels, the cells to draw, the title,
// the scale, the annotation and the hover text are each a different thing every call sets.
#[allow(clippy::too_many_arguments)]
fn heatmap(
    m: &mut Vec<Mark>,
    area: Area,
    t: &dyn Fn(usize, usize) -> f64,
    vocab: &Vocab,
    ids: &[usize],
    title: &str,
    vmax: f64,
    annotate: Option<&dyn Fn(f64) -> String>,
    hover: &dyn Fn(usize, usize) -> String,
) {
    let v = ids.len() as i32;
    let ((ax, ay), w, cell) = (area.at, area.width, area.cell);
    let x0 = ax + LEFT + ((w - LEFT - BAR) - cell * v) / 2;
    let y0 = ay + TOP;
    m.push(text(
        title,
        (x0 + cell * v / 2, ay + 14),
        26,
        (HPos::Center, VPos::Top),
    ));
    let label = (cell * 9 / 10).clamp(10, 22) as u32;
    for (i, &ti) in (0..).zip(ids) {
        for j in 0..v {
            let x = t(i as usize, j as usize);
            let (cx, cy) = (x0 + j * cell, y0 + i * cell);
            m.push(Mark::Cell {
                at: (cx, cy),
                size: cell,
                fill: blues(x / vmax),
                title: hover(i as usize, j as usize),
            });
            // A count is written in its cell only where it can be read (cells of 18 px or
            // more: up to about 40 characters); a larger table shows the colours alone.
            if let Some(f) = annotate.filter(|_| cell >= 18) {
                let s = f(x);
                if !s.is_empty() {
                    m.push(Mark::Text {
                        text: s,
                        at: (cx + cell / 2, cy + cell / 2),
                        size: (cell / 2).clamp(8, 16) as u32,
                        anchor: (HPos::Center, VPos::Center),
                        ink: if x / vmax > 0.5 { WHITE } else { BLACK },
                        vertical: false,
                    });
                }
            }
        }
        // Row labels left of the grid, column labels under it: each token as
        // `Vocab::glyph` shows it. A label longer than one character (a tokenizer's token)
        // is made smaller to fit the margin, and under the grid it reads upwards.
        let g = vocab.glyph(ti);
        let n = super::width(&g).max(1) as u32;
        m.push(text(
            g.clone(),
            (x0 - 8, y0 + i * cell + cell / 2),
            label.min(fit(LEFT - 12, n)),
            (HPos::Right, VPos::Center),
        ));
        let under = (x0 + i * cell + cell / 2, y0 + v * cell + 6);
        m.push(match n {
            1 | 2 => text(g, under, label, (HPos::Center, VPos::Top)),
            _ => Mark::Text {
                text: g,
                at: under,
                size: label.min(fit(LABEL_UNDER, n)),
                anchor: (HPos::Right, VPos::Center),
                ink: BLACK,
                vertical: true,
            },
        });
    }
    m.push(Mark::Frame {
        from: (x0, y0),
        to: (x0 + v * cell, y0 + v * cell),
    });
    m.push(text(
        "next token",
        (x0 + v * cell / 2, y0 + v * cell + 44),
        DESC,
        (HPos::Center, VPos::Top),
    ));
    m.push(Mark::Text {
        text: "input token".into(),
        at: (x0 - 50, y0 + v * cell / 2),
        size: DESC,
        anchor: (HPos::Center, VPos::Center),
        ink: BLACK,
        vertical: true,
    });
    // Colour bar.
    let (bx, bh) = (x0 + v * cell + 30, v * cell);
    let steps = 100;
    for s in 0..steps {
        // Each band overlaps the next by a pixel, so that no seam shows between them.
        let y = y0 + bh - (s + 1) * bh / steps;
        m.push(Mark::Fill {
            from: (bx, y),
            to: (bx + 20, (y0 + bh - s * bh / steps + 1).min(y0 + bh)),
            fill: blues((s as f64 + 0.5) / steps as f64),
        });
    }
    m.push(Mark::Frame {
        from: (bx, y0),
        to: (bx + 20, y0 + bh),
    });
    for k in 0..=4 {
        let val = vmax * k as f64 / 4.0;
        let txt = if vmax > 1.5 {
            format!("{val:.0}")
        } else {
            format!("{val:.2}")
        };
        m.push(text(
            txt,
            (bx + 26, y0 + bh - k * bh / 4),
            TICK,
            (HPos::Left, VPos::Center),
        ));
    }
}

/// The marks as an SVG document of `size` pixels on white. Text sizes are written as plotters
/// writes them (pixels / 1.24, here to 0.01), so that these figures' text matches the line
/// charts'.
pub(crate) fn svg(size: (u32, u32), marks: &[Mark]) -> String {
    let mut s = String::new();
    write_svg(&mut s, size, marks).expect("writing into a String cannot fail");
    s
}

fn write_svg(s: &mut impl Write, (w, h): (u32, u32), marks: &[Mark]) -> fmt::Result {
    let hex = |c: &RGBColor| format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
    writeln!(
        s,
        r#"<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg">"#
    )?;
    writeln!(
        s,
        r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#FFFFFF"/>"##
    )?;
    for mark in marks {
        match mark {
            Mark::Cell {
                at: (x, y),
                size,
                fill,
                title,
                // A row's cells on one line (each row ends at its label): a newline each would be
                // 10,800 bytes of a large vocabulary's report.
            } => write!(
                s,
                r#"<rect x="{x}" y="{y}" width="{size}" height="{size}" fill="{}"><title>{}</title></rect>"#,
                hex(fill),
                escape(title)
            )?,
            Mark::Fill {
                from: (x0, y0),
                to: (x1, y1),
                fill,
            } => writeln!(
                s,
                r#"<rect x="{x0}" y="{y0}" width="{}" height="{}" fill="{}"/>"#,
                x1 - x0,
                y1 - y0,
                hex(fill)
            )?,
            Mark::Frame {
                from: (x0, y0),
                to: (x1, y1),
            } => writeln!(
                s,
                r##"<rect x="{x0}" y="{y0}" width="{}" height="{}" fill="none" stroke="#000000"/>"##,
                x1 - x0,
                y1 - y0
            )?,
            Mark::Text {
                text,
                at: (x, y),
                size,
                anchor: (hpos, vpos),
                ink,
                vertical,
            } => {
                let dy = match vpos {
                    VPos::Top => "0.76em",
                    VPos::Center => "0.5ex",
                    VPos::Bottom => "-0.5ex",
                };
                let align = match hpos {
                    HPos::Left => "start",
                    HPos::Center => "middle",
                    HPos::Right => "end",
                };
                write!(
                    s,
                    r#"<text x="{x}" y="{y}" dy="{dy}" text-anchor="{align}" font-family="sans-serif" font-size="{:.2}" fill="{}""#,
                    *size as f64 / 1.24,
                    hex(ink)
                )?;
                if *vertical {
                    write!(s, r#" transform="rotate(270, {x}, {y})""#)?;
                }
                writeln!(s, ">{}</text>", escape(text))?;
            }
        }
    }
    writeln!(s, "</svg>")
}

/// Draws the marks with plotters on a white area (for the PNG; hover texts have no place
/// there).
pub(crate) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    marks: &[Mark],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    for mark in marks {
        match mark {
            Mark::Cell {
                at: (x, y),
                size,
                fill,
                ..
            } => root.draw(&Rectangle::new(
                [(*x, *y), (x + size, y + size)],
                fill.filled(),
            ))?,
            Mark::Fill { from, to, fill } => {
                root.draw(&Rectangle::new([*from, *to], fill.filled()))?
            }
            Mark::Frame { from, to } => {
                root.draw(&Rectangle::new([*from, *to], BLACK.stroke_width(1)))?
            }
            Mark::Text {
                text,
                at,
                size,
                anchor: (h, v),
                ink,
                vertical,
            } => {
                let mut st = style(*size).color(ink).pos(Pos::new(*h, *v));
                if *vertical {
                    st = st.transform(FontTransform::Rotate270);
                }
                root.draw(&Text::new(text.as_str(), *at, st))?;
            }
        }
    }
    Ok(())
}

/// White → dark blue, the positive half of the notebook's RdBu scale (ColorBrewer RdBu). The
/// interactive page (render/page.rs) draws its heatmaps with these stops, mixed as [`blues`] does.
pub(crate) const BLUES: [(u8, u8, u8); 5] = [
    (247, 247, 247),
    (146, 197, 222),
    (67, 147, 195),
    (33, 102, 172),
    (5, 48, 97),
];

/// The colour of `x` (clamped to [0, 1]), linear between the stops of [`BLUES`].
fn blues(x: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 5] = BLUES;
    let x = x.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let k = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - k as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// `x` to 4 significant digits.
fn sig4(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let mag = x.abs().log10().floor() as i32;
    if (-4..4).contains(&mag) {
        format!("{:.*}", (3 - mag).max(0) as usize, x)
    } else {
        format!("{x:.3e}")
    }
}

/// A cell's hover text: the current and next character, the count, P and Q.
fn cell_title(an: &Analysis, i: usize, j: usize) -> String {
    let c = &an.cmp;
    format!(
        // Short: a 256-character report has 10,800 cells, each with its title.
        "{}→{} count {}, P {}, Q {}",
        c.vocab.label(i),
        c.vocab.label(j),
        c.counts[i][j],
        sig4(c.p[i][j]),
        sig4(c.q[i][j])
    )
}

/// A heatmap's title, with the tokens (`unit`s) left out where there are too many to draw.
fn titled(title: &str, shown: usize, hidden: usize, unit: &str) -> String {
    match hidden {
        0 => title.to_string(),
        h => format!("{title}: {shown} most frequent {unit}s, {h} hidden"),
    }
}
