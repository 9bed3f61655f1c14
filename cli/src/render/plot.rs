//! The figures of `zl interpret --plot` and `zl report`, drawn once with plotters for two
//! backends: SVG (text left to the viewer's fonts) and PNG (text rasterised by ab_glyph).
//!
//! Both backends measure text with a TrueType font: `ZL_FONT` if set, else a subset of DejaVu
//! Sans built into zl (`cli/assets/make-font.sh`), so figures need no font installed.
//! Heatmaps follow the notebook's `imshow`: row = input (current) token, column = next token,
//! token 0 top left, labelled with the characters.

use std::{path::PathBuf, sync::OnceLock};

use anyhow::{anyhow, Context, Result};
use plotters::{
    coord::Shift,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::heatmap_figure;
use crate::{
    analysis::{large::LargeView, Analysis},
    data::vocab::Vocab,
};

/// DejaVu Sans, cut to the characters figures draw (`cli/assets/make-font.sh` makes it; its
/// licence, which allows embedding, is beside it).
static BUILT_IN_FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-subset.ttf");

const FONT: &str = "sans-serif";
/// Text sizes in pixels: the report scales the figures to its column (about 0.75×), so these
/// stay at 13 px or more there.
pub(crate) const TITLE: u32 = 28;
pub(crate) const DESC: u32 = 21;
pub(crate) const TICK: u32 = 18;

/// Registers the figures' font once per process: the file `ZL_FONT` names if it is set, else the
/// built-in one. Commands that draw figures call it before any other work, so that a bad
/// `ZL_FONT` is reported at once.
pub fn load_font() -> Result<()> {
    static LOADED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    const FIX: &str = "point it at a .ttf file, or unset it to use the built-in font";
    let r = LOADED.get_or_init(|| {
        let Some(path) = std::env::var_os("ZL_FONT").map(PathBuf::from) else {
            return plotters::style::register_font(FONT, FontStyle::Normal, BUILT_IN_FONT)
                .map_err(|_| "the built-in font does not load".to_string());
        };
        let bytes =
            std::fs::read(&path).map_err(|e| format!("ZL_FONT={}: {e}; {FIX}", path.display()))?;
        // plotters keeps fonts for the life of the process; one leak per process.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font(FONT, FontStyle::Normal, bytes).map_err(|_| {
            format!(
                "ZL_FONT={}: not a TrueType/OpenType font; {FIX}",
                path.display()
            )
        })
    });
    r.clone().map_err(|e| anyhow!("{e}"))
}

/// One figure: a file stem, a caption, and its size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Figure {
    LossCurve,
    BigramCounts,
    BigramVsModel,
    Spectrum,
    GapByToken,
    SeenLogits,
    Margins,
    GapCurve,
}

