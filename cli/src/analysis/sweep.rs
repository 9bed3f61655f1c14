//! The sweep's verdict: where the rank limit of `W_E·W_U` (at most d_model) starts to cost loss.
//!
//! Each size's final loss is set beside the bigram entropy floor that a full-rank table reaches;
//! a size costs loss when its gap exceeds the best size's gap by more than [`COST_NATS`].

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

/// The sizes' results, smallest d_model first, and what they say.
pub struct Sweep {
    pub points: Vec<Point>,
    /// H(next|current).
    pub floor: f64,
    /// The smallest size from which every larger one is within [`COST_NATS`] of the best gap.
    pub enough: Option<usize>,
    /// The verdict in words.
    pub verdict: String,
}

impl Sweep {
    /// `points` must be sorted by d_model and not empty; `v` is the vocabulary size.
    pub fn new(points: Vec<Point>, floor: f64, v: usize) -> Sweep {
        let best = points.iter().map(|p| p.gap).fold(f64::INFINITY, f64::min);
        let enough = points
            .iter()
            .rev()
            .take_while(|p| p.gap - best <= COST_NATS)
            .last()
            .map(|p| p.d_model);
        let verdict = verdict(&points, enough, best, v);
        Sweep {
            points,
            floor,
            enough,
            verdict,
        }
    }
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
