//! `zl count`: text files' bigram counts as a count file, or count files merged into one, for
//! `--counts` (docs/SCALE.md). The output path and every input are checked before any counting.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::{
    args::CountArgs,
    data::{
        corpus::{self, Corpus},
        counts::{self, Semantics},
        files,
    },
};

pub fn run(a: &CountArgs) -> Result<()> {
    let out = || format!("--out {}", a.out.display());
    files::check_output_file(&a.out).with_context(out)?;
    for p in a.files.iter().filter(|p| !corpus::is_stdin(p)) {
        let meta =
            std::fs::metadata(p).with_context(|| format!("{}: cannot open it", p.display()))?;
        if meta.is_dir() {
            bail!("{}: this is a folder; give a file", p.display());
        }
    }
    let semantics = if a.concatenate {
        Semantics::Concatenate
    } else {
        Semantics::Documents
    };
    let paths: Vec<&Path> = a.files.iter().map(|p| p.as_path()).collect();
    let start = std::time::Instant::now();
    let c = if a.merge {
        counts::merge_files(&paths, semantics)?
    } else if paths.is_empty() {
        Corpus::seed()
    } else {
        counts::count_files(&paths, semantics, &a.tokens())?
    };
    let bytes = counts::to_bytes(&c, semantics)?;
    files::write_atomic(&a.out, &bytes).with_context(out)?;
    let unit = match c.vocab.tokenizer() {
        Some(_) => "tokens",
        None => "characters",
    };
    eprintln!(
        "wrote {}: {} {unit} in {} document(s), {} distinct, {} pairs ({} that occur), bigram entropy {:.6} nats ({}, {} file(s) in {:.3} s)",
        a.out.display(),
        c.chars,
        c.documents,
        c.vocab.len(),
        c.predictions(),
        c.pairs.len(),
        c.bigram_entropy(),
        semantics.name(),
        paths.len().max(1),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