impl Figure {
    pub fn stem(self) -> &'static str {
        match self {
            Figure::LossCurve => "loss_curve",
            Figure::BigramCounts => "bigram_counts",
            Figure::BigramVsModel => "bigram_vs_model",
            Figure::Spectrum => "spectrum",
            Figure::GapByToken => "gap_by_token",
            Figure::SeenLogits => "seen_logits",
            Figure::Margins => "margins",
            Figure::GapCurve => "gap_curve",
        }
    }

    fn size(self, an: &Analysis) -> (u32, u32) {
        match self {
            Figure::LossCurve => (1400, 560),
            Figure::BigramCounts | Figure::BigramVsModel => self.heatmap(an).0,
            Figure::Spectrum => (1400, 560),
            Figure::GapByToken => (1400, 520),
            Figure::SeenLogits => (1600, 800),
            Figure::Margins => (1400, 520),
            Figure::GapCurve => (1100, 700),
        }
    }

    /// Whether the report shows the figure narrower than its column: the counts' heatmap while
    /// it has few enough characters for a narrow figure.
    pub fn narrow(self, an: &Analysis) -> bool {
        self == Figure::BigramCounts && !heatmap_figure::wide(an)
    }

    /// The figures this analysis has (no loss curve for a loaded model).
    pub fn all(an: &Analysis) -> Vec<Figure> {
        let mut v = vec![];
        if an.losses.is_some() {
            v.push(Figure::LossCurve);
        }
        v.extend([
            Figure::BigramCounts,
            Figure::BigramVsModel,
            Figure::Spectrum,
            Figure::GapByToken,
            Figure::SeenLogits,
            Figure::Margins,
        ]);
        if an.gap_curve.is_some() {
            v.push(Figure::GapCurve);
        }
        v
    }

    fn draw<DB: DrawingBackend>(self, root: &DrawingArea<DB, Shift>, an: &Analysis) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        match self {
            Figure::LossCurve => loss_curve(root, an),
            Figure::BigramCounts | Figure::BigramVsModel => {
                heatmap_figure::draw(root, &self.heatmap(an).1)
            }
            Figure::Spectrum => spectrum(root, an),
            Figure::GapByToken => gap_by_token(root, an),
            Figure::SeenLogits => seen_logits(root, an),
            Figure::Margins => margins(root, an),
            Figure::GapCurve => gap_curve(root, an),
        }
    }

    /// A heatmap figure's size and marks: the counts alone, or P beside Q.
    fn heatmap(self, an: &Analysis) -> ((u32, u32), Vec<heatmap_figure::Mark>) {
        heatmap_figure::marks(an, self == Figure::BigramCounts)
    }

    /// The figure as an SVG document. The heatmaps are written directly, each cell with its
    /// values as a `<title>` (shown on hover, no script); plotters draws the charts.
    pub fn svg(self, an: &Analysis) -> Result<String> {
        match self {
            Figure::BigramCounts | Figure::BigramVsModel => {
                let (size, marks) = self.heatmap(an);
                Ok(heatmap_figure::svg(size, &marks))
            }
            _ => svg_of(self.size(an), |root| self.draw(root, an)),
        }
    }

    /// The figure as PNG bytes (8-bit RGB).
    pub fn png(self, an: &Analysis) -> Result<Vec<u8>> {
        png_of(self.size(an), |root| self.draw(root, an))
    }
}

/// Draws a figure of `size` pixels into an SVG document.
pub(crate) fn svg_of(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<()>,
) -> Result<String> {
    load_font()?;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, size).into_drawing_area();
        draw(&root)?;
        root.present()?;
    }
    Ok(lean(s))
}

/// The SVG without the attributes plotters writes on every element that only restate SVG's
/// initial values (`opacity="1"`, `stroke="none"` and the width of that absent stroke): the
/// same picture, a third smaller where there are thousands of points (a large vocabulary's
/// scatter of seen pairs), which keeps the report small.
fn lean(svg: String) -> String {
    svg.replace(" opacity=\"1\"", "")
        .replace(" stroke=\"none\" stroke-width=\"1\"", "")
        .replace(" stroke=\"none\"", "")
}

/// Draws a figure of `size` pixels into PNG bytes (8-bit RGB), encoded in memory so that the
/// file is written atomically like every output.
pub(crate) fn png_of(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Result<()>,
) -> Result<Vec<u8>> {
    load_font()?;
    let (w, h) = size;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(&root)?;
        root.present()?;
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().context("encoding PNG")?;
    writer.write_image_data(&rgb).context("encoding PNG")?;
    writer.finish().context("encoding PNG")?;
    Ok(out)
}

/// Every figure as `(file name, bytes)`: `<stem>.svg` and `<stem>.png` each.
pub fn all(an: &Analysis) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = vec![];
    for fig in Figure::all(an) {
        out.push((format!("{}.svg", fig.stem()), fig.svg(an)?.into_bytes()));
        out.push((format!("{}.png", fig.stem()), fig.png(an)?));
    }
    Ok(out)
}

/// The large-V view's figure as `(file name, bytes)`: the heatmap of the most frequent tokens
/// it shows, as `bigram_vs_model.svg` and `.png` (the other figures need the whole V×V
/// analysis).
pub fn large(view: &LargeView, vocab: &Vocab) -> Result<Vec<(String, Vec<u8>)>> {
    let (size, marks) = heatmap_figure::large_marks(view, vocab);
    let stem = Figure::BigramVsModel.stem();
    Ok(vec![
        (
            format!("{stem}.svg"),
            heatmap_figure::svg(size, &marks).into_bytes(),
        ),
        (
            format!("{stem}.png"),
            png_of(size, |root| {
                root.fill(&WHITE)?;
                heatmap_figure::draw(root, &marks)
            })?,
        ),
    ])
}

