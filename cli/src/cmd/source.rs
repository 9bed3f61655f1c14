//! The model `zl interpret` and `zl report` look at: weights from `--load`, or a model trained
//! now on the chosen backend; analysed on its corpus (the seed text unless `--corpus` names a
//! file), beside its controls. Shared by the two commands, so that neither calls the other.

use std::{ops::ControlFlow, sync::Mutex};

use anyhow::{bail, Result};
use zl_core::TrainConfig;

use super::live::Progress;
use crate::{
    analysis::{
        self,
        controls::{self, work, Plan, Tick},
        heldout::{self, Split, HELD_EVERY},
        large::{self, LargeView, RowMajor},
        large_retrain::{self, Stage},
        Analysis, Budget, Origin, Provenance, Setting, Training,
    },
    args::ModelSource,
    backend::{Backend, Choice, Job},
    data::{
        corpus::{Corpus, Source, Tokens},
        files::{self, Weights},
        vocab::Vocab,
    },
    render,
};

/// A model to look at: its weights, what it is in words, and how it was trained.
pub struct Obtained {
    pub weights: Weights,
    /// Where the model came from, for the output's first lines.
    pub what: Origin,
    /// The losses of a model trained here.
    pub losses: Option<Vec<f32>>,
    /// Its settings, which every model trained beside it takes: its own, or those a loaded file
    /// records (the notebook's for any it does not).
    pub training: Training,
    /// A loaded file's dtype conversion, to say on stderr.
    pub note: Option<String>,
    /// Seconds of training, for a model trained here (kept out of `what`, so that `zl sample`
    /// and `zl run` print the same bytes from run to run).
    pub seconds: Option<f64>,
    /// The held-out loss at every 100th epoch and the last, with `--val-fraction` and a model
    /// trained here.
    pub held_curve: Vec<(u32, f64)>,
    /// A model trained here: its weights at the epochs [`obtain`] was asked to keep.
    pub kept: Vec<(u32, Weights)>,
}

/// The corpus `src` names, whole: `--corpus`'s file or `--counts`'s count file; without them,
/// the corpus a `--load` file records where it is here (named on stderr), else the seed text.
pub fn corpus(src: &ModelSource) -> Result<Corpus> {
    let (file, counts) = (src.text.corpus.as_deref(), src.text.counts.as_deref());
    // A loaded model's text is tokenized by the model's tokenizer, unless one is given (then
    // the two must agree, which loading checks).
    let tokens = match (src.text.tokens(), &src.load) {
        (Tokens::Chars, Some(load)) => {
            files::model_tokenizer(load)?.map_or(Tokens::Chars, Tokens::Loaded)
        }
        (t, _) => t,
    };
    let recorded = match (&src.load, file, counts) {
        // A file that cannot be read is --load's error, said where it is loaded.
        (Some(load), None, None) => files::recorded_corpus(load)
            .ok()
            .flatten()
            .map(|c| (load, c)),
        _ => None,
    };
    let corpus = match &recorded {
        Some((_, Source::File(p))) => Corpus::from_file(p, &tokens)?,
        Some((_, Source::Counts(p))) => Corpus::load_either(None, Some(p), &tokens)?,
        _ => return Corpus::load_either(file, counts, &tokens),
    };
    if let Some((load, _)) = recorded {
        eprintln!(
            "--load {}: on {}, the corpus it records (give --corpus or --counts for another)",
            load.display(),
            corpus.source
        );
    }
    Ok(corpus)
}

/// The settings a `--load` file records for a model of width `d_model`, the notebook's standing
/// in for any it does not.
fn recorded_training(path: &std::path::Path, d_model: usize) -> Result<Training> {
    let r = files::recorded(path)?;
    let mut c = TrainConfig::default();
    let unrecorded = [
        (r.seed.map(|x| c.seed = x), Setting::Seed),
        (r.epochs.map(|x| c.epochs = x), Setting::Epochs),
        (r.lr.map(|x| c.adamw.lr = x), Setting::Lr),
        (
            r.weight_decay.map(|x| c.adamw.weight_decay = x),
            Setting::WeightDecay,
        ),
    ];
    let unrecorded = unrecorded
        .into_iter()
        .filter(|r| r.0.is_none())
        .map(|r| r.1)
        .collect();
    Ok(Training {
        job: Job { d_model, config: c },
        unrecorded,
    })
}

