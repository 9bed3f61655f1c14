//! The command line: flags, their defaults, and the checks that turn a bad value into one line.

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand};
use zl_core::{flags, AdamWConfig, TrainConfig};

use crate::{backend::Choice, data::corpus::Tokens};

/// Train a zero-layer transformer (logits = W_E[token]·W_U) on the seed notebook's text and
/// show that it learned the text's bigram statistics.
#[derive(Parser, Debug)]
#[command(name = "zl", version, about, long_about = None)]
pub struct Cli {
    /// Where the commands that train run (the same as their own --backend).
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub backend: Option<Choice>,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The backend a training command runs on: its own --backend, else the one given before
    /// the command (`zl --backend cuda train`), else cpu.
    pub fn backend(&self, own: &Training) -> Choice {
        own.backend.or(self.backend).unwrap_or_default()
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train the model and print the losses and the bigram comparison.
    Train(TrainArgs),
    /// Train one model per d_model and show where the rank limit starts to cost loss.
    Sweep(SweepArgs),
    /// Show that the model is a bigram table: the loss decomposition, the per-token table, the
    /// evidence beside its controls, the sanity checks, the spectra and the heatmaps.
    Interpret(InterpretArgs),
    /// Write one self-contained HTML page that tells the story with the figures and numbers.
    Report(ReportArgs),
    /// Generate text from a model (--load, or one trained now) and from the text's bigram
    /// table with the same random numbers, and say where the two first differ.
    Sample(SampleArgs),
    /// Run a model (--load, or one trained now) on a text position by position (the
    /// notebook's run_with_cache): each position's embedding, logits, top next characters,
    /// and the loss.
    Run(RunArgs),
    /// Score saved weights on a text, whose vocabulary may differ from the model's: the loss,
    /// the floor of the scored pairs, and the positions skipped. Trains nothing.
    Eval(EvalArgs),
    /// Count text files' bigrams into a count file, or merge count files, for --counts: shards
    /// of a large text can be counted anywhere, in parallel (README: "A corpus larger than one
    /// machine"). Trains nothing.
    Count(CountArgs),
}

pub use zl_core::flags::MAX_EPOCHS;

/// A training run's flags, in every command that trains; their defaults are zl-core's
/// `TrainConfig::default()`, the notebook's.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Training")]
pub struct Training {
    /// torch.manual_seed for the initial weights.
    #[arg(long, default_value_t = TrainConfig::default().seed, value_parser = parse_seed, allow_hyphen_values = true)]
    pub seed: u64,

    /// Full-batch epochs (one AdamW step each), 1 to 10,000,000.
    #[arg(long, default_value_t = TrainConfig::default().epochs, value_parser = parse_epochs, allow_hyphen_values = true)]
    pub epochs: u32,

    /// AdamW learning rate (positive, finite).
    #[arg(long, default_value_t = TrainConfig::default().adamw.lr, value_parser = parse_lr, allow_hyphen_values = true)]
    pub lr: f64,

    /// AdamW decoupled weight decay (zero or positive, finite).
    #[arg(long, default_value_t = TrainConfig::default().adamw.weight_decay, value_parser = parse_weight_decay, allow_hyphen_values = true)]
    pub weight_decay: f64,

    /// Where to train; every backend gives the same bits. cpu: the fastest instruction set
    /// this CPU has; cuda: an NVIDIA GPU; ptxsim: the GPU's kernel in an interpreter (slow).
    /// README: "Backends". [default: cpu]
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub backend: Option<Choice>,
}

impl Training {
    /// The run's settings, zl-core's one hyperparameter struct.
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            seed: self.seed,
            epochs: self.epochs,
            adamw: AdamWConfig {
                lr: self.lr,
                weight_decay: self.weight_decay,
                ..AdamWConfig::default()
            },
        }
    }
}

/// The text a command reads: the seed notebook's sentence, a UTF-8 file, or a count file.
#[derive(Args, Debug, Clone, Default)]
pub struct TextSource {
    /// The text: this UTF-8 file instead of the seed notebook's sentence (vocabulary in
    /// code-point order, as many distinct characters as it has).
    #[arg(long, value_name = "FILE")]
    pub corpus: Option<PathBuf>,

    /// Instead of --corpus: a count file from zl count, which stands for its text (and records
    /// its tokenizer).
    #[arg(long, value_name = "PATH", conflicts_with = "corpus")]
    pub counts: Option<PathBuf>,

