//! The training loop written once over lanes, with zl-core's exact bits, and its instances:
//! SSE2 (4 lanes, x86-64's baseline), AVX2 (8) and AVX-512F (16), both chosen at run time,
//! NEON (4, aarch64 builds) and WebAssembly SIMD128 (4, wasm32 builds with `+simd128`).
//!
//! The loop is generic over [`Lanes`]: one register of f32 lanes and the handful of
//! operations the step uses (add, subtract, multiply, divide, square root, `f32::max`, and
//! conversions from and to `[f32; L]`), each one IEEE operation per lane. Each instruction set
//! implements it in a few lines of `core::arch` (`lanes!`), and `instance!` compiles the loop
//! once for each: for AVX2 and AVX-512F inside `#[target_feature]` functions, for SSE2, NEON
//! and SIMD128 as ordinary ones (the target has them). The loop reads and writes the matrices
//! as slices, so every bound is the slice's; the intrinsics are the only `unsafe` code.
//! `exp` and `ln` are zl-core's own `math::exp` and `math::ln`, applied lane by lane to the
//! register's lanes ([`Lanes::map`]; LLVM's SLP vectoriser turns the lanes back into vector
//! instructions), not copies of them.
//!
//! Why native vector types rather than plain `[f32; L]` arrays: with arrays, LLVM's loop
//! vectoriser (which runs before the SLP vectoriser) vectorises the loops *around* the lane
//! operations, along the sums' index, and transposes the accumulators back and forth; the AVX2
//! step was 5× slower than AVX-512's. A vector type is opaque to the loop vectoriser.
//!
//! The order of the work is zl-core's wherever a result depends on it: each sum starts from
//! +0.0 and runs in ascending index order; vectors run across independent output elements only
//! (rows of a column, never along a sum). Rust never contracts a multiply and an add into an
//! FMA, and neither `avx2` nor `avx512f` enables `fma` (the disassembly has no `vfmadd`;
//! `docs/PERFORMANCE.md`). The crate's tests check the bits against [`zl_core::Trainer::run`].
//!
//! The matrices are column-major, as nalgebra stores them: `W_E[i, k]` at `k·V + i`,
//! `W_U[k, j]` at `j·D + k`, and V×V matrices `[i, j]` at `j·V + i`.

// Index loops mirror the core's (and the maths'): acc[c] is output column j0 + c.
#![allow(clippy::needless_range_loop)]

use core::ops::Range;

use zl_core::{adamw::StepScalars, math, Bigrams, Trainer};

/// Output columns of `W_E·W_U` and of `∂W_U` per pass: one loaded vector feeds this many
/// independent sums (30 = 5 passes of 6).
const COLS: usize = 6;

/// Scratch beyond the trainer's own: `W_E` by rows, and the loss's row sums.
struct Scratch<const V: usize, const D: usize> {
    w_e_rows: [[f32; D]; V],
    row_loss: [f32; V],
}

impl<const V: usize, const D: usize> Scratch<V, D> {
    fn new() -> Self {
        Scratch {
            w_e_rows: [[0.0; D]; V],
            row_loss: [0.0; V],
        }
    }
}

/// One register of f32 lanes and the operations the loop uses, each one correctly rounded
/// IEEE operation per lane (as the scalar code's).
///
/// Implementations exist for an instruction set only where it can run, and are used only inside
/// that instruction set's instance (`instance!`), which `crate::Isa` calls only where the CPU
/// has it. The loop calls them from functions, never from closures: a closure is compiled
/// without the instance's target feature, and the intrinsics would not be inlined into it.
pub(crate) trait Lanes {
    /// f32 lanes in one register.
    const L: usize;
    /// The register.
    type V: Copy;
    /// Its lanes as an array, `[f32; L]`.
    type A: Copy + Default + AsRef<[f32]> + AsMut<[f32]>;
    fn splat(x: f32) -> Self::V;
    fn from_array(a: Self::A) -> Self::V;
    fn to_array(x: Self::V) -> Self::A;
    fn add(a: Self::V, b: Self::V) -> Self::V;
    fn sub(a: Self::V, b: Self::V) -> Self::V;
    fn mul(a: Self::V, b: Self::V) -> Self::V;
    fn div(a: Self::V, b: Self::V) -> Self::V;
    fn sqrt(a: Self::V) -> Self::V;
    /// `m.max(x)` lane by lane, as `f32::max` (a NaN operand gives the other one; the sign of a
    /// zero maximum may differ, which cannot change a bit of the step's results: see its use).
    fn max(m: Self::V, x: Self::V) -> Self::V;

