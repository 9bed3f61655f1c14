//! The weights themselves, interpreted without choosing a basis.
//!
//! `W_E` and `W_U` are defined only up to an invertible change of basis of the d_model space,
//! so no single coordinate means anything. Three things survive every change of basis, and each
//! is a test the bigram interpretation could fail:
//!
//! - **Successor classes.** Characters whose next-character distributions are identical
//!   ([`successor_classes`]) need the same logit row, so the interpretation says their `W_E`
//!   rows should end up (nearly) equal even from independent random starts; equal rows stay
//!   equal under any change of basis. [`class_cosines`] sets their cosines beside those of the
//!   other pairs, and [`nearest_pairs`] lists the closest distributions that are not identical.
//! - **Embedding patching.** Writing `W_E[b]` into `W_E[a]` (TransformerLens' `hook_embed`
//!   patched at every position of `a`) changes the loss by a measured amount; the
//!   interpretation (each row of `softmax(W_E·W_U)` is the data's `P`) predicts
//!   `(n_a/N)·(H(P_a, P_b) − H(P_a))`, the cross-entropy of `a`'s successors under `b`'s
//!   distribution less their entropy ([`patch`]). The patched model's logits at `a` are row
//!   `b`'s, so the measured change is `(n_a/N)·(H(P_a, Q_b) − H(P_a, Q_a))`: predicting with the
//!   model's own `Q` would be that identity, true of any weights; predicting with `P` holds only
//!   if the model learned `P`.
//! - **Seed replication.** Models trained from different seeds should agree on what the data
//!   fixes (the row-centred logits of the pairs that occur) and may disagree on what it does
//!   not (how far below the unseen pairs sit, and `W_E` itself) ([`replicate`]). The row-centred
//!   table's singular directions are stable ([`matched`]) only where the data fixes them.
//!
//! Everything is f64 on the f32 weights, row-major: `w_e` is V×D, `w_u` is D×V, `counts` is V
//! rows of V.

use rand::{rngs::ChaCha8Rng, seq::SliceRandom, SeedableRng};
use serde::Serialize;
use zl_core::interpret::Spectrum;

/// A patch agrees with its prediction when they differ by at most this many nats per prediction
/// of the patched character (the loss moves only at its `n_a` of the `N` predictions)…
pub const PATCH_ATOL: f64 = 0.01;
/// …plus this fraction of the prediction: a trained model's rows are its data's only up to its
/// gap, so agreement is to a tenth, not to rounding.
pub const PATCH_RTOL: f64 = 0.1;
/// Where the prediction is infinite (b never precedes some successor of a), the interpretation
/// says `b`'s row gives that successor almost no probability: below `e^-5` (0.7%). The patch
/// agrees when it costs at least this many nats per such prediction.
pub const UNSEEN_NATS: f64 = 5.0;
/// Beside the pairs within classes, the patches sample this many ordered pairs of characters in
/// different classes whose prediction is finite, and as many whose prediction is infinite…
pub const PATCH_SAMPLE: usize = 12;
/// …with ChaCha8 from this seed: the same pairs on every run. Pairs within classes are all
/// patched up to this many, else sampled likewise (a text of many rare characters can put dozens
/// in one class).
pub const PATCH_SEED: u64 = 0;
pub const PATCH_CLASS_PAIRS: usize = 2 * PATCH_SAMPLE;
/// How many of the nearest non-identical successor distributions are listed.
pub const NEAREST_PAIRS: usize = 5;
/// Two singular directions match when the cosine of their rank-one matrices `u vᵀ` and `u' v'ᵀ`
/// (`|u·u'|·|v·v'|`, sign-free) is at least this: each vector then agrees to about 0.84. A
/// direction is stable when it matches one of every seed replica's directions, and is "which
/// pairs occur" when it matches a direction of the row-centred 0/1 seen matrix.
pub const MATCH_COSINE: f64 = 0.7;
/// A class's rows are aligned when every cosine within it is at least this.
pub const CLASS_COSINE: f64 = 0.9;
/// The untrained control fails the patching prediction when at most this share of its patches
/// agree.
pub const CONTROL_AGREE_SHARE: f64 = 0.5;
/// Seeds agree on what the data fixes and not on the rest when the unseen logits' spread is at
/// least this many times the seen logits'.
pub const SPREAD_FACTOR: f64 = 10.0;
/// …and the data fixes the seen logits only where the seeds also agree on them to at most this
/// many nats (RMS): a logit that moves by s moves its probability by a factor up to e^s and the
/// loss by about s²/2 nats a prediction, so at 0.1 the seeds' tables give the same next-character
/// probabilities within 11% and cost within 0.005 nats of each other. A ratio alone would call
/// seeds that disagree by half a nat on every seen pair "fixed" whenever they disagree more on
/// the unseen ones.
pub const SEEN_SPREAD_NATS: f64 = 0.1;
/// `W_E` is as unrelated across seeds as random directions when its rows' mean |cosine| across
/// seeds is at most this many times that of random directions.
pub const BASIS_FACTOR: f64 = 1.5;