    /// Tokens instead of characters: this Hugging Face tokenizer.json (GPT-2's, for example).
    #[arg(long, value_name = "FILE")]
    pub tokenizer: Option<PathBuf>,

    /// Tokens instead of characters: a byte-level BPE of V tokens (256 or more) trained on the
    /// text; --save writes it beside the model.
    #[arg(long, value_name = "V", value_parser = parse_bpe, conflicts_with_all = ["tokenizer", "counts"])]
    pub bpe: Option<usize>,
}

impl TextSource {
    /// How the text becomes tokens.
    pub fn tokens(&self) -> Tokens {
        tokens(self.tokenizer.as_ref(), self.bpe)
    }
}

fn tokens(tokenizer: Option<&PathBuf>, bpe: Option<usize>) -> Tokens {
    match (tokenizer, bpe) {
        (Some(p), _) => Tokens::File(p.clone()),
        (None, Some(v)) => Tokens::Bpe(v),
        (None, None) => Tokens::Chars,
    }
}

fn parse_bpe(s: &str) -> Result<usize, String> {
    use crate::data::tokenizer::{MAX_BPE, MIN_BPE};
    match s.trim().replace('_', "").parse::<usize>() {
        Ok(v) if (MIN_BPE..=MAX_BPE).contains(&v) => Ok(v),
        _ => Err(format!(
            "--bpe takes a vocabulary size from {MIN_BPE} (the bytes) to {MAX_BPE}, such as 5000 (got {s})"
        )),
    }
}

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// The weights to score (a safetensors file with W_E, W_U and a vocabulary). Positions
    /// whose current or next character is outside its vocabulary are skipped and counted.
    /// Without --corpus or --counts, the text is the corpus the file records, if it is here.
    #[arg(long, value_name = "PATH")]
    pub load: PathBuf,

    #[command(flatten)]
    pub text: TextSource,

    /// Print one JSON object on stdout instead of the text.
    #[arg(long)]
    pub json: bool,
}

/// `zl count`: the bigram count table of text files, or the merge of count files.
#[derive(Args, Debug, Clone)]
pub struct CountArgs {
    /// UTF-8 text files to count (with --merge: count files); none counts the seed notebook's
    /// text, in its own id order.
    #[arg(value_name = "FILE", required_if_eq("merge", "true"))]
    pub files: Vec<PathBuf>,

    /// Merge count files written by zl count (vocabularies unioned, ids in code-point order)
    /// instead of counting text.
    #[arg(long)]
    pub merge: bool,

    /// The files are consecutive pieces of one text, in this order: count the pair across
    /// each boundary. Without it each file is its own document and no pair spans two.
    #[arg(long)]
    pub concatenate: bool,

    /// The count file to write (safetensors: the pairs that occur as sparse rows, and the
    /// vocabulary or tokenizer).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    /// Count tokens of this Hugging Face tokenizer.json instead of characters (recorded in the
    /// count file).
    #[arg(long, value_name = "FILE", conflicts_with = "merge")]
    pub tokenizer: Option<PathBuf>,

    /// Count tokens of a byte-level BPE of V tokens trained on the files (recorded in the count
    /// file).
    #[arg(long, value_name = "V", value_parser = parse_bpe, conflicts_with_all = ["tokenizer", "merge"])]
    pub bpe: Option<usize>,
}

impl CountArgs {
    /// How the files become tokens.
    pub fn tokens(&self) -> Tokens {
        tokens(self.tokenizer.as_ref(), self.bpe)
    }
}

/// Which model a command looks at: a saved one, or one trained now.
#[derive(Args, Debug, Clone)]
pub struct ModelSource {
    /// Use these weights (a `zl train --save` safetensors file) instead of training a model;
    /// with --corpus or --counts, the model's vocabulary must be that text's.
    #[arg(long, value_name = "PATH",
          conflicts_with_all = ["seed", "epochs", "d_model", "lr", "weight_decay"])]
    pub load: Option<PathBuf>,

    /// Width of the residual stream, 1 to 64.
    #[arg(long, default_value_t = zl_core::SEED_D, value_parser = parse_d_model, allow_hyphen_values = true)]
    pub d_model: usize,

    #[command(flatten)]
    pub text: TextSource,

    /// Without --load, the model is trained now with these.
    #[command(flatten)]
    pub training: Training,
}

impl ModelSource {
    /// The training settings without --load: the flags given, the notebook's otherwise.
    pub fn config(&self) -> TrainConfig {
        self.training.config()
    }
}

