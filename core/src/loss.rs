//! Mean next-token cross-entropy from bigram counts, and its analytic gradient.
//!
//! With `L = W_E·W_U` (V×V) and `C` the bigram counts (`n_i` row totals, `N` predictions):
//!
//! ```text
//! loss      = (1/N) Σ_i Σ_j C_ij (lse_i − L_ij),      lse_i = max_j L_ij + ln Σ_j exp(L_ij − max_j L_ij)
//! ∂loss/∂L  = G,  G_ij = (n_i p_ij − C_ij) / N,        p_ij = softmax(L_i)_j
//! ∂loss/∂W_E = G · W_Uᵀ        (V×D)
//! ∂loss/∂W_U = W_Eᵀ · G        (D×V)
//! ```
//!
//! This equals the notebook's `-log_softmax(logits).gather(labels).mean()` over the 192
//! positions, grouped by (current, next) pair, so one step costs O(V²·D) whatever the length.
//!
//! Summation order is part of the result: every sum runs in ascending index order and every
//! product is written as a row update (axpy) over a contiguous column, which the compiler
//! vectorises without reassociating. Nothing here depends on the target, so the bits are the
//! same on x86-64, Cortex-M and wasm32.

use nalgebra::{SMatrix, SVector};

use crate::{bigram::Bigrams, model::Model};

/// Gradients of the loss with respect to the weights, in the weights' shapes.
#[derive(Clone, Debug, PartialEq)]
pub struct Grads<const V: usize, const D: usize> {
    /// ∂loss/∂W_E, V×D.
    pub w_e: SMatrix<f32, V, D>,
    /// ∂loss/∂W_U, D×V.
    pub w_u: SMatrix<f32, D, V>,
}

impl<const V: usize, const D: usize> Default for Grads<V, D> {
    fn default() -> Self {
        Grads {
            w_e: SMatrix::zeros(),
            w_u: SMatrix::zeros(),
        }
    }
}

/// Scratch space for one step, kept between steps so that nothing is rebuilt.
#[derive(Clone, Debug)]
pub struct Workspace<const V: usize, const D: usize> {
    /// `W_E·W_U`, V×V: row i is the logit vector after token i.
    pub logits: SMatrix<f32, V, V>,
    /// `softmax(W_E·W_U)` by rows, V×V (after [`loss_and_grad`]; then the gradient `G` overwrites
    /// it in place, see [`Workspace::probs_valid`]).
    pub probs: SMatrix<f32, V, V>,
    /// Per-row log-sum-exp of the logits.
    pub lse: SVector<f32, V>,
    w_e_t: SMatrix<f32, D, V>,
    probs_valid: bool,
}

impl<const V: usize, const D: usize> Default for Workspace<V, D> {
    fn default() -> Self {
        Workspace {
            logits: SMatrix::zeros(),
            probs: SMatrix::zeros(),
            lse: SVector::zeros(),
            w_e_t: SMatrix::zeros(),
            probs_valid: false,
        }
    }
}

impl<const V: usize, const D: usize> Workspace<V, D> {
    /// Whether `probs` holds the softmax of `logits` (true after [`forward`]).
    pub fn probs_valid(&self) -> bool {
        self.probs_valid
    }
}

/// Column `j` of a column-major V×C matrix's storage.
#[inline(always)]
fn col<const R: usize>(s: &[f32], j: usize) -> &[f32] {
    &s[j * R..(j + 1) * R]
}

#[inline(always)]
fn col_mut<const R: usize>(s: &mut [f32], j: usize) -> &mut [f32] {
    &mut s[j * R..(j + 1) * R]
}

/// `y += a · x`, element by element: the one primitive every product here is built from.
#[inline(always)]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * *x;
    }
}