pub(crate) fn style(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// A legend entry's swatch: a short thick line in the series' colour.
pub(crate) fn swatch(col: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new([(x, y), (x + 24, y)], col.stroke_width(3))
}

/// The legend, top right, on a white box.
pub(crate) fn legend_box<'a, DB, CT>(c: &mut ChartContext<'a, DB, CT>) -> Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: plotters::coord::CoordTranslate,
{
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(style(TICK))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// At most about `max` indices of `0..n`, evenly spaced, always with the last: a 10,000-point
/// curve drawn with 2,000 looks the same and keeps the SVG small.
fn thin(n: usize, max: usize) -> impl Iterator<Item = usize> {
    let step = n.div_ceil(max).max(1);
    (0..n)
        .step_by(step)
        .chain((n > 0 && !(n - 1).is_multiple_of(step)).then_some(n - 1))
}

/// About `max` indices of `0..n` spaced evenly on a log axis (every index while they are dense).
fn log_thin(n: usize, max: usize) -> impl Iterator<Item = usize> {
    let ratio = (n.max(2) as f64).powf(1.0 / max as f64);
    let mut next = 0.0f64;
    (0..n).filter(move |&e| {
        let keep = e as f64 >= next || e + 1 == n;
        if keep {
            next = (e as f64 + 1.0) * ratio - 1.0;
        }
        keep
    })
}

/// The notebook's loss curve, with the floor and the reference points; beside it the gap to the
/// floor on a log scale, where the approach to the bigram entropy shows.
fn loss_curve<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, an: &Analysis) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let Some(losses) = &an.losses else {
        return Ok(());
    };
    let d = &an.cmp.decomposition;
    let n = losses.len() as f64;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 * 55 / 100);
    let held: &[(u32, f64)] = an.held_out.as_ref().map_or(&[], |h| &h.curve);
    let ymax = losses.iter().fold(d.uniform_loss, |a, &b| a.max(b as f64)) + 0.1;
    // A held-out loss above the training curve's range raises it, up to twice ln V.
    let ymax = held.iter().fold(ymax, |a, &(_, l)| {
        a.max((l + 0.1).min(2.0 * d.uniform_loss))
    });
    let ymin = d.bigram_entropy - 0.15;
    let mut c = ChartBuilder::on(&left)
        .caption("Loss curve", style(TITLE))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..n, ymin..ymax)?;
    c.configure_mesh()
        .x_desc("Epoch")
        .y_desc("Loss (nats)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style(style(TICK))
        .axis_desc_style(style(DESC))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let refs = [
        (
            d.uniform_loss,
            format!("uniform, ln {} = {:.4}", an.cmp.vocab.len(), d.uniform_loss),
            RGBColor(150, 150, 150),
        ),
        (
            d.unigram_entropy,
            format!("unigram entropy H(next) = {:.4}", d.unigram_entropy),
            RGBColor(230, 140, 30),
        ),
        (
            d.bigram_entropy,
            format!("bigram floor H(next|cur) = {:.4}", d.bigram_entropy),
            RGBColor(200, 30, 30),
        ),
    ];
    for (y, name, col) in refs {
        c.draw_series(LineSeries::new([(0.0, y), (n, y)], col.stroke_width(2)))?
            .label(name)
            .legend(swatch(col));
    }
    let blue = RGBColor(31, 90, 180);
    c.draw_series(LineSeries::new(
        thin(losses.len(), 2000).map(|e| (e as f64, losses[e] as f64)),
        blue.stroke_width(2),
    ))?
    .label(format!("train loss (final {:.4})", an.cmp.model_loss_f32))
    .legend(swatch(blue));
    if let Some(&(_, last)) = held.last() {
        let green = RGBColor(40, 150, 70);
        c.draw_series(LineSeries::new(
            held.iter()
                .map(|&(e, l)| (e as f64, l.min(ymax)))
                .collect::<Vec<_>>(),
            green.stroke_width(2),
        ))?
        .label(format!("held-out loss (final {last:.4})"))
        .legend(swatch(green));
    }
    legend_box(&mut c)?;

    let gap = an.gaps.as_deref().unwrap_or_default();
    // Clamped above 0 for the log axis.
    let gaps: Vec<(f64, f64)> = log_thin(gap.len(), 800)
        .map(|e| (e as f64 + 1.0, gap[e].max(1e-9)))
        .collect();
    let gmin = gaps.iter().map(|g| g.1).fold(f64::INFINITY, f64::min) / 2.0;
    let gmax = gaps.iter().map(|g| g.1).fold(0.0, f64::max) * 2.0;
    let mut c = ChartBuilder::on(&right)
        .caption("Gap to the floor: loss − H(next|cur)", style(TITLE))
        .margin(16)
        // Room for half the last x label, centred on the axis's end.
        .margin_right(40)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d((1.0..n + 1.0).log_scale(), (gmin..gmax).log_scale())?;
    c.configure_mesh()
        .x_desc("Epoch + 1 (log)")
        .y_desc("nats (log)")
        .label_style(style(TICK))
        .axis_desc_style(style(DESC))
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    c.draw_series(LineSeries::new(gaps, blue.stroke_width(2)))?;
    Ok(())
}