#[derive(Args, Debug, Clone)]
pub struct InterpretArgs {
    /// Print one JSON object with every metric on stdout instead of the text report.
    #[arg(long)]
    pub json: bool,

    /// Also write the figures to this folder (created if missing), each as SVG and PNG.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,

    /// Print everything: after the one-screen summary, the token-by-token tables, the evidence
    /// beside its controls, the decomposition in full, the directions, the sanity checks and
    /// the rank-k truncations; and measure the gap against the epoch past the model's own
    /// epochs (to 10^5 within a work budget) and the minimum width as `zl sweep --until-gap`
    /// searches it (each width until its gap reaches the small gap, to 3·10^5 epochs within a
    /// work budget), which take longer: seconds on the seed text, a minute or more on a large
    /// vocabulary.
    #[arg(long)]
    pub full: bool,

    #[command(flatten)]
    pub val: ValFraction,
    #[command(flatten)]
    pub replication: Replication,
    #[command(flatten)]
    pub source: ModelSource,
}

/// `--seeds K` of interpret and report: how many seeds the weights are compared across.
#[derive(Args, Debug, Clone)]
pub struct Replication {
    /// Compare the model with the same run from other seeds: K models in all (its own seed and
    /// the next K−1, trained with the same settings and budget), to show what the data fixes and
    /// what is arbitrary; 0 skips it. A count, unlike zl train's --seeds.
    #[arg(long = "seeds", value_name = "K", default_value_t = DEFAULT_REPLICAS, value_parser = parse_replicas, allow_hyphen_values = true)]
    pub seeds: usize,
}

/// Seeds compared by default, and at most.
pub const DEFAULT_REPLICAS: usize = 8;
pub const MAX_REPLICAS: usize = 64;

fn parse_replicas(s: &str) -> Result<usize, String> {
    match s.trim().replace('_', "").parse::<usize>() {
        Ok(0) => Ok(0),
        Ok(k) if (2..=MAX_REPLICAS).contains(&k) => Ok(k),
        _ => Err(format!(
            "--seeds takes a count of seeds from 2 to {MAX_REPLICAS} (the model and K−1 more), or 0 to skip the comparison (got {s})"
        )),
    }
}

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// The HTML file to write (one self-contained page: figures inline, no external requests).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,

    /// Write the interactive page instead: zl-core in WebAssembly, trained in the reader's
    /// browser on the text (the seed text, or --corpus, at most 100,000 characters), with the
    /// training flags as the page's defaults.
    #[arg(long, conflicts_with_all = ["load", "counts"])]
    pub interactive: bool,

    /// Add the token-by-token tables, the evidence beside its controls, the directions and the
    /// appendices (the sanity checks, the rank-k truncations) after the summary, and measure the
    /// gap against the epoch past the model's own epochs and the minimum width, as `zl interpret
    /// --full` does, which take longer.
    #[arg(long, conflicts_with = "interactive")]
    pub full: bool,
    #[command(flatten)]
    pub replication: Replication,
    #[command(flatten)]
    pub source: ModelSource,
}

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Width of the residual stream, 1 to 64.
    #[arg(long, default_value_t = zl_core::SEED_D, value_parser = parse_d_model, allow_hyphen_values = true)]
    pub d_model: usize,

    #[command(flatten)]
    pub text: TextSource,

    /// Print the loss every N epochs, as the notebook does every 100 (N ≥ 1).
    #[arg(long, default_value_t = 100, value_parser = parse_log_every, allow_hyphen_values = true)]
    pub log_every: u32,

    /// Write the trained weights to this safetensors file (W_E, W_U as F32, vocabulary in the
    /// metadata); it loads into the notebook's model with load_state_dict.
    #[arg(long, value_name = "PATH")]
    pub save: Option<PathBuf>,

    /// Train one model per seed instead of one: a range A..B (B excluded, e.g. 0..1024) or a
    /// comma-separated list; on cuda in one launch (up to 65,536 models a launch), on cpu in
    /// parallel. Reports each model's final loss.
    #[arg(long, value_name = "SEEDS", value_parser = parse_seeds,
          conflicts_with_all = ["checksum", "save", "log_every", "val_fraction"])]
    pub seeds: Option<Seeds>,

    /// Print one JSON object on stdout (logs go to stderr).
    #[arg(long)]
    pub json: bool,

    /// Print the cross-target checksum line last:
    /// `epochs=N final_loss=0x%08x weights_fnv1a=0x%08x`.
    #[arg(long)]
    pub checksum: bool,

    #[command(flatten)]
    pub val: ValFraction,
    #[command(flatten)]
    pub training: Training,
}

