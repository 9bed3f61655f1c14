//! Every call from the Python module into zl-cli's library, each a thin function that does what
//! the matching command in `cli/src/cmd/` does, minus the printing. The rest of this crate sees
//! only the types and functions here, so that a change inside zl-cli is answered in this file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Parser;
use zl_cli::{
    analysis::{controls, heldout, sample, sweep},
    args::{Cli, Command, ModelSource, TextSource, Training},
    backend::{Backend, Choice, Job},
    cmd::source,
    data::{corpus, files},
    render,
};
use zl_core::TrainConfig;

pub use zl_cli::cmd::live::Interrupted;
pub use zl_cli::data::{corpus::Corpus, files::Weights};

/// How often a run logs its loss, as `zl train`'s default `--log-every`: its segments end
/// there, so a run here is cut as `zl train`'s is.
const LOG_EVERY: u32 = 100;

/// A run's settings, checked by `zl train`'s own flags: the backend, the width, zl-core's
/// training settings, and the held-out fraction.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub backend: Choice,
    pub d_model: usize,
    pub config: TrainConfig,
    pub val_fraction: Option<f64>,
}

impl Settings {
    fn job(&self) -> Job {
        Job {
            d_model: self.d_model,
            config: self.config,
        }
    }
}

/// Values as `zl train` takes them (`--backend`, `--d-model`, `--epochs`, `--lr`,
/// `--weight-decay`, `--seed`, `--val-fraction`), parsed and checked by its argument parser;
/// a bad one is its one-line message.
pub fn settings(flags: &[(&str, String)]) -> Result<Settings> {
    let cli = parse("train", flags)?;
    match &cli.command {
        Command::Train(a) => Ok(Settings {
            backend: cli.backend(&a.training),
            d_model: a.d_model,
            config: a.training.config(),
            val_fraction: a.val.val_fraction,
        }),
        _ => unreachable!("the argument list names `train`"),
    }
}

/// `zl sample`'s own settings.
#[derive(Clone, Debug)]
pub struct Sampling {
    pub prompt: Option<String>,
    pub chars: usize,
    pub temperature: f64,
    pub sample_seed: u64,
}

/// Values as `zl sample` takes them (`--prompt`, `--chars`, `--temperature`, `--sample-seed`),
/// checked by its argument parser.
pub fn sampling(flags: &[(&str, String)]) -> Result<Sampling> {
    match parse("sample", flags)?.command {
        Command::Sample(a) => Ok(Sampling {
            prompt: a.prompt,
            chars: a.chars as usize,
            temperature: a.temperature,
            sample_seed: a.sample_seed,
        }),
        _ => unreachable!("the argument list names `sample`"),
    }
}

/// The defaults of `zl train` (zl-core's `TrainConfig::default()` and the seed's width), of
/// `zl sweep`'s widths and of `zl sample`: what their parsers give for no flags.
pub fn defaults() -> (Settings, Vec<usize>, Sampling) {
    let sizes = match parse("sweep", &[]).map(|c| c.command) {
        Ok(Command::Sweep(a)) => a.d_model,
        _ => unreachable!("`zl sweep` parses without flags"),
    };
    let none = "flags at their defaults parse";
    (
        settings(&[]).expect(none),
        sizes,
        sampling(&[]).expect(none),
    )
}

/// `zl COMMAND --flag=value…` through the CLI's parser (`backend` goes before the command);
/// a refused value is the line `zl` reports.
fn parse(command: &str, flags: &[(&str, String)]) -> Result<Cli> {
    let mut argv = vec!["zl".to_string()];
    for (name, value) in flags.iter().filter(|(n, _)| *n == "backend") {
        argv.push(format!("--{name}={value}"));
    }
    argv.push(command.into());
    for (name, value) in flags.iter().filter(|(n, _)| *n != "backend") {
        argv.push(format!("--{}={value}", name.replace('_', "-")));
    }
    Cli::try_parse_from(argv).map_err(|e| anyhow::anyhow!("{}", zl_cli::args::usage_line(&e)))
}

