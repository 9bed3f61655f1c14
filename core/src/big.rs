//! Exact training at any vocabulary size: the reference order at run-time sizes, over sparse
//! counts, in tiles of rows, with every buffer the caller's.
//!
//! [`crate::Trainer`] holds V×V matrices on the stack, which caps it at the capacity tiers. This
//! trainer never holds more than a tile of `R` rows × V of the logits: row tile after row tile it
//! computes each row's logits, softmax, loss term, row of `G` and row of `∂W_E`, then adds the
//! tile's rows to `∂W_U`. Every sum is [`crate::loss`]'s, element by element, in the same order:
//!
//! ```text
//! L_ij     = 0 + Σ_k W_E[i,k]·W_U[k,j]                  k ascending
//! mx_i     = max_j L_ij (from L_i0, f32::max)     s_i = 0 + Σ_j exp(L_ij − mx_i)    j ascending
//! lse_i    = mx_i + ln s_i,   p_ij = exp(L_ij − mx_i) / s_i
//! loss     = (0 + Σ_i (0 + Σ_j C_ij·(lse_i − L_ij))) / N      i, j ascending
//! G_ij     = (n_i·p_ij − C_ij) / N
//! ∂W_E[i,k] = 0 + Σ_j G_ij·W_U[k,j]     ∂W_U[k,j] = 0 + Σ_i G_ij·W_E[i,k]    j, i ascending
//! ```
//!
//! with `C_ij` the count as f32, `n_i` the row's u64 total as f32 and `N` the u64 total as f32;
//! then AdamW ([`crate::adamw::update`]). The tile size changes nothing: `∂W_U` is added to row
//! after row, tile after tile, each element one sequential sum. So for V ≤ 256 an epoch here is
//! [`crate::Trainer::step`] to the bit, and every faster path (zl-lanes' vectors and threads, the
//! GPU's tiles) must give these bits.
//!
//! Weights, moments, gradients and the tile are slices, row-major as files store them: `W_E`
//! v×d, `W_U` d×v. Memory is O(V·d + R·V); the counts are a [`Csr`], O(pairs).

use crate::{
    adamw::{update, AdamWConfig},
    checksum,
    csr::Csr,
    math,
    model::ShapeError,
    train::Diverged,
};

/// One pair of matrices in the weights' shapes, row-major: `W_E` v×d and `W_U` d×v (the
/// weights, a moment, or a gradient).
#[derive(Debug)]
pub struct Pair<'a> {
    /// v×d, row `i` token i's embedding.
    pub w_e: &'a mut [f32],
    /// d×v, row `k` dimension k's read-out over the vocabulary.
    pub w_u: &'a mut [f32],
}

impl Pair<'_> {
    /// Whether both matrices have the shapes of a `vocab_len` × `d_model` model.
    fn fits(&self, vocab_len: usize, d_model: usize) -> bool {
        let n = vocab_len * d_model;
        self.w_e.len() == n && self.w_u.len() == n
    }
}

/// A model and its AdamW state, all the caller's: the weights, both moments (`exp_avg`,
/// `exp_avg_sq`), the steps taken and the settings.
#[derive(Debug)]
pub struct State<'a> {
    /// Columns of `W_E` (rows of `W_U`).
    pub d_model: usize,
    /// The weights.
    pub weights: Pair<'a>,
    /// First moments.
    pub m: Pair<'a>,
    /// Second moments.
    pub v: Pair<'a>,
    /// AdamW steps taken (0 for fresh moments).
    pub step: &'a mut u32,
    /// AdamW's settings.
    pub adamw: AdamWConfig,
}

