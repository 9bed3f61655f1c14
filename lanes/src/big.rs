//! zl-core's large-V trainer ([`zl_core::big`]) on this CPU's vector units and threads, with its
//! bits.
//!
//! Rows go to threads and columns to vector lanes where a sum runs along the other index, so
//! that every element's sum stays the reference's one sequential chain:
//!
//! - **Row phase** (a tile of `R` rows per thread): `W_E·W_U`, the softmax and `∂W_E` with the
//!   tile's rows in the lanes (the tile is stored column by column, `R` floats per column), each
//!   product a register-blocked micro-kernel ([`kernel`]: `NB` broadcast scalars × `NV`
//!   registers of rows, one `mul` then one `add` per term, the sum's index ascending).
//! - **Column phase**: `∂W_U[k,j] += Σ_i G_ij·W_E[i,k]` over a group's tiles in ascending row
//!   order, each thread owning a block of columns for the whole epoch, with `W_E`'s dimensions
//!   in the lanes.
//!
//! The phases alternate on two sets of tile buffers: while the threads compute the rows of
//! group `g` (`PER` tiles each), they add group `g − 1`'s tiles to their columns; one barrier per
//! group.
//!
//! The sparse counts enter through the pairs that occur only: `G_ij = (n_i·p_ij − 0)/N` is
//! `(n_i·p_ij)/N` (subtracting +0 changes no float), computed over the whole tile and then
//! corrected at the pairs; a zero count's loss term `0·(lse_i − L_ij)` is +0, which adds
//! nothing to a sum of non-negative terms, unless `lse_i − L_ij` is not finite: a row where
//! `lse_i − min_j L_ij` (the largest difference) is not finite takes the reference's dense sum.

// Index loops mirror the maths, as in wide.rs.
#![allow(clippy::needless_range_loop)]

use std::sync::{Barrier, RwLock};

use zl_core::{
    big::{self, Pair, State},
    math, AdamWConfig, Csr, Diverged,
};

use crate::{
    wide::{Lanes, Param},
    Isa, Kind,
};

/// A model of any size and its AdamW state, owned (row-major, as files store them): what
/// [`zl_core::big::State`] borrows.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Columns of `W_E` (rows of `W_U`).
    pub d_model: usize,
    /// `W_E` v×d, `W_U` d×v.
    pub w_e: Vec<f32>,
    /// See `w_e`.
    pub w_u: Vec<f32>,
    /// First moments of `W_E` and `W_U`.
    pub m: [Vec<f32>; 2],
    /// Second moments of `W_E` and `W_U`.
    pub v: [Vec<f32>; 2],
    /// AdamW steps taken.
    pub step: u32,
    /// AdamW's settings.
    pub adamw: AdamWConfig,
}

impl Model {
    /// `init_torch(seed)` weights of `vocab_len` tokens × `d_model`, with fresh moments.
    pub fn init_torch(seed: u64, vocab_len: usize, d_model: usize, adamw: AdamWConfig) -> Model {
        let n = vocab_len * d_model;
        let (mut w_e, mut w_u) = (vec![0.0; n], vec![0.0; n]);
        big::init_torch(seed, d_model, &mut w_e, &mut w_u);
        Model {
            d_model,
            w_e,
            w_u,
            m: [vec![0.0; n], vec![0.0; n]],
            v: [vec![0.0; n], vec![0.0; n]],
            step: 0,
            adamw,
        }
    }

    /// The borrowed view the trainers take.
    pub fn state(&mut self) -> State<'_> {
        let ([me, mu], [ve, vu]) = (&mut self.m, &mut self.v);
        State {
            d_model: self.d_model,
            weights: Pair {
                w_e: &mut self.w_e,
                w_u: &mut self.w_u,
            },
            m: Pair { w_e: me, w_u: mu },
            v: Pair { w_e: ve, w_u: vu },
            step: &mut self.step,
            adamw: self.adamw,
        }
    }
}