    /// +0.0 in every lane.
    #[inline(always)]
    fn zero() -> Self::V {
        Self::splat(0.0)
    }

    /// `x` (at most `L` floats) in the first lanes, the others zero. A slice of a constant
    /// length `L` compiles to one vector load.
    #[inline(always)]
    fn load(x: &[f32]) -> Self::V {
        debug_assert!(
            x.len() <= Self::L,
            "{} floats for {} lanes",
            x.len(),
            Self::L
        );
        let mut a = Self::A::default();
        a.as_mut()[..x.len()].copy_from_slice(x);
        Self::from_array(a)
    }

    /// The first `x.len()` (at most `L`) lanes of `v`, into `x`.
    #[inline(always)]
    fn store(x: &mut [f32], v: Self::V) {
        debug_assert!(
            x.len() <= Self::L,
            "{} floats for {} lanes",
            x.len(),
            Self::L
        );
        x.copy_from_slice(&Self::to_array(v).as_ref()[..x.len()]);
    }

    /// `f` lane by lane: zl-core's scalar function on each lane.
    #[inline(always)]
    fn map(x: Self::V, f: impl Fn(f32) -> f32) -> Self::V {
        let mut a = Self::to_array(x);
        for x in a.as_mut() {
            *x = f(*x);
        }
        Self::from_array(a)
    }
}