/// One model's logit row `i`: `Σ_k W_E[i,k]·W_U[k,j]` in f64, k ascending (exact products).
fn logit_row(e_row: &[f32], w_u: &[f32], v: usize) -> Vec<f64> {
    (0..v)
        .map(|j| {
            e_row
                .iter()
                .enumerate()
                .map(|(k, &e)| e as f64 * w_u[k * v + j] as f64)
                .sum()
        })
        .collect()
}

/// `ln softmax` of a row, shifted by its maximum.
fn log_softmax(l: &[f64]) -> Vec<f64> {
    let lse = zl_core::interpret::log_sum_exp(l.iter().copied());
    l.iter().map(|x| x - lse).collect()
}

/// `ln Q`, row by row, of the model `(w_e, w_u)` of d_model `d`.
pub fn log_q(w_e: &[f32], w_u: &[f32], d: usize) -> Vec<Vec<f64>> {
    let v = w_u.len() / d.max(1);
    (0..v)
        .map(|i| log_softmax(&logit_row(&w_e[i * d..(i + 1) * d], w_u, v)))
        .collect()
}

/// The characters followed by something, in token-id order.
fn followed(counts: &[Vec<f64>]) -> Vec<usize> {
    (0..counts.len())
        .filter(|&i| counts[i].iter().any(|&c| c > 0.0))
        .collect()
}

/// Whether rows `a` and `b` are the same distribution: `C_a·n_b = C_b·n_a` entry by entry, in
/// integers (`n` the row totals).
fn same_successors(counts: &[Vec<f64>], n: &[u128], a: usize, b: usize) -> bool {
    (0..counts.len()).all(|j| counts[a][j] as u128 * n[b] == counts[b][j] as u128 * n[a])
}

fn row_totals(counts: &[Vec<f64>]) -> Vec<u128> {
    counts
        .iter()
        .map(|r| r.iter().map(|&c| c as u128).sum())
        .collect()
}

/// The groups of at least two characters, each followed by something, whose next-character
/// distributions are identical (exactly, in integers), in token-id order.
pub fn successor_classes(counts: &[Vec<f64>]) -> Vec<Vec<usize>> {
    let n = row_totals(counts);
    let mut class_of: Vec<Option<usize>> = vec![None; counts.len()];
    let mut classes: Vec<Vec<usize>> = Vec::new();
    for a in (0..counts.len()).filter(|&a| n[a] > 0) {
        if class_of[a].is_some() {
            continue;
        }
        let members: Vec<usize> = (a..counts.len())
            .filter(|&b| n[b] > 0 && class_of[b].is_none() && same_successors(counts, &n, a, b))
            .collect();
        for &b in &members {
            class_of[b] = Some(classes.len());
        }
        classes.push(members);
    }
    classes.retain(|c| c.len() >= 2);
    classes
}

/// The Jensen–Shannon divergence of two rows of counts as distributions, in nats (0 to ln 2):
/// the mean KL of each to their average.
pub fn js_divergence(a: &[f64], b: &[f64]) -> f64 {
    let (na, nb): (f64, f64) = (a.iter().sum(), b.iter().sum());
    let mut js = 0.0;
    for (&ca, &cb) in a.iter().zip(b) {
        let (p, q) = (ca / na, cb / nb);
        let m = (p + q) / 2.0;
        if p > 0.0 {
            js += 0.5 * p * (p / m).ln();
        }
        if q > 0.0 {
            js += 0.5 * q * (q / m).ln();
        }
    }
    js
}

/// Two characters whose successor distributions are close but not identical.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct NearPair {
    #[serde(skip)]
    pub a: usize,
    #[serde(skip)]
    pub b: usize,
    /// The Jensen–Shannon divergence of their successor distributions (nats).
    #[serde(rename = "js_divergence")]
    pub js: f64,
    /// The cosine of their `W_E` rows.
    pub cosine: f64,
}

/// The [`NEAREST_PAIRS`] pairs a < b of followed characters with different successor
/// distributions and the smallest Jensen–Shannon divergence (ties by id).
pub fn nearest_pairs(w_e: &[f32], d: usize, counts: &[Vec<f64>]) -> Vec<NearPair> {
    let n = row_totals(counts);
    let f = followed(counts);
    let mut pairs: Vec<NearPair> = Vec::new();
    for (k, &a) in f.iter().enumerate() {
        for &b in &f[k + 1..] {
            if !same_successors(counts, &n, a, b) {
                pairs.push(NearPair {
                    a,
                    b,
                    js: js_divergence(&counts[a], &counts[b]),
                    cosine: cosine(w_e, d, a, b),
                });
            }
        }
    }
    pairs.sort_by(|x, y| x.js.total_cmp(&y.js).then((x.a, x.b).cmp(&(y.a, y.b))));
    pairs.truncate(NEAREST_PAIRS);
    pairs
}

/// The cosine of two rows of `W_E`.
pub fn cosine(w_e: &[f32], d: usize, a: usize, b: usize) -> f64 {
    let (x, y) = (&w_e[a * d..(a + 1) * d], &w_e[b * d..(b + 1) * d]);
    cosine_of(x, y)
}