/// The corpus of a text given as a string, of a `--corpus` file, of a `--counts` file, or the
/// seed text; checked as `zl train` checks them.
pub fn corpus(text: Option<&str>, path: Option<&Path>, counts: Option<&Path>) -> Result<Corpus> {
    match text {
        Some(t) => corpus::tally(t.as_bytes(), "text=")?
            .corpus(corpus::Source::File(PathBuf::from("the text given")))
            .and_then(Corpus::trainable)
            .context("text="),
        None => {
            // A missing count file keeps its io::Error (the CLI's reader words it), so that
            // Python raises FileNotFoundError for it as for a missing corpus.
            if let Some(p) = counts {
                std::fs::metadata(p)
                    .with_context(|| format!("--counts {}: cannot open it", p.display()))?;
            }
            let c = Corpus::load_either(path, counts, &corpus::Tokens::Chars)?;
            if c.vocab.tokenizer().is_some() {
                bail!("counts=: this count file holds a tokenizer's tokens; the Python package reads texts of characters (use the zl command for tokens)");
            }
            Ok(c)
        }
    }
}

/// The characters, in token-id order (every corpus the package builds is of characters).
pub fn vocab(c: &Corpus) -> Vec<char> {
    c.vocab.as_chars().unwrap_or_default()
}

/// The V×V next-token counts, row-major over [`vocab`] (V ≤ 256; one line above it).
pub fn counts(c: &Corpus) -> Result<Vec<u64>> {
    c.dense_counts()
}

/// The bigram floor: the entropy of the text's bigram table, the lowest loss a model reaches.
pub fn floor(c: &Corpus) -> f64 {
    c.bigram_entropy()
}

pub fn chars(c: &Corpus) -> u64 {
    c.chars
}

pub fn documents(c: &Corpus) -> u64 {
    c.documents
}

pub fn source_name(c: &Corpus) -> String {
    c.source.to_string()
}

/// One trained model, as `zl train` reports it.
pub struct Run {
    pub weights: Weights,
    pub losses: Vec<f32>,
    pub final_loss: f32,
    pub seconds: f64,
    /// `zl train --checksum`'s line.
    pub checksum: String,
    /// The backend that ran ("cpu-avx512", …).
    pub backend: String,
    /// `zl train --val-fraction --json`'s `held_out` object, as JSON text.
    pub held_out: Option<String>,
}

/// `zl train` on `whole`: in the segments `zl train` uses, `after(epochs done)` called after
/// each, the run stopping (with [`Interrupted`]) where it returns false.
pub fn train(whole: &Corpus, s: &Settings, after: &(dyn Fn(u32) -> bool + Sync)) -> Result<Run> {
    let backend = Backend::open(s.backend)?;
    let job = s.job();
    let epochs = job.config.epochs;
    let split = s
        .val_fraction
        .map(|f| heldout::Split::new(whole, f))
        .transpose()?;
    let (run, held) = match &split {
        Some(split) => {
            let (run, curve) = heldout::train_holding_out(&backend, split, job, LOG_EVERY, &|t| {
                flow(after(t.job.config.epochs))
            })?;
            (run, Some((split, curve)))
        }
        None => {
            let ends = controls::segment_ends(&[epochs], LOG_EVERY, whole.vocab.len(), s.d_model);
            let run = backend
                .train_segments(whole, &[job], &ends, true, &|_, t| {
                    Ok(flow(after(t.job.config.epochs)))
                })?
                .remove(0);
            (run, None)
        }
    };
    if run.job.config.epochs < epochs {
        return Err(Interrupted {
            epochs: run.job.config.epochs,
        }
        .into());
    }
    let held_out = match held {
        Some((split, curve)) => Some(
            render::json::value(render::verbs::HeldOutJson::new(&heldout::held_out(
                split,
                &run.weights,
                curve,
            )?))
            .to_string(),
        ),
        None => None,
    };
    Ok(Run {
        backend: backend.name(),
        weights: run.weights,
        losses: run.losses,
        final_loss: run.final_loss,
        seconds: run.seconds,
        checksum: run.checksum,
        held_out,
    })
}