/// A model's large-V training on one instruction set and some threads: the scratch they keep
/// between epochs (O(V·d + threads·R·V) floats), and [`zl_core::big`]'s epoch, loss and run.
pub struct Big {
    isa: Isa,
    threads: usize,
    v: usize,
    d: usize,
    /// Rows per tile, and the same rounded up to whole panels of `NV` registers.
    rows: usize,
    rp: usize,
    /// `d` rounded up to whole registers.
    dp: usize,
    /// `W_U` transposed (v×d), `W_E` with rows of `dp` (v×dp), `∂W_U` transposed (v×dp).
    wut: Vec<f32>,
    wep: Vec<f32>,
    gut: Vec<f32>,
    /// The gradient, row-major: ∂W_E v×d, ∂W_U d×v.
    ge: Vec<f32>,
    gu: Vec<f32>,
    row_loss: Vec<f32>,
    /// Each row's count total `n_i` as f32.
    n: Vec<f32>,
    /// Two sets of `PER` tile buffers per thread (`v × rp`, column by column).
    tiles: Vec<RwLock<Vec<f32>>>,
    own: Vec<Own>,
}

/// One thread's scratch.
#[derive(Default)]
struct Own {
    /// The tile's `W_E` transposed (d × rp, zeros past its rows), and its `∂W_E` (d × rp).
    we_t: Vec<f32>,
    ge_t: Vec<f32>,
    /// The tile's logits at its pairs, then `G` there.
    pairs: Vec<f32>,
    /// A row's logits, for a row whose loss terms are not all finite.
    row: Vec<f32>,
    /// Per row of the tile: max, −min, the sum of exponentials, lse, n.
    mx: Vec<f32>,
    neg_min: Vec<f32>,
    sum: Vec<f32>,
    lse: Vec<f32>,
    n: Vec<f32>,
}

/// Tiles each thread computes between two barriers: a group is `PER` × threads tiles. More
/// barriers cost nothing measurable here (4 gave the same epoch times at V = 5,000); each adds
/// 2 × threads tiles of memory.
const PER: usize = 1;

/// Columns of a tile per pass of the products that read it: 128 × (48 rows) floats, 24 KiB.
const CHUNK: usize = 128;

/// What every thread reads during an epoch.
struct Shared<'a> {
    v: usize,
    d: usize,
    rows: usize,
    rp: usize,
    dp: usize,
    threads: usize,
    /// Tiles per thread per group.
    per: usize,
    tiles: usize,
    groups: usize,
    grad: bool,
    w_e: &'a [f32],
    w_u: &'a [f32],
    wut: &'a [f32],
    wep: &'a [f32],
    n: &'a [f32],
    big_n: f32,
    b: &'a Csr<'a>,
    bufs: &'a [RwLock<Vec<f32>>],
    barrier: Barrier,
}

/// What one thread writes during an epoch: its scratch, the rows of `∂W_E` and loss terms of its
/// tiles (in ascending order), and its block of `∂W_U`'s columns.
struct Mine<'a> {
    t: usize,
    own: &'a mut Own,
    ge: Vec<&'a mut [f32]>,
    loss: Vec<&'a mut [f32]>,
    cols: core::ops::Range<usize>,
    gut: &'a mut [f32],
}

/// `out[c][v] (+)= Σ_t b[c·sbc + t·sbt] · x[t·sx + v·L ..][..L]`, t ascending over `count`, for
/// `NB` columns `c` and `NV` registers `v`: each lane one sequential sum, from +0 or from `out`
/// (`load`). `out[c][v]` is at `c·so + v·L`. The shape of all three products.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn kernel<S: Lanes, const NB: usize, const NV: usize>(
    x: &[f32],
    sx: usize,
    count: usize,
    b: &[f32],
    (sbc, sbt): (usize, usize),
    out: &mut [f32],
    so: usize,
    load: bool,
) {
    let l = S::L;
    let mut acc = [[S::zero(); NV]; NB];
    if load {
        for c in 0..NB {
            for v in 0..NV {
                acc[c][v] = S::load(&out[c * so + v * l..][..l]);
            }
        }
    }
    let mut xv = [S::zero(); NV];
    for t in 0..count {
        let xt = &x[t * sx..];
        for v in 0..NV {
            xv[v] = S::load(&xt[v * l..][..l]);
        }
        for c in 0..NB {
            let bc = S::splat(b[c * sbc + t * sbt]);
            for v in 0..NV {
                acc[c][v] = S::add(acc[c][v], S::mul(bc, xv[v]));
            }
        }
    }
    for c in 0..NB {
        for v in 0..NV {
            S::store(&mut out[c * so + v * l..][..l], acc[c][v]);
        }
    }
}