/// The model `src` names on `corpus`: the `--load` file's weights (the vocabulary from its
/// metadata, else `corpus`'s when the sizes match), or a model trained here on `corpus`, with
/// the held-out loss every [`HELD_EVERY`] epochs where `split` is given, else `tick` hearing it
/// and its weights kept at the epochs `keep` (the same run bit for bit).
pub fn obtain(
    backend: &Backend,
    src: &ModelSource,
    corpus: &Corpus,
    split: Option<&Split>,
    tick: &Tick<'_>,
    keep: &[u32],
) -> Result<Obtained> {
    Ok(match &src.load {
        Some(path) => {
            let (w, from, note) = files::load_weights(path, corpus, src.text.corpus.is_some())?;
            let what = Origin::Loaded {
                path: path.clone(),
                d_model: w.d_model,
                corpus: corpus.source.clone(),
                vocabulary: from,
            };
            let training = recorded_training(path, w.d_model)?;
            Obtained {
                weights: w,
                what,
                losses: None,
                training,
                note,
                held_curve: vec![],
                seconds: None,
                kept: vec![],
            }
        }
        None => {
            let job = Job {
                d_model: src.d_model,
                config: src.config(),
            };
            let (run, held_curve, kept) = match split {
                Some(split) => {
                    let go_on = |_: &_| ControlFlow::Continue(());
                    let (run, held) =
                        heldout::train_holding_out(backend, split, job, HELD_EVERY, &go_on)?;
                    (run, held, vec![])
                }
                None => {
                    let (run, kept) =
                        controls::train_keeping(backend, corpus, job, true, tick, keep)?;
                    (run, vec![], kept)
                }
            };
            let what = Origin::Trained {
                backend: backend.name(),
                corpus: corpus.source.clone(),
                job,
                seconds: None,
            };
            Obtained {
                seconds: Some(run.seconds),
                weights: run.weights,
                what,
                losses: Some(run.losses),
                training: Training {
                    job,
                    unrecorded: vec![],
                },
                note: None,
                held_curve,
                kept,
            }
        }
    })
}

/// The analysis of the model `src` names, with its controls: the same model untrained, and
/// trained the same way on shuffled texts; and, where its settings are known, the gap against
/// the epoch (to its epochs, or with `full` further) and the refits. With `--val-fraction F`:
/// the model trained (or, loaded, analysed) on the text without its last fraction F, and its
/// held-out numbers; with `full`, the minimum width searched as `zl sweep --until-gap`
/// searches. `seeds` models in all are compared (the analysed one and the same run from the
/// next seeds), where its settings are known.
pub fn analyse_holding_out(
    choice: Choice,
    src: &ModelSource,
    val_fraction: Option<f64>,
    full: bool,
    seeds: usize,
) -> Result<Analysis> {
    let val_fraction = held_out_fraction(src, val_fraction)?;
    analyse_corpus(choice, src, corpus(src)?, val_fraction, full, seeds)
}

/// The fraction of the text held out: `--val-fraction`'s; without it, the one a `--load` file
/// records where the text is the one it records, so that its controls, gap curve and retrained
/// models train on the part it trained on (named on stderr).
fn held_out_fraction(src: &ModelSource, flag: Option<f64>) -> Result<Option<f64>> {
    let Some(load) = src.load.as_deref().filter(|_| flag.is_none()) else {
        return Ok(flag);
    };
    if src.text.corpus.is_some() || src.text.counts.is_some() {
        return Ok(None);
    }
    // A file that cannot be read is --load's error, said where it is loaded.
    let recorded = match files::recorded_corpus(load) {
        Ok(Some(_)) => files::recorded(load).ok().and_then(|r| r.val_fraction),
        _ => None,
    };
    if let Some(f) = recorded {
        eprintln!(
            "--load {}: trained with --val-fraction {f}, as it records: analysed on the text without its last {f} (give --val-fraction for another)",
            load.display()
        );
    }
    Ok(recorded)
}

/// What `zl interpret` and `zl report` look at: the whole analysis up to
/// [`large::DENSE_MAX`] tokens, the large-V view above.
pub enum Analysed {
    Dense(Box<Analysis>),
    Large(Box<Large>),
}

/// [`analyse_holding_out`], or above [`large::DENSE_MAX`] tokens the large-V view.
pub fn analyse_any(
    choice: Choice,
    src: &ModelSource,
    val_fraction: Option<f64>,
    full: bool,
    seeds: usize,
) -> Result<Analysed> {
    let val_fraction = held_out_fraction(src, val_fraction)?;
    let whole = corpus(src)?;
    Ok(match whole.vocab.len() > large::DENSE_MAX {
        true => Analysed::Large(Box::new(analyse_large(choice, src, whole, val_fraction)?)),
        false => Analysed::Dense(Box::new(analyse_corpus(
            choice,
            src,
            whole,
            val_fraction,
            full,
            seeds,
        )?)),
    })
}

/// The large-V view of a model, and the vocabulary it is labelled with.
pub struct Large {
    pub view: LargeView,
    pub vocab: Vocab,
    /// Where the model came from.
    pub what: Origin,
}

