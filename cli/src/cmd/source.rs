//! The model `zl interpret` and `zl report` look at: weights from `--load`, or a model trained
//! now on the chosen backend; analysed on its corpus (the seed text unless `--corpus` names a
//! file), beside its controls. Shared by the two commands, so that neither calls the other.

use std::{path::Path, sync::Mutex};

use anyhow::{bail, Context, Result};
use zl_core::{AdamWConfig, TrainConfig};

use crate::{
    analysis::{self, Analysis, ControlWeights, GapCurve},
    args::ModelSource,
    backend::{Backend, Choice, Job, Trained},
    data::{corpus::Corpus, files},
};

/// The seed of the shuffled-text control's shuffle.
const SHUFFLE_SEED: u64 = 0;

/// The gap-against-epoch curve's work budget, in multiply-adds (each epoch costs about
/// `6·v²·d`): 10^5 epochs for the seed text (about 0.2 s on one AVX-512 core for each of the
/// two runs), fewer for a large vocabulary, never fewer than [`GAP_CURVE_MIN_EPOCHS`].
const GAP_CURVE_WORK: f64 = 1e11;
const GAP_CURVE_MAX_EPOCHS: u32 = 100_000;
const GAP_CURVE_MIN_EPOCHS: u32 = 10_000;

/// The analysis of the model `src` names, with its controls: the same model untrained, and
/// trained the same way on a shuffled text; and, for a model trained here, the gap against the
/// epoch.
pub fn analyse(choice: Choice, src: &ModelSource) -> Result<Analysis> {
    let corpus = Corpus::load_either(src.corpus.as_deref(), src.counts.as_deref())?;
    let backend = Backend::open(choice)?;
    let (weights, source, losses, job, settings) = match &src.load {
        Some(path) => {
            let w = load_model(path, &corpus)?;
            let what = format!(
                "weights loaded from {} (d_model {}), on {}",
                path.display(),
                w.d_model,
                corpus.source
            );
            // The file does not say how it was trained: the controls take the notebook's run.
            let job = Job {
                d_model: w.d_model,
                config: TrainConfig::default(),
            };
            (w, what, None, job, "the notebook's settings (seed 0, 10000 epochs, AdamW lr 0.001 weight decay 0.01), as the file does not record its own")
        }
        None => {
            let job = Job {
                d_model: src.d_model,
                config: src.config(),
            };
            let run = backend.train(&corpus, &[job], true)?.remove(0);
            let cfg = &job.config;
            let what = format!(
                "a model trained here ({} backend) on {}: seed {}, {} epochs, d_model {}, AdamW lr {} weight decay {} ({:.0} ms)",
                backend.name(),
                corpus.source,
                cfg.seed,
                cfg.epochs,
                job.d_model,
                cfg.adamw.lr,
                cfg.adamw.weight_decay,
                run.seconds * 1e3
            );
            (
                run.weights,
                what,
                Some(run.losses),
                job,
                "the same settings",
            )
        }
    };
    let untrained = Job {
        config: TrainConfig {
            epochs: 0,
            ..job.config
        },
        ..job
    };
    let untrained = backend
        .train(&corpus, &[untrained], false)?
        .remove(0)
        .weights;
    let shuffled_text = corpus.shuffled(SHUFFLE_SEED)?;
    let shuffled = backend
        .train(&shuffled_text, &[job], false)
        .context("training the shuffled-text control")?
        .remove(0)
        .weights;
    let controls = ControlWeights {
        untrained: (
            untrained,
            format!(
                "the untrained model: init_torch(seed {}), epoch 0",
                job.config.seed
            ),
        ),
        shuffled: (
            shuffled,
            format!(
                "trained with {settings} on {}, evaluated on the original text",
                shuffled_text.source
            ),
        ),
    };
    let mut an = analysis::analyse(&weights, &corpus, source, losses.clone(), controls)?;
    an.budget = match &src.load {
        Some(_) => "the loaded weights' training (its epochs are not recorded)".into(),
        None => format!("{} epochs", job.config.epochs),
    };
    if losses.is_some() && backend.name() != "ptxsim" {
        an.gap_curve = Some(gap_curve(&backend, &corpus, job)?);
        an.refit_losses = refit(&backend, &corpus, job)?;
    }
    Ok(an)
}