/// Singular values of W_E·W_U (log scale, with the numerical-rank threshold) and the loss with
/// the table truncated to rank k.
fn spectrum<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, an: &Analysis) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let d = &an.cmp.decomposition;
    let v = an.cmp.vocab.len();
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    // Exact zeros (a padded model) are drawn at the bottom of the axis.
    let floor = an.rank_threshold * 1e-12;
    let sig: Vec<f64> = an.singular_values.iter().map(|&s| s.max(floor)).collect();
    let smax = sig[0] * 3.0;
    let smin = sig.iter().cloned().fold(f64::INFINITY, f64::min) / 3.0;
    let mut c = ChartBuilder::on(&left)
        .caption("Singular values of W_E·W_U", style(TITLE))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(0.5..v as f64 + 0.5, (smin..smax).log_scale())?;
    c.configure_mesh()
        .x_desc("k")
        .y_desc("σ_k (log)")
        .label_style(style(TICK))
        .axis_desc_style(style(DESC))
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    let kept = RGBColor(31, 90, 180);
    let dropped = RGBColor(170, 170, 170);
    c.draw_series(sig.iter().enumerate().map(|(k, &s)| {
        let col = if k < an.rank { kept } else { dropped };
        Rectangle::new([(k as f64 + 0.6, smin), (k as f64 + 1.4, s)], col.filled())
    }))?;
    let red = RGBColor(200, 30, 30);
    c.draw_series(LineSeries::new(
        [
            (0.5, an.rank_threshold),
            (v as f64 + 0.5, an.rank_threshold),
        ],
        red.stroke_width(2),
    ))?
    .label(format!("rank threshold σ_1·{v}·2⁻²³ → rank {}", an.rank))
    .legend(swatch(red));
    legend_box(&mut c)?;

    let ymax = an
        .rank_losses
        .iter()
        .chain(&an.centred_rank_losses)
        .cloned()
        .fold(d.uniform_loss, f64::max)
        + 0.15;
    let ymin = d.bigram_entropy - 0.15;
    let mut c = ChartBuilder::on(&right)
        .caption("Loss with W_E·W_U truncated to rank k", style(TITLE))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..v as f64 + 0.5, ymin..ymax)?;
    c.configure_mesh()
        .x_desc("rank k")
        .y_desc("Loss (nats)")
        .label_style(style(TICK))
        .axis_desc_style(style(DESC))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let grey = RGBColor(150, 150, 150);
    for (y, name, col) in [
        (d.uniform_loss, format!("uniform ln {v}"), grey),
        (
            d.bigram_entropy,
            format!("bigram floor {:.4}", d.bigram_entropy),
            red,
        ),
    ] {
        c.draw_series(LineSeries::new(
            [(-0.5, y), (v as f64 + 0.5, y)],
            col.stroke_width(2),
        ))?
        .label(name)
        .legend(swatch(col));
    }
    let pts: Vec<(f64, f64)> = an
        .rank_losses
        .iter()
        .enumerate()
        .map(|(k, &l)| (k as f64, l))
        .collect();
    c.draw_series(LineSeries::new(pts.clone(), kept.stroke_width(2)))?
        .label(format!(
            "rank-k loss, raw table (full: {:.4})",
            d.model_loss
        ))
        .legend(swatch(kept));
    c.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, kept.filled())))?;
    let centred = RGBColor(120, 60, 170);
    let pts: Vec<(f64, f64)> = an
        .centred_rank_losses
        .iter()
        .enumerate()
        .map(|(k, &l)| (k as f64, l))
        .collect();
    c.draw_series(LineSeries::new(pts.clone(), centred.stroke_width(2)))?
        .label("rank-k loss, row-centred table")
        .legend(swatch(centred));
    c.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, centred.filled())))?;
    legend_box(&mut c)?;
    Ok(())
}