/// Forward pass: fills `ws.logits`, `ws.probs`, `ws.lse` and returns the mean cross-entropy.
pub fn forward<const V: usize, const D: usize>(
    m: &Model<V, D>,
    b: &Bigrams<V>,
    ws: &mut Workspace<V, D>,
) -> f32 {
    let v = b.vocab_len();
    debug_assert_eq!(v, m.vocab_len(), "model and counts must share a vocabulary");
    let we = m.w_e.as_slice(); // column k: W_E[:, k]
    let wu = m.w_u.as_slice(); // column j: W_U[:, j]

    // L[:, j] = Σ_k W_E[:, k] · W_U[k, j], k ascending.
    let l = ws.logits.as_mut_slice();
    for j in 0..v {
        let lj = col_mut::<V>(l, j);
        lj.fill(0.0);
        let wuj = col::<D>(wu, j);
        for (k, &w) in wuj.iter().enumerate() {
            axpy(lj, w, col::<V>(we, k));
        }
    }

    // Row maxima, then exp(L − max) and the row sums, column by column (vectorised over rows).
    let l = ws.logits.as_slice();
    let mut mx = SVector::<f32, V>::from_column_slice(col::<V>(l, 0));
    for j in 1..v {
        for (m, x) in mx.iter_mut().zip(col::<V>(l, j)) {
            *m = m.max(*x);
        }
    }
    let mut sum = SVector::<f32, V>::zeros();
    let p = ws.probs.as_mut_slice();
    for j in 0..v {
        let pj = col_mut::<V>(p, j);
        for (i, (e, x)) in pj.iter_mut().zip(col::<V>(l, j)).enumerate() {
            *e = crate::math::exp(*x - mx[i]);
            sum[i] += *e;
        }
    }
    for i in 0..V {
        ws.lse[i] = mx[i] + crate::math::ln(sum[i]);
    }
    for j in 0..v {
        for (e, s) in col_mut::<V>(p, j).iter_mut().zip(sum.iter()) {
            *e /= *s;
        }
    }
    ws.probs_valid = true;

    // loss = (1/N) Σ_i Σ_j C_ij (lse_i − L_ij): per-row partial sums over j, then over i.
    let c = b.counts.as_slice();
    let mut acc = SVector::<f32, V>::zeros();
    for j in 0..v {
        for (i, (a, (cij, lij))) in acc
            .iter_mut()
            .zip(col::<V>(c, j).iter().zip(col::<V>(l, j)))
            .enumerate()
        {
            *a += *cij * (ws.lse[i] - *lij);
        }
    }
    let mut total = 0.0f32;
    for a in acc.iter().take(v) {
        total += *a;
    }
    total / b.total
}

/// The mean cross-entropy of `m` on the counts `b`.
pub fn loss<const V: usize, const D: usize>(m: &Model<V, D>, b: &Bigrams<V>) -> f32 {
    forward(m, b, &mut Workspace::default())
}

/// The mean cross-entropy of a `v`-token, `d_model`-column model given at run-time size: `w_e`
/// row-major v×d, `w_u` row-major d×v, `counts` row-major v×v. Every element goes through the
/// same operations in the same order as in [`forward`] (the padding there adds only exact
/// zeros), so this is [`loss`]'s value to the bit at any capacity, without a capacity tier.
///
/// Panics unless `v ≤ MAX_VOCAB` and the slices hold those shapes.
pub fn loss_at(v: usize, d: usize, w_e: &[f32], w_u: &[f32], counts: &[u64]) -> f32 {
    assert!(v <= crate::capacity::MAX_VOCAB && w_e.len() == v * d && w_u.len() == d * v);
    let (mut l, mut total, mut n) = ([0f32; crate::capacity::MAX_VOCAB], 0f32, 0u64);
    for i in 0..v {
        for (j, lij) in l[..v].iter_mut().enumerate() {
            *lij = 0.0;
            for k in 0..d {
                *lij += w_u[k * v + j] * w_e[i * d + k];
            }
        }
        let mx = l[1..v].iter().fold(l[0], |m, x| m.max(*x));
        let mut sum = 0f32;
        for x in &l[..v] {
            sum += crate::math::exp(*x - mx);
        }
        let lse = mx + crate::math::ln(sum);
        let mut acc = 0f32;
        for (c, lij) in counts[i * v..(i + 1) * v].iter().zip(&l) {
            acc += *c as f32 * (lse - *lij);
            n += c;
        }
        total += acc;
    }
    total / n as f32
}