fn cosine_of(x: &[f32], y: &[f32]) -> f64 {
    let dot: f64 = x.iter().zip(y).map(|(&p, &q)| p as f64 * q as f64).sum();
    let nx: f64 = x.iter().map(|&p| p as f64 * p as f64).sum::<f64>().sqrt();
    let ny: f64 = y.iter().map(|&q| q as f64 * q as f64).sum::<f64>().sqrt();
    if nx > 0.0 && ny > 0.0 {
        dot / (nx * ny)
    } else {
        0.0
    }
}

/// The cosines of the `W_E` rows of every pair inside a successor class, beside the other pairs
/// of characters that are followed by something.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassCosines {
    /// (a, b, cosine) for every pair a < b in one class.
    #[serde(skip)]
    pub within: Vec<(usize, usize, f64)>,
    /// The least and the greatest of `within` (None without classes).
    pub within_min: Option<f64>,
    #[serde(skip)]
    pub within_max: Option<f64>,
    /// Over the other pairs: the median of |cosine|, and its 90th percentile.
    pub others_median_abs: f64,
    pub others_p90_abs: f64,
    pub others: usize,
    /// Every cosine within a class is at least [`CLASS_COSINE`] (false without classes).
    #[serde(skip)]
    pub aligned: bool,
}

/// [`ClassCosines`] of `w_e` (V×`d`) for `classes` on `counts`.
pub fn class_cosines(
    w_e: &[f32],
    d: usize,
    counts: &[Vec<f64>],
    classes: &[Vec<usize>],
) -> ClassCosines {
    let f = followed(counts);
    let same_class = |a: usize, b: usize| classes.iter().any(|c| c.contains(&a) && c.contains(&b));
    let mut within = Vec::new();
    let mut others = Vec::new();
    for (k, &a) in f.iter().enumerate() {
        for &b in &f[k + 1..] {
            let c = cosine(w_e, d, a, b);
            if same_class(a, b) {
                within.push((a, b, c));
            } else {
                others.push(c.abs());
            }
        }
    }
    others.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if others.is_empty() {
            0.0
        } else {
            others[((others.len() - 1) as f64 * q).round() as usize]
        }
    };
    let within_min = within.iter().map(|w| w.2).reduce(f64::min);
    ClassCosines {
        aligned: within_min.is_some_and(|c| c >= CLASS_COSINE),
        within_min,
        within_max: within.iter().map(|w| w.2).reduce(f64::max),
        within,
        others_median_abs: at(0.5),
        others_p90_abs: at(0.9),
        others: others.len(),
    }
}

/// One embedding patch: `W_E[from]` written into `W_E[into]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Patch {
    #[serde(skip)]
    pub from: usize,
    #[serde(skip)]
    pub into: usize,
    /// The patched model's loss less the model's (nats), each over the whole table.
    pub measured: f64,
    /// `(n_into/N)·(H(P_into, P_from) − H(P_into))`: infinite where `from` never precedes a
    /// successor of `into`.
    pub predicted: f64,
    /// For an infinite prediction: `(n_into/N)` × the probability `P_into` puts on successors
    /// `from` never has × [`UNSEEN_NATS`], the least the patch must cost to agree; else 0.
    pub at_least: f64,
    /// For a finite prediction, the most `measured` may differ from it and agree:
    /// `(n_into/N)·PATCH_ATOL + PATCH_RTOL·|predicted|`; else 0.
    pub tolerance: f64,
    pub agrees: bool,
}

/// Patches `W_E[from]` into `W_E[into]` of the model whose `ln Q` rows are `log_q`, and compares
/// the change of the loss on `counts` with the bigram interpretation's prediction. A position's
/// logits depend on its own token alone, so the patch moves only the predictions after `into`,
/// whose logits become row `from`'s: the change is measured on those, exactly.
pub fn patch(log_q: &[Vec<f64>], counts: &[Vec<f64>], from: usize, into: usize) -> Patch {
    let total: f64 = counts.iter().flatten().sum();
    let (a, b) = (&counts[into], &counts[from]);
    let measured = a
        .iter()
        .enumerate()
        .filter(|&(_, &c)| c > 0.0)
        .map(|(j, &c)| c * (log_q[into][j] - log_q[from][j]))
        .sum::<f64>()
        / total;
    let (na, nb): (f64, f64) = (a.iter().sum(), b.iter().sum());
    let weight = na / total;
    let mut cross = 0.0;
    let mut entropy = 0.0;
    let mut missing = 0.0;
    for (&ca, &cb) in a.iter().zip(b) {
        if ca > 0.0 {
            let p = ca / na;
            entropy -= p * p.ln();
            if cb > 0.0 {
                cross -= p * (cb / nb).ln();
            } else {
                missing += p;
            }
        }
    }
    let (predicted, at_least, tolerance, agrees) = if missing > 0.0 || nb == 0.0 {
        let at_least = weight * missing.max((nb == 0.0) as u8 as f64) * UNSEEN_NATS;
        (f64::INFINITY, at_least, 0.0, measured >= at_least)
    } else {
        let p = weight * (cross - entropy);
        let tol = weight * PATCH_ATOL + PATCH_RTOL * p.abs();
        (p, 0.0, tol, (measured - p).abs() <= tol)
    };
    Patch {
        from,
        into,
        measured,
        predicted,
        at_least,
        tolerance,
        agrees,
    }
}