#[derive(Args, Debug, Clone)]
pub struct SweepArgs {
    /// The sizes to train, comma-separated, each 1 to 64.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,32", value_parser = parse_d_model)]
    pub d_model: Vec<usize>,

    #[command(flatten)]
    pub text: TextSource,

    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,

    /// Write loss-against-d_model figures (SVG and PNG) into this folder; with --until-gap
    /// also the best gap per d_model against EPS (sweep_gap.svg, .png).
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,

    /// Instead of a fixed --epochs, train each size (and seed) until its KL gap to the bigram
    /// floor is below EPS nats (a positive number, such as 1e-4) or --max-epochs have run, and
    /// name the smallest d_model that got there.
    #[arg(long, value_name = "EPS", value_parser = parse_gap, allow_hyphen_values = true,
          requires = "max_epochs", conflicts_with = "epochs")]
    pub until_gap: Option<f64>,

    /// With --until-gap: the most epochs any run trains, 1 to 10,000,000.
    #[arg(long, value_name = "N", value_parser = parse_epochs, allow_hyphen_values = true,
          requires = "until_gap")]
    pub max_epochs: Option<u32>,

    /// With --until-gap: train every size once per seed, a range A..B (B excluded, e.g. 0..4)
    /// or a comma-separated list, and report each size's best (default: --seed alone).
    #[arg(long, value_name = "SEEDS", value_parser = parse_seeds, requires = "until_gap",
          conflicts_with = "seed")]
    pub seeds: Option<Seeds>,
    /// The same settings for every size.
    #[command(flatten)]
    pub training: Training,
}

/// `--val-fraction`: hold out the end of the text and report the loss on it.
#[derive(Args, Debug, Clone, Default)]
pub struct ValFraction {
    /// Hold out the last fraction F of the text (0 < F < 1) from training, and report the
    /// model's loss on it: the first int(n·(1−F)) characters train, as nanoGPT cuts its split
    /// (the vocabulary is still the whole text's); not with --seeds.
    #[arg(long, value_name = "F", value_parser = parse_val_fraction, allow_hyphen_values = true)]
    pub val_fraction: Option<f64>,
}

#[derive(Args, Debug, Clone)]
pub struct SampleArgs {
    /// The text to continue; a zero-layer model sees only its last character (default: the
    /// text's first character).
    #[arg(long, value_name = "TEXT", value_parser = parse_prompt, allow_hyphen_values = true)]
    pub prompt: Option<String>,

    /// How many characters to generate, 1 to 1,000,000.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = parse_chars, allow_hyphen_values = true)]
    pub chars: u32,

    /// Divide the model's logits by T before the softmax (T > 0, finite; the table's P is
    /// sampled as it is).
    #[arg(long, value_name = "T", default_value_t = 1.0, value_parser = parse_temperature, allow_hyphen_values = true)]
    pub temperature: f64,

    /// The sampler's seed (ChaCha8): the same seed gives the same texts.
    #[arg(long, value_name = "S", default_value_t = 0, value_parser = parse_seed, allow_hyphen_values = true)]
    pub sample_seed: u64,

    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// The model: --load, or trained now (--seed is the initial weights' seed; --sample-seed
    /// is the sampler's).
    #[command(flatten)]
    pub source: ModelSource,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The text to run the model on, at least 2 characters of the model's vocabulary.
    #[arg(long, value_name = "TEXT", required = true, value_parser = parse_run_text, allow_hyphen_values = true)]
    pub text: String,

    /// Print one JSON object on stdout (every position's hook_embed and logits).
    #[arg(long)]
    pub json: bool,
    /// The model: --load, or trained now.
    #[command(flatten)]
    pub source: ModelSource,
}

/// Most characters `zl sample` generates.
pub const MAX_SAMPLE_CHARS: u32 = 1_000_000;

/// A number `ok` takes, or `why` with the text as given.
fn number(s: &str, ok: fn(f64) -> bool, why: &str) -> Result<f64, String> {
    let x = parse_f64(s)?;
    ok(x).then_some(x).ok_or_else(|| format!("{why} (got {s})"))
}

fn parse_val_fraction(s: &str) -> Result<f64, String> {
    let why = "--val-fraction must be a number between 0 and 1, both excluded, such as 0.1";
    number(s, |x| x.is_finite() && x > 0.0 && x < 1.0, why)
}