/// Weights from arrays, checked as `--load` checks a file (shapes, sizes, finite values).
pub fn weights(vocab: Vec<char>, d_model: usize, w_e: Vec<f32>, w_u: Vec<f32>) -> Result<Weights> {
    let v = vocab.len();
    if v < 2 || d_model == 0 || w_e.len() != v * d_model || w_u.len() != v * d_model {
        bail!(
            "W_E has {} values and W_U {} for a vocabulary of {v} and d_model {d_model}; give W_E as ({v}, {d_model}) and W_U as ({d_model}, {v})",
            w_e.len(),
            w_u.len()
        );
    }
    let w = Weights {
        vocab: zl_cli::data::vocab::Vocab::chars(&vocab),
        d_model,
        w_e,
        w_u,
    };
    let bytes = files::to_safetensors(&w, &[])?;
    let loaded = files::loaded_from_safetensors(&bytes).context("the weights given")?;
    Ok(loaded.with_vocab(w.vocab))
}

/// The model's characters, in token-id order (a model of a tokenizer's tokens has none).
pub fn weights_vocab(w: &Weights) -> Vec<char> {
    w.vocab.as_chars().unwrap_or_default()
}

pub fn weights_d_model(w: &Weights) -> usize {
    w.d_model
}

pub fn w_e(w: &Weights) -> &[f32] {
    &w.w_e
}

pub fn w_u(w: &Weights) -> &[f32] {
    &w.w_u
}

/// `--save PATH`: the safetensors file `zl train --save` writes, with `meta` as its metadata
/// besides the vocabulary.
pub fn save(w: &Weights, path: &Path, meta: &[(String, String)]) -> Result<()> {
    let flag = || format!("--save {}", path.display());
    files::check_output_file(path).with_context(flag)?;
    let meta: Vec<(&str, String)> = meta.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let bytes = files::to_safetensors(w, &meta)?;
    files::write_atomic(path, &bytes).with_context(flag)
}

/// What [`load`] returns.
pub type Loaded = (Weights, Option<String>, Vec<(String, String)>);

/// `--load PATH` beside a corpus (given, or the seed text): the weights, the note on a
/// converted dtype, and the settings the file records, as metadata to write again with them (so
/// that an interpretation of the loaded model retrains its controls as `zl interpret --load` does).
pub fn load(path: &Path, corpus: &Corpus, corpus_given: bool) -> Result<Loaded> {
    let (w, _, note) = files::load_weights(path, corpus, corpus_given)?;
    let r = files::recorded(path)?;
    let meta = [
        ("seed", r.seed.map(|x| x.to_string())),
        ("epochs", r.epochs.map(|x| x.to_string())),
        ("lr", r.lr.map(|x| x.to_string())),
        ("weight_decay", r.weight_decay.map(|x| x.to_string())),
        ("corpus", r.corpus),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_string(), v?)))
    .collect();
    Ok((w, note, meta))
}