/// The ordered pairs (from, into, in a class) that [`Mechanism`] patches: every pair of two
/// members of one class (at most [`PATCH_CLASS_PAIRS`]), then [`PATCH_SAMPLE`] pairs of followed
/// characters in different classes whose prediction is finite (`into`'s successors all follow
/// `from`) and as many whose prediction is infinite; each set past its size drawn with ChaCha8
/// from [`PATCH_SEED`], and listed in (into, from) order.
pub fn patch_pairs(counts: &[Vec<f64>], classes: &[Vec<usize>]) -> Vec<(usize, usize, bool)> {
    let mut within = Vec::new();
    for c in classes {
        for &into in c {
            within.extend(c.iter().filter(|&&f| f != into).map(|&from| (into, from)));
        }
    }
    let same_class = |a: usize, b: usize| classes.iter().any(|c| c.contains(&a) && c.contains(&b));
    let f = followed(counts);
    let (mut finite, mut infinite) = (Vec::new(), Vec::new());
    for &into in &f {
        for &from in &f {
            if from == into || same_class(from, into) {
                continue;
            }
            let covered =
                (0..counts.len()).all(|j| counts[into][j] == 0.0 || counts[from][j] > 0.0);
            match covered {
                true => finite.push((into, from)),
                false => infinite.push((into, from)),
            }
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(PATCH_SEED);
    let mut out: Vec<(usize, usize, bool)> = Vec::new();
    for (mut set, k, in_class) in [
        (within, PATCH_CLASS_PAIRS, true),
        (finite, PATCH_SAMPLE, false),
        (infinite, PATCH_SAMPLE, false),
    ] {
        if set.len() > k {
            let (picked, _) = set.partial_shuffle(&mut rng, k);
            set = picked.to_vec();
        }
        set.sort_unstable();
        out.extend(set.into_iter().map(|(into, from)| (from, into, in_class)));
    }
    out
}

/// One patched pair on the trained model and on the untrained one (the control).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PatchPair {
    /// Whether `from` and `into` share a successor class (prediction 0).
    pub in_class: bool,
    pub trained: Patch,
    pub untrained: Patch,
}

/// What the patches add up to.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PatchSummary {
    pub pairs: usize,
    pub class_pairs: usize,
    /// Patches whose measured change agrees with the prediction, on each model.
    pub trained_agree: usize,
    pub untrained_agree: usize,
    /// On the trained model: the largest |measured| within classes (predicted 0)…
    #[serde(rename = "class_max_abs")]
    pub class_max: Option<f64>,
    /// …the largest |measured − predicted| over the other finite predictions, and the pair's
    /// tolerance…
    #[serde(skip)]
    pub finite_worst: Option<(f64, f64)>,
    /// …and the least `measured / at_least` over the infinite ones (≥ 1 agrees).
    #[serde(rename = "infinite_least_ratio")]
    pub infinite_least: Option<f64>,
    /// Every patch agrees on the trained model, and at most [`CONTROL_AGREE_SHARE`] of them on
    /// the untrained one.
    pub holds: bool,
    pub control_fails: bool,
}

/// Patches every pair of [`patch_pairs`] on both models (`ln Q` rows of each).
pub fn patching(
    trained: &[Vec<f64>],
    untrained: &[Vec<f64>],
    counts: &[Vec<f64>],
    classes: &[Vec<usize>],
) -> (Vec<PatchPair>, PatchSummary) {
    let pairs: Vec<PatchPair> = patch_pairs(counts, classes)
        .into_iter()
        .map(|(from, into, in_class)| PatchPair {
            in_class,
            trained: patch(trained, counts, from, into),
            untrained: patch(untrained, counts, from, into),
        })
        .collect();
    let fold = |xs: &mut dyn Iterator<Item = f64>, f: fn(f64, f64) -> f64| xs.reduce(f);
    let n = pairs.len();
    let trained_agree = pairs.iter().filter(|p| p.trained.agrees).count();
    let untrained_agree = pairs.iter().filter(|p| p.untrained.agrees).count();
    let summary = PatchSummary {
        pairs: n,
        holds: n > 0 && trained_agree == n,
        control_fails: n > 0 && untrained_agree as f64 <= CONTROL_AGREE_SHARE * n as f64,
        trained_agree,
        untrained_agree,
        class_pairs: pairs.iter().filter(|p| p.in_class).count(),
        class_max: fold(
            &mut pairs
                .iter()
                .filter(|p| p.in_class)
                .map(|p| p.trained.measured.abs()),
            f64::max,
        ),
        finite_worst: pairs
            .iter()
            .filter(|p| !p.in_class && p.trained.predicted.is_finite())
            .map(|p| {
                (
                    (p.trained.measured - p.trained.predicted).abs(),
                    p.trained.tolerance,
                )
            })
            .reduce(|x, y| if y.0 > x.0 { y } else { x }),
        infinite_least: fold(
            &mut pairs
                .iter()
                .filter(|p| p.trained.predicted.is_infinite())
                .map(|p| p.trained.measured / p.trained.at_least),
            f64::min,
        ),
    };
    (pairs, summary)
}

