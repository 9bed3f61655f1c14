//! `zl sweep`: train one model per d_model and show where the rank limit starts to cost loss.
//!
//! `W_E·W_U` has rank at most d_model, so a small d_model cannot hold an arbitrary V×V table of
//! bigram logits. The sweep trains each size on the same counts, in parallel across cores (on
//! cuda, one launch per size), and sets each final loss beside the bigram entropy floor that a
//! full-rank table reaches.

use anyhow::{bail, Result};
use rayon::prelude::*;
use serde_json::json;

use crate::{
    args::{Backend, SweepArgs},
    train::{load_corpus, open_cuda, train_cpu, train_cuda_on, Settings},
};

/// A size costs loss when its gap to the floor exceeds the best size's gap by this much (nats).
/// 0.01 nats is about 1% of a typical bigram entropy and far above the gap that 10,000 epochs of
/// AdamW leave at full rank (3e-5 nats on the seed text).
pub const COST_NATS: f64 = 0.01;

/// One trained size.
pub struct Point {
    pub d_model: usize,
    pub final_loss: f64,
    pub gap: f64,
    pub train_seconds: f64,
}

pub fn run(backend: Backend, a: &SweepArgs) -> Result<()> {
    let corpus = load_corpus(a.corpus.as_deref())?;
    let mut sizes = a.d_model.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let floor = corpus_floor(&corpus);
    // The GPU is opened, and its kernel loaded, once for all sizes.
    let gpu = match backend {
        Backend::Cpu => None,
        Backend::Cuda => Some(open_cuda()?),
    };
    let train_one = |&d: &usize| -> Result<Point> {
        let settings = Settings::new(&a.hyper, d);
        let t = match &gpu {
            None => train_cpu(&corpus, &settings),
            Some(dev) => train_cuda_on(dev, &corpus, &settings),
        }
        .map_err(|e| e.context(format!("d_model {d}")))?;
        Ok(Point {
            d_model: d,
            final_loss: t.final_loss as f64,
            gap: t.final_loss as f64 - floor,
            train_seconds: t.train_seconds,
        })
    };
    // On the CPU one size per core; on the GPU one launch per size (each d_model is its own
    // kernel shape), one after another. Either way in the sizes' order, so that the first
    // failing size is the one reported.
    let results: Vec<Result<Point>> = match gpu {
        None => sizes.par_iter().map(train_one).collect(),
        Some(_) => sizes.iter().map(train_one).collect(),
    };
    let points = results.into_iter().collect::<Result<Vec<Point>>>()?;
    if points.is_empty() {
        bail!("--d-model: no sizes given; list them, such as --d-model 1,2,4,8,16,32");
    }
    let v = corpus.vocab.len();
    let uniform = (v as f64).ln();
    let best = points.iter().map(|p| p.gap).fold(f64::INFINITY, f64::min);
    // The smallest size from which every larger one is within COST_NATS of the best.
    let enough = points
        .iter()
        .rev()
        .take_while(|p| p.gap - best <= COST_NATS)
        .last()
        .map(|p| p.d_model);
    let verdict = verdict(&points, enough, best, v);

    if a.json {
        let out = json!({
            "backend": backend.to_string(),
            "corpus": corpus.source.to_string(),
            "vocab_size": v,
            "seed": a.hyper.seed,
            "epochs": a.hyper.epochs,
            "lr": a.hyper.lr,
            "weight_decay": a.hyper.weight_decay,
            "bigram_entropy": floor,
            "uniform_loss": uniform,
            "cost_threshold_nats": COST_NATS,
            "rank_limit_costs_below": enough,
            "summary": verdict,
            "runs": points.iter().map(|p| json!({
                "d_model": p.d_model, "final_loss": p.final_loss, "gap": p.gap, "train_seconds": p.train_seconds,
            })).collect::<Vec<_>>(),
        });
        println!("{out}");
    } else {
        println!(
            "zl sweep: backend {backend}, {}, {v} characters in the vocabulary; seed {}, {} epochs, AdamW lr {} weight decay {}",
            corpus.source, a.hyper.seed, a.hyper.epochs, a.hyper.lr, a.hyper.weight_decay
        );
        println!("bigram entropy floor H(next|current) = {floor:.6} nats; uniform ln {v} = {uniform:.6} nats");
        println!();
        println!(
            "{:>8}  {:>11}  {:>13}  {:>9}",
            "d_model", "final loss", "gap to floor", "train ms"
        );
        for p in &points {
            println!(
                "{:>8}  {:>11.6}  {:>13.6}  {:>9.1}",
                p.d_model,
                p.final_loss,
                p.gap,
                p.train_seconds * 1e3
            );
        }
        println!();
        println!("{verdict}");
    }
    if let Some(dir) = &a.plot {
        crate::sweep_plot::write(dir, &points, floor, &corpus.source.to_string())?;
    }
    Ok(())
}

fn corpus_floor(c: &crate::corpus::Corpus) -> f64 {
    let v = c.vocab.len();
    let n: f64 = c.counts.iter().sum::<u64>() as f64;
    let mut h = 0.0;
    for i in 0..v {
        let row = &c.counts[i * v..(i + 1) * v];
        let ni: f64 = row.iter().sum::<u64>() as f64;
        for &cij in row {
            if cij > 0 {
                h -= cij as f64 * (cij as f64 / ni).ln();
            }
        }
    }
    h / n
}

fn verdict(points: &[Point], enough: Option<usize>, best: f64, v: usize) -> String {
    let smallest = points[0].d_model;
    match enough {
        Some(d) if d == smallest => format!(
            "Every size reaches within {COST_NATS} nats of the best run's gap ({best:.6} nats), down to d_model {d}: \
             the rank limit costs no measurable loss at these sizes (W_E·W_U has rank ≤ d_model, and this text's \
             bigram table needs no more)."
        ),
        Some(d) => {
            let below = points.iter().rfind(|p| p.d_model < d).expect("a smaller size exists");
            let (k, gap, extra) = (below.d_model, below.gap, below.gap - best);
            format!(
                "The rank limit costs loss below d_model {d}: at d_model {k} the gap is {gap:.6} nats, {extra:.6} more \
                 than the best run; from d_model {d} on, every size is within {COST_NATS} nats of it. W_E·W_U has \
                 rank ≤ d_model, and of the sizes tried, this {v}×{v} bigram logit table needs a rank above {k} and \
                 at most {d} to be learned this closely."
            )
        }
        None => format!("No size comes within {COST_NATS} nats of the best run; train longer (--epochs)."),
    }
}