/// Where the remaining gap lives: each token's share (n_i/N)·KL(P_i‖Q_i) of the loss above the
/// floor.
fn gap_by_token<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, an: &Analysis) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let share = &an.cmp.gap_by_row;
    let ymax = share.iter().cloned().fold(0.0, f64::max) * 1.15 + 1e-12;
    TokenBars {
        caption: format!(
            "The gap to the floor, by input token: (n_i/N)·KL(P_i‖Q_i), total {:.3e} nats",
            an.cmp.decomposition.kl_weighted
        ),
        caption_size: 26,
        margin: 16,
        y_desc: "nats".into(),
        y_range: 0.0..ymax,
        exponent_ticks: true,
    }
    .draw(root, share, &an.cmp.vocab, |_| RGBColor(31, 90, 180))
}

/// A bar per input token, its character beneath: the by-token figures' one layout.
struct TokenBars {
    caption: String,
    caption_size: u32,
    margin: u32,
    y_desc: String,
    y_range: std::ops::Range<f64>,
    /// Ticks as 1.0e-5 rather than 0.00001.
    exponent_ticks: bool,
}

impl TokenBars {
    fn draw<DB: DrawingBackend>(
        self,
        root: &DrawingArea<DB, Shift>,
        values: &[f64],
        vocab: &Vocab,
        colour: impl Fn(f64) -> RGBColor,
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let v = vocab.len();
        let mut c = ChartBuilder::on(root)
            .caption(self.caption, style(self.caption_size))
            .margin(self.margin)
            .x_label_area_size(60)
            .y_label_area_size(100)
            .build_cartesian_2d(-0.5..v as f64 - 0.5, self.y_range)?;
        let exp = |y: &f64| format!("{y:.1e}");
        let mut mesh = c.configure_mesh();
        mesh.disable_x_mesh()
            .light_line_style(WHITE.mix(0.0))
            .x_labels(0)
            .y_desc(self.y_desc)
            .x_desc("input token")
            .label_style(style(TICK))
            .axis_desc_style(style(DESC));
        if self.exponent_ticks {
            mesh.y_label_formatter(&exp);
        }
        mesh.draw()?;
        c.draw_series(values.iter().enumerate().map(|(i, &y)| {
            Rectangle::new(
                [(i as f64 - 0.35, 0.0), (i as f64 + 0.35, y)],
                colour(y).filled(),
            )
        }))?;
        chars_under_bars(root, &c, vocab)
    }
}

/// Row-centred logits against ln P on the seen pairs, each centred on its row's seen pairs: on
/// the diagonal when the model's seen logits are the log bigram probabilities up to the row's
/// constant (which softmax ignores). Beside it, each row's spread about that diagonal.
fn seen_logits<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, an: &Analysis) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (left, right) = root.split_horizontally(820);
    let pts = &an.seen_points;
    let lo = pts.iter().flat_map(|p| [p.1, p.2]).fold(0.0f64, f64::min) - 0.3;
    let hi = pts.iter().flat_map(|p| [p.1, p.2]).fold(0.0f64, f64::max) + 0.3;
    let mut c = ChartBuilder::on(&left)
        .caption(
            format!(
                "Seen pairs: logit against ln P, row-centred (correlation {:.4})",
                an.cmp.seen_logit_correlation
            ),
            style(24),
        )
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d(lo..hi, lo..hi)?;
    c.configure_mesh()
        .x_desc("ln P(next|cur) − its row's mean over seen pairs")
        .y_desc("logit − its row's mean over seen pairs")
        .label_style(style(TICK))
        .axis_desc_style(style(DESC))
        .draw()?;
    let grey = RGBColor(150, 150, 150);
    c.draw_series(LineSeries::new([(lo, lo), (hi, hi)], grey.stroke_width(2)))?
        .label("y = x")
        .legend(swatch(grey));
    let blue = RGBColor(31, 90, 180);
    c.draw_series(
        pts.iter()
            .map(|&(_, x, y)| Circle::new((x, y), 5, blue.mix(0.6).filled())),
    )?
    .label(format!("{} seen pairs", pts.len()))
    .legend(swatch(blue));
    legend_box(&mut c)?;

    // Each row's spread: RMS of (centred logit − centred ln P) over its seen pairs.
    let spread: Vec<f64> = an
        .cmp
        .seen_spread
        .iter()
        .map(|s| s.unwrap_or(0.0))
        .collect();
    let (with, worst) = (an.cmp.seen_spread_rows, an.cmp.seen_spread_max);
    TokenBars {
        caption: format!("Each row's spread about y = x ({with} rows with 2+ seen pairs)"),
        caption_size: 22,
        margin: 20,
        y_desc: format!("RMS logit − ln P, centred (max {worst:.2e})"),
        y_range: 0.0..worst * 1.15 + 1e-12,
        exponent_ticks: true,
    }
    .draw(&right, &spread, &an.cmp.vocab, |_| blue)
}

