//! `zl train`: a training run, its losses, and the bigram comparison.

use std::time::Instant;

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde_json::json;
use zl_core::{AdamWConfig, Bigrams, Model, TrainConfig, Trainer};

use crate::{
    args::{Backend, Hyper, TrainArgs},
    corpus::{Corpus, Source},
    files,
    shape::{on_big_stack, with_capacity},
    show,
};

/// What a run needs besides the corpus.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub seed: u64,
    pub epochs: u32,
    pub lr: f64,
    pub weight_decay: f64,
    pub d_model: usize,
}

impl Settings {
    pub fn from_args(a: &TrainArgs) -> Self {
        Settings::new(&a.hyper, a.d_model)
    }

    pub fn new(h: &Hyper, d_model: usize) -> Self {
        Settings {
            seed: h.seed,
            epochs: h.epochs,
            lr: h.lr,
            weight_decay: h.weight_decay,
            d_model,
        }
    }

    fn adamw(&self) -> AdamWConfig {
        AdamWConfig {
            lr: self.lr,
            weight_decay: self.weight_decay,
            ..AdamWConfig::default()
        }
    }
}

/// A finished run, out of the core's generic types.
pub struct Trained {
    pub losses: Vec<f32>,
    pub final_loss: f32,
    pub weights: files::Weights,
    pub train_seconds: f64,
    pub comparison: show::Comparison,
    pub checksum: String,
}

/// The error of a run whose loss (or weights) stopped being finite at `epoch`; `previous` is the
/// loss of epoch − 1, the last finite one, if there was an earlier epoch.
fn diverged(epoch: u32, loss: f32, previous: Option<f32>, lr: f64) -> anyhow::Error {
    let last = match previous {
        Some(l) => format!(
            "the last finite loss was {} at epoch {}",
            l as f64,
            epoch - 1
        ),
        None => "no epoch had a finite loss".to_string(),
    };
    anyhow::anyhow!(
        "training diverged at epoch {epoch}: the loss became {loss} ({last}); nothing was saved; try a smaller --lr than {lr:?}"
    )
}