impl State<'_> {
    /// Checks every slice against a vocabulary of `vocab_len` tokens.
    pub fn check(&self, vocab_len: usize) -> Result<(), ShapeError> {
        let d = self.d_model;
        if vocab_len == 0
            || d == 0
            || ![&self.weights, &self.m, &self.v]
                .iter()
                .all(|p| p.fits(vocab_len, d))
        {
            return Err(shape(vocab_len, d));
        }
        Ok(())
    }

    /// Whether every weight is finite.
    pub fn is_finite(&self) -> bool {
        let w = &self.weights;
        w.w_e.iter().chain(w.w_u.iter()).all(|x| x.is_finite())
    }
}

/// A [`ShapeError`] for slices that do not hold a `v` × `d` model (no capacity applies here).
fn shape(v: usize, d: usize) -> ShapeError {
    ShapeError {
        vocab_len: v,
        d_model: d,
        max_vocab: usize::MAX,
        max_d_model: usize::MAX,
    }
}

/// The caller's scratch for one epoch, cut from one buffer of [`Scratch::len`] floats: the tile
/// (`tile_rows` rows × v, the logits then `G`), each row's loss term, and the gradients.
#[derive(Debug)]
pub struct Scratch<'a> {
    tile_rows: usize,
    tile: &'a mut [f32],
    row_loss: &'a mut [f32],
    /// The last epoch's gradient (∂loss/∂W_E, ∂loss/∂W_U).
    pub grad: Pair<'a>,
}

impl<'a> Scratch<'a> {
    /// Floats a `v` × `d` model's scratch takes with tiles of `tile_rows` rows.
    pub const fn len(v: usize, d: usize, tile_rows: usize) -> usize {
        tile_rows * v + v + 2 * v * d
    }

    /// Cuts `buf` (at least [`Scratch::len`] floats) into a `v` × `d` model's scratch.
    pub fn new(
        buf: &'a mut [f32],
        v: usize,
        d: usize,
        tile_rows: usize,
    ) -> Result<Self, ShapeError> {
        if tile_rows == 0 || v == 0 || d == 0 || buf.len() < Self::len(v, d, tile_rows) {
            return Err(shape(v, d));
        }
        let (tile, rest) = buf.split_at_mut(tile_rows * v);
        let (row_loss, rest) = rest.split_at_mut(v);
        let (w_e, rest) = rest.split_at_mut(v * d);
        let w_u = &mut rest[..v * d];
        Ok(Scratch {
            tile_rows,
            tile,
            row_loss,
            grad: Pair { w_e, w_u },
        })
    }

    /// Each row's loss term `Σ_j C_ij·(lse_i − L_ij)` of the last epoch or loss.
    pub fn row_loss(&self) -> &[f32] {
        self.row_loss
    }
}

pub use crate::rng::init_torch;

/// Row `i`'s logits `L_ij = 0 + Σ_k W_E[i,k]·W_U[k,j]` into `out` (v floats), from `W_E`'s
/// row `i` and `W_U` (d×v).
pub fn logits_row(w_e_row: &[f32], w_u: &[f32], out: &mut [f32]) {
    let v = out.len();
    out.fill(0.0);
    for (k, &we) in w_e_row.iter().enumerate() {
        for (l, &wu) in out.iter_mut().zip(&w_u[k * v..(k + 1) * v]) {
            *l += wu * we;
        }
    }
}

/// The softmax of a row of logits, in place: `e_ij = exp(L_ij − mx)` into `row`; returns
/// `(s, lse)`. Reads the logits it overwrites, so `loss_term` runs first.
fn softmax_row(row: &mut [f32], mx: f32) -> f32 {
    let mut s = 0.0f32;
    for x in row.iter_mut() {
        *x = math::exp(*x - mx);
        s += *x;
    }
    s
}

/// `mx_i`: the row's maximum, from `L_i0`, as `f32::max` folds it.
fn row_max(row: &[f32]) -> f32 {
    row[1..].iter().fold(row[0], |m, x| m.max(*x))
}

