//! The sweep's figure: final loss against d_model, with the bigram entropy floor.
//! Written as SVG and PNG into the --plot folder.

use std::path::Path;

use anyhow::Result;

use crate::sweep::Point;

pub fn write(dir: &Path, _points: &[Point], _floor: f64, _corpus: &str) -> Result<()> {
    anyhow::bail!(
        "--plot {}: figures for the sweep are not built yet",
        dir.display()
    )
}