fn parse_temperature(s: &str) -> Result<f64, String> {
    let why = "the temperature must be a positive finite number, such as 1 or 0.5";
    number(s, |x| x.is_finite() && x > 0.0, why)
}

fn parse_gap(s: &str) -> Result<f64, String> {
    let why = "the gap to reach must be a positive finite number of nats, such as 1e-4";
    number(s, |x| x.is_finite() && x > 0.0, why)
}

fn parse_chars(s: &str) -> Result<u32, String> {
    parse_count(s, "--chars", MAX_SAMPLE_CHARS)
}

fn parse_prompt(s: &str) -> Result<String, String> {
    if s.is_empty() {
        Err("--prompt is empty; give at least one character, or leave it out".into())
    } else {
        Ok(s.to_string())
    }
}

fn parse_run_text(s: &str) -> Result<String, String> {
    if s.chars().count() < 2 {
        Err(format!(
            "--text needs at least 2 characters, one to predict the next from (got {s:?})"
        ))
    } else {
        Ok(s.to_string())
    }
}

fn parse_f64(s: &str) -> Result<f64, String> {
    core(flags::number(s))
}

fn parse_lr(s: &str) -> Result<f64, String> {
    core(flags::lr(s))
}

fn parse_weight_decay(s: &str) -> Result<f64, String> {
    core(flags::weight_decay(s))
}

/// zl-core's check of a value (shared with the browser page), in clap's terms.
fn core<T>(r: Result<T, flags::Refused<'_>>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

fn parse_count(s: &str, what: &str, max: u32) -> Result<u32, String> {
    core(flags::count(s, what, max))
}

fn parse_seed(s: &str) -> Result<u64, String> {
    core(flags::seed(s))
}

fn parse_d_model(s: &str) -> Result<usize, String> {
    core(flags::d_model(s))
}

/// Most models in one batch.
pub const MAX_SEEDS: u64 = 1 << 20;

/// The seeds of a batch (one value on the command line, so not clap's `Vec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seeds(pub Vec<u64>);

fn parse_seeds(s: &str) -> Result<Seeds, String> {
    let bad = || {
        format!(
            "'{s}' is not a seed range A..B (B excluded, such as 0..1024) or a list such as 0,1,2"
        )
    };
    let seeds: Vec<u64> = if let Some((a, b)) = s.split_once("..") {
        let (a, b): (u64, u64) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if b <= a {
            return Err(format!(
                "the range {s} is empty; write A..B with B > A, such as 0..1024"
            ));
        }
        if b - a > MAX_SEEDS {
            return Err(format!(
                "{s} holds {} seeds, more than the {MAX_SEEDS} one batch takes",
                b - a
            ));
        }
        (a..b).collect()
    } else {
        s.split(',')
            .map(|x| x.trim().parse::<u64>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?
    };
    if seeds.is_empty() || seeds.len() as u64 > MAX_SEEDS {
        return Err(bad());
    }
    Ok(Seeds(seeds))
}

fn parse_epochs(s: &str) -> Result<u32, String> {
    core(flags::epochs(s))
}

fn parse_log_every(s: &str) -> Result<u32, String> {
    parse_count(s, "--log-every", u32::MAX)
}

/// Prints clap's error as one line, or help/version as clap would. Exit code 2 for every bad
/// command line.
pub fn report_usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            eprintln!("zl: error: {} (see zl --help)", usage_line(&e));
            ExitCode::from(2)
        }
    }
}