/// Per row, how far below its weakest seen logit its strongest unseen logit falls.
fn margins<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, an: &Analysis) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let m: Vec<f64> = an.cmp.margins.iter().map(|m| m.unwrap_or(0.0)).collect();
    let ymax = m.iter().cloned().fold(0.0, f64::max) * 1.15 + 0.1;
    let ymin = m.iter().cloned().fold(0.0, f64::min) * 1.15 - 0.1;
    let (positive, with) = (an.cmp.margin.positive, an.cmp.margin.rows);
    let (blue, red) = (RGBColor(31, 90, 180), RGBColor(200, 30, 30));
    TokenBars {
        caption: format!(
            "Margin by input token: weakest seen logit − strongest unseen logit ({positive} of {with} positive)"
        ),
        caption_size: 24,
        margin: 16,
        y_desc: "nats (logit units)".into(),
        y_range: ymin..ymax,
        exponent_ticks: false,
    }
    .draw(root, &m, &an.cmp.vocab, |y| if y > 0.0 { blue } else { red })
}

/// The gap against the epoch, log–log, with the run's weight decay and without.
fn gap_curve<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, an: &Analysis) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let Some(g) = &an.gap_curve else {
        return Ok(());
    };
    let emax = g.points.last().map_or(10.0, |p| p.0 as f64);
    let gaps = g
        .points
        .iter()
        .flat_map(|p| [p.1, p.2])
        .filter(|&x| x > 0.0);
    let (gmin, gmax) = gaps.fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
    let mut c = ChartBuilder::on(root)
        .caption("The gap to the floor against training time", style(TITLE))
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(100)
        .build_cartesian_2d(
            (0.8..emax * 1.25).log_scale(),
            (gmin * 0.5..gmax * 2.0).log_scale(),
        )?;
    c.configure_mesh()
        .x_desc("epoch (log scale)")
        .y_desc("Σ_i (n_i/N)·KL(P_i‖Q_i), nats (log scale)")
        .x_label_formatter(&|x| format!("{x:.0e}"))
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .label_style(style(TICK))
        .axis_desc_style(style(DESC))
        .draw()?;
    let (blue, orange) = (RGBColor(31, 90, 180), RGBColor(230, 140, 30));
    for (col, name, pick) in [
        (blue, format!("weight decay {}", g.weight_decay), 1usize),
        (orange, "weight decay 0".to_string(), 2),
    ] {
        let pts: Vec<(f64, f64)> = g
            .points
            .iter()
            .map(|p| (p.0 as f64, if pick == 1 { p.1 } else { p.2 }))
            .filter(|p| p.1 > 0.0)
            .collect();
        c.draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)))?
            .label(name)
            .legend(swatch(col));
        c.draw_series(pts.iter().map(|&p| Circle::new(p, 4, col.filled())))?;
    }
    legend_box(&mut c)?;
    Ok(())
}

/// The tokens under a bar chart's bars (one bar per token at x = 0, 1, …), in pixels:
/// plotters picks "nice" ticks, not one per bar.
fn chars_under_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &ChartContext<
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    vocab: &Vocab,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    // The chart's pixels are the backend's; `root.draw` takes them relative to `root`.
    let area = c.plotting_area();
    let (_, ypx) = area.get_pixel_range();
    let (ox, oy) = root.get_base_pixel();
    for i in 0..vocab.len() {
        let (x, _) = c.backend_coord(&(i as f64, 0.0));
        // A token longer than a character reads upwards from under its bar.
        let g = vocab.glyph(i);
        let st = match super::width(&g) {
            0..=2 => style(TICK + 2).pos(Pos::new(HPos::Center, VPos::Top)),
            _ => style(TICK)
                .pos(Pos::new(HPos::Right, VPos::Center))
                .transform(FontTransform::Rotate270),
        };
        root.draw(&Text::new(g, (x - ox, ypx.end + 8 - oy), st))?;
    }
    Ok(())
}
