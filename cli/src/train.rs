//! `zl train`: the seed notebook's training run, its losses, and the bigram comparison.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::json;
use zl_core::{AdamWConfig, Bigrams, SeedModel, Trainer, Vocab, SEED_TEXT};

use crate::{
    args::{Backend, TrainArgs},
    files, show,
};

/// A finished run.
struct Run {
    losses: Vec<f32>,
    final_loss: f32,
    model: SeedModel,
    train_seconds: f64,
}

fn diverged(epoch: u32, loss: f32, losses: &[f32], a: &TrainArgs) -> anyhow::Error {
    let last = match losses.last() {
        Some(l) => format!(
            "the last finite loss was {} at epoch {}",
            *l as f64,
            losses.len() - 1
        ),
        None => "no epoch had a finite loss".to_string(),
    };
    anyhow::anyhow!(
        "training diverged at epoch {epoch}: the loss became {loss} ({last}); nothing was saved; try a smaller --lr than {}",
        a.lr
    )
}

fn train_cpu(a: &TrainArgs, b: &Bigrams<30>) -> Result<Run> {
    let model = SeedModel::init_torch(a.seed, 30, 16)?;
    let adamw = AdamWConfig {
        lr: a.lr,
        weight_decay: a.weight_decay,
        ..AdamWConfig::default()
    };
    let mut t = Trainer::new(model, adamw);
    let mut losses = Vec::with_capacity(a.epochs as usize);
    // train_seconds: the loop alone, on a monotonic clock.
    let start = Instant::now();
    let result = crate::simd::run(&mut t, b, a.epochs, |_, l| losses.push(l));
    let train_seconds = start.elapsed().as_secs_f64();
    let final_loss = result.map_err(|(epoch, loss)| diverged(epoch, loss, &losses, a))?;
    Ok(Run {
        losses,
        final_loss,
        model: t.model,
        train_seconds,
    })
}

pub fn run(backend: Backend, a: &TrainArgs) -> Result<()> {
    let vocab = Vocab::seed();
    let b = Bigrams::from_text(&vocab, SEED_TEXT).context("counting the seed text's bigrams")?;
    let chars = vocab.chars().to_vec();
    let uniform = (chars.len() as f64).ln();

    let run = match backend {
        Backend::Cpu => train_cpu(a, &b)?,
        Backend::Cuda => {
            zl_cuda::open().context("--backend cuda")?;
            bail!("--backend cuda: no CUDA trainer is wired up in this build; use --backend cpu")
        }
    };
    let cmp = show::compare(&run.model, &b);

    if let Some(path) = &a.save {
        let w = files::Weights {
            vocab: chars.clone(),
            d_model: 16,
            w_e: run.model.w_e_row_major().collect(),
            w_u: run.model.w_u_row_major().collect(),
        };
        let meta = [
            ("seed", a.seed.to_string()),
            ("epochs", a.epochs.to_string()),
            ("lr", a.lr.to_string()),
            ("weight_decay", a.weight_decay.to_string()),
            ("final_loss", (run.final_loss as f64).to_string()),
            ("backend", backend.to_string()),
        ];
        let bytes = files::to_safetensors(&w, &meta)?;
        files::write_atomic(path, &bytes).with_context(|| format!("--save {}", path.display()))?;
    }

    let mut checksum = String::new();
    zl_core::checksum::write_line(&mut checksum, a.epochs, run.final_loss, &run.model)?;

    if a.json {
        // Logs to stderr, one JSON object to stdout.
        for (e, l) in run.losses.iter().enumerate().step_by(a.log_every as usize) {
            eprintln!("Epoch: {e}, train loss: {}", *l as f64);
        }
        let rows = |n: usize, it: &mut dyn Iterator<Item = f32>| -> Vec<Vec<f64>> {
            let flat: Vec<f64> = it.map(|x| x as f64).collect();
            flat.chunks(n).map(|c| c.to_vec()).collect()
        };
        let out = json!({
            "backend": backend.to_string(),
            "seed": a.seed,
            "epochs": a.epochs,
            "lr": a.lr,
            "weight_decay": a.weight_decay,
            "vocab": chars.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            "corpus_chars": SEED_TEXT.chars().count(),
            "uniform_loss": uniform,
            "bigram_entropy": cmp.bigram_entropy,
            "initial_loss": run.losses[0] as f64,
            "losses": run.losses.iter().map(|&l| l as f64).collect::<Vec<_>>(),
            "final_loss": run.final_loss as f64,
            "kl_weighted": cmp.kl_weighted,
            "W_E": rows(16, &mut run.model.w_e_row_major()),
            "W_U": rows(30, &mut run.model.w_u_row_major()),
            "train_seconds": run.train_seconds,
            "checksum": checksum,
        });
        println!("{out}");
        return Ok(());
    }

    println!(
        "zl train: backend {backend}, seed {}, {} epochs, AdamW lr {} weight decay {}",
        a.seed, a.epochs, a.lr, a.weight_decay
    );
    println!(
        "corpus: the seed notebook's text, {} characters, {} next-token predictions",
        SEED_TEXT.chars().count(),
        b.total
    );
    println!(
        "vocab ({} characters, the notebook's ids): {}",
        chars.len(),
        show::vocab_dict(&chars)
    );
    println!("uniform loss: ln {} = {uniform}", chars.len());
    println!();
    for (e, l) in run.losses.iter().enumerate().step_by(a.log_every as usize) {
        println!("Epoch: {e}, train loss: {}", *l as f64);
    }
    println!(
        "final loss (after epoch {}'s update): {}",
        a.epochs - 1,
        run.final_loss as f64
    );
    println!(
        "train time: {:.1} ms ({:.2} µs per epoch)",
        run.train_seconds * 1e3,
        run.train_seconds * 1e6 / a.epochs as f64
    );
    println!();
    print!("{}", show::comparison_table(&cmp, &chars, 4));
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
        println!("{checksum}");
    }
    Ok(())
}
