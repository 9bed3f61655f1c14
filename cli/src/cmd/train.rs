//! `zl train`: a training run, its losses, and the bigram comparison; or, with `--seeds`, one
//! model per seed.

use std::time::Instant;

use anyhow::{Context, Result};

use crate::{
    analysis,
    args::TrainArgs,
    backend::{Backend, Choice, Job},
    data::{corpus::Corpus, files},
    render,
};

pub fn run(choice: Choice, a: &TrainArgs) -> Result<()> {
    let corpus = Corpus::load_either(a.corpus.as_deref(), a.counts.as_deref())?;
    if let Some(seeds) = &a.seeds {
        return run_batch(choice, a, &corpus, &seeds.0);
    }
    let backend = Backend::open(choice)?;
    let job = Job {
        d_model: a.d_model,
        config: a.hyper.config(),
    };
    let run = backend.train(&corpus, &[job], true)?.remove(0);
    let cmp = analysis::compare(&run.weights, &corpus)?;
    let name = backend.name();
    if let Some(path) = &a.save {
        let cfg = &job.config;
        let meta = [
            ("seed", cfg.seed.to_string()),
            ("epochs", cfg.epochs.to_string()),
            ("lr", cfg.adamw.lr.to_string()),
            ("weight_decay", cfg.adamw.weight_decay.to_string()),
            ("final_loss", (run.final_loss as f64).to_string()),
            ("backend", name.clone()),
            ("corpus", corpus.source.to_string()),
        ];
        let bytes = files::to_safetensors(&run.weights, &meta)?;
        files::write_atomic(path, &bytes).with_context(|| format!("--save {}", path.display()))?;
    }
    if a.json {
        // Logs to stderr, one JSON object to stdout.
        eprint!("{}", render::text::losses(&run.losses, a.log_every));
        println!("{}", render::json::train(&name, &corpus, &run, &cmp));
    } else {
        print!(
            "{}",
            render::text::train(&render::text::TrainView {
                backend: &name,
                corpus: &corpus,
                run: &run,
                cmp: &cmp,
                log_every: a.log_every,
                checksum: a.checksum,
            })
        );
    }
    Ok(())
}

fn run_batch(choice: Choice, a: &TrainArgs, corpus: &Corpus, seeds: &[u64]) -> Result<()> {
    if a.save.is_some() {
        anyhow::bail!(
            "--save writes one model; drop --seeds to save one, or --save to train a batch"
        );
    }
    let backend = Backend::open(choice)?;
    let jobs: Vec<Job> = seeds
        .iter()
        .map(|&seed| Job {
            d_model: a.d_model,
            config: zl_core::TrainConfig {
                seed,
                ..a.hyper.config()
            },
        })
        .collect();
    let start = Instant::now();
    let runs = backend.train(corpus, &jobs, false)?;
    let seconds = start.elapsed().as_secs_f64();
    let name = backend.name();
    if a.json {
        println!("{}", render::json::batch(&name, corpus, &runs, seconds));
    } else {
        print!("{}", render::text::batch(&name, &runs, seconds));
    }
    Ok(())
}