/// [`kernel`] over `n` columns: blocks of `NB`, then of 4, then single ones.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn kernel_cols<S: Lanes, const NB: usize, const NV: usize>(
    n: usize,
    x: &[f32],
    sx: usize,
    count: usize,
    b: &[f32],
    (sbc, sbt): (usize, usize),
    out: &mut [f32],
    so: usize,
    load: bool,
) {
    let mut c0 = 0;
    while c0 < n {
        let (b, out) = (&b[c0 * sbc..], &mut out[c0 * so..]);
        let rem = n - c0;
        if rem >= NB {
            kernel::<S, NB, NV>(x, sx, count, b, (sbc, sbt), out, so, load);
            c0 += NB;
        } else if rem >= 4 && NB > 4 {
            kernel::<S, 4, NV>(x, sx, count, b, (sbc, sbt), out, so, load);
            c0 += 4;
        } else {
            kernel::<S, 1, NV>(x, sx, count, b, (sbc, sbt), out, so, load);
            c0 += 1;
        }
    }
}

/// The row phase of tile `tile` (this thread's `m`th) into `g` (v × rp, column by column): logits, softmax, loss
/// terms, and with `sh.grad` `G` and the rows of `∂W_E`.
#[inline(always)]
fn rows<S: Lanes, const NB: usize, const NV: usize>(
    sh: &Shared<'_>,
    me: &mut Mine<'_>,
    tile: usize,
    m: usize,
    g: &mut [f32],
) {
    let (v, d, rp, l) = (sh.v, sh.d, sh.rp, S::L);
    let i0 = tile * sh.rows;
    let nr = sh.rows.min(v - i0);
    let o = &mut *me.own;

    // The tile's W_E, transposed, zero past its rows.
    o.we_t.fill(0.0);
    for r in 0..nr {
        for k in 0..d {
            o.we_t[k * rp + r] = sh.w_e[(i0 + r) * d + k];
        }
    }
    o.n.fill(0.0);
    o.n[..nr].copy_from_slice(&sh.n[i0..i0 + nr]);

    // L[j][r] = 0 + Σ_k W_U[k,j]·W_E[i,k], k ascending.
    let panel = NV * l;
    for p in (0..rp).step_by(panel) {
        kernel_cols::<S, NB, NV>(
            v,
            &o.we_t[p..],
            rp,
            d,
            sh.wut,
            (d, 1),
            &mut g[p..],
            rp,
            false,
        );
    }

    // Each row's maximum (f32::max ignores NaN and is exact: the order cannot matter) and
    // −minimum; the logits at the tile's pairs.
    for r0 in (0..rp).step_by(l) {
        let x0 = S::load(&g[r0..][..l]);
        let (mut mx, mut nm) = (x0, S::sub(S::zero(), x0));
        for j in 1..v {
            let x = S::load(&g[j * rp + r0..][..l]);
            mx = S::max(mx, x);
            nm = S::max(nm, S::sub(S::zero(), x));
        }
        S::store(&mut o.mx[r0..][..l], mx);
        S::store(&mut o.neg_min[r0..][..l], nm);
    }
    let (rs, cols, counts) = sh.b.parts();
    let (p0, p1) = (rs[i0], rs[i0 + nr]);
    o.pairs.clear();
    for r in 0..nr {
        for &j in &cols[rs[i0 + r]..rs[i0 + r + 1]] {
            o.pairs.push(g[j as usize * rp + r]);
        }
    }

    // e = exp(L − mx) in place, s = 0 + Σ_j e, j ascending; lse = mx + ln s.
    for r0 in (0..rp).step_by(l) {
        let mx = S::load(&o.mx[r0..][..l]);
        let mut s = S::zero();
        for j in 0..v {
            let at = &mut g[j * rp + r0..][..l];
            let e = S::map(S::sub(S::load(at), mx), math::exp);
            S::store(at, e);
            s = S::add(s, e);
        }
        S::store(&mut o.sum[r0..][..l], s);
        S::store(&mut o.lse[r0..][..l], S::add(mx, S::map(s, math::ln)));
    }

    // Loss terms over the pairs (a zero count's term adds nothing where every term is
    // finite), else the reference's dense sum; then G at the pairs (from their exponentials,
    // still in the tile), in place of their logits.
    let loss = &mut me.loss[m];
    for r in 0..nr {
        let i = i0 + r;
        let (a, b) = (rs[i] - p0, rs[i + 1] - p0);
        let (lse, s, n) = (o.lse[r], o.sum[r], o.n[r]);
        loss[r] = if lse.is_finite() && (lse + o.neg_min[r]).is_finite() {
            let mut acc = 0.0f32;
            for (l, &c) in o.pairs[a..b].iter().zip(&counts[p0 + a..p0 + b]) {
                acc += c as f32 * (lse - *l);
            }
            acc
        } else {
            big::logits_row(&sh.w_e[i * d..(i + 1) * d], sh.w_u, &mut o.row);
            big::loss_term(&o.row, lse, &cols[p0 + a..p0 + b], &counts[p0 + a..p0 + b])
        };
        let at = p0 + a..p0 + b;
        for ((l, &j), &c) in o.pairs[a..b]
            .iter_mut()
            .zip(&cols[at.clone()])
            .zip(&counts[at])
        {
            let p = g[j as usize * rp + r] / s;
            *l = (n * p - c as f32) / sh.big_n;
        }
    }
    if !sh.grad {
        return;
    }

    // G = (n·(e/s))/N over the tile, then the pairs' own.
    let big_n = S::splat(sh.big_n);
    for r0 in (0..rp).step_by(l) {
        let (s, n) = (S::load(&o.sum[r0..][..l]), S::load(&o.n[r0..][..l]));
        for j in 0..v {
            let at = &mut g[j * rp + r0..][..l];
            S::store(at, S::div(S::mul(n, S::div(S::load(at), s)), big_n));
        }
    }
    let mut q = 0;
    for r in 0..nr {
        for &j in &cols[rs[i0 + r]..rs[i0 + r + 1]] {
            g[j as usize * rp + r] = o.pairs[q];
            q += 1;
        }
    }
    debug_assert_eq!(q, p1 - p0);

    // ∂W_E[i,k] = 0 + Σ_j W_U[k,j]·G_ij, j ascending, `CHUNK` columns of the tile at a time
    // (which stay in the first-level cache for every block of k; each sum goes on from where
    // the chunk before left it); then into the rows.
    for p in (0..rp).step_by(panel) {
        for j0 in (0..v).step_by(CHUNK) {
            kernel_cols::<S, NB, NV>(
                d,
                &g[j0 * rp + p..],
                rp,
                CHUNK.min(v - j0),
                &sh.wut[j0 * d..],
                (1, d),
                &mut o.ge_t[p..],
                rp,
                j0 > 0,
            );
        }
    }
    let ge = &mut me.ge[m];
    for r in 0..nr {
        for k in 0..d {
            ge[r * d + k] = o.ge_t[k * rp + r];
        }
    }
}

