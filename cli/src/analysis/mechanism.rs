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
//!   other pairs.
//! - **Embedding patching.** Writing `W_E[b]` into `W_E[a]` (TransformerLens' `hook_embed`
//!   patched at every position of `a`) changes the loss by a measured amount; the
//!   interpretation (each row of `softmax(W_E·W_U)` is the data's `P`) predicts
//!   `(n_a/N)·(H(P_a, P_b) − H(P_a))`, the cross-entropy of `a`'s successors under `b`'s
//!   distribution less their entropy ([`patch`]). Predicting with the model's own `Q` instead
//!   would be an identity that holds for any weights; predicting with `P` holds only if the
//!   model learned `P`.
//! - **Seed replication.** Models trained from different seeds should agree on what the data
//!   fixes (the row-centred logits of the pairs that occur) and may disagree on what it does
//!   not (how far below the unseen pairs sit, and `W_E` itself) ([`replicate`]).
//!
//! Everything is f64 on the f32 weights, row-major: `w_e` is V×D, `w_u` is D×V, `counts` is V
//! rows of V.

use serde::Serialize;

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
    let mx = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = mx + l.iter().map(|x| (x - mx).exp()).sum::<f64>().ln();
    l.iter().map(|x| x - lse).collect()
}

/// The mean next-token cross-entropy of every row of `W_E` (one per current token) on `counts`.
fn loss(w_e: &[f32], w_u: &[f32], d: usize, counts: &[Vec<f64>]) -> f64 {
    let v = counts.len();
    let mut total = 0.0;
    let mut n = 0.0;
    for (i, row) in counts.iter().enumerate() {
        if row.iter().all(|&c| c == 0.0) {
            continue;
        }
        let lq = log_softmax(&logit_row(&w_e[i * d..(i + 1) * d], w_u, v));
        for (j, &c) in row.iter().enumerate() {
            if c > 0.0 {
                total -= c * lq[j];
                n += c;
            }
        }
    }
    total / n
}

/// The groups of at least two characters, each followed by something, whose next-character
/// distributions are identical (exactly: `C_a·n_b = C_b·n_a` entry by entry, in integers),
/// in token-id order.
pub fn successor_classes(counts: &[Vec<f64>]) -> Vec<Vec<usize>> {
    let n: Vec<u128> = counts
        .iter()
        .map(|r| r.iter().map(|&c| c as u128).sum())
        .collect();
    let same = |a: usize, b: usize| {
        (0..counts.len()).all(|j| counts[a][j] as u128 * n[b] == counts[b][j] as u128 * n[a])
    };
    let mut class_of: Vec<Option<usize>> = vec![None; counts.len()];
    let mut classes: Vec<Vec<usize>> = Vec::new();
    for a in (0..counts.len()).filter(|&a| n[a] > 0) {
        if class_of[a].is_some() {
            continue;
        }
        let members: Vec<usize> = (a..counts.len())
            .filter(|&b| n[b] > 0 && class_of[b].is_none() && same(a, b))
            .collect();
        for &b in &members {
            class_of[b] = Some(classes.len());
        }
        classes.push(members);
    }
    classes.retain(|c| c.len() >= 2);
    classes
}

/// The cosine of two rows of `W_E`.
pub fn cosine(w_e: &[f32], d: usize, a: usize, b: usize) -> f64 {
    let (x, y) = (&w_e[a * d..(a + 1) * d], &w_e[b * d..(b + 1) * d]);
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
    pub within: Vec<(usize, usize, f64)>,
    /// Over the other pairs: the median of |cosine|, and its 90th percentile.
    pub others_median_abs: f64,
    pub others_p90_abs: f64,
    pub others: usize,
}

/// [`ClassCosines`] of `w_e` (V×`d`) for `classes` on `counts`.
pub fn class_cosines(
    w_e: &[f32],
    d: usize,
    counts: &[Vec<f64>],
    classes: &[Vec<usize>],
) -> ClassCosines {
    let v = counts.len();
    let followed: Vec<usize> = (0..v)
        .filter(|&i| counts[i].iter().any(|&c| c > 0.0))
        .collect();
    let same_class = |a: usize, b: usize| classes.iter().any(|c| c.contains(&a) && c.contains(&b));
    let mut within = Vec::new();
    let mut others = Vec::new();
    for (k, &a) in followed.iter().enumerate() {
        for &b in &followed[k + 1..] {
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
    ClassCosines {
        within,
        others_median_abs: at(0.5),
        others_p90_abs: at(0.9),
        others: others.len(),
    }
}

/// One embedding patch: `W_E[from]` written into `W_E[into]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Patch {
    pub from: usize,
    pub into: usize,
    /// The patched model's loss less the model's (nats), each over the whole table.
    pub measured: f64,
    /// `(n_into/N)·(H(P_into, P_from) − H(P_into))`: infinite where `from` never precedes a
    /// successor of `into`.
    pub predicted: f64,
    /// For an infinite prediction: `(n_into/N)` × the probability `P_into` puts on successors
    /// `from` never has × [`UNSEEN_NATS`], the least the patch must cost to agree.
    pub at_least: f64,
    pub agrees: bool,
}

/// Patches `W_E[from]` into `W_E[into]` and compares the change of the loss with the bigram
/// interpretation's prediction.
pub fn patch(
    w_e: &[f32],
    w_u: &[f32],
    d: usize,
    counts: &[Vec<f64>],
    from: usize,
    into: usize,
) -> Patch {
    let base = loss(w_e, w_u, d, counts);
    let mut patched = w_e.to_vec();
    patched.copy_within(from * d..(from + 1) * d, into * d);
    let measured = loss(&patched, w_u, d, counts) - base;
    let total: f64 = counts.iter().flatten().sum();
    let (a, b) = (&counts[into], &counts[from]);
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
    let (predicted, at_least, agrees) = if missing > 0.0 || nb == 0.0 {
        let at_least = weight * missing.max((nb == 0.0) as u8 as f64) * UNSEEN_NATS;
        (f64::INFINITY, at_least, measured >= at_least)
    } else {
        let p = weight * (cross - entropy);
        (
            p,
            0.0,
            (measured - p).abs() <= weight * PATCH_ATOL + PATCH_RTOL * p.abs(),
        )
    };
    Patch {
        from,
        into,
        measured,
        predicted,
        at_least,
        agrees,
    }
}

/// What models trained from different seeds agree on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Replication {
    pub seeds: usize,
    /// The RMS over the pairs that occur of each pair's standard deviation across seeds of its
    /// logit, centred on its row's seen pairs (what the data fixes: `ln P` up to a row shift).
    pub seen_logit_spread: f64,
    /// The same over the pairs that never occur, with the same centring (what only a margin
    /// constrains).
    pub unseen_logit_spread: f64,
    /// The mean over the followed characters and the pairs of seeds of the |cosine| of the
    /// character's `W_E` rows (0 for bases unrelated between seeds).
    pub embedding_cosine: f64,
}