/// The mean cross-entropy of `m` on `b` (the loss before any update), with its gradient in `g`.
pub fn loss_and_grad<const V: usize, const D: usize>(
    m: &Model<V, D>,
    b: &Bigrams<V>,
    ws: &mut Workspace<V, D>,
    g: &mut Grads<V, D>,
) -> f32 {
    let loss = forward(m, b, ws);
    let v = b.vocab_len();

    // G = (n_i p_ij − C_ij) / N, in place of the probabilities.
    let c = b.counts.as_slice();
    let n = b.row_totals.as_slice();
    let big_n = b.total;
    let gm = ws.probs.as_mut_slice();
    for j in 0..v {
        for (gij, (cij, ni)) in col_mut::<V>(gm, j)
            .iter_mut()
            .zip(col::<V>(c, j).iter().zip(n))
        {
            *gij = (*ni * *gij - *cij) / big_n;
        }
    }
    ws.probs_valid = false;
    let gm = ws.probs.as_slice();

    // ∂W_E[:, k] = Σ_j G[:, j] · W_U[k, j], j ascending.
    let wu = m.w_u.as_slice();
    let ge = g.w_e.as_mut_slice();
    ge.fill(0.0);
    for k in 0..D {
        let gek = col_mut::<V>(ge, k);
        for j in 0..v {
            axpy(gek, wu[j * D + k], col::<V>(gm, j));
        }
    }

    // ∂W_U[:, j] = Σ_i W_Eᵀ[:, i] · G[i, j], i ascending, through a transposed copy of W_E so
    // that each update runs over a contiguous column of D.
    ws.w_e_t = m.w_e.transpose();
    let wet = ws.w_e_t.as_slice();
    let gu = g.w_u.as_mut_slice();
    gu.fill(0.0);
    for j in 0..v {
        let guj = col_mut::<D>(gu, j);
        let gj = col::<V>(gm, j);
        for (i, &g) in gj[..v].iter().enumerate() {
            axpy(guj, g, col::<D>(wet, i));
        }
    }
    loss
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{corpus::Vocab, SEED_TEXT};

    /// The same loss computed position by position in f64, as the notebook's loss_fn does.
    fn loss_by_positions(m: &Model<30, 16>, tokens: &[usize]) -> f64 {
        let mut total = 0.0;
        for w in tokens.windows(2) {
            let logits: std::vec::Vec<f64> = (0..30)
                .map(|j| {
                    (0..16)
                        .map(|k| m.w_e[(w[0], k)] as f64 * m.w_u[(k, j)] as f64)
                        .sum()
                })
                .collect();
            let mx = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = mx + logits.iter().map(|x| (x - mx).exp()).sum::<f64>().ln();
            total += lse - logits[w[1]];
        }
        total / (tokens.len() - 1) as f64
    }

    #[test]
    fn bigram_loss_equals_per_position_loss() {
        let vocab = Vocab::seed();
        let tokens: std::vec::Vec<usize> = vocab.encode(SEED_TEXT).map(|t| t.unwrap()).collect();
        let b = Bigrams::from_tokens(30, tokens.iter().copied()).unwrap();
        for seed in [0, 1, 2] {
            let m = Model::<30, 16>::init_torch(seed, 30, 16).unwrap();
            let ours = loss(&m, &b) as f64;
            let reference = loss_by_positions(&m, &tokens);
            // f32 rounding over ~30k operations: a few ulp of 3.4.
            assert!(
                (ours - reference).abs() < 2e-6,
                "seed {seed}: {ours} vs {reference}"
            );
        }
    }

    /// The loss from counts, entirely in f64, for finite differences.
    fn loss_f64(we: &[f64], wu: &[f64], b: &Bigrams<30>) -> f64 {
        let mut total = 0.0;
        for i in 0..30 {
            let l: std::vec::Vec<f64> = (0..30)
                .map(|j| (0..16).map(|k| we[i * 16 + k] * wu[k * 30 + j]).sum())
                .collect();
            let mx = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = mx + l.iter().map(|x| (x - mx).exp()).sum::<f64>().ln();
            for j in 0..30 {
                total += b.counts[(i, j)] as f64 * (lse - l[j]);
            }
        }
        total / b.total as f64
    }

    #[test]
    fn analytic_gradient_matches_central_differences_in_f64() {
        let b = Bigrams::from_text(&Vocab::seed(), SEED_TEXT).unwrap();
        for (seed, scale) in [(3u64, 0.25f32), (11, 1.0), (99, 3.0)] {
            // Random weights of several scales (3.0 gives peaked softmax rows).
            let mut g = crate::rng::TorchGenerator::new(seed);
            let (mut we, mut wu) = ([0f32; 480], [0f32; 480]);
            g.randn(&mut we);
            g.randn(&mut wu);
            we.iter_mut().chain(wu.iter_mut()).for_each(|x| *x *= scale);
            let m = Model::<30, 16>::from_row_major(30, 16, &we, &wu).unwrap();
            let (mut ws, mut gr) = (Workspace::default(), Grads::default());
            loss_and_grad(&m, &b, &mut ws, &mut gr);
            let we64: std::vec::Vec<f64> = we.iter().map(|&x| x as f64).collect();
            let wu64: std::vec::Vec<f64> = wu.iter().map(|&x| x as f64).collect();
            let h = 1e-5;
            let mut worst = 0.0f64;
            for n in 0..480 {
                for which in 0..2 {
                    let (mut a, mut c) = (we64.clone(), wu64.clone());
                    let p = if which == 0 { &mut a } else { &mut c };
                    p[n] += h;
                    let up = loss_f64(&a, &c, &b);
                    let p = if which == 0 { &mut a } else { &mut c };
                    p[n] -= 2.0 * h;
                    let down = loss_f64(&a, &c, &b);
                    let numeric = (up - down) / (2.0 * h);
                    let analytic = if which == 0 {
                        gr.w_e[(n / 16, n % 16)]
                    } else {
                        gr.w_u[(n / 30, n % 30)]
                    } as f64;
                    // f32 gradient (|g| up to ~0.3) against an f64 difference quotient whose
                    // truncation error is O(h²): agreement to f32 rounding of the sums.
                    let err = (analytic - numeric).abs();
                    assert!(
                        err <= 2e-6 + 1e-4 * numeric.abs(),
                        "seed {seed} {} [{n}]: analytic {analytic:e}, numeric {numeric:e}",
                        ["W_E", "W_U"][which]
                    );
                    worst = worst.max(err);
                }
            }
            std::println!("seed {seed} scale {scale}: worst |analytic - numeric| {worst:e}");
        }
    }

    #[test]
    fn run_time_sized_loss_gives_the_tiers_bits() {
        fn check<const V: usize, const D: usize>(v: usize, d: usize, seed: u64, scale: f32) {
            let mut g = crate::rng::TorchGenerator::new(seed);
            let (mut we, mut wu) = (std::vec![0f32; v * d], std::vec![0f32; d * v]);
            g.randn(&mut we);
            g.randn(&mut wu);
            we.iter_mut().chain(wu.iter_mut()).for_each(|x| *x *= scale);
            let mut c = std::vec![0f32; v * v];
            g.randn(&mut c);
            // Sparse counts, some rows empty, as a text gives.
            let counts: std::vec::Vec<u64> = c.iter().map(|x| (x * 4.0).max(0.0) as u64).collect();
            let m = Model::<V, D>::from_row_major(v, d, &we, &wu).unwrap();
            let b = Bigrams::<V>::from_count_table(v, &counts).unwrap();
            let ours = loss_at(v, d, &we, &wu, &counts);
            assert_eq!(ours.to_bits(), loss(&m, &b).to_bits(), "{v}×{d} at {V}×{D}");
        }
        for (seed, scale) in [(1u64, 0.3f32), (2, 1.0), (3, 4.0)] {
            check::<30, 16>(30, 16, seed, scale);
            check::<32, 8>(17, 5, seed, scale);
            check::<64, 32>(64, 32, seed, scale);
            check::<256, 64>(200, 40, seed, scale);
        }
    }

    #[test]
    fn padded_model_gives_the_same_bits() {
        let vocab = Vocab::seed();
        let b30 = Bigrams::<30>::from_text(&vocab, SEED_TEXT).unwrap();
        let tokens = vocab.encode(SEED_TEXT).map(|t| t.unwrap());
        let b32 = Bigrams::<32>::from_tokens(30, tokens).unwrap();
        let m30 = Model::<30, 16>::init_torch(0, 30, 16).unwrap();
        let m32 = Model::<32, 20>::init_torch(0, 30, 16).unwrap();
        let (mut w30, mut g30) = (Workspace::default(), Grads::default());
        let (mut w32, mut g32) = (Workspace::default(), Grads::default());
        let l30 = loss_and_grad(&m30, &b30, &mut w30, &mut g30);
        let l32 = loss_and_grad(&m32, &b32, &mut w32, &mut g32);
        assert_eq!(l30.to_bits(), l32.to_bits());
        for i in 0..30 {
            for k in 0..16 {
                assert_eq!(g30.w_e[(i, k)].to_bits(), g32.w_e[(i, k)].to_bits());
                assert_eq!(g30.w_u[(k, i)].to_bits(), g32.w_u[(k, i)].to_bits());
            }
        }
        assert!(g32.w_e.rows(30, 2).iter().all(|&x| x == 0.0));
        assert!(g32.w_u.columns(30, 2).iter().all(|&x| x == 0.0));
        assert!(g32.w_u.rows(16, 4).iter().all(|&x| x == 0.0));
    }
}