/// What models trained from different seeds agree on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Replication {
    /// Models compared: the analysed one and those retrained from the next seeds.
    pub seeds: usize,
    /// The seeds asked for (`--replicas`); more than `seeds` where the work budget capped them.
    pub requested: usize,
    /// The RMS over the pairs that occur of each pair's standard deviation across seeds of its
    /// logit, centred on its row's seen pairs (what the data fixes: `ln P` up to a row shift).
    pub seen_logit_spread: f64,
    /// The same over the pairs that never occur, with the same centring (what only a margin
    /// constrains).
    pub unseen_logit_spread: f64,
    /// The mean over the unseen pairs and the seeds of their centred logit: how far below their
    /// row's seen pairs they sit.
    pub unseen_logit_mean: f64,
    /// The mean over the followed characters and the pairs of seeds of the |cosine| of the
    /// character's `W_E` rows…
    pub embedding_cosine: f64,
    /// …and the same for two independent random directions in d_model dimensions,
    /// `Γ(d/2) / (√π·Γ((d+1)/2))`: what unrelated bases give.
    pub random_cosine: f64,
    /// The unseen logits spread at least [`SPREAD_FACTOR`] times the seen ones.
    pub seen_apart: bool,
    /// The seen logits spread at most [`SEEN_SPREAD_NATS`].
    #[serde(skip)]
    pub seen_small: bool,
    /// `seen_apart` and `seen_small`: the data fixes them.
    pub seen_fixed: bool,
    /// `embedding_cosine` is at most [`BASIS_FACTOR`] times `random_cosine`.
    pub basis_arbitrary: bool,
}

/// `E|cos|` of two independent uniformly random directions in `d` dimensions.
fn random_abs_cosine(d: usize) -> f64 {
    use std::f64::consts::PI;
    // r = Γ(k/2)/Γ((k+1)/2), from k = 1 (√π) or k = 2 (2/√π), by Γ(x+1) = x·Γ(x):
    // r(k+2) = r(k)·k/(k+1). No gamma function needed.
    let (mut k, mut r) = if d % 2 == 1 {
        (1, PI.sqrt())
    } else {
        (2, 2.0 / PI.sqrt())
    };
    while k < d {
        r *= k as f64 / (k + 1) as f64;
        k += 2;
    }
    r / PI.sqrt()
}

/// [`Replication`] of models (d_model `d`) trained from different seeds, of `requested` asked
/// for.
pub fn replicate(
    models: &[Model<'_>],
    d: usize,
    counts: &[Vec<f64>],
    requested: usize,
) -> Replication {
    let v = counts.len();
    let followed = followed(counts);
    // centred[m][i][j]: model m's logit (i, j) less the mean of row i's seen logits.
    let centred: Vec<Vec<Vec<f64>>> = models
        .iter()
        .map(|m| {
            (0..v)
                .map(|i| {
                    let l = logit_row(&m.w_e[i * d..(i + 1) * d], m.w_u, v);
                    let seen: Vec<f64> = (0..v)
                        .filter(|&j| counts[i][j] > 0.0)
                        .map(|j| l[j])
                        .collect();
                    let m = if seen.is_empty() {
                        0.0
                    } else {
                        seen.iter().sum::<f64>() / seen.len() as f64
                    };
                    l.iter().map(|x| x - m).collect()
                })
                .collect()
        })
        .collect();
    let k = models.len() as f64;
    let (mut seen, mut unseen) = ((0.0, 0usize), (0.0, 0usize));
    let mut depth = 0.0;
    for &i in &followed {
        for j in 0..v {
            let xs: Vec<f64> = centred.iter().map(|c| c[i][j]).collect();
            let mean = xs.iter().sum::<f64>() / k;
            let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (k - 1.0).max(1.0);
            let acc = if counts[i][j] > 0.0 {
                &mut seen
            } else {
                depth += mean;
                &mut unseen
            };
            acc.0 += var;
            acc.1 += 1;
        }
    }
    let rms = |(s, n): (f64, usize)| if n > 0 { (s / n as f64).sqrt() } else { 0.0 };
    let random_cosine = random_abs_cosine(d);
    let mut cos = (0.0, 0usize);
    for (m, a) in models.iter().enumerate() {
        for b in &models[m + 1..] {
            for &i in &followed {
                cos.0 += cosine_of(&a.w_e[i * d..(i + 1) * d], &b.w_e[i * d..(i + 1) * d]).abs();
                cos.1 += 1;
            }
        }
    }
    let embedding_cosine = if cos.1 > 0 { cos.0 / cos.1 as f64 } else { 0.0 };
    Replication {
        seeds: models.len(),
        requested,
        seen_logit_spread: rms(seen),
        unseen_logit_spread: rms(unseen),
        unseen_logit_mean: if unseen.1 > 0 {
            depth / unseen.1 as f64
        } else {
            0.0
        },
        embedding_cosine,
        random_cosine,
        seen_apart: rms(unseen) >= SPREAD_FACTOR * rms(seen),
        seen_small: rms(seen) <= SEEN_SPREAD_NATS,
        seen_fixed: rms(unseen) >= SPREAD_FACTOR * rms(seen) && rms(seen) <= SEEN_SPREAD_NATS,
        basis_arbitrary: embedding_cosine <= BASIS_FACTOR * random_cosine,
    }
}

/// Why the seeds were not replicated.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotReplicated {
    /// `--replicas 0`.
    NotAsked,
    /// The model was loaded from a file that does not record how it was trained: retraining it
    /// with other seeds would compare it with other settings.
    SettingsUnknown,
    /// The backend is the PTX interpreter, about half a second an epoch.
    Simulator,
    /// One more model would cost `work` multiply-adds, past the budget.
    OverBudget { work: f64, budget: f64 },
}