/// The column phase: the tiles `tiles` (their `G`s, `gs`) added to this thread's columns of
/// `∂W_U` (transposed, `dp` per column), row after row, tile after tile, `CHUNK` columns at a
/// time (which stay in the first-level cache across the tiles).
#[inline(always)]
fn columns<S: Lanes, const NB: usize, const NV: usize>(
    sh: &Shared<'_>,
    me: &mut Mine<'_>,
    tiles: core::ops::Range<usize>,
    gs: &[&[f32]],
) {
    let (rp, dp, l) = (sh.rp, sh.dp, S::L);
    let cols = me.cols.clone();
    for c0 in (0..cols.len()).step_by(CHUNK) {
        let nc = CHUNK.min(cols.len() - c0);
        let j0 = cols.start + c0;
        let mut k0 = 0;
        while k0 < dp {
            let nv = if dp - k0 >= NV * l { NV } else { 1 };
            for (tile, g) in tiles.clone().zip(gs) {
                let i0 = tile * sh.rows;
                let nr = sh.rows.min(sh.v - i0);
                let x = &sh.wep[i0 * dp + k0..];
                let (b, out) = (&g[j0 * rp..], &mut me.gut[c0 * dp + k0..]);
                if nv == NV {
                    kernel_cols::<S, NB, NV>(nc, x, dp, nr, b, (rp, 1), out, dp, true);
                } else {
                    kernel_cols::<S, NB, 1>(nc, x, dp, nr, b, (rp, 1), out, dp, true);
                }
            }
            k0 += nv * l;
        }
    }
}

