//! `zl train`: a training run, its losses, and the bigram comparison; or, with `--seeds`, one
//! model per seed.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};

use anyhow::{Context, Result};

use super::live::{Interrupted, Live};
use crate::{
    analysis::{
        self, controls,
        heldout::{self, Split},
        large,
    },
    args::TrainArgs,
    backend::{Backend, Choice, Job, Trained},
    data::{corpus::Corpus, files},
    render,
};

pub fn run(choice: Choice, a: &TrainArgs) -> Result<()> {
    // The outputs first: a path that cannot be written fails before any work.
    if let Some(path) = &a.save {
        files::check_output_file(path).with_context(|| format!("--save {}", path.display()))?;
    }
    let whole = Corpus::load_either(
        a.text.corpus.as_deref(),
        a.text.counts.as_deref(),
        &a.text.tokens(),
    )?;
    if let Some(seeds) = &a.seeds {
        return run_batch(choice, a, &whole, &seeds.0);
    }
    // --val-fraction: train on the text without its end, and measure the loss on the end.
    let split = a
        .val
        .val_fraction
        .map(|f| Split::new(&whole, f))
        .transpose()?;
    let corpus = split.as_ref().map_or(whole, |s| s.train.clone());
    let backend = Backend::open(choice)?;
    let job = Job {
        d_model: a.d_model,
        config: a.training.config(),
    };
    let name = backend.name();
    let epochs = job.config.epochs;
    // Under --json the logs go to stderr and stdout holds one JSON object.
    let live = Live::start(epochs, a.json);
    if !a.json {
        live.print(&render::text::train_header(&name, &corpus, &job), false);
    }
    // Each logged loss is printed when the segment that reaches it ends.
    let printed = AtomicUsize::new(0);
    let watch = |t: &Trained| {
        let from = printed.swap(t.losses.len(), Ordering::SeqCst);
        let every = a.log_every as usize;
        let lines: String = (from.div_ceil(every) * every..t.losses.len())
            .step_by(every)
            .map(|e| render::text::loss_line(e, t.losses[e]))
            .collect();
        live.print(&lines, a.json);
        live.progress(t.job.config.epochs);
        live.flow()
    };
    let (run, held) = match &split {
        Some(split) => {
            let (run, curve) =
                heldout::train_holding_out(&backend, split, job, a.log_every, &watch)?;
            (run, Some((split, curve)))
        }
        None => {
            let ends =
                controls::segment_ends(&[epochs], a.log_every, corpus.vocab.len(), a.d_model);
            let run = backend
                .train_segments(&corpus, &[job], &ends, true, &|_, t| Ok(watch(t)))?
                .remove(0);
            (run, None)
        }
    };
    live.finish();
    let done = run.job.config.epochs;
    if done < epochs {
        live.print(
            &format!(
                "stopped by Ctrl-C after {done} of {epochs} epochs: loss {} (after epoch {}'s update)\n",
                run.final_loss as f64,
                done - 1
            ),
            a.json,
        );
        return Err(Interrupted { epochs: done }.into());
    }
    let held = match held {
        Some((split, curve)) => Some(heldout::held_out(split, &run.weights, curve)?),
        None => None,
    };
    // Saved before the analysis: a model is kept whatever the analysis then says.
    if let Some(path) = &a.save {
        let cfg = &job.config;
        let mut meta = vec![
            ("seed", cfg.seed.to_string()),
            ("epochs", cfg.epochs.to_string()),
            ("lr", cfg.adamw.lr.to_string()),
            ("weight_decay", cfg.adamw.weight_decay.to_string()),
            ("final_loss", (run.final_loss as f64).to_string()),
            ("backend", name.clone()),
            ("corpus", files::source_record(&corpus.source)),
        ];
        // Trained on the corpus's first part: the fraction held out says which.
        if let Some(split) = &split {
            meta.push(("val_fraction", split.fraction.to_string()));
        }
        files::save_model(path, &run.weights, &meta)
            .with_context(|| format!("--save {}", path.display()))?;
        eprintln!("zl train: saved the weights to {}", path.display());
    }
    // Above the dense analysis' size, the large-V view's comparison (rows streamed).
    let (dense, view);
    let cmp = if corpus.vocab.len() > large::DENSE_MAX {
        view = large::comparison(&run.weights, &corpus)?;
        render::text::TrainComparison::Large(&view)
    } else {
        dense = analysis::compare(&run.weights, &corpus)?;
        render::text::TrainComparison::Dense(&dense)
    };
    if a.json {
        let out = render::json::train(&name, &corpus, &run, cmp, held.as_ref());
        println!("{out}");
    } else {
        print!(
            "{}",
            render::text::train_tail(&render::text::TrainView {
                backend: &name,
                corpus: &corpus,
                run: &run,
                cmp,
                // With --val-fraction, the held-out lines come before the checksum line.
                checksum: a.checksum && held.is_none(),
            })
        );
        if let Some(h) = &held {
            print!(
                "\n{}\n{}",
                render::verbs::held_out_curve_text(h),
                render::verbs::held_out_text(h)
            );
            if a.checksum {
                println!("{}", run.checksum);
            }
        }
    }
    Ok(())
}

fn run_batch(choice: Choice, a: &TrainArgs, corpus: &Corpus, seeds: &[u64]) -> Result<()> {
    let backend = Backend::open(choice)?;
    let jobs: Vec<Job> = seeds
        .iter()
        .map(|&seed| Job {
            d_model: a.d_model,
            config: zl_core::TrainConfig {
                seed,
                ..a.training.config()
            },
        })
        .collect();
    let start = Instant::now();
    let runs = backend.train(corpus, &jobs, false)?;
    let seconds = start.elapsed().as_secs_f64();
    let (name, summary) = (backend.name(), analysis::seed_summary(&runs));
    if a.json {
        println!(
            "{}",
            render::json::batch(&name, corpus, &runs, summary, seconds)
        );
    } else {
        print!("{}", render::text::batch(&name, &runs, summary, seconds));
    }
    Ok(())
}
