//! The model `zl interpret` and `zl report` look at: weights from `--load`, or a model trained
//! now on the chosen backend; analysed on its corpus (the seed text unless `--corpus` names a
//! file), beside its controls. Shared by the two commands, so that neither calls the other.

use std::{ops::ControlFlow, sync::Mutex};

use anyhow::Result;
use zl_core::TrainConfig;

use crate::{
    analysis::{
        self, controls,
        heldout::{self, Split},
        Analysis, Beside, Provenance,
    },
    args::ModelSource,
    backend::{Backend, Choice, Job, Trained},
    data::{
        corpus::Corpus,
        files::{self, Weights},
    },
};

/// A model to look at: its weights, what it is in words, and how it was trained.
pub struct Obtained {
    pub weights: Weights,
    /// What the model is, in words, for the output's first lines.
    pub what: String,
    /// The losses of a model trained here.
    pub losses: Option<Vec<f32>>,
    /// The run its controls take: its own, or the notebook's for loaded weights.
    pub job: Job,
    /// The controls' settings, in words.
    pub settings: &'static str,
    /// A loaded file's dtype conversion, to say on stderr.
    pub note: Option<String>,
    /// Seconds of training, for a model trained here (kept out of `what`, so that `zl sample`
    /// and `zl run` print the same bytes from run to run).
    pub seconds: Option<f64>,
    /// The held-out loss at every 100th epoch and the last, with `--val-fraction` and a model
    /// trained here.
    pub held_curve: Vec<(u32, f64)>,
}

/// The corpus `src` names, whole: the seed text unless `--corpus` names a file or `--counts` a
/// count file.
pub fn corpus(src: &ModelSource) -> Result<Corpus> {
    Corpus::load_either(src.text.corpus.as_deref(), src.text.counts.as_deref())
}

/// The model `src` names on `corpus`: the `--load` file's weights (the vocabulary from its
/// metadata, else `corpus`'s when the sizes match), or a model trained here on `corpus`, with
/// the held-out loss every [`HELD_EVERY`] epochs where `split` is given.
pub fn obtain(
    backend: &Backend,
    src: &ModelSource,
    corpus: &Corpus,
    split: Option<&Split>,
) -> Result<Obtained> {
    Ok(match &src.load {
        Some(path) => {
            let (w, from, note) = files::load_weights(path, corpus, src.text.corpus.is_some())?;
            let what = format!(
                "weights loaded from {} (d_model {}), on {}; vocabulary: {from}",
                path.display(),
                w.d_model,
                corpus.source
            );
            // The file does not say how it was trained: the controls take the notebook's run.
            let job = Job {
                d_model: w.d_model,
                config: TrainConfig::default(),
            };
            Obtained {
                weights: w,
                what,
                losses: None,
                job,
                settings: "the notebook's settings (seed 0, 10000 epochs, AdamW lr 0.001 weight decay 0.01), as the file does not record its own",
                note,
                held_curve: vec![],
                seconds: None,
            }
        }
        None => {
            let job = Job {
                d_model: src.d_model,
                config: src.config(),
            };
            let (run, held_curve) = match split {
                Some(split) => train_holding_out(backend, split, job, HELD_EVERY)?,
                None => (backend.train(corpus, &[job], true)?.remove(0), vec![]),
            };
            let cfg = &job.config;
            let what = format!(
                "a model trained here ({} backend) on {}: seed {}, {} epochs, d_model {}, AdamW lr {} weight decay {}",
                backend.name(),
                corpus.source,
                cfg.seed,
                cfg.epochs,
                job.d_model,
                cfg.adamw.lr,
                cfg.adamw.weight_decay,
            );
            Obtained {
                seconds: Some(run.seconds),
                weights: run.weights,
                what,
                losses: Some(run.losses),
                job,
                settings: "the same settings",
                note: None,
                held_curve,
            }
        }
    })
}

/// How often `zl interpret --val-fraction` measures the held-out loss (the notebook logs every
/// 100 epochs).
pub const HELD_EVERY: u32 = 100;