/// One thread's epoch: the row phase of its tiles and the column phase of its columns, group
/// after group (see the module's comment).
#[inline(always)]
fn worker<S: Lanes, const NB: usize, const NV: usize>(sh: &Shared<'_>, me: &mut Mine<'_>) {
    let (per, gs) = (sh.per, sh.per * sh.threads);
    let steps = sh.groups + usize::from(sh.grad);
    for s in 0..steps {
        if s < sh.groups {
            for m in 0..per {
                let tile = s * gs + me.t * per + m;
                if tile < sh.tiles {
                    let mut g = sh.bufs[(s % 2) * gs + me.t * per + m]
                        .write()
                        .expect("no thread panics holding a tile");
                    rows::<S, NB, NV>(sh, me, tile, s * per + m, &mut g);
                }
            }
        }
        if sh.grad && s >= 1 {
            let group = (s - 1) * gs..(s * gs).min(sh.tiles);
            let guards: Vec<_> = group
                .clone()
                .map(|tile| {
                    sh.bufs[((s - 1) % 2) * gs + tile % gs]
                        .read()
                        .expect("no thread panics holding a tile")
                })
                .collect();
            let gs: Vec<&[f32]> = guards.iter().map(|g| &g[..]).collect();
            columns::<S, NB, NV>(sh, me, group, &gs);
        }
        if sh.grad {
            sh.barrier.wait();
        }
    }
}

/// `∂W_U` back to d×v, then AdamW of both matrices (where the loss was finite).
#[inline(always)]
fn finish<S: Lanes>(big: &mut Big, state: &mut State<'_>, loss: f32) {
    let (v, d, dp) = (big.v, big.d, big.dp);
    for j in 0..v {
        for k in 0..d {
            big.gu[k * v + j] = big.gut[j * dp + k];
        }
    }
    let scalars = loss.is_finite().then(|| {
        *state.step += 1;
        state.adamw.scalars(*state.step)
    });
    let (w, m, vv) = (&mut state.weights, &mut state.m, &mut state.v);
    for (p, m, vv, g) in [
        (&mut *w.w_e, &mut *m.w_e, &mut *vv.w_e, &big.ge),
        (&mut *w.w_u, &mut *m.w_u, &mut *vv.w_u, &big.gu),
    ] {
        Param { p, m, v: vv }.adamw::<S>(scalars.as_ref(), g, 0..v * d);
    }
}

