//! `zl report`: one self-contained HTML page from the problem to the mechanism to the evidence.

use anyhow::{Context, Result};

use super::source;
use crate::{args::ReportArgs, backend::Choice, data::files, render};

pub fn run(choice: Choice, a: &ReportArgs) -> Result<()> {
    files::check_output_file(&a.out).with_context(|| format!("--out {}", a.out.display()))?;
    let an = source::analyse(choice, &a.source)?;
    let page = render::html::page(&an)?;
    files::write_atomic(&a.out, page.as_bytes())
        .with_context(|| format!("--out {}", a.out.display()))?;
    eprintln!("wrote {} ({} KiB)", a.out.display(), page.len() / 1024);
    Ok(())
}
