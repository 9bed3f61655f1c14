//! The sweep's figures: final loss against d_model (log scale), with the bigram entropy floor,
//! written as `sweep.svg` and `sweep.png` into the --plot folder; and with `--until-gap`, each
//! size's best gap to the floor on a log axis against EPS, as `sweep_gap.svg` and `.png`.

use anyhow::Result;
use plotters::{
    coord::{combinators::BindKeyPoints, Shift},
    prelude::*,
};

use super::plot::{legend_box, png_of, style, svg_of, swatch, DESC, TICK, TITLE};
use crate::analysis::sweep::{Point, UntilGap};

const SIZE: (u32, u32) = (1100, 700);

/// Tick positions of the d_model axis: the sizes swept, each labelled once. (plotters' own
/// log-axis ticks put 10 there twice, as a decade and as a minor tick, and a label formatter
/// sees each position separately.)
fn size_ticks(sizes: impl Iterator<Item = usize>) -> Vec<f64> {
    let mut t: Vec<f64> = sizes.map(|d| d as f64).collect();
    t.sort_by(f64::total_cmp);
    t.dedup();
    t
}

/// Tick positions of a log axis from `lo` to `hi`: the powers of ten inside, and 2 and 5 times
/// them where fewer than three decades fit; distinct values, so that no label repeats.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let steps: &[f64] = if b - a < 3 { &[1.0, 2.0, 5.0] } else { &[1.0] };
    (a..=b)
        .flat_map(|k| steps.iter().map(move |m| m * 10f64.powi(k)))
        .filter(|&x| (lo..=hi).contains(&x))
        .collect()
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    points: &[Point],
    floor: f64,
    corpus: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let dmax = points.iter().map(|p| p.d_model).max().unwrap_or(1) as f64;
    let lmax = points.iter().map(|p| p.final_loss).fold(floor, f64::max);
    let span = (lmax - floor).max(1e-3);
    let mut c = ChartBuilder::on(root)
        .caption(
            format!("Final loss against d_model ({corpus})"),
            style(TITLE),
        )
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d(
            (0.8..dmax * 1.25)
                .log_scale()
                .with_key_points(size_ticks(points.iter().map(|p| p.d_model))),
            (floor - 0.08 * span)..(lmax + 0.08 * span),
        )?;
    // Enough decimals that ten ticks over the loss range print ten different labels.
    let decimals = ((-(span / 10.0).log10()).ceil().max(0.0) as usize + 1).max(3);
    c.configure_mesh()
        .x_desc("d_model (log scale)")
        .y_desc("final loss (nats)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.decimals$}"))
        .label_style(style(TICK))
        .axis_desc_style(style(DESC))
        .draw()?;
    let red = RGBColor(200, 30, 30);
    c.draw_series(LineSeries::new(
        [(0.8, floor), (dmax * 1.25, floor)],
        red.stroke_width(2),
    ))?
    .label(format!("bigram floor H(next|cur) = {floor:.4}"))
    .legend(swatch(red));
    let blue = RGBColor(31, 90, 180);
    let pts: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.d_model as f64, p.final_loss))
        .collect();
    c.draw_series(LineSeries::new(pts.clone(), blue.stroke_width(2)))?
        .label("final loss after training")
        .legend(swatch(blue));
    c.draw_series(pts.iter().map(|&p| Circle::new(p, 6, blue.filled())))?;
    legend_box(&mut c)?;
    Ok(())
}

/// The figure as `(file name, bytes)`: `sweep.svg` and `sweep.png`.
pub fn all(points: &[Point], floor: f64, corpus: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let svg = svg_of(SIZE, |root| draw(root, points, floor, corpus))?;
    let png = png_of(SIZE, |root| draw(root, points, floor, corpus))?;
    Ok(vec![
        ("sweep.svg".into(), svg.into_bytes()),
        ("sweep.png".into(), png),
    ])
}

/// The gap figure: each size's best gap (log scale) and the EPS it trained to.
fn draw_gaps<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    u: &UntilGap,
    corpus: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let eps = u.budget.eps;
    // A gap can round to zero or below in f64 on a perfect fit; a log axis cannot show that, so
    // such a point sits on the axis's floor, three decades under EPS.
    let shown = |g: f64| g.max(eps * 1e-3);
    let pts: Vec<(f64, f64, bool)> = u
        .sizes
        .iter()
        .map(|z| (z.d_model as f64, shown(z.best().last().gap), z.reached))
        .collect();
    let dmax = pts.iter().map(|p| p.0).fold(1.0, f64::max);
    let gmin = pts.iter().map(|p| p.1).fold(eps, f64::min) / 3.0;
    let gmax = pts.iter().map(|p| p.1).fold(eps, f64::max) * 3.0;
    let mut c = ChartBuilder::on(root)
        .caption(
            format!("Best gap to the floor against d_model ({corpus})"),
            style(TITLE),
        )
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d(
            (0.8..dmax * 1.25)
                .log_scale()
                .with_key_points(size_ticks(u.sizes.iter().map(|z| z.d_model))),
            (gmin..gmax)
                .log_scale()
                .with_key_points(log_ticks(gmin, gmax)),
        )?;
    c.configure_mesh()
        .x_desc("d_model (log scale)")
        .y_desc("best gap Σ (n_i/N)·KL(P_i‖Q_i) (nats, log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .label_style(style(TICK))
        .axis_desc_style(style(DESC))
        .draw()?;
    let red = RGBColor(200, 30, 30);
    c.draw_series(LineSeries::new(
        [(0.8, eps), (dmax * 1.25, eps)],
        red.stroke_width(2),
    ))?
    .label(format!("--until-gap {eps:e}"))
    .legend(swatch(red));
    let blue = RGBColor(31, 90, 180);
    c.draw_series(LineSeries::new(
        pts.iter().map(|p| (p.0, p.1)),
        blue.stroke_width(2),
    ))?
    .label(format!(
        "best gap over {}, at most {} (filled: reached)",
        super::text::seeds_text(&u.budget.seeds),
        super::text::epochs(u.budget.max_epochs)
    ))
    .legend(swatch(blue));
    // Filled where the size reached EPS, hollow where its budget ran out first.
    c.draw_series(pts.iter().map(|&(d, g, reached)| {
        let st = if reached {
            blue.filled()
        } else {
            blue.stroke_width(2)
        };
        Circle::new((d, g), 7, st)
    }))?;
    legend_box(&mut c)?;
    Ok(())
}

/// The `--until-gap` figure as `(file name, bytes)`: `sweep_gap.svg` and `sweep_gap.png`.
pub fn gaps(u: &UntilGap, corpus: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let svg = svg_of(SIZE, |root| draw_gaps(root, u, corpus))?;
    let png = png_of(SIZE, |root| draw_gaps(root, u, corpus))?;
    Ok(vec![
        ("sweep_gap.svg".into(), svg.into_bytes()),
        ("sweep_gap.png".into(), png),
    ])
}