/// The cosine of the best match among `sp`'s directions above its rank threshold for the
/// direction `(u, v)`: the largest `|u·u_s|·|v·v_s|`, the cosine of the rank-one matrices.
pub fn matched(u: &[f64], v: &[f64], sp: &Spectrum) -> f64 {
    (0..sp.singular_values.len())
        .filter(|&s| sp.singular_values[s] > sp.threshold)
        .map(|s| {
            let du: f64 = u.iter().enumerate().map(|(i, x)| x * sp.left(s, i)).sum();
            let dv: f64 = v.iter().enumerate().map(|(j, x)| x * sp.right(s, j)).sum();
            du.abs() * dv.abs()
        })
        .fold(0.0, f64::max)
}

/// The weights, interpreted: [`Analysis::mechanism`](super::Analysis::mechanism).
#[derive(Clone, Debug, PartialEq)]
pub struct Mechanism {
    pub classes: Vec<Vec<usize>>,
    pub nearest: Vec<NearPair>,
    /// The classes' `W_E` cosines on the trained model, and on the untrained one (the control).
    pub cosines: ClassCosines,
    pub cosines_untrained: ClassCosines,
    pub patches: Vec<PatchPair>,
    pub patch_summary: PatchSummary,
    pub replication: Result<Replication, NotReplicated>,
}

/// A model's weights: `W_E` (V×d) and `W_U` (d×V), row-major f32.
#[derive(Clone, Copy)]
pub struct Model<'a> {
    pub w_e: &'a [f32],
    pub w_u: &'a [f32],
}

/// [`Mechanism`] of `trained` beside `untrained` (both of d_model `d`) on `counts`, with the
/// seed replicas (the analysed model not among them) of `requested` seeds, or why there are none.
pub fn mechanism(
    trained: Model<'_>,
    untrained: Model<'_>,
    d: usize,
    counts: &[Vec<f64>],
    replicas: Result<&[Model<'_>], NotReplicated>,
    requested: usize,
) -> Mechanism {
    let classes = successor_classes(counts);
    let (patches, patch_summary) = patching(
        &log_q(trained.w_e, trained.w_u, d),
        &log_q(untrained.w_e, untrained.w_u, d),
        counts,
        &classes,
    );
    let replication = replicas.map(|others| {
        let models: Vec<Model<'_>> = std::iter::once(trained)
            .chain(others.iter().copied())
            .collect();
        replicate(&models, d, counts, requested)
    });
    Mechanism {
        nearest: nearest_pairs(trained.w_e, d, counts),
        cosines: class_cosines(trained.w_e, d, counts, &classes),
        cosines_untrained: class_cosines(untrained.w_e, d, counts, &classes),
        classes,
        patches,
        patch_summary,
        replication,
    }
}

/// The counting argument beside a measured minimum width: what the table must hold, and what a
/// rank-d table has to hold it with. It bounds the width from below only: it counts equations,
/// and the unseen pairs add inequalities (each must sit below its row's seen pairs), which cost
/// width that no count of parameters shows.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Counting {
    /// Pairs that occur, and the log-ratio equations they fix: `Σ_i (s_i − 1)` over the followed
    /// rows (`ln P_i` up to the row's free shift).
    pub seen_pairs: usize,
    pub equations: usize,
    /// Pairs that never occur: each needs only a margin below its row's seen pairs.
    pub unseen_pairs: usize,
    /// The smallest d ≥ 1 whose rank-d tables, with a free shift per row, have as many parameters
    /// as there are equations: `d·(2V − d) + V ≥ equations`.
    pub parameter_bound: usize,
}

