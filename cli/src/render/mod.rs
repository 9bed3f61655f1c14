//! How results look: text for the terminal ([`text`], [`heatmap`]), JSON ([`json`]), figures as
//! SVG and PNG ([`plot`] and [`sweep_plot`] through plotters, [`heatmap_figure`] directly) and
//! the HTML report ([`html`]). Renderers read
//! analysis results and runs; they never train and never compute a meaning of their own.

pub mod heatmap;
pub mod heatmap_figure;
pub mod html;
pub mod json;
pub mod mechanism;
pub mod page;
pub mod plot;
pub mod sweep_plot;
pub mod text;
pub mod verbs;
pub mod verdict;
