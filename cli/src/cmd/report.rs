//! `zl report`: one self-contained HTML page from the problem to the mechanism to the evidence.

use anyhow::{bail, Context, Result};

use super::source;
use crate::{
    args::ReportArgs,
    backend::Choice,
    data::{corpus::Corpus, files},
    render::{self, page::MAX_PAGE_CHARS},
};

pub fn run(choice: Choice, a: &ReportArgs) -> Result<()> {
    files::check_output_file(&a.out).with_context(|| format!("--out {}", a.out.display()))?;
    if a.interactive {
        return interactive(a);
    }
    render::plot::load_font()?;
    let page = match source::analyse_any(choice, &a.source, None, a.full, a.replication.replicas)? {
        source::Analysed::Dense(an) => render::html::page(&an, a.full)?,
        source::Analysed::Large(l) => {
            render::html::large_page(&l.view, &l.vocab, &l.what.to_string(), a.full)
        }
    };
    files::write_atomic(&a.out, page.as_bytes())
        .with_context(|| format!("--out {}", a.out.display()))?;
    eprintln!("wrote {} ({} KiB)", a.out.display(), page.len() / 1024);
    Ok(())
}

/// `zl report --interactive`: the page, with the text (the seed text, or --corpus) and the
/// training flags as its defaults. The text is checked here as `zl train --corpus` checks it,
/// and against the page's length limit.
fn interactive(a: &ReportArgs) -> Result<()> {
    let text = match &a.source.text.corpus {
        None => zl_core::SEED_TEXT.to_string(),
        Some(p) => {
            let label = format!("--corpus {}", p.display());
            Corpus::from_file(p, &a.source.text.tokens())?;
            let text = std::fs::read_to_string(p).with_context(|| label.clone())?;
            let n = text.chars().count();
            if n > MAX_PAGE_CHARS {
                bail!("{label}: {n} characters, more than the {MAX_PAGE_CHARS} the interactive page trains on; give a shorter excerpt (zl report without --interactive takes any length)");
            }
            text
        }
    };
    let page = render::page::page(&text, &a.source.config(), a.source.d_model);
    files::write_atomic(&a.out, page.as_bytes())
        .with_context(|| format!("--out {}", a.out.display()))?;
    eprintln!(
        "wrote {} ({} KiB): open it in a browser; it trains there, with nothing installed",
        a.out.display(),
        page.len() / 1024
    );
    Ok(())
}