/// [`Replication`] of models (each `(w_e, w_u)`, d_model `d`) trained from different seeds.
pub fn replicate(models: &[(Vec<f32>, Vec<f32>)], d: usize, counts: &[Vec<f64>]) -> Replication {
    let v = counts.len();
    let followed: Vec<usize> = (0..v)
        .filter(|&i| counts[i].iter().any(|&c| c > 0.0))
        .collect();
    // centred[m][i][j]: model m's logit (i, j) less the mean of row i's seen logits.
    let centred: Vec<Vec<Vec<f64>>> = models
        .iter()
        .map(|(w_e, w_u)| {
            (0..v)
                .map(|i| {
                    let l = logit_row(&w_e[i * d..(i + 1) * d], w_u, v);
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
    for &i in &followed {
        for j in 0..v {
            let xs: Vec<f64> = centred.iter().map(|c| c[i][j]).collect();
            let mean = xs.iter().sum::<f64>() / k;
            let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (k - 1.0).max(1.0);
            let acc = if counts[i][j] > 0.0 {
                &mut seen
            } else {
                &mut unseen
            };
            acc.0 += var;
            acc.1 += 1;
        }
    }
    let rms = |(s, n): (f64, usize)| if n > 0 { (s / n as f64).sqrt() } else { 0.0 };
    let mut cos = (0.0, 0usize);
    for (m, (a, _)) in models.iter().enumerate() {
        for (b, _) in &models[m + 1..] {
            for &i in &followed {
                let (x, y) = (&a[i * d..(i + 1) * d], &b[i * d..(i + 1) * d]);
                let dot: f64 = x.iter().zip(y).map(|(&p, &q)| p as f64 * q as f64).sum();
                let nx = x.iter().map(|&p| (p as f64).powi(2)).sum::<f64>().sqrt();
                let ny = y.iter().map(|&q| (q as f64).powi(2)).sum::<f64>().sqrt();
                if nx > 0.0 && ny > 0.0 {
                    cos.0 += (dot / (nx * ny)).abs();
                    cos.1 += 1;
                }
            }
        }
    }
    Replication {
        seeds: models.len(),
        seen_logit_spread: rms(seen),
        unseen_logit_spread: rms(unseen),
        embedding_cosine: if cos.1 > 0 { cos.0 / cos.1 as f64 } else { 0.0 },
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
        let same = patch(&w_e, &w_u, 4, &c, 2, 0);
        assert!(
            same.predicted.abs() < 1e-12 && same.measured.abs() < 1e-6,
            "{same:?}"
        );
        assert!(same.agrees);
        // 'b' (1) never follows what 'a' (0) is followed by: an infinite prediction, a large cost.
        let far = patch(&w_e, &w_u, 4, &c, 1, 0);
        assert!(far.predicted.is_infinite() && far.agrees, "{far:?}");
        // d (3) is followed by a and c half and half, b (1) by a 3:1: a finite prediction.
        let near = patch(&w_e, &w_u, 4, &c, 1, 3);
        assert!(
            near.predicted.is_finite() && near.predicted > 0.01,
            "{near:?}"
        );
        assert!(near.agrees, "{near:?}");
        // A model that learned nothing (all logits equal) moves no loss at all.
        let flat = vec![0.1f32; 16];
        let flat_far = patch(&flat, &w_u, 4, &c, 1, 0);
        assert!(!flat_far.agrees, "{flat_far:?}");
        let flat_near = patch(&flat, &w_u, 4, &c, 1, 3);
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
        let r = replicate(&[(w_e.clone(), w_u.clone()), (w_e2, w_u.clone())], 4, &c);
        assert!(r.seen_logit_spread < 1e-5, "{r:?}");
        assert!(r.unseen_logit_spread > 1.0, "{r:?}");
        // Two unrelated random models disagree on the seen logits as well.
        let noise = |s: u32| -> Vec<f32> {
            (0..16u32)
                .map(|k| ((k + 1) * (s * 7919 + 17) % 1009) as f32 / 504.5 - 1.0)
                .collect()
        };
        let r = replicate(&[(noise(1), w_u.clone()), (noise(7), w_u)], 4, &c);
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
}