/// `Σ_j C_ij·(lse − L_ij)`, j ascending over every column (a zero count adds `0·(lse − L_ij)`:
/// +0, or NaN where that difference is not finite), for a row of logits and its counts.
pub fn loss_term(row: &[f32], lse: f32, cols: &[u32], counts: &[u64]) -> f32 {
    let mut acc = 0.0f32;
    let mut next = cols.iter().zip(counts).peekable();
    for (j, &l) in row.iter().enumerate() {
        let c = match next.peek() {
            Some((&col, &c)) if col as usize == j => {
                next.next();
                c as f32
            }
            _ => 0.0,
        };
        acc += c * (lse - l);
    }
    acc
}

/// Forward pass of rows `rows` into `tile` (one row of v per row): the logits, then `G`'s rows
/// when `grad` (else the exponentials); each row's loss term into `row_loss`.
fn rows_forward(
    (w_e, w_u): (&[f32], &[f32]),
    d: usize,
    b: &Csr<'_>,
    rows: core::ops::Range<usize>,
    tile: &mut [f32],
    row_loss: &mut [f32],
    grad: bool,
) {
    let v = b.vocab_len();
    let big_n = b.total() as f32;
    for (i, row) in rows.zip(tile.chunks_exact_mut(v)) {
        logits_row(&w_e[i * d..(i + 1) * d], w_u, row);
        let mx = row_max(row);
        // The loss term reads the logits; it needs lse, which needs the sum of the exponentials:
        // so the sum first, from a pass that does not yet overwrite the logits.
        let mut s = 0.0f32;
        for &x in row.iter() {
            s += math::exp(x - mx);
        }
        let lse = mx + math::ln(s);
        let (cols, counts) = b.row(i);
        row_loss[i] = loss_term(row, lse, cols, counts);
        if !grad {
            continue;
        }
        let s2 = softmax_row(row, mx);
        debug_assert_eq!(s.to_bits(), s2.to_bits());
        // G_ij = (n_i·p_ij − C_ij)/N, p_ij = e_ij/s_i.
        let n = counts.iter().sum::<u64>() as f32;
        let mut next = cols.iter().zip(counts).peekable();
        for (j, g) in row.iter_mut().enumerate() {
            let c = match next.peek() {
                Some((&col, &c)) if col as usize == j => {
                    next.next();
                    c as f32
                }
                _ => 0.0,
            };
            let p = *g / s;
            *g = (n * p - c) / big_n;
        }
    }
}

/// `(0 + Σ_i acc_i) / N`, i ascending.
fn mean(row_loss: &[f32], b: &Csr<'_>) -> f32 {
    let mut total = 0.0f32;
    for a in row_loss {
        total += *a;
    }
    total / b.total() as f32
}

/// The loss of the weights in `state` on `b`, without a gradient (the tile and row sums of
/// `scratch` are overwritten).
pub fn loss(state: &State<'_>, b: &Csr<'_>, scratch: &mut Scratch<'_>) -> f32 {
    let (v, d) = (b.vocab_len(), state.d_model);
    state
        .check(v)
        .expect("the state holds a model of the counts' vocabulary");
    let r = scratch.tile_rows;
    let mut i0 = 0;
    while i0 < v {
        let i1 = (i0 + r).min(v);
        let w = &state.weights;
        rows_forward(
            (w.w_e, w.w_u),
            d,
            b,
            i0..i1,
            scratch.tile,
            scratch.row_loss,
            false,
        );
        i0 = i1;
    }
    mean(scratch.row_loss, b)
}