/// The lanes of one `core::arch` register type: `$v` from `$a`, each operation one intrinsic,
/// `unsafe` because it needs the instruction set, which every caller has (see [`Lanes`]).
macro_rules! lanes {
    (
        $(#[$doc:meta])* $name:ident, $l:literal, $v:ty,
        splat $splat:path, load $load:path, store $store:path,
        [$($op:ident $f:path),+], sqrt $sqrt:path,
        max |$m:ident, $x:ident| $max:expr
    ) => {
        $(#[$doc])*
        pub(crate) struct $name;

        // The intrinsics of a target's baseline (SSE2, NEON, SIMD128) are safe to call.
        #[allow(unused_unsafe)]
        impl Lanes for $name {
            const L: usize = $l;
            type V = $v;
            type A = [f32; $l];
            #[inline(always)]
            fn splat(x: f32) -> $v {
                // SAFETY: the caller runs on the instruction set (see `Lanes`).
                unsafe { $splat(x) }
            }
            #[inline(always)]
            fn from_array(a: [f32; $l]) -> $v {
                // SAFETY: as in `splat`; `a` holds the L floats read.
                unsafe { $load(a.as_ptr() as _) }
            }
            #[inline(always)]
            fn to_array(x: $v) -> [f32; $l] {
                let mut a = [0.0f32; $l];
                // SAFETY: as in `splat`; `a` holds the L floats written.
                unsafe { $store(a.as_mut_ptr() as _, x) };
                a
            }
            $(
                #[inline(always)]
                fn $op(a: $v, b: $v) -> $v {
                    // SAFETY: as in `splat`.
                    unsafe { $f(a, b) }
                }
            )+
            #[inline(always)]
            fn sqrt(a: $v) -> $v {
                // SAFETY: as in `splat`.
                unsafe { $sqrt(a) }
            }
            #[inline(always)]
            fn max($m: $v, $x: $v) -> $v {
                // SAFETY: as in `splat`.
                unsafe { $max }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
lanes!(
    /// AVX (the AVX2 instance's registers): 8 lanes.
    Avx2, 8, __m256,
    splat _mm256_set1_ps, load _mm256_loadu_ps, store _mm256_storeu_ps,
    [add _mm256_add_ps, sub _mm256_sub_ps, mul _mm256_mul_ps, div _mm256_div_ps],
    sqrt _mm256_sqrt_ps,
    // vmaxps gives its second operand when either is NaN: that keeps m for a NaN x; a NaN m is
    // then replaced by x.
    max |m, x| _mm256_blendv_ps(_mm256_max_ps(x, m), x, _mm256_cmp_ps::<_CMP_UNORD_Q>(m, m))
);

#[cfg(target_arch = "x86_64")]
lanes!(
    /// AVX-512F: 16 lanes.
    Avx512, 16, __m512,
    splat _mm512_set1_ps, load _mm512_loadu_ps, store _mm512_storeu_ps,
    [add _mm512_add_ps, sub _mm512_sub_ps, mul _mm512_mul_ps, div _mm512_div_ps],
    sqrt _mm512_sqrt_ps,
    // As AVX2's.
    max |m, x| _mm512_mask_mov_ps(_mm512_max_ps(x, m), _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(m, m), x)
);

#[cfg(target_arch = "x86_64")]
lanes!(
    /// SSE2, x86-64's baseline: 4 lanes.
    Sse2, 4, __m128,
    splat _mm_set1_ps, load _mm_loadu_ps, store _mm_storeu_ps,
    [add _mm_add_ps, sub _mm_sub_ps, mul _mm_mul_ps, div _mm_div_ps], sqrt _mm_sqrt_ps,
    // As AVX2's, the blend written with and/andnot/or (SSE2 has no blendv).
    max |m, x| {
        let nan = _mm_cmpunord_ps(m, m);
        _mm_or_ps(_mm_and_ps(nan, x), _mm_andnot_ps(nan, _mm_max_ps(x, m)))
    }
);

#[cfg(target_arch = "aarch64")]
use core::arch::aarch64::*;

#[cfg(target_arch = "aarch64")]
lanes!(
    /// NEON (Advanced SIMD): 4 lanes.
    Neon, 4, float32x4_t,
    splat vdupq_n_f32, load vld1q_f32, store vst1q_f32,
    [add vaddq_f32, sub vsubq_f32, mul vmulq_f32, div vdivq_f32], sqrt vsqrtq_f32,
    // fmaxnm is IEEE maxNum: a NaN operand gives the other one, as f32::max.
    max |m, x| vmaxnmq_f32(m, x)
);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::*;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
lanes!(
    /// WebAssembly SIMD128: 4 lanes.
    Simd128, 4, v128,
    splat f32x4_splat, load v128_load, store v128_store,
    [add f32x4_add, sub f32x4_sub, mul f32x4_mul, div f32x4_div], sqrt f32x4_sqrt,
    // pmax(m, x) = m < x ? x : m keeps m for a NaN x; a NaN m is then replaced by x.
    max |m, x| v128_bitselect(x, f32x4_pmax(m, x), f32x4_ne(m, m))
);

/// `NB` sums of products, the shape of both `W_E·W_U` and `∂W_U = W_Eᵀ·G`: for each of the
/// `NB` columns `b_c` of `b` and `out_c` of `out`, `out_c[at] = Σ_k x_k[at] · b_c[k]`, k
/// ascending from +0 over the columns `x_k` of `x` (each `stride` floats).
/// For the logits, `x` is W_E (columns k, rows `at`) and `b` W_U's columns j..; for `∂W_U`,
/// `x` is W_E by rows (rows i, dimensions `at`) and `b` G's columns j...
#[inline(always)]
fn panel<S: Lanes, const NB: usize>(
    x: &[f32],
    stride: usize,
    b: &[f32],
    out: &mut [f32],
    at: Range<usize>,
) {
    let count = x.len() / stride;
    let b_col = b.len() / NB;
    let b: [&[f32]; NB] = core::array::from_fn(|c| &b[c * b_col..][..count]);
    let mut acc = [S::zero(); NB];
    for (k, xk) in (0..count).zip(x.chunks_exact(stride)) {
        let xk = S::load(&xk[at.clone()]);
        for c in 0..NB {
            acc[c] = S::add(acc[c], S::mul(S::splat(b[c][k]), xk));
        }
    }
    for (out, acc) in out.chunks_exact_mut(out.len() / NB).zip(acc) {
        S::store(&mut out[at.clone()], acc);
    }
}

/// One parameter matrix's weights and AdamW moments.
pub(crate) struct Param<'a> {
    pub(crate) p: &'a mut [f32],
    pub(crate) m: &'a mut [f32],
    pub(crate) v: &'a mut [f32],
}

impl Param<'_> {
    /// zl-core's `adamw::update` of the parameters `r`, gradient `g`, where the loss was finite
    /// (`sc`): `S::L` at a time, full chunks of a constant length, then the rest.
    #[inline(always)]
    pub(crate) fn adamw<S: Lanes>(&mut self, sc: Option<&StepScalars>, g: &[f32], r: Range<usize>) {
        let Some(s) = sc else { return };
        let full = r.end - r.len() % S::L;
        for i in (r.start..full).step_by(S::L) {
            self.update::<S>(s, g, i..i + S::L);
        }
        if full < r.end {
            self.update::<S>(s, g, full..r.end);
        }
    }

    /// `adamw::update` of the parameters `r` (at most `S::L`), in the core's order of
    /// operations.
    #[inline(always)]
    fn update<S: Lanes>(&mut self, s: &StepScalars, g: &[f32], r: Range<usize>) {
        let (p, m, v) = (
            &mut self.p[r.clone()],
            &mut self.m[r.clone()],
            &mut self.v[r.clone()],
        );
        let gi = S::load(&g[r]);
        let pi = S::mul(S::load(p), S::splat(s.decay));
        let mi = S::load(m);
        let mi = S::add(mi, S::mul(S::splat(s.one_minus_beta1), S::sub(gi, mi)));
        let vi = S::add(
            S::mul(S::load(v), S::splat(s.beta2)),
            S::mul(S::mul(S::splat(s.one_minus_beta2), gi), gi),
        );
        let denom = S::add(
            S::div(S::sqrt(vi), S::splat(s.bias_correction2_sqrt)),
            S::splat(s.eps),
        );
        let step = S::div(S::mul(S::splat(s.neg_step_size), mi), denom);
        S::store(p, S::add(pi, step));
        S::store(m, mi);
        S::store(v, vi);
    }
}

/// `∂W_U[:, j] = Σ_i W_E[i, :] · G[i, j]`, i ascending, for the `NB` columns of `g` (G's, V
/// floats each) into those of `gu` (∂W_U's, D each), from `we_rows` (W_E's rows, D each).
/// Full chunks of dimensions, then the rest as the last L dimensions where D ≥ L, overlapping
/// the chunk before as the rows of the forward pass do (these sums read only G and W_E's rows,
/// and AdamW of the columns runs after them).
#[inline(always)]
fn grad_w_u<const D: usize, S: Lanes, const NB: usize>(we_rows: &[f32], g: &[f32], gu: &mut [f32]) {
    let full = D - D % S::L;
    let mut d0 = 0;
    while d0 < D {
        let (from, n) = if d0 < full {
            (d0, S::L)
        } else if D >= S::L {
            (D - S::L, S::L)
        } else {
            (0, D)
        };
        panel::<S, NB>(we_rows, D, g, gu, from..from + n);
        d0 += S::L;
    }
}

/// The forward pass and `∂W_E` of rows `r0..r0 + n` (n ≤ S::L): logits, softmax, log-sum-exp,
/// the loss's row sums (into `row_loss`), `G` (in place of the probabilities) and `∂W_E`.
#[inline(always)]
fn rows_block<const V: usize, const D: usize, S: Lanes>(
    t: &mut Trainer<V, D>,
    b: &Bigrams<V>,
    row_loss: &mut [f32],
    r0: usize,
    n: usize,
) {
    let v = b.vocab_len();
    let rows = r0..r0 + n;
    // These rows of column j of a V×V matrix (or of W_E's, ∂W_E's).
    let at = |j: usize| j * V + r0..j * V + r0 + n;
    let (we, wu) = (t.model.w_e.as_slice(), t.model.w_u.as_slice());
    let (l, p) = (t.ws.logits.as_mut_slice(), t.ws.probs.as_mut_slice());
    let c = b.counts.as_slice();

    // L[:, j] = Σ_k W_E[:, k] · W_U[k, j], k ascending.
    let mut j = 0;
    while j < v {
        let (wu, l) = (&wu[j * D..], &mut l[j * V..]);
        if j + COLS <= v {
            panel::<S, COLS>(we, V, &wu[..COLS * D], &mut l[..COLS * V], rows.clone());
            j += COLS;
        } else {
            panel::<S, 1>(we, V, &wu[..D], &mut l[..V], rows.clone());
            j += 1;
        }
    }

    // Row maxima, in two interleaved chains: f32::max ignores NaN and is exact, so the maximum
    // does not depend on the order (a zero's sign may, and cannot matter: exp(±0) = 1 and
    // ±0 + ln(sum) = ln(sum) or +0).
    let (mut m0, mut m1) = (S::load(&l[at(0)]), S::load(&l[at(0)]));
    let mut j = 1;
    while j + 1 < v {
        m1 = S::max(m1, S::load(&l[at(j)]));
        m0 = S::max(m0, S::load(&l[at(j + 1)]));
        j += 2;
    }
    if j < v {
        m1 = S::max(m1, S::load(&l[at(j)]));
    }
    let mx = S::max(m0, m1);
    // exp(L − max) and the row sums, j ascending.
    let mut sum = S::zero();
    for j in 0..v {
        let e = S::map(S::sub(S::load(&l[at(j)]), mx), math::exp);
        S::store(&mut p[at(j)], e);
        sum = S::add(sum, e);
    }
    let lse = S::add(mx, S::map(sum, math::ln));
    S::store(&mut t.ws.lse.as_mut_slice()[rows.clone()], lse);

    // Σ_j C_ij (lse_i − L_ij), j ascending.
    let mut acc = S::zero();
    for j in 0..v {
        acc = S::add(
            acc,
            S::mul(S::load(&c[at(j)]), S::sub(lse, S::load(&l[at(j)]))),
        );
    }
    S::store(&mut row_loss[rows.clone()], acc);

    // G[:, j] = (n_i p_ij − C_ij) / N with p_ij = e_ij / sum_i, in place of e; and
    // ∂W_E[:, k] = Σ_j G[:, j] · W_U[k, j], j ascending, for these rows.
    let totals = S::load(&b.row_totals.as_slice()[rows]);
    let mut acc = [S::zero(); D];
    for j in 0..v {
        let pij = S::div(S::load(&p[at(j)]), sum);
        let g = S::div(
            S::sub(S::mul(totals, pij), S::load(&c[at(j)])),
            S::splat(b.total),
        );
        S::store(&mut p[at(j)], g);
        let wu = &wu[j * D..][..D];
        for k in 0..D {
            acc[k] = S::add(acc[k], S::mul(S::splat(wu[k]), g));
        }
    }
    let ge = t.grads.w_e.as_mut_slice();
    for k in 0..D {
        S::store(&mut ge[at(k)], acc[k]);
    }
}

/// One epoch of `Trainer::run`: `loss_and_grad` (the loss before the update, the gradient
/// into `t.grads`, `G` into `t.ws.probs`, the logits and log-sum-exps into `t.ws`), then,
/// if the loss is finite, `AdamW::step`. Returns the loss.
///
/// `G` is computed column by column inside the `∂W_E` sums that read it,
/// and AdamW updates each block of `W_U`'s columns right after its `∂W_U` pass, and a share
/// of `W_E` (whose old rows the `∂W_U` passes read from a copy) after every pass, so that the
/// divider runs beside the multiplies. Every element sees the core's operations in the core's
/// order.
#[inline(always)]
fn epoch<const V: usize, const D: usize, S: Lanes>(
    t: &mut Trainer<V, D>,
    b: &Bigrams<V>,
    s: &mut Scratch<V, D>,
) -> f32 {
    let v = b.vocab_len();
    // Full chunks of rows, then the rest as the last S::L rows, overlapping the chunk before:
    // a row's results depend only on the weights and counts, which this pass does not change,
    // and on values it writes before it reads them (L, then e and G in place), so the rows
    // done twice are stored twice with the same bits, and every load and store is a whole
    // register. A model narrower than a register takes one partial chunk, its row count a
    // constant (so that its loads and stores compile to moves, not calls).
    let full = V - V % S::L;
    for r0 in (0..full).step_by(S::L) {
        rows_block::<V, D, S>(t, b, &mut s.row_loss, r0, S::L);
    }
    if full < V {
        let (r0, n) = if V >= S::L { (V - S::L, S::L) } else { (0, V) };
        rows_block::<V, D, S>(t, b, &mut s.row_loss, r0, n);
    }

    // loss = (1/N) Σ_i (row sum i), i ascending.
    let mut total = 0.0f32;
    for a in &s.row_loss[..v] {
        total += *a;
    }
    let loss = total / b.total;

    // W_E by rows for ∂W_U, before AdamW changes W_E.
    let w_e = t.model.w_e.as_slice();
    for (i, row) in s.w_e_rows.iter_mut().enumerate() {
        for (k, x) in row.iter_mut().enumerate() {
            *x = w_e[k * V + i];
        }
    }
    let we_rows = &s.w_e_rows.as_flattened()[..v * D];

    // AdamW only after a finite loss, as Trainer::step and Trainer::run step.
    let scalars = loss.is_finite().then(|| {
        t.opt.step += 1;
        t.opt.config.scalars(t.opt.step)
    });
    let sc = scalars.as_ref();
    let (o, g) = (&mut t.opt, t.ws.probs.as_slice());
    let (ge, gu) = (t.grads.w_e.as_slice(), t.grads.w_u.as_mut_slice());
    let mut e = Param {
        p: t.model.w_e.as_mut_slice(),
        m: o.m.w_e.as_mut_slice(),
        v: o.v.w_e.as_mut_slice(),
    };
    let mut u = Param {
        p: t.model.w_u.as_mut_slice(),
        m: o.m.w_u.as_mut_slice(),
        v: o.v.w_u.as_mut_slice(),
    };
    let (e_len, passes) = (V * D, v / COLS + v % COLS);
    let e_share = e_len.div_ceil(passes.max(1)).next_multiple_of(S::L);
    let mut e_done = 0;

    // ∂W_U[:, j] = Σ_i W_E[i, :] · G[i, j], i ascending, a block of columns at a time;
    // then AdamW of those columns, and of a share of W_E.
    let mut j = 0;
    while j < v {
        let nb = if j + COLS <= v { COLS } else { 1 };
        let cols = j * D..(j + nb) * D;
        let (g_j, gu_j) = (&g[j * V..(j + nb) * V], &mut gu[cols.clone()]);
        if nb == COLS {
            grad_w_u::<D, S, COLS>(we_rows, g_j, gu_j);
        } else {
            grad_w_u::<D, S, 1>(we_rows, g_j, gu_j);
        }
        u.adamw::<S>(sc, gu, cols);
        let to = (e_done + e_share).min(e_len);
        e.adamw::<S>(sc, ge, e_done..to);
        e_done = to;
        j += nb;
    }
    // Columns j ≥ v (a padded model's): zero gradient, as in the core, and still updated.
    gu[v * D..].fill(0.0);
    u.adamw::<S>(sc, gu, v * D..V * D);
    e.adamw::<S>(sc, ge, e_done..e_len);
    loss
}

/// `Trainer::step` over `S::L` lanes: one epoch of `Trainer::run` (no update after a
/// non-finite loss).
#[inline(always)]
fn step<const V: usize, const D: usize, S: Lanes>(t: &mut Trainer<V, D>, b: &Bigrams<V>) -> f32 {
    epoch::<V, D, S>(t, b, &mut Scratch::new())
}

/// `Trainer::run` over `S::L` lanes.
#[inline(always)]
fn run<const V: usize, const D: usize, S: Lanes>(
    t: &mut Trainer<V, D>,
    b: &Bigrams<V>,
    epochs: u32,
    mut on_epoch: impl FnMut(u32, f32),
) -> Result<f32, zl_core::Diverged> {
    let mut s = Scratch::<V, D>::new();
    for e in 0..epochs {
        let loss = epoch::<V, D, S>(t, b, &mut s);
        if !loss.is_finite() {
            return Err(zl_core::Diverged { epoch: e, loss });
        }
        // After the update rather than before it: on_epoch sees only the loss.
        on_epoch(e, loss);
    }
    t.final_loss(b, epochs)
}

/// One instruction set's instance: `step` and `run` over the lanes `$lanes`, compiled with
/// `$feature` where one is named (chosen at run time), else for the target as it is.
macro_rules! instance {
    ($(#[$doc:meta])* $name:ident, $lanes:ty $(, $feature:literal)?) => {
        $(#[$doc])*
        pub mod $name {
            use zl_core::{Bigrams, Trainer};

            /// `Trainer::step`.
            $(#[target_feature(enable = $feature)])?
            pub fn step<const V: usize, const D: usize>(
                t: &mut Trainer<V, D>,
                b: &Bigrams<V>,
            ) -> f32 {
                super::step::<V, D, $lanes>(t, b)
            }

            /// `Trainer::run`.
            $(#[target_feature(enable = $feature)])?
            pub fn run<const V: usize, const D: usize>(
                t: &mut Trainer<V, D>,
                b: &Bigrams<V>,
                epochs: u32,
                on_epoch: impl FnMut(u32, f32),
            ) -> Result<f32, zl_core::Diverged> {
                super::run::<V, D, $lanes>(t, b, epochs, on_epoch)
            }

            /// `math::exp` and `math::ln` of `xs`, a register at a time, as the loop computes
            /// them (for the tests).
            #[cfg(test)]
            $(#[target_feature(enable = $feature)])?
            pub fn exp_ln(xs: &[f32], exp: &mut [f32], ln: &mut [f32]) {
                use super::Lanes;
                type S = $lanes;
                for ((x, e), l) in xs
                    .chunks(S::L)
                    .zip(exp.chunks_mut(S::L))
                    .zip(ln.chunks_mut(S::L))
                {
                    let v = S::load(x);
                    S::store(e, S::map(v, zl_core::math::exp));
                    S::store(l, S::map(v, zl_core::math::ln));
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
instance!(
    /// AVX2: 8 lanes, for x86-64 CPUs that have it (checked at run time by `crate::Isa`).
    avx2,
    super::Avx2,
    "avx2"
);

#[cfg(target_arch = "x86_64")]
instance!(
    /// AVX-512F: 16 lanes, for x86-64 CPUs that have it (checked at run time by `crate::Isa`).
    avx512,
    super::Avx512,
    "avx512f"
);

#[cfg(target_arch = "x86_64")]
instance!(
    /// SSE2: 4 lanes, x86-64's baseline.
    sse2,
    super::Sse2
);

#[cfg(target_arch = "aarch64")]
instance!(
    /// NEON (Advanced SIMD): 4 lanes, part of every aarch64 target.
    neon,
    super::Neon
);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
instance!(
    /// WebAssembly SIMD128: 4 lanes, in wasm32 builds with `-C target-feature=+simd128`.
    simd128,
    super::Simd128
);

#[cfg(test)]
mod tests {
    use zl_core::math;

    /// Every 997th f32 from −0 down past exp's underflow and from +0 past its overflow; every
    /// 61st of the log-sum-exp's domain [1, 31]; every 1021st positive f32 (subnormals
    /// included); and the special values: about 5 million, few enough for qemu-aarch64.
    fn inputs() -> Vec<f32> {
        let mut xs: Vec<f32> = Vec::new();
        let mut sweep = |from: f32, stride: u32, to: f32| {
            let mut u = from.to_bits();
            let x = |u: u32| f32::from_bits(u);
            while x(u).is_finite() && x(u).abs() <= to {
                xs.push(x(u));
                u += stride;
            }
        };
        sweep(-0.0, 997, 110.0);
        sweep(0.0, 997, 90.0);
        sweep(1.0, 61, 31.0);
        sweep(f32::from_bits(1), 1021, f32::MAX);
        xs.extend([
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -1e30,
            1e30,
            -1.0,
            0.5,
        ]);
        xs
    }

    /// An instance's `exp` and `ln` against the core's, bit for bit (every NaN counting as one).
    fn check(what: &str, exp_ln: impl Fn(&[f32], &mut [f32], &mut [f32])) {
        let xs = inputs();
        let (mut e, mut l) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
        exp_ln(&xs, &mut e, &mut l);
        let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        for ((x, e), l) in xs.iter().zip(e).zip(l) {
            assert!(same(e, math::exp(*x)), "{what} exp({x:e}) = {e:e}");
            assert!(same(l, math::ln(*x)), "{what} ln({x:e}) = {l:e}");
        }
        eprintln!("{what}: exp and ln of {} values as the core's", xs.len());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_exp_and_ln_are_the_cores() {
        check("sse2", super::sse2::exp_ln);
        if !std::is_x86_feature_detected!("avx2") {
            eprintln!("avx2 skipped: this CPU has no AVX2");
            return;
        }
        // SAFETY: AVX2 checked above.
        check("avx2", |x, e, l| unsafe { super::avx2::exp_ln(x, e, l) });
        if !std::is_x86_feature_detected!("avx512f") {
            eprintln!("avx512 skipped: this CPU has no AVX-512F");
            return;
        }
        // SAFETY: AVX-512F checked above.
        check("avx512", |x, e, l| unsafe {
            super::avx512::exp_ln(x, e, l)
        });
    }

    #[cfg(target_arch = "aarch64")]
    #[test]
    fn neon_exp_and_ln_are_the_cores() {
        check("neon", super::neon::exp_ln);
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[test]
    fn simd128_exp_and_ln_are_the_cores() {
        check("simd128", super::simd128::exp_ln);
    }
}
