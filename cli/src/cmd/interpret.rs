//! `zl interpret`: the evidence that the trained model is the text's bigram table, as text
//! (with terminal heatmaps) or JSON, and the figures.

use std::{io::IsTerminal, path::Path};

use anyhow::{Context, Result};

use super::source;
use crate::{args::InterpretArgs, backend::Choice, data::files, render};

pub fn run(choice: Choice, a: &InterpretArgs) -> Result<()> {
    if let Some(dir) = &a.plot {
        files::check_output_dir(dir).with_context(|| format!("--plot {}", dir.display()))?;
        render::plot::load_font()?;
    }
    let an = match source::analyse_any(
        choice,
        &a.source,
        a.val.val_fraction,
        a.full,
        a.replication.replicas,
    )? {
        source::Analysed::Dense(an) => an,
        source::Analysed::Large(l) => {
            if let Some(dir) = &a.plot {
                write_figures(dir, render::plot::large(&l.view, &l.vocab))?;
            }
            if a.json {
                println!("{}", render::large::json(&l.view, &l.vocab));
            } else {
                let colour =
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
                println!("{}", l.what);
                print!(
                    "{}",
                    render::large::interpret(&l.view, &l.vocab, colour, a.full)
                );
            }
            return Ok(());
        }
    };
    if let Some(dir) = &a.plot {
        write_figures(dir, render::plot::all(&an))?;
    }
    if a.json {
        println!("{}", render::json::interpret(&an));
    } else {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        print!("{}", render::text::interpret(&an, colour, a.full));
        if let Some(h) = &an.held_out {
            print!("\n{}", render::verbs::held_out_text(h));
        }
    }
    Ok(())
}

/// Writes `--plot`'s figures into `dir`, saying each file.
fn write_figures(dir: &Path, figures: Result<Vec<(String, Vec<u8>)>>) -> Result<()> {
    let written = figures
        .and_then(|f| files::write_folder(dir, &f))
        .with_context(|| format!("--plot {}", dir.display()))?;
    for p in written {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}