/// The models retrained at d_model 1..=d (every size up to 16, then powers of two and d), with
/// the job's settings, and their f64 losses; `None` past [`GAP_CURVE_WORK`].
fn refit(backend: &Backend, corpus: &Corpus, job: Job) -> Result<Option<Vec<(usize, f64)>>> {
    let d = job.d_model;
    let mut sizes: Vec<usize> = (1..=d.min(16)).collect();
    sizes.extend((5..=6).map(|p| 1usize << p).filter(|&k| k < d));
    if d > 16 {
        sizes.push(d);
    }
    let v = corpus.vocab.len() as f64;
    let work: f64 = sizes
        .iter()
        .map(|&k| 6.0 * v * v * k as f64 * job.config.epochs as f64)
        .sum();
    if work > GAP_CURVE_WORK {
        return Ok(None);
    }
    let jobs: Vec<Job> = sizes
        .iter()
        .map(|&d_model| Job { d_model, ..job })
        .collect();
    let runs = backend
        .train(corpus, &jobs, false)
        .context("retraining at smaller d_model")?;
    runs.iter()
        .map(|t| {
            Ok((
                t.job.d_model,
                analysis::compare(&t.weights, corpus)?
                    .decomposition
                    .model_loss,
            ))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// The exact gap at roughly geometric epochs, to as many epochs as [`GAP_CURVE_WORK`] allows
/// (at least 10^4, at most 10^5), with the job's weight decay and without any.
fn gap_curve(backend: &Backend, corpus: &Corpus, job: Job) -> Result<GapCurve> {
    let (v, d) = (corpus.vocab.len() as f64, job.d_model as f64);
    let budget = (GAP_CURVE_WORK / (6.0 * v * v * d)) as u32;
    let max = budget.clamp(GAP_CURVE_MIN_EPOCHS, GAP_CURVE_MAX_EPOCHS);
    let mut ends: Vec<u32> = (0..)
        .flat_map(|k| [1u32, 2, 5].map(|m| m.saturating_mul(10u32.saturating_pow(k))))
        .take_while(|&e| e < max)
        .collect();
    ends.push(max);
    let wd = job.config.adamw.weight_decay;
    let without = Job {
        config: TrainConfig {
            adamw: AdamWConfig {
                weight_decay: 0.0,
                ..job.config.adamw
            },
            ..job.config
        },
        ..job
    };
    let gaps = Mutex::new(vec![vec![None; ends.len()]; 2]);
    let first_error = Mutex::new(None);
    let after = |n: usize, t: &Trained| match analysis::compare(&t.weights, corpus) {
        Ok(c) => {
            let at = ends.iter().position(|&e| e == t.job.config.epochs);
            if let Some(at) = at {
                gaps.lock().unwrap()[n][at] = Some(c.decomposition.kl_weighted);
            }
            true
        }
        Err(e) => {
            first_error.lock().unwrap().get_or_insert(e);
            false
        }
    };
    backend
        .train_segments(corpus, &[job, without], &ends, false, &after)
        .context("training the gap-against-epoch runs")?;
    if let Some(e) = first_error.into_inner().unwrap() {
        return Err(e);
    }
    let gaps = gaps.into_inner().unwrap();
    Ok(GapCurve {
        weight_decay: wd,
        points: ends
            .iter()
            .enumerate()
            .filter_map(|(k, &e)| Some((e, gaps[0][k]?, gaps[1][k]?)))
            .collect(),
    })
}

/// Reads `--load PATH` and checks that its vocabulary is the corpus's, in token-id order.
fn load_model(path: &Path, corpus: &Corpus) -> Result<files::Weights> {
    let flag = || format!("--load {}", path.display());
    let w = files::read_safetensors(path).with_context(flag)?;
    if w.vocab != corpus.vocab {
        let got: String = w.vocab.iter().collect();
        let want: String = corpus.vocab.iter().collect();
        bail!(
            "{}: its vocabulary {got:?} ({} characters) is not that of {} {want:?} ({} characters); pass the --corpus it was trained on",
            flag(),
            w.vocab.len(),
            corpus.source,
            corpus.vocab.len()
        );
    }
    Ok(w)
}