/// The core's bigram counts for a corpus, at capacity V.
pub fn bigrams<const V: usize>(c: &Corpus) -> Result<Bigrams<V>> {
    Bigrams::<V>::from_count_table(c.vocab.len(), &c.counts).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Row-major weights of a model, with its vocabulary.
pub fn weights_of<const V: usize, const D: usize>(
    m: &Model<V, D>,
    vocab: &[char],
) -> files::Weights {
    files::Weights {
        vocab: vocab.to_vec(),
        d_model: m.d_model(),
        w_e: m.w_e_row_major().collect(),
        w_u: m.w_u_row_major().collect(),
    }
}

/// The rest of a run, on either backend: the comparison, the weights and the checksum.
fn finish<const V: usize, const D: usize>(
    model: &Model<V, D>,
    b: &Bigrams<V>,
    c: &Corpus,
    s: &Settings,
    losses: Vec<f32>,
    final_loss: f32,
    train_seconds: f64,
) -> Result<Trained> {
    let mut checksum = String::new();
    zl_core::checksum::write_line(&mut checksum, s.epochs, final_loss, model)?;
    Ok(Trained {
        comparison: show::compare(model, b),
        weights: weights_of(model, &c.vocab),
        losses,
        final_loss,
        train_seconds,
        checksum,
    })
}

fn train_at<const V: usize, const D: usize>(c: &Corpus, s: &Settings) -> Result<Trained> {
    let b = bigrams::<V>(c)?;
    let model = Model::<V, D>::init_torch(s.seed, c.vocab.len(), s.d_model)?;
    let mut t = Box::new(Trainer::new(model, s.adamw()));
    let mut losses = Vec::with_capacity(s.epochs as usize);
    // train_seconds: the loop alone, on a monotonic clock.
    let start = Instant::now();
    // The AVX-512 loop where the CPU has it (the same bits as the core's), else the core's.
    let result = crate::simd::run(&mut t, &b, s.epochs, |_, l| losses.push(l));
    let train_seconds = start.elapsed().as_secs_f64();
    let final_loss =
        result.map_err(|(epoch, loss)| diverged(epoch, loss, losses.last().copied(), s.lr))?;
    finish(&t.model, &b, c, s, losses, final_loss, train_seconds)
}

/// Trains on the CPU at the smallest capacity that fits the corpus and d_model.
pub fn train_cpu(c: &Corpus, s: &Settings) -> Result<Trained> {
    on_big_stack(|| with_capacity!(c.vocab.len(), s.d_model, train_at(c, s)))
}

fn config(s: &Settings, seed: u64) -> TrainConfig {
    TrainConfig {
        seed,
        epochs: s.epochs,
        adamw: s.adamw(),
    }
}

fn train_cuda_at<const V: usize, const D: usize>(
    dev: &zl_cuda::Device,
    c: &Corpus,
    s: &Settings,
) -> Result<Trained> {
    let b = bigrams::<V>(c)?;
    let mut batch = dev.train_batch::<V, D>(&b, &[config(s, s.seed)], s.d_model, true)?;
    let run = batch.runs.remove(0);
    check_finite(&run, s)?;
    // train_seconds: the kernel alone (one launch for the whole run).
    finish(
        &run.trainer.model,
        &b,
        c,
        s,
        run.losses,
        run.final_loss,
        batch.kernel_time.as_secs_f64(),
    )
}

/// The CPU's divergence check for a GPU run, which runs every epoch regardless: the first
/// epoch whose loss is not finite, else a final loss or weight that is not finite.
fn check_finite<const V: usize, const D: usize>(
    run: &zl_cuda::Run<V, D>,
    s: &Settings,
) -> Result<()> {
    if let Some((epoch, loss)) = run.first_non_finite() {
        let previous = epoch.checked_sub(1).map(|e| run.losses[e as usize]);
        return Err(diverged(epoch, loss, previous, s.lr));
    }
    if !run.final_loss.is_finite() || !run.trainer.model.is_finite() {
        return Err(diverged(
            s.epochs,
            run.final_loss,
            run.losses.last().copied(),
            s.lr,
        ));
    }
    Ok(())
}

/// Set to 1, `--backend cuda` runs the kernel in the PTX interpreter (kernels/sim/ptxsim.py,
/// carried in the binary; needs python3) instead of on a GPU: the same kernel text and host code,
/// about 10^5 times slower, for checking the cuda path end to end on a machine without a GPU.
pub const SIMULATOR_ENV: &str = "ZL_CUDA_SIMULATOR";

/// Opens the GPU (or, with `ZL_CUDA_SIMULATOR=1`, the PTX interpreter), loading the kernel
/// once, or says in one line what is missing.
pub fn open_cuda() -> Result<zl_cuda::Device> {
    match std::env::var(SIMULATOR_ENV).as_deref() {
        Ok("1") => zl_cuda::Device::simulated(),
        Ok("0") | Err(std::env::VarError::NotPresent) => zl_cuda::Device::open(),
        Ok(other) => {
            anyhow::bail!("{SIMULATOR_ENV}={other}: set it to 1 (the PTX interpreter) or 0")
        }
        Err(e) => anyhow::bail!("{SIMULATOR_ENV}: {e}; set it to 1 or 0"),
    }
    .map_err(|e| anyhow::anyhow!("--backend cuda: {e}"))
}

/// Checks that a model of the corpus's vocabulary and `s.d_model` fits one block of `dev`.
fn check_fits(dev: &zl_cuda::Device, c: &Corpus, s: &Settings) -> Result<()> {
    dev.check_size(c.vocab.len(), s.d_model)
        .map_err(|e| anyhow::anyhow!("--backend cuda: {e}"))
}

/// Trains on an opened GPU, one launch for the whole run.
pub fn train_cuda_on(dev: &zl_cuda::Device, c: &Corpus, s: &Settings) -> Result<Trained> {
    check_fits(dev, c, s)?;
    on_big_stack(|| with_capacity!(c.vocab.len(), s.d_model, train_cuda_at(dev, c, s)))
}

/// Opens the GPU and trains on it, one launch for the whole run.
pub fn train_cuda(c: &Corpus, s: &Settings) -> Result<Trained> {
    train_cuda_on(&open_cuda()?, c, s)
}

/// One model of a batch.
pub struct BatchRun {
    pub seed: u64,
    pub final_loss: f32,
}

fn batch_cpu_at<const V: usize, const D: usize>(
    c: &Corpus,
    s: &Settings,
    seeds: &[u64],
) -> Result<Vec<BatchRun>> {
    let b = bigrams::<V>(c)?;
    let train_one = |seed: u64| -> Result<f32> {
        let m = Model::<V, D>::init_torch(seed, c.vocab.len(), s.d_model)?;
        let mut t = Box::new(Trainer::new(m, s.adamw()));
        let mut previous = None;
        crate::simd::run(&mut t, &b, s.epochs, |_, l| previous = Some(l)).map_err(
            |(epoch, loss)| {
                anyhow::anyhow!("seed {seed}: {}", diverged(epoch, loss, previous, s.lr))
            },
        )
    };
    // One model per task across every core; the first error in the seeds' order wins, as on
    // the cuda backend.
    let runs: Vec<Result<BatchRun>> = seeds
        .par_iter()
        .map(|&seed| train_one(seed).map(|final_loss| BatchRun { seed, final_loss }))
        .collect();
    runs.into_iter().collect()
}

/// Models per launch on the GPU. By arithmetic (not measured), 65,536 seed models hold about
/// 3 GB of state on the host and under 1 GB on the GPU, so that `--seeds 0..1048576` runs in 16
/// launches instead of needing about 50 GB at once.
const MODELS_PER_LAUNCH: usize = 1 << 16;

fn batch_cuda_at<const V: usize, const D: usize>(
    dev: &zl_cuda::Device,
    c: &Corpus,
    s: &Settings,
    seeds: &[u64],
) -> Result<Vec<BatchRun>> {
    let b = bigrams::<V>(c)?;
    let mut out = Vec::with_capacity(seeds.len());
    for seeds in seeds.chunks(MODELS_PER_LAUNCH) {
        let configs: Vec<TrainConfig> = seeds.iter().map(|&seed| config(s, seed)).collect();
        let batch = dev.train_batch::<V, D>(&b, &configs, s.d_model, false)?;
        // The batch records no per-epoch losses; a model that diverged is trained again alone,
        // with them, so that the error names its epoch as the CPU backend's does.
        if let Some(k) = batch.runs.iter().position(|r| check_finite(r, s).is_err()) {
            let mut again = dev.train_batch::<V, D>(&b, &configs[k..=k], s.d_model, true)?;
            check_finite(&again.runs.remove(0), s)
                .map_err(|e| anyhow::anyhow!("seed {}: {e}", seeds[k]))?;
            anyhow::bail!(
                "seed {}: the batch's final loss was {} but a run of that seed alone stayed finite",
                seeds[k],
                batch.runs[k].final_loss
            );
        }
        out.extend(seeds.iter().zip(batch.runs).map(|(&seed, r)| BatchRun {
            seed,
            final_loss: r.final_loss,
        }));
    }
    Ok(out)
}

/// Trains one model per seed: on the GPU in one launch (per 65,536 models), on the CPU in
/// parallel across cores.
/// Returns the runs and the wall time of the whole batch.
pub fn train_batch(
    backend: Backend,
    c: &Corpus,
    s: &Settings,
    seeds: &[u64],
) -> Result<(Vec<BatchRun>, f64)> {
    let start = Instant::now();
    let runs = match backend {
        Backend::Cpu => {
            on_big_stack(|| with_capacity!(c.vocab.len(), s.d_model, batch_cpu_at(c, s, seeds)))?
        }
        Backend::Cuda => {
            let dev = open_cuda()?;
            check_fits(&dev, c, s)?;
            on_big_stack(|| {
                with_capacity!(c.vocab.len(), s.d_model, batch_cuda_at(&dev, c, s, seeds))
            })?
        }
    };
    Ok((runs, start.elapsed().as_secs_f64()))
}

/// The corpus named by --corpus, or the seed text.
pub fn load_corpus(path: Option<&std::path::Path>) -> Result<Corpus> {
    match path {
        Some(p) => Corpus::from_file(p),
        None => Ok(Corpus::seed()),
    }
}

pub fn run(backend: Backend, a: &TrainArgs) -> Result<()> {
    let corpus = load_corpus(a.corpus.as_deref())?;
    let s = Settings::from_args(a);
    if let Some(seeds) = &a.seeds {
        return run_batch(backend, a, &corpus, &s, &seeds.0);
    }
    let run = match backend {
        Backend::Cpu => train_cpu(&corpus, &s)?,
        Backend::Cuda => train_cuda(&corpus, &s)?,
    };
    if let Some(path) = &a.save {
        let meta = [
            ("seed", a.hyper.seed.to_string()),
            ("epochs", a.hyper.epochs.to_string()),
            ("lr", a.hyper.lr.to_string()),
            ("weight_decay", a.hyper.weight_decay.to_string()),
            ("final_loss", (run.final_loss as f64).to_string()),
            ("backend", backend.to_string()),
            ("corpus", corpus.source.to_string()),
        ];
        let bytes = files::to_safetensors(&run.weights, &meta)?;
        files::write_atomic(path, &bytes).with_context(|| format!("--save {}", path.display()))?;
    }
    if a.json {
        print_json(backend, a, &corpus, &run);
    } else {
        print_report(backend, a, &corpus, &run);
    }
    Ok(())
}

fn print_json(backend: Backend, a: &TrainArgs, corpus: &Corpus, run: &Trained) {
    // Logs to stderr, one JSON object to stdout.
    for (e, l) in run.losses.iter().enumerate().step_by(a.log_every as usize) {
        eprintln!("Epoch: {e}, train loss: {}", *l as f64);
    }
    let w = &run.weights;
    let rows = |flat: &[f32], n: usize| -> Vec<Vec<f64>> {
        flat.chunks(n)
            .map(|c| c.iter().map(|&x| x as f64).collect())
            .collect()
    };
    let out = json!({
        "backend": backend.to_string(),
        "corpus": corpus.source.to_string(),
        "corpus_chars": corpus.chars,
        "count_seconds": corpus.count_seconds,
        "seed": a.hyper.seed,
        "epochs": a.hyper.epochs,
        "lr": a.hyper.lr,
        "weight_decay": a.hyper.weight_decay,
        "d_model": w.d_model,
        "vocab": w.vocab.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        "uniform_loss": (w.vocab.len() as f64).ln(),
        "bigram_entropy": run.comparison.bigram_entropy,
        "initial_loss": run.losses[0] as f64,
        "losses": run.losses.iter().map(|&l| l as f64).collect::<Vec<_>>(),
        "final_loss": run.final_loss as f64,
        "kl_weighted": run.comparison.kl_weighted,
        "W_E": rows(&w.w_e, w.d_model),
        "W_U": rows(&w.w_u, w.vocab.len()),
        "train_seconds": run.train_seconds,
        "checksum": run.checksum,
    });
    println!("{out}");
}

fn print_report(backend: Backend, a: &TrainArgs, corpus: &Corpus, run: &Trained) {
    let vocab = &run.weights.vocab;
    let v = vocab.len();
    let uniform = (v as f64).ln();
    println!(
        "zl train: backend {backend}, seed {}, {} epochs, AdamW lr {} weight decay {}, d_model {}",
        a.hyper.seed, a.hyper.epochs, a.hyper.lr, a.hyper.weight_decay, run.weights.d_model
    );
    print!(
        "corpus: {}, {} characters, {} next-token predictions",
        corpus.source,
        corpus.chars,
        corpus.predictions()
    );
    match corpus.count_seconds {
        Some(t) => println!(" (read and counted in {:.3} s)", t),
        None => println!(),
    }
    let ids = match corpus.source {
        Source::Seed => "the notebook's ids",
        Source::File(_) => "ids in code-point order, as sorted(set(text))",
    };
    println!("vocab ({v} characters, {ids}): {}", show::vocab_dict(vocab));
    println!("uniform loss: ln {v} = {uniform}");
    println!();
    for (e, l) in run.losses.iter().enumerate().step_by(a.log_every as usize) {
        println!("Epoch: {e}, train loss: {}", *l as f64);
    }
    println!(
        "final loss (after epoch {}'s update): {}",
        a.hyper.epochs - 1,
        run.final_loss as f64
    );
    println!(
        "train time: {:.1} ms ({:.2} µs per epoch)",
        run.train_seconds * 1e3,
        run.train_seconds * 1e6 / a.hyper.epochs as f64
    );
    println!();
    let cmp = &run.comparison;
    print!("{}", show::comparison_table(cmp, vocab, 4));
    let agree = cmp
        .rows
        .iter()
        .filter(|r| r.count > 0.0 && r.argmax_agrees)
        .count();
    let followed = cmp.rows.iter().filter(|r| r.count > 0.0).count();
    println!();
    println!("model's top-1 next character is a most frequent one in the data for {agree} of {followed} characters");
    println!(
        "mean cross-entropy (model):            {:.6} nats",
        run.final_loss
    );
    println!(
        "bigram entropy floor H(next|current):  {:.6} nats",
        cmp.bigram_entropy
    );
    println!(
        "gap = Σ_i (n_i/N)·KL(P_i‖Q_i):         {:.6} nats",
        cmp.kl_weighted
    );
    println!("uniform (ln V):                        {uniform:.6} nats");
    if a.checksum {
        println!("{}", run.checksum);
    }
}

fn run_batch(
    backend: Backend,
    a: &TrainArgs,
    corpus: &Corpus,
    s: &Settings,
    seeds: &[u64],
) -> Result<()> {
    if a.save.is_some() {
        anyhow::bail!(
            "--save writes one model; drop --seeds to save one, or --save to train a batch"
        );
    }
    let (runs, seconds) = train_batch(backend, corpus, s, seeds)?;
    if a.json {
        let out = json!({
            "backend": backend.to_string(),
            "corpus": corpus.source.to_string(),
            "epochs": a.hyper.epochs,
            "lr": a.hyper.lr,
            "weight_decay": a.hyper.weight_decay,
            "d_model": a.d_model,
            "train_seconds": seconds,
            "models": runs.iter().map(|r| json!({"seed": r.seed, "final_loss": r.final_loss as f64})).collect::<Vec<_>>(),
        });
        println!("{out}");
    } else {
        println!(
            "zl train: backend {backend}, {} models, {} epochs each, AdamW lr {} weight decay {}, d_model {}",
            runs.len(),
            a.hyper.epochs,
            a.hyper.lr,
            a.hyper.weight_decay,
            a.d_model
        );
        println!("{:>8}  {:>20}", "seed", "final loss");
        for r in &runs {
            println!("{:>8}  {:>20}", r.seed, r.final_loss as f64);
        }
        println!(
            "trained in {:.1} ms in all (wall clock, every model)",
            seconds * 1e3
        );
    }
    Ok(())
}