/// One epoch of [`crate::Trainer::step`] at run-time size: the loss before the update and its
/// gradient (into `scratch.grad`), then, if that loss is finite, one AdamW step (`state.step`
/// counts it). Returns the loss.
///
/// Panics unless `state` and `scratch` hold a model of `b`'s vocabulary ([`State::check`],
/// [`Scratch::new`]).
pub fn epoch(state: &mut State<'_>, b: &Csr<'_>, scratch: &mut Scratch<'_>) -> f32 {
    let (v, d) = (b.vocab_len(), state.d_model);
    state
        .check(v)
        .expect("the state holds a model of the counts' vocabulary");
    assert!(
        scratch.grad.fits(v, d),
        "the scratch holds a model of the counts' vocabulary"
    );
    let r = scratch.tile_rows;
    let (w_e, w_u) = (&*state.weights.w_e, &*state.weights.w_u);
    let (ge, gu) = (&mut *scratch.grad.w_e, &mut *scratch.grad.w_u);
    gu.fill(0.0);
    let mut i0 = 0;
    while i0 < v {
        let i1 = (i0 + r).min(v);
        let tile = &mut scratch.tile[..(i1 - i0) * v];
        rows_forward((w_e, w_u), d, b, i0..i1, tile, scratch.row_loss, true);
        for (i, g) in (i0..i1).zip(tile.chunks_exact(v)) {
            // ∂W_E[i,k] = 0 + Σ_j G_ij·W_U[k,j], j ascending.
            for (k, out) in ge[i * d..(i + 1) * d].iter_mut().enumerate() {
                let mut acc = 0.0f32;
                for (g, wu) in g.iter().zip(&w_u[k * v..(k + 1) * v]) {
                    acc += g * wu;
                }
                *out = acc;
            }
            // ∂W_U[k,j] += G_ij·W_E[i,k]: row i after the rows before it.
            for (k, &we) in w_e[i * d..(i + 1) * d].iter().enumerate() {
                for (out, g) in gu[k * v..(k + 1) * v].iter_mut().zip(g) {
                    *out += g * we;
                }
            }
        }
        i0 = i1;
    }
    let loss = mean(scratch.row_loss, b);
    if loss.is_finite() {
        *state.step += 1;
        let s = state.adamw.scalars(*state.step);
        let (p, m, vv) = (&mut state.weights, &mut state.m, &mut state.v);
        update(p.w_e, m.w_e, vv.w_e, &scratch.grad.w_e[..], &s);
        update(p.w_u, m.w_u, vv.w_u, &scratch.grad.w_u[..], &s);
    }
    loss
}

/// The end of a run of `epochs` epochs, as [`crate::Trainer::final_loss`]: the loss after the last
/// update, or [`Diverged`] at `epochs` when that loss or any weight is not finite.
pub fn final_loss(
    state: &State<'_>,
    b: &Csr<'_>,
    scratch: &mut Scratch<'_>,
    epochs: u32,
) -> Result<f32, Diverged> {
    let l = loss(state, b, scratch);
    if l.is_finite() && state.is_finite() {
        Ok(l)
    } else {
        Err(Diverged {
            epoch: epochs,
            loss: l,
        })
    }
}

/// [`crate::Trainer::run`] at run-time size: `epochs` epochs, `on_epoch(epoch, loss)` after each,
/// stopping at the first loss that is not finite; the loss after the last update, or
/// [`Diverged`].
pub fn run(
    state: &mut State<'_>,
    b: &Csr<'_>,
    scratch: &mut Scratch<'_>,
    epochs: u32,
    mut on_epoch: impl FnMut(u32, f32),
) -> Result<f32, Diverged> {
    for e in 0..epochs {
        let l = epoch(state, b, scratch);
        if !l.is_finite() {
            return Err(Diverged { epoch: e, loss: l });
        }
        on_epoch(e, l);
    }
    final_loss(state, b, scratch, epochs)
}

/// FNV-1a 32 of `W_E` then `W_U` (row-major): [`checksum::weights_fnv1a`] of slices.
pub fn weights_fnv1a(w_e: &[f32], w_u: &[f32]) -> u32 {
    checksum::fnv1a_f32(
        checksum::fnv1a_f32(checksum::FNV_OFFSET, w_e.iter().copied()),
        w_u.iter().copied(),
    )
}