/// The model `src` names on `whole` (its training part, with `val_fraction`), seen through
/// [`LargeView`]: rows streamed, beside the untrained control and the models
/// [`large_retrain::Plan`] trains within its budgets, each with a progress line.
fn analyse_large(
    choice: Choice,
    src: &ModelSource,
    whole: Corpus,
    val_fraction: Option<f64>,
) -> Result<Large> {
    let split = val_fraction.map(|f| Split::new(&whole, f)).transpose()?;
    let corpus = split.as_ref().map_or(whole.clone(), |s| s.train.clone());
    let backend = Backend::open(choice)?;
    let v = corpus.vocab.len();
    let own = match &src.load {
        None => work(v, src.d_model, src.config().epochs) as u64,
        Some(_) => 0,
    };
    let progress = Progress::start("training the model", own);
    let tick = |n: u64| progress.add(n);
    // The held-out loss is measured once, at the end: every 100 epochs would cost a pass over
    // V² logits each time. The gap curve's checkpoints are kept from the run itself (its last
    // epoch is the model, measured anyway).
    let epochs = src.config().epochs;
    let keep: Vec<u32> = large_retrain::curve_ends(epochs)
        .into_iter()
        .filter(|&k| k < epochs)
        .collect();
    let got = obtain(&backend, src, &corpus, None, &tick, &keep)?;
    progress.finish();
    if let Some(note) = &got.note {
        eprintln!("{note}");
    }
    let job = got.training.job;
    let fits = |w: usize| backend.check_size(v, w).is_ok();
    let plan = large_retrain::Plan::new(
        v,
        job,
        src.load.is_some(),
        controls::not_retrained(got.training.known(), backend.is_simulator()),
        &fits,
    );
    // Each retraining with its own progress line (on a terminal, past a second).
    let line = Mutex::new(None::<Progress>);
    let stage = |s: Stage, total: u64| {
        let next = Progress::start(&render::large::stage(s), total);
        if let Some(done) = line.lock().unwrap().replace(next) {
            done.finish();
        }
    };
    let tick = |n: u64| line.lock().unwrap().iter().for_each(|p| p.add(n));
    let alongside = large_retrain::train(&backend, &corpus, &plan, got.kept, &stage, &tick)?;
    if let Some(done) = line.into_inner().unwrap() {
        done.finish();
    }
    let view = LargeView::new(
        &RowMajor::of(&got.weights),
        &corpus.pairs,
        split.as_ref().map(|s| &s.held),
        Some(alongside),
    )?;
    Ok(Large {
        view,
        vocab: got.weights.vocab,
        what: got.what,
    })
}

/// [`analyse_holding_out`] on the corpus `whole`.
fn analyse_corpus(
    choice: Choice,
    src: &ModelSource,
    whole: Corpus,
    val_fraction: Option<f64>,
    full: bool,
    seeds: usize,
) -> Result<Analysis> {
    if whole.vocab.len() > large::DENSE_MAX {
        bail!(
            "{}: {} tokens; the whole analysis takes at most {} (zl interpret shows the large-vocabulary view)",
            whole.source,
            whole.vocab.len(),
            large::DENSE_MAX
        );
    }
    let split = val_fraction.map(|f| Split::new(&whole, f)).transpose()?;
    let corpus = split.as_ref().map_or(whole.clone(), |s| s.train.clone());
    let backend = Backend::open(choice)?;
    // The model's own run, where it is trained here, and what is trained beside it: one line.
    let own = match (&src.load, split.is_some()) {
        (None, false) => work(corpus.vocab.len(), src.d_model, src.config().epochs) as u64,
        _ => 0,
    };
    let what = match src.load {
        None => "training the model, its controls and its gap curve",
        Some(_) => "training the loaded model's controls and gap curve",
    };
    let progress = Progress::start(what, own);
    let tick = |n: u64| progress.add(n);
    let got = obtain(&backend, src, &whole, split.as_ref(), &tick, &[])?;
    if let Some(note) = &got.note {
        progress.suspend(|| eprintln!("{note}"));
    }
    let held = split
        .as_ref()
        .map(|s| heldout::held_out(s, &got.weights, got.held_curve.clone()))
        .transpose()?;
    let Obtained {
        weights,
        what,
        losses,
        training,
        seconds,
        ..
    } = got;
    // The gap curve, the refits and the wider model train more of the model's own run: where its
    // settings are known, on a backend fast enough for them.
    let plan = Plan::new(&training, &backend, full);
    progress.grow(plan.work(&corpus));
    let beside = controls::beside(
        &backend, &corpus, &weights, &training, plan, seeds, held, &tick,
    )?;
    progress.finish();
    let provenance = Provenance {
        source: what.timed(seconds),
        budget: Budget::of(&training),
        training,
        losses,
    };
    analysis::analyse(&weights, &corpus, provenance, beside)
}