/// Clap's error as one line, from its kind and context: what is wrong, the flags or values at
/// fault, what clap suggests, the possible values (also beside a suggestion, which clap's own
/// rendering drops them for), and for flags that cannot go together, how to fix that.
pub fn usage_line(e: &clap::Error) -> String {
    use clap::error::{ContextKind as K, ContextValue as V, ErrorKind};
    let list = |k: K| -> Vec<String> {
        match e.get(k) {
            Some(V::String(s)) => vec![s.clone()],
            Some(V::Strings(v)) => v.clone(),
            Some(V::StyledStr(s)) => vec![s.to_string()],
            Some(V::StyledStrs(v)) => v.iter().map(|s| s.to_string()).collect(),
            _ => vec![],
        }
    };
    let quoted = |k: K| {
        list(k)
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let arg = quoted(K::InvalidArg);
    let value = list(K::InvalidValue).concat();
    let head = match e.kind() {
        ErrorKind::InvalidValue if value.is_empty() => {
            format!("a value is required for {arg} but none was supplied")
        }
        ErrorKind::InvalidValue => format!("invalid value '{value}' for {arg}"),
        ErrorKind::ValueValidation => match std::error::Error::source(e) {
            Some(why) => format!("invalid value '{value}' for {arg}: {why}"),
            None => format!("invalid value '{value}' for {arg}"),
        },
        ErrorKind::UnknownArgument => format!("unexpected argument {arg} found"),
        ErrorKind::InvalidSubcommand => {
            format!("unrecognized subcommand {}", quoted(K::InvalidSubcommand))
        }
        ErrorKind::ArgumentConflict if list(K::PriorArg) == list(K::InvalidArg) => {
            format!("the argument {arg} cannot be used multiple times")
        }
        ErrorKind::ArgumentConflict => {
            format!("{arg} cannot be used with {}", quoted(K::PriorArg))
        }
        ErrorKind::MissingRequiredArgument => {
            format!("the following required arguments were not provided: {arg}")
        }
        // The other kinds (invalid UTF-8, and those zl's flags cannot raise): clap's sentence
        // for the kind, with the argument where there is one.
        _ if arg.is_empty() => e.kind().to_string(),
        _ => format!("{}: {arg}", e.kind()),
    };
    let mut extras = vec![];
    for (k, what) in [
        (K::SuggestedArg, "argument"),
        (K::SuggestedSubcommand, "subcommand"),
        (K::SuggestedValue, "value"),
    ] {
        if !list(k).is_empty() {
            extras.push(format!("a similar {what} exists: {}", quoted(k)));
        }
    }
    extras.extend(list(K::Suggested));
    if e.kind() == ErrorKind::UnknownArgument && list(K::InvalidArg) == ["--backend"] {
        extras.push("this command trains nothing: drop --backend".into());
    }
    let valid = list(K::ValidValue);
    if !valid.is_empty() {
        extras.push(format!("possible values: {}", valid.join(", ")));
    }
    if e.kind() == ErrorKind::ArgumentConflict {
        let flag = |s: &String| s.split_whitespace().next().unwrap_or("").to_string();
        let first = list(K::InvalidArg).first().map(flag).unwrap_or_default();
        let others: Vec<String> = list(K::PriorArg).iter().map(flag).collect();
        if !others.is_empty() {
            extras.push(conflict_fix(&first, &others));
        }
    }
    std::iter::once(head)
        .chain(extras)
        .collect::<Vec<_>>()
        .join("; ")
}

/// How to fix flags given together that cannot be: what they mean, and which to drop.
fn conflict_fix(a: &str, others: &[String]) -> String {
    let b = others[0].as_str();
    let pair = |x: &str, y: &str| (a == x && b == y) || (a == y && b == x);
    let training = ["--seed", "--epochs", "--d-model", "--lr", "--weight-decay"];
    if a == "--load" || b == "--load" {
        let drop: Vec<&str> = std::iter::once(a)
            .chain(others.iter().map(String::as_str))
            .filter(|f| training.contains(f))
            .collect();
        if !drop.is_empty() {
            return format!(
                "--load reads a model that is already trained: drop {} to analyse the file, or \
                 drop --load to train one now",
                drop.join(", ")
            );
        }
    }
    if pair("--interactive", "--load") || pair("--interactive", "--counts") {
        return "the interactive page trains in the browser from a text: drop --interactive to \
                report on this model or these counts, or give the text with --corpus"
            .to_string();
    }
    if pair("--until-gap", "--epochs") {
        "--until-gap trains each size until its gap is below EPS, with --max-epochs N as the \
         budget: drop --epochs"
            .into()
    } else if pair("--seeds", "--save") {
        "--save writes one model: drop --seeds to save one (--seed S), or drop --save to train a \
         batch"
            .into()
    } else if pair("--seeds", "--checksum") {
        "--checksum prints one model's line: drop --seeds (train one with --seed S), or drop \
         --checksum"
            .into()
    } else if pair("--seeds", "--log-every") {
        "--seeds prints each model's final loss, not a log: drop --log-every, or train one \
         model with --seed S to see its losses"
            .into()
    } else if pair("--seeds", "--seed") {
        "--seeds lists every seed to train: drop --seed, or put it in --seeds".into()
    } else if a == b {
        format!("give {a} once")
    } else {
        format!("use {a} or {b}, not both")
    }
}