/// The checksum line ([`checksum::write_line`]'s format) of row-major weights.
pub fn write_checksum_line(
    out: &mut impl core::fmt::Write,
    epochs: u32,
    final_loss: f32,
    w_e: &[f32],
    w_u: &[f32],
) -> core::fmt::Result {
    checksum::write_line_of(out, epochs, final_loss, weights_fnv1a(w_e, w_u))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{corpus::Vocab, rng::TorchGenerator, Bigrams, Model, Trainer, SEED_TEXT};
    use alloc::{string::String, vec, vec::Vec};
    use proptest::prelude::*;

    /// A dense row-major table as CSR slices.
    fn sparse(v: usize, table: &[u64]) -> (Vec<usize>, Vec<u32>, Vec<u64>) {
        let (mut rs, mut col, mut count) = (vec![0], vec![], vec![]);
        for i in 0..v {
            for j in 0..v {
                if table[i * v + j] > 0 {
                    col.push(j as u32);
                    count.push(table[i * v + j]);
                }
            }
            rs.push(col.len());
        }
        (rs, col, count)
    }

    /// A model, its moments and step count, owned.
    #[derive(Clone, Debug, PartialEq)]
    struct Owned {
        d: usize,
        w: [Vec<f32>; 6],
        step: u32,
    }

    impl Owned {
        fn new(v: usize, d: usize, seed: u64) -> Self {
            let mut w: [Vec<f32>; 6] = core::array::from_fn(|_| vec![0.0; v * d]);
            let [e, u, ..] = &mut w;
            init_torch(seed, d, e, u);
            Owned { d, w, step: 0 }
        }

        fn state(&mut self, adamw: AdamWConfig) -> State<'_> {
            let [e, u, me, mu, ve, vu] = &mut self.w;
            State {
                d_model: self.d,
                weights: Pair { w_e: e, w_u: u },
                m: Pair { w_e: me, w_u: mu },
                v: Pair { w_e: ve, w_u: vu },
                step: &mut self.step,
                adamw,
            }
        }

        fn bits(&self) -> Vec<u32> {
            self.w.iter().flatten().map(|x| x.to_bits()).collect()
        }
    }

    /// A trainer's weights, moments (row-major) and step count, as `Owned`.
    fn of_trainer<const V: usize, const D: usize>(t: &Trainer<V, D>, v: usize, d: usize) -> Owned {
        let row_e = |m: &nalgebra::SMatrix<f32, V, D>| -> Vec<f32> {
            (0..v * d).map(|n| m[(n / d, n % d)]).collect()
        };
        let row_u = |m: &nalgebra::SMatrix<f32, D, V>| -> Vec<f32> {
            (0..v * d).map(|n| m[(n / v, n % v)]).collect()
        };
        let o = &t.opt;
        Owned {
            d,
            w: [
                row_e(&t.model.w_e),
                row_u(&t.model.w_u),
                row_e(&o.m.w_e),
                row_u(&o.m.w_u),
                row_e(&o.v.w_e),
                row_u(&o.v.w_u),
            ],
            step: o.step,
        }
    }

    /// Runs the tiled trainer and `Trainer<V, D>` on the same counts from the same weights and
    /// checks every loss, the end, the weights, both moments, the step count and the last
    /// gradient, bit for bit.
    fn same_as_trainer<const V: usize, const D: usize>(
        v: usize,
        d: usize,
        table: &[u64],
        seed: u64,
        adamw: AdamWConfig,
        epochs: u32,
        tile_rows: usize,
    ) -> Result<(), TestCaseError> {
        let (rs, col, count) = sparse(v, table);
        let b = Csr::new(v, &rs, &col, &count).unwrap();
        let dense = Bigrams::<V>::from_count_table(v, table).unwrap();
        let mut t = Trainer::new(Model::<V, D>::init_torch(seed, v, d).unwrap(), adamw);
        let mut ours = Owned::new(v, d, seed);
        prop_assert_eq!(&ours, &of_trainer(&t, v, d), "init_torch");
        let mut buf = vec![0.0; Scratch::len(v, d, tile_rows)];
        let mut scratch = Scratch::new(&mut buf, v, d, tile_rows).unwrap();
        let (mut la, mut lb) = (vec![], vec![]);
        let ra = run(&mut ours.state(adamw), &b, &mut scratch, epochs, |_, l| {
            la.push(l.to_bits())
        });
        let rb = t.run(&dense, epochs, |_, l| lb.push(l.to_bits()));
        let bits = |r: Result<f32, Diverged>| {
            r.map(f32::to_bits)
                .map_err(|e| (e.epoch, if e.loss.is_nan() { 0 } else { e.loss.to_bits() }))
        };
        prop_assert_eq!(bits(ra), bits(rb), "end");
        prop_assert_eq!(la, lb, "losses");
        prop_assert!(
            ours.bits() == of_trainer(&t, v, d).bits(),
            "weights or moments"
        );
        prop_assert_eq!(ours.step, t.opt.step);
        if ra.is_ok() && epochs > 0 {
            // The last epoch's gradient (the core's, of the weights before the last update).
            let g = &scratch.grad;
            let ge: Vec<u32> = (0..v * d)
                .map(|n| t.grads.w_e[(n / d, n % d)].to_bits())
                .collect();
            let gu: Vec<u32> = (0..v * d)
                .map(|n| t.grads.w_u[(n / v, n % v)].to_bits())
                .collect();
            prop_assert!(g.w_e.iter().map(|x| x.to_bits()).eq(ge), "∂W_E");
            prop_assert!(g.w_u.iter().map(|x| x.to_bits()).eq(gu), "∂W_U");
        }
        Ok(())
    }

    /// Random counts: a share of zero cells, some rows and columns all zero.
    fn table(v: usize, seed: u64, zero_rows: &[usize], zero_cols: &[usize]) -> Vec<u64> {
        let mut g = TorchGenerator::new(seed);
        let mut t: Vec<u64> = (0..v * v)
            .map(|_| (g.next_u32() % 7).saturating_sub(3) as u64)
            .collect();
        for &i in zero_rows {
            t[(i % v) * v..(i % v + 1) * v].fill(0);
        }
        for &j in zero_cols {
            for i in 0..v {
                t[i * v + j % v] = 0;
            }
        }
        if t.iter().all(|&c| c == 0) {
            t[0] = 1;
        }
        t
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any size up to the 64×16 tier, any tile, any rate: Trainer::run's bits.
        #[test]
        fn tiles_give_the_trainers_bits(
            v in 1usize..=64,
            d in 1usize..=16,
            tile in 1usize..=70,
            seed in 0u64..1000,
            lr in prop::sample::select(vec![1e-3, 3e-2, 1.0]),
            wd in prop::sample::select(vec![0.0, 0.01, 0.3]),
            zero_rows in prop::collection::vec(0usize..64, 0..4),
            zero_cols in prop::collection::vec(0usize..64, 0..4),
            epochs in 0u32..6,
        ) {
            let adamw = AdamWConfig { lr, weight_decay: wd, ..AdamWConfig::default() };
            let t = table(v, seed, &zero_rows, &zero_cols);
            same_as_trainer::<64, 16>(v, d, &t, seed, adamw, epochs, tile)?;
        }
    }

    /// Larger sizes than the property's, and a diverging rate, on a thread with a stack for the
    /// 256×64 tier.
    #[test]
    fn large_tiers_and_divergence_give_the_trainers_bits() {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(|| {
                for (v, d, tile, lr, epochs) in [
                    (256, 64, 7, 1e-3, 3),
                    (200, 40, 256, 1e-2, 3),
                    (131, 3, 1, 1e-3, 4),
                    (100, 64, 33, 1e30, 20),
                ] {
                    let adamw = AdamWConfig {
                        lr,
                        ..AdamWConfig::default()
                    };
                    let t = table(v, v as u64, &[3, 50], &[0, 99]);
                    same_as_trainer::<256, 64>(v, d, &t, 5, adamw, epochs, tile).unwrap();
                }
            })
            .unwrap()
            .join()
            .unwrap();
    }

    /// The seed notebook's run through the tiled trainer: the project's checksum line.
    #[test]
    fn the_seed_run_gives_the_seed_checksum() {
        let vocab = Vocab::seed();
        let b = Bigrams::<30>::from_text(&vocab, SEED_TEXT).unwrap();
        let table: Vec<u64> = (0..900)
            .map(|n| b.counts[(n / 30, n % 30)] as u64)
            .collect();
        let (rs, col, count) = sparse(30, &table);
        let c = Csr::new(30, &rs, &col, &count).unwrap();
        let mut m = Owned::new(30, 16, 0);
        let mut buf = vec![0.0; Scratch::len(30, 16, 8)];
        let mut scratch = Scratch::new(&mut buf, 30, 16, 8).unwrap();
        let l = run(
            &mut m.state(AdamWConfig::default()),
            &c,
            &mut scratch,
            10_000,
            |_, _| {},
        )
        .unwrap();
        let mut line = String::new();
        write_checksum_line(&mut line, 10_000, l, &m.w[0], &m.w[1]).unwrap();
        assert_eq!(
            line,
            "epochs=10000 final_loss=0x3fcda979 weights_fnv1a=0xc090f5b0"
        );
    }

    /// Beyond the tiers (V = 300): the loss against the same loss evaluated independently in
    /// f64, position by position of the counts.
    #[test]
    fn beyond_the_tiers_the_loss_is_the_f64_loss() {
        let (v, d) = (300, 12);
        let t = table(v, 9, &[7], &[11]);
        let (rs, col, count) = sparse(v, &t);
        let b = Csr::new(v, &rs, &col, &count).unwrap();
        let mut m = Owned::new(v, d, 3);
        let mut buf = vec![0.0; Scratch::len(v, d, 13)];
        let mut scratch = Scratch::new(&mut buf, v, d, 13).unwrap();
        for _ in 0..3 {
            let ours = loss(&m.state(AdamWConfig::default()), &b, &mut scratch) as f64;
            let (we, wu) = (&m.w[0], &m.w[1]);
            let mut total = 0.0f64;
            for i in 0..v {
                let l: Vec<f64> = (0..v)
                    .map(|j| {
                        (0..d)
                            .map(|k| we[i * d + k] as f64 * wu[k * v + j] as f64)
                            .sum()
                    })
                    .collect();
                let mx = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let lse = mx + l.iter().map(|x| (x - mx).exp()).sum::<f64>().ln();
                total += (0..v)
                    .map(|j| t[i * v + j] as f64 * (lse - l[j]))
                    .sum::<f64>();
            }
            let reference = total / t.iter().sum::<u64>() as f64;
            // f32 sums of 300 terms per row and 300 rows, each within a few ulp: 1e-5 relative.
            const F32_SUMS: f64 = 1e-5;
            assert!(
                (ours - reference).abs() <= F32_SUMS * reference,
                "{ours} vs {reference}"
            );
            let before = epoch(
                &mut m.state(AdamWConfig {
                    lr: 1e-1,
                    ..Default::default()
                }),
                &b,
                &mut scratch,
            );
            assert_eq!(
                before.to_bits(),
                (ours as f32).to_bits(),
                "epoch's loss is loss'"
            );
        }
    }

    #[test]
    fn wrong_sizes_are_refused() {
        let mut buf = vec![0.0; 10];
        assert!(Scratch::new(&mut buf, 3, 2, 1).is_err());
        assert!(Scratch::new(&mut buf, 2, 1, 0).is_err());
        let mut m = Owned::new(4, 2, 0);
        let s = m.state(AdamWConfig::default());
        assert!(s.check(4).is_ok() && s.check(5).is_err());
    }
}