/// Trains `job` on `split`'s training part in segments of `every` epochs, and measures the
/// held-out loss at epoch 0, after every segment and at the end. The segments continue one
/// trainer state (weights, moments, step count), so the run is bit for bit the unsegmented one.
pub fn train_holding_out(
    backend: &Backend,
    split: &Split,
    job: Job,
    every: u32,
) -> Result<(Trained, Vec<(u32, f64)>)> {
    train_holding_out_watched(backend, split, job, every, &|_| ControlFlow::Continue(()))
}

/// [`train_holding_out`], with `watch` seeing each segment's run so far (`zl train` prints its
/// losses from it); the run stops where `watch` breaks.
pub fn train_holding_out_watched(
    backend: &Backend,
    split: &Split,
    job: Job,
    every: u32,
    watch: &(dyn Fn(&Trained) -> ControlFlow<()> + Sync),
) -> Result<(Trained, Vec<(u32, f64)>)> {
    let epochs = job.config.epochs;
    let start = Job {
        config: TrainConfig {
            epochs: 0,
            ..job.config
        },
        ..job
    };
    let init = backend.train(&split.train, &[start], false)?.remove(0);
    let curve = Mutex::new(vec![(0u32, split.model_loss(&init.weights)?)]);
    let mut ends: Vec<u32> = (1..)
        .map(|k| k * every)
        .take_while(|&e| e < epochs)
        .collect();
    ends.push(epochs);
    let after = |_: usize, t: &Trained| {
        let l = split.model_loss(&t.weights)?;
        curve.lock().unwrap().push((t.job.config.epochs, l));
        Ok(watch(t))
    };
    let run = backend
        .train_segments(&split.train, &[job], &ends, true, &after)?
        .remove(0);
    Ok((run, curve.into_inner().unwrap()))
}

/// The analysis of the model `src` names, with its controls: the same model untrained, and
/// trained the same way on a shuffled text; and, for a model trained here, the gap against the
/// epoch.
pub fn analyse(choice: Choice, src: &ModelSource, seeds: usize) -> Result<Analysis> {
    analyse_holding_out(choice, src, None, seeds)
}

/// [`analyse`], with `--val-fraction F`: the model trained (or, loaded, analysed) on the text
/// without its last fraction F, and its held-out numbers. `seeds` models in all are compared
/// (the analysed one and the same run from the next seeds), where its settings are known.
pub fn analyse_holding_out(
    choice: Choice,
    src: &ModelSource,
    val_fraction: Option<f64>,
    seeds: usize,
) -> Result<Analysis> {
    let whole = corpus(src)?;
    let split = val_fraction.map(|f| Split::new(&whole, f)).transpose()?;
    let corpus = split.as_ref().map_or(whole.clone(), |s| s.train.clone());
    let backend = Backend::open(choice)?;
    let got = obtain(&backend, src, &whole, split.as_ref())?;
    if let Some(note) = &got.note {
        eprintln!("{note}");
    }
    let held = split
        .as_ref()
        .map(|s| heldout::held_out(s, &got.weights, got.held_curve.clone()))
        .transpose()?;
    let Obtained {
        weights,
        what,
        losses,
        job,
        settings,
        seconds,
        ..
    } = got;
    let source = match seconds {
        Some(s) => format!("{what} ({:.0} ms)", s * 1e3),
        None => what,
    };
    let controls = controls::train(&backend, &corpus, job, settings)?;
    // The gap curve and the refits train more of the same run: for a model trained here, on a
    // backend fast enough for them.
    let trained_here = losses.is_some() && !backend.is_simulator();
    let (gap_curve, refit_losses) = match trained_here {
        true => (
            Some(controls::gap_curve(&backend, &corpus, job)?),
            controls::refit(&backend, &corpus, job)?,
        ),
        false => (None, None),
    };
    let settings_known = src.load.is_none();
    let replicas = analysis::Replicas {
        requested: seeds,
        models: controls::replicas(&backend, &corpus, settings_known.then_some(job), seeds)?,
    };
    let provenance = Provenance {
        source,
        budget: match &src.load {
            Some(_) => "the loaded weights' training (its epochs are not recorded)".into(),
            None => format!("{} epochs", job.config.epochs),
        },
        epochs: settings_known.then_some(job.config.epochs),
        losses,
    };
    let beside = Beside {
        controls,
        gap_curve,
        refit_losses,
        held_out: held,
        replicas,
    };
    analysis::analyse(&weights, &corpus, provenance, beside)
}