/// [`Counting`] for `counts` (V rows of V).
pub fn counting(counts: &[Vec<f64>]) -> Counting {
    let v = counts.len();
    let seen: Vec<usize> = counts
        .iter()
        .map(|r| r.iter().filter(|&&c| c > 0.0).count())
        .collect();
    let seen_pairs: usize = seen.iter().sum();
    let equations: usize = seen.iter().map(|&s| s.saturating_sub(1)).sum();
    let parameter_bound = (1..=v)
        .find(|&d| d * (2 * v - d) + v >= equations)
        .unwrap_or(v);
    Counting {
        seen_pairs,
        equations,
        unseen_pairs: v * v - seen_pairs,
        parameter_bound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "abab…" and "cdcd…" share nothing; 'a' and 'c' are followed by the same distribution
    /// (half 'b', half 'd') in this table.
    fn counts() -> Vec<Vec<f64>> {
        vec![
            vec![0.0, 2.0, 0.0, 2.0],
            vec![3.0, 0.0, 1.0, 0.0],
            vec![0.0, 5.0, 0.0, 5.0],
            vec![1.0, 0.0, 1.0, 0.0],
        ]
    }

    #[test]
    fn classes_are_exactly_proportional_rows() {
        assert_eq!(successor_classes(&counts()), vec![vec![0, 2]]);
        let mut c = counts();
        c[3] = vec![3.0, 0.0, 1.0, 0.0];
        assert_eq!(successor_classes(&c), vec![vec![0, 2], vec![1, 3]]);
        c[3][2] = 2.0;
        assert_eq!(successor_classes(&c), vec![vec![0, 2]]);
    }

    /// The model whose logits are ln P (d_model V, W_U the identity): every patch agrees with its
    /// prediction, because its rows are P.
    fn exact_model(c: &[Vec<f64>]) -> (Vec<f32>, Vec<f32>) {
        let v = c.len();
        let mut w_e = vec![0f32; v * v];
        for i in 0..v {
            let n: f64 = c[i].iter().sum();
            for j in 0..v {
                w_e[i * v + j] = if c[i][j] > 0.0 {
                    (c[i][j] / n).ln() as f32
                } else {
                    -40.0
                };
            }
        }
        let w_u = (0..v * v).map(|k| (k / v == k % v) as u8 as f32).collect();
        (w_e, w_u)
    }

    #[test]
    fn patches_of_a_model_that_is_p_agree_and_a_random_ones_do_not() {
        let c = counts();
        let (w_e, w_u) = exact_model(&c);
        let lq = log_q(&w_e, &w_u, 4);
        let same = patch(&lq, &c, 2, 0);
        assert!(
            same.predicted.abs() < 1e-12 && same.measured.abs() < 1e-6,
            "{same:?}"
        );
        assert!(same.agrees);
        // 'b' (1) never follows what 'a' (0) is followed by: an infinite prediction, a large cost.
        let far = patch(&lq, &c, 1, 0);
        assert!(far.predicted.is_infinite() && far.agrees, "{far:?}");
        // d (3) is followed by a and c half and half, b (1) by a 3:1: a finite prediction.
        let near = patch(&lq, &c, 1, 3);
        assert!(
            near.predicted.is_finite() && near.predicted > 0.01,
            "{near:?}"
        );
        assert!(near.agrees, "{near:?}");
        // A model that learned nothing (all logits equal) moves no loss at all.
        let flat = log_q(&[0.1f32; 16], &w_u, 4);
        let flat_far = patch(&flat, &c, 1, 0);
        assert!(!flat_far.agrees, "{flat_far:?}");
        let flat_near = patch(&flat, &c, 1, 3);
        assert!(!flat_near.agrees, "{flat_near:?}");
    }

    #[test]
    fn replication_separates_what_the_data_fixes_from_what_it_does_not() {
        let c = counts();
        let (w_e, w_u) = exact_model(&c);
        // A second model with its unseen logits elsewhere and its basis permuted.
        let mut w_e2 = w_e.clone();
        for x in w_e2.iter_mut() {
            if *x == -40.0 {
                *x = -30.0;
            }
        }
        let m = |w_e, w_u| Model { w_e, w_u };
        let r = replicate(&[m(&w_e, &w_u), m(&w_e2, &w_u)], 4, &c, 2);
        assert!(r.seen_logit_spread < 1e-5, "{r:?}");
        assert!(r.unseen_logit_spread > 1.0, "{r:?}");
        assert!(r.seen_apart && r.seen_fixed, "{r:?}");
        // Seeds that disagree by a nat on one seen pair of each row, and by 30 on the unseen
        // ones: apart by the ratio, but not fixed, as the seen spread is past the bound.
        let mut w_e3 = w_e2.clone();
        for (i, row) in c.iter().enumerate() {
            let j = row.iter().position(|&n| n > 0.0).unwrap();
            w_e3[i * 4 + j] += 1.0;
            for (k, &n) in row.iter().enumerate() {
                if n == 0.0 {
                    w_e3[i * 4 + k] = -10.0;
                }
            }
        }
        let r = replicate(&[m(&w_e, &w_u), m(&w_e3, &w_u)], 4, &c, 2);
        assert!(r.seen_logit_spread > SEEN_SPREAD_NATS, "{r:?}");
        assert!(r.unseen_logit_spread >= SPREAD_FACTOR * r.seen_logit_spread);
        assert!(r.seen_apart && !r.seen_fixed, "{r:?}");
        // Two unrelated random models disagree on the seen logits as well.
        let noise = |s: u32| -> Vec<f32> {
            (0..16u32)
                .map(|k| ((k + 1) * (s * 7919 + 17) % 1009) as f32 / 504.5 - 1.0)
                .collect()
        };
        let (n1, n7) = (noise(1), noise(7));
        let r = replicate(&[m(&n1, &w_u), m(&n7, &w_u)], 4, &c, 2);
        assert!(r.seen_logit_spread > 0.1, "{r:?}");
    }

    #[test]
    fn counting_counts_equations_per_row_and_bounds_the_width() {
        let c = counting(&counts());
        assert_eq!((c.seen_pairs, c.equations, c.unseen_pairs), (8, 4, 8));
        assert_eq!(c.parameter_bound, 1);
        // Ten rows, each followed by all ten: 90 equations, 10·(20 − d) + 10 ≥ 90 from d = 4 on…
        let full = vec![vec![1.0; 10]; 10];
        let c = counting(&full);
        assert_eq!(c.equations, 90);
        // …d = 4: 4·16 + 10 = 74 < 90; d = 5: 5·15 + 10 = 85 < 90; d = 6: 6·14 + 10 = 94.
        assert_eq!(c.parameter_bound, 6);
    }

    #[test]
    fn class_rows_are_compared_with_the_other_pairs() {
        let c = counts();
        let (w_e, _) = exact_model(&c);
        let cc = class_cosines(&w_e, 4, &c, &successor_classes(&c));
        assert_eq!(cc.within.len(), 1);
        assert!((cc.within[0].2 - 1.0).abs() < 1e-9);
        assert_eq!(cc.others, 5);
    }

    #[test]
    fn random_cosine_is_the_known_mean() {
        // d = 1: always ±1; d = 2: 2/π; d = 3: 1/2 (|cos| is uniform on [0, 1]).
        assert!((random_abs_cosine(1) - 1.0).abs() < 1e-15);
        assert!((random_abs_cosine(2) - 2.0 / std::f64::consts::PI).abs() < 1e-15);
        assert!((random_abs_cosine(3) - 0.5).abs() < 1e-15);
        // Large d: about sqrt(2/(π d)).
        let d = 400;
        assert!(
            (random_abs_cosine(d) / (2.0 / (std::f64::consts::PI * d as f64)).sqrt() - 1.0).abs()
                < 1e-3
        );
    }

    #[test]
    fn nearest_pairs_skip_identical_rows_and_order_by_divergence() {
        let c = counts();
        let (w_e, _) = exact_model(&c);
        let near = nearest_pairs(&w_e, 4, &c);
        // 0 and 2 are identical: not listed. 1 (3:1 over a, c) and 3 (1:1) are the closest.
        assert!(near.iter().all(|p| (p.a, p.b) != (0, 2)), "{near:?}");
        assert_eq!((near[0].a, near[0].b), (1, 3));
        assert!(near.windows(2).all(|w| w[0].js <= w[1].js));
        assert!((js_divergence(&c[0], &c[2])).abs() < 1e-15);
        // Disjoint supports: ln 2.
        assert!((js_divergence(&c[0], &c[1]) - 2f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn patch_pairs_take_every_class_pair_and_a_fixed_sample() {
        let c = counts();
        let classes = successor_classes(&c);
        let pairs = patch_pairs(&c, &classes);
        assert_eq!(&pairs[..2], &[(2, 0, true), (0, 2, true)]);
        // A class of ten: 90 ordered pairs, of which PATCH_CLASS_PAIRS are patched.
        let ten = vec![vec![1.0; 10]; 10];
        let big = patch_pairs(&ten, &successor_classes(&ten));
        assert_eq!(big.len(), PATCH_CLASS_PAIRS);
        assert!(big.iter().all(|p| p.2));
        assert!(pairs[2..].iter().all(|&(f, i, inc)| !inc && f != i));
        assert_eq!(
            pairs,
            patch_pairs(&c, &classes),
            "the same pairs every time"
        );
        // Four characters, one class of two: 12 ordered pairs less the 2 in the class.
        assert_eq!(pairs.len(), 2 + 10);
    }

    #[test]
    fn a_direction_matches_itself_whatever_its_sign() {
        use zl_core::interpret::{row_centred, Spectrum, Table};
        let c = counts();
        let t = Table::from_fn(4, 4, |i, j| c[i][j]);
        let sp = Spectrum::of(&row_centred(&t));
        let u: Vec<f64> = (0..4).map(|i| sp.left(0, i)).collect();
        let v: Vec<f64> = (0..4).map(|j| sp.right(0, j)).collect();
        assert!((matched(&u, &v, &sp) - 1.0).abs() < 1e-12);
        let neg: Vec<f64> = u.iter().map(|x| -x).collect();
        assert!((matched(&neg, &v, &sp) - 1.0).abs() < 1e-12, "sign-free");
    }
}
