//! `zl sweep`: train one model per d_model and show where the rank limit starts to cost loss.
//!
//! `W_E·W_U` has rank at most d_model, so a small d_model cannot hold an arbitrary V×V table of
//! bigram logits. Every size trains on the same counts in one request to the backend (on the
//! CPU in parallel across cores, on cuda one launch per size).

use anyhow::{bail, Context, Result};

use crate::{
    analysis::sweep::{Point, Sweep},
    args::SweepArgs,
    backend::{Backend, Choice, Job},
    data::{corpus::Corpus, files},
    render,
};

pub fn run(choice: Choice, a: &SweepArgs) -> Result<()> {
    let corpus = Corpus::load(a.corpus.as_deref())?;
    let mut sizes = a.d_model.clone();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.is_empty() {
        bail!("--d-model: no sizes given; list them, such as --d-model 1,2,4,8,16,32");
    }
    let backend = Backend::open(choice)?;
    let config = a.hyper.config();
    let jobs: Vec<Job> = sizes
        .iter()
        .map(|&d_model| Job { d_model, config })
        .collect();
    let runs = backend.train(&corpus, &jobs, false)?;
    let floor = corpus.bigram_entropy();
    let points = runs
        .iter()
        .map(|t| Point {
            d_model: t.job.d_model,
            final_loss: t.final_loss as f64,
            gap: t.final_loss as f64 - floor,
            train_seconds: t.seconds,
        })
        .collect();
    let sw = Sweep::new(points, floor, corpus.vocab.len());
    let name = backend.name();
    if a.json {
        println!("{}", render::json::sweep(&name, &corpus, &config, &sw));
    } else {
        print!("{}", render::text::sweep(&name, &corpus, &config, &sw));
    }
    if let Some(dir) = &a.plot {
        let figures = render::sweep_plot::all(&sw.points, floor, &corpus.source.to_string());
        figures
            .and_then(|f| files::write_folder(dir, &f))
            .with_context(|| format!("--plot {}", dir.display()))?;
    }
    Ok(())
}