/// Where `interpret` finds its model: trained here with settings, or loaded from a file.
pub enum Model<'a> {
    Trained(&'a Settings),
    Loaded(&'a Path),
}

/// `zl interpret --json`'s object (as JSON text) and `zl report`'s page, for the model `m` on
/// the corpus file or count file given (else the seed text); `on` names the backend (and, for
/// loaded weights, the controls' settings).
pub fn interpret(
    on: &Settings,
    m: Model,
    corpus: Option<&Path>,
    counts: Option<&Path>,
) -> Result<(String, String)> {
    let (load, s) = match m {
        Model::Trained(s) => (None, s),
        Model::Loaded(p) => (Some(p.to_path_buf()), on),
    };
    let c = &s.config;
    let src = ModelSource {
        load,
        d_model: s.d_model,
        text: TextSource {
            corpus: corpus.map(Path::to_path_buf),
            counts: counts.map(Path::to_path_buf),
            ..TextSource::default()
        },
        training: Training {
            seed: c.seed,
            epochs: c.epochs,
            lr: c.adamw.lr,
            weight_decay: c.adamw.weight_decay,
            backend: Some(on.backend),
        },
    };
    let an = source::analyse_holding_out(
        on.backend,
        &src,
        s.val_fraction,
        false,
        zl_cli::args::DEFAULT_REPLICAS,
    )?;
    let out = render::json::interpret(&an).to_string();
    // The full report (zl report --full): a notebook cell scrolls, a terminal does not.
    Ok((out, render::html::page(&an, true)?))
}

/// `zl sample --json`'s object, as JSON text: `chars` characters after `prompt` (the corpus's
/// first character when `None`) from the model and from the corpus's bigram table.
pub fn sample(w: &Weights, corpus: &Corpus, what: &str, s: &Sampling) -> Result<String> {
    check_vocab(w, corpus)?;
    let prompt = sample::prompt_ids(s.prompt.as_deref(), corpus)?;
    let view = render::verbs::SampleView {
        what: &what,
        vocab: &w.vocab,
        prompt: &prompt,
        samples: &sample::sample(w, s.temperature, corpus, &prompt, s.chars, s.sample_seed),
        seed: s.sample_seed,
        temperature: s.temperature,
    };
    Ok(render::verbs::sample_json(&view).to_string())
}

fn check_vocab(w: &Weights, corpus: &Corpus) -> Result<()> {
    if w.vocab != corpus.vocab {
        bail!(
            "the model's vocabulary {:?} is not that of {} {:?}; give the text it was trained on",
            weights_vocab(w).iter().collect::<String>(),
            corpus.source,
            vocab(corpus).iter().collect::<String>()
        );
    }
    Ok(())
}

/// `zl run --text`: position by position, as the notebook's `run_with_cache` shows it.
pub struct Positions {
    pub tokens: Vec<usize>,
    /// n × d_model, row-major: rows of W_E, bit for bit.
    pub hook_embed: Vec<f32>,
    /// n × V, row-major, f32 as the model computes them.
    pub logits: Vec<f32>,
    /// n × V, row-major: ln Q(next | token), f64.
    pub log_q: Vec<f64>,
    /// The mean loss over the positions that have a next character.
    pub loss: Option<f64>,
}

pub fn run(w: &Weights, text: &str) -> Result<Positions> {
    let tokens = w.vocab.encode(text, "--text")?;
    let sample::Run {
        positions, loss, ..
    } = sample::run(w, &tokens);
    Ok(Positions {
        tokens,
        hook_embed: positions
            .iter()
            .flat_map(|p| p.hook_embed.clone())
            .collect(),
        logits: positions.iter().flat_map(|p| p.logits.clone()).collect(),
        log_q: positions.iter().flat_map(|p| p.log_q.clone()).collect(),
        loss,
    })
}

/// `zl sweep --json`'s object (a fixed epoch budget), as JSON text: one model per size in
/// `sizes` (each checked by [`settings`]), with `s`'s other settings.
pub fn sweep(corpus: &Corpus, sizes: &[usize], s: &Settings) -> Result<String> {
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.is_empty() {
        bail!("d_model: no sizes given; list them, such as d_model=[1, 2, 4, 8, 16, 32]");
    }
    let backend = Backend::open(s.backend)?;
    let config = s.config;
    let sw = sweep::Sweep::Fixed(sweep::fixed(&backend, corpus, &sizes, config)?);
    Ok(render::json::sweep(&backend.name(), corpus, &config, &sw).to_string())
}

/// The segment loop's answer for `after`'s: go on while it says true.
fn flow(go_on: bool) -> std::ops::ControlFlow<()> {
    if go_on {
        std::ops::ControlFlow::Continue(())
    } else {
        std::ops::ControlFlow::Break(())
    }
}