/// One instruction set's instance: the worker and `finish` compiled with its feature, `NB`
/// columns × `NV` registers per micro-kernel (as many accumulators as its registers allow).
macro_rules! instance {
    ($name:ident, $lanes:ty, $nb:literal, $nv:literal $(, $feature:literal)?) => {
        mod $name {
            use super::*;
            pub(super) const PANEL: usize = $nv * <$lanes as Lanes>::L;
            $(#[target_feature(enable = $feature)])?
            pub(super) fn worker(sh: &Shared<'_>, me: &mut Mine<'_>) {
                super::worker::<$lanes, $nb, $nv>(sh, me)
            }
            $(#[target_feature(enable = $feature)])?
            pub(super) fn finish(big: &mut Big, state: &mut State<'_>, loss: f32) {
                super::finish::<$lanes>(big, state, loss)
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
instance!(avx512, crate::wide::Avx512, 8, 3, "avx512f");
#[cfg(target_arch = "x86_64")]
instance!(avx2, crate::wide::Avx2, 4, 3, "avx2");
#[cfg(target_arch = "x86_64")]
instance!(sse2, crate::wide::Sse2, 4, 3);
#[cfg(target_arch = "aarch64")]
instance!(neon, crate::wide::Neon, 8, 3);
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
instance!(simd128, crate::wide::Simd128, 4, 3);

impl Big {
    /// Scratch for a `v` × `d` model on `isa` with `threads` threads (at least 1) and tiles of
    /// `tile_rows` rows (`None`: one panel of the instance's micro-kernel, 48 rows in AVX-512, which
    /// with V = 5,000 fills about half of a 2 MiB second-level cache).
    pub fn new(isa: Isa, threads: usize, tile_rows: Option<usize>, v: usize, d: usize) -> Big {
        let threads = threads.max(1);
        let (panel, lanes) = match isa.0 {
            #[cfg(target_arch = "x86_64")]
            Kind::Portable => (sse2::PANEL, 4),
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2 => (avx2::PANEL, 8),
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512 => (avx512::PANEL, 16),
            #[cfg(target_arch = "aarch64")]
            Kind::Portable | Kind::Neon => (neon::PANEL, 4),
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Kind::Portable | Kind::Simd128 => (simd128::PANEL, 4),
        };
        let rows = tile_rows.unwrap_or(panel).clamp(1, v.max(1));
        let rp = rows.div_ceil(panel) * panel;
        let dp = d.div_ceil(lanes) * lanes;
        let own = (0..threads)
            .map(|_| Own {
                we_t: vec![0.0; d * rp],
                ge_t: vec![0.0; d * rp],
                pairs: Vec::new(),
                row: vec![0.0; v],
                mx: vec![0.0; rp],
                neg_min: vec![0.0; rp],
                sum: vec![0.0; rp],
                lse: vec![0.0; rp],
                n: vec![0.0; rp],
            })
            .collect();
        Big {
            isa,
            threads,
            v,
            d,
            rows,
            rp,
            dp,
            wut: vec![0.0; v * d],
            wep: vec![0.0; v * dp],
            gut: vec![0.0; v * dp],
            ge: vec![0.0; v * d],
            gu: vec![0.0; v * d],
            row_loss: vec![0.0; v],
            n: vec![0.0; v],
            tiles: (0..2 * threads * PER)
                .map(|_| RwLock::new(vec![0.0; v * rp]))
                .collect(),
            own,
        }
    }

    /// The instruction set.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// The last epoch's gradient, row-major: (∂W_E v×d, ∂W_U d×v).
    pub fn grad(&self) -> (&[f32], &[f32]) {
        (&self.ge, &self.gu)
    }

    /// Each row's loss term of the last epoch or loss.
    pub fn row_loss(&self) -> &[f32] {
        &self.row_loss
    }

    /// The row phase (and with `grad` the column phase) across the threads; the loss.
    fn pass(&mut self, state: &State<'_>, b: &Csr<'_>, grad: bool) -> f32 {
        let (v, d, dp) = (self.v, self.d, self.dp);
        assert!(
            b.vocab_len() == v && state.d_model == d && state.check(v).is_ok(),
            "the scratch, the state and the counts are of one {v} × {d} model"
        );
        let (w_e, w_u) = (&*state.weights.w_e, &*state.weights.w_u);
        for i in 0..v {
            self.n[i] = b.row_total(i) as f32;
            for k in 0..d {
                self.wut[i * d + k] = w_u[k * v + i];
                self.wep[i * dp + k] = w_e[i * d + k];
            }
        }
        self.gut.fill(0.0);
        let tiles = v.div_ceil(self.rows);
        let tt = self.threads;
        let sh = Shared {
            v,
            d,
            rows: self.rows,
            rp: self.rp,
            dp,
            threads: tt,
            per: PER,
            tiles,
            groups: tiles.div_ceil(tt * PER),
            grad,
            w_e,
            w_u,
            wut: &self.wut,
            wep: &self.wep,
            n: &self.n,
            big_n: b.total() as f32,
            b,
            bufs: &self.tiles,
            barrier: Barrier::new(tt),
        };
        // Each thread's tiles' rows of ∂W_E and loss terms, and its block of columns (whole
        // micro-kernel blocks, as even as they go).
        let mut mines: Vec<Mine<'_>> = Vec::with_capacity(tt);
        let mut ge = self.ge.chunks_mut(self.rows * d);
        let mut loss = self.row_loss.chunks_mut(self.rows);
        let mut own = self.own.iter_mut();
        let mut gut = &mut self.gut[..];
        let per = v.div_ceil(tt).next_multiple_of(8);
        for t in 0..tt {
            let cols = (t * per).min(v)..((t + 1) * per).min(v);
            let (mine, rest) = gut.split_at_mut(cols.len() * dp);
            gut = rest;
            mines.push(Mine {
                t,
                own: own.next().expect("one scratch per thread"),
                ge: Vec::new(),
                loss: Vec::new(),
                cols,
                gut: mine,
            });
        }
        for tile in 0..tiles {
            let mine = &mut mines[tile % (tt * PER) / PER];
            mine.ge.push(ge.next().expect("a row block per tile"));
            mine.loss.push(loss.next().expect("a row block per tile"));
        }
        let isa = self.isa;
        std::thread::scope(|s| {
            let mut mines = mines.into_iter();
            let first = mines.next().expect("at least one thread");
            for mut me in mines {
                let sh = &sh;
                s.spawn(move || work(isa, sh, &mut me));
            }
            let mut me = first;
            work(isa, &sh, &mut me);
        });
        let mut total = 0.0f32;
        for a in &self.row_loss {
            total += *a;
        }
        total / sh.big_n
    }

    /// [`zl_core::big::loss`]: the loss of the weights in `state` on `b`.
    pub fn loss(&mut self, state: &State<'_>, b: &Csr<'_>) -> f32 {
        self.pass(state, b, false)
    }

    /// [`zl_core::big::epoch`]: the loss before the update and its gradient, then AdamW where
    /// that loss is finite. Returns the loss.
    pub fn epoch(&mut self, state: &mut State<'_>, b: &Csr<'_>) -> f32 {
        let loss = self.pass(state, b, true);
        match self.isa.0 {
            #[cfg(target_arch = "x86_64")]
            Kind::Portable => sse2::finish(self, state, loss),
            // SAFETY: an `Isa` of this kind exists only where the CPU has AVX2 (Isa::by_name).
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2 => unsafe { avx2::finish(self, state, loss) },
            // SAFETY: as for AVX2, with AVX-512F.
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512 => unsafe { avx512::finish(self, state, loss) },
            #[cfg(target_arch = "aarch64")]
            Kind::Portable | Kind::Neon => neon::finish(self, state, loss),
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Kind::Portable | Kind::Simd128 => simd128::finish(self, state, loss),
        }
        loss
    }

    /// [`zl_core::big::run`]: `epochs` epochs, `on_epoch(epoch, loss)` after each; [`Diverged`]
    /// at the first loss that is not finite, or at the end for a non-finite final loss or
    /// weight. Returns the loss after the last update.
    pub fn run(
        &mut self,
        state: &mut State<'_>,
        b: &Csr<'_>,
        epochs: u32,
        mut on_epoch: impl FnMut(u32, f32),
    ) -> Result<f32, Diverged> {
        for e in 0..epochs {
            let loss = self.epoch(state, b);
            if !loss.is_finite() {
                return Err(Diverged { epoch: e, loss });
            }
            on_epoch(e, loss);
        }
        self.final_loss(state, b, epochs)
    }

    /// [`zl_core::big::final_loss`].
    pub fn final_loss(
        &mut self,
        state: &State<'_>,
        b: &Csr<'_>,
        epochs: u32,
    ) -> Result<f32, Diverged> {
        let loss = self.loss(state, b);
        if loss.is_finite() && state.is_finite() {
            Ok(loss)
        } else {
            Err(Diverged {
                epoch: epochs,
                loss,
            })
        }
    }
}

/// One thread's epoch in the instance of `isa`.
fn work(isa: Isa, sh: &Shared<'_>, me: &mut Mine<'_>) {
    match isa.0 {
        #[cfg(target_arch = "x86_64")]
        Kind::Portable => sse2::worker(sh, me),
        // SAFETY: an `Isa` of this kind exists only where the CPU has AVX2 (Isa::by_name).
        #[cfg(target_arch = "x86_64")]
        Kind::Avx2 => unsafe { avx2::worker(sh, me) },
        // SAFETY: as for AVX2, with AVX-512F.
        #[cfg(target_arch = "x86_64")]
        Kind::Avx512 => unsafe { avx512::worker(sh, me) },
        #[cfg(target_arch = "aarch64")]
        Kind::Portable | Kind::Neon => neon::worker(sh, me),
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Kind::Portable | Kind::Simd128 => simd128::worker(sh, me),
    }
}
