//! The training loop in AVX-512F intrinsics, 16 f32 lanes, with zl-core's exact bits.
//!
//! zl-core is portable and safe (`#![forbid(unsafe_code)]`, no_std); built for plain x86-64 the
//! compiler gives it SSE2, and it cannot be taught to vectorise the softmax's row reductions
//! across rows rather than along them. This file is the same training step written with
//! AVX-512F intrinsics, used through [`crate::Isa`] when the CPU has them.
//!
//! It computes every element with the core's operations in the core's order
//! (`core/src/loss.rs`, `core/src/adamw.rs`, `core/src/math.rs`): each sum starts from +0.0
//! and runs in ascending index order; vectors run across independent output elements only
//! (rows of a column, never along a sum); a column of V = 30 rows is one full and one masked
//! chunk. IEEE add, sub, mul, div and sqrt round the same in a vector lane as in a scalar
//! register, and nothing here is an FMA (`_mm512_add_ps(_mm512_mul_ps(..))` lowers to a
//! separate multiply and add: Rust never contracts them). The crate's tests check the bits
//! against the core's [`zl_core::Trainer::run`] for several seeds, rates and sizes.

// Index loops mirror the core's (and the maths'): acc[c] is output column j0 + c.
#![allow(clippy::needless_range_loop)]
use core::arch::x86_64::*;

use zl_core::{adamw::StepScalars, math, Bigrams, Trainer};

/// f32 lanes in one register.
const LANES: usize = 16;
/// Output columns of `W_E·W_U` and of `∂W_U` per pass: one loaded vector feeds this many
/// independent sums (30 = 5 passes of 6).
const COLS: usize = 6;

/// The first `n` lanes (all 16 for n ≥ 16).
#[inline(always)]
fn first(n: usize) -> __mmask16 {
    if n >= LANES {
        0xffff
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

/// Scratch beyond the trainer's own: `W_E` by rows, and the loss's row sums.
#[repr(C, align(64))]
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

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn load(p: *const f32, m: __mmask16) -> __m512 {
    _mm512_maskz_loadu_ps(m, p)
}

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn store(p: *mut f32, m: __mmask16, x: __m512) {
    _mm512_mask_storeu_ps(p, m, x)
}

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn splat(x: f32) -> __m512 {
    _mm512_set1_ps(x)
}

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn add(a: __m512, b: __m512) -> __m512 {
    _mm512_add_ps(a, b)
}

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn sub(a: __m512, b: __m512) -> __m512 {
    _mm512_sub_ps(a, b)
}

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn mul(a: __m512, b: __m512) -> __m512 {
    _mm512_mul_ps(a, b)
}

#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn div(a: __m512, b: __m512) -> __m512 {
    _mm512_div_ps(a, b)
}

/// `m.max(x)` lane by lane, as `f32::max` (a NaN operand gives the other one).
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn max(m: __m512, x: __m512) -> __m512 {
    // vmaxps returns its second operand when either is NaN: that keeps m for a NaN x; a NaN
    // m is then replaced by x. (A zero maximum's sign may differ from f32::max's; it cannot
    // change a bit of the result: exp(±0) = 1 and lse = ±0 + ln(sum).)
    let r = _mm512_max_ps(x, m);
    _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(m, m), x)
}

/// `math::exp`, lane by lane: the same operations in the same order.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn exp(x: __m512) -> __m512 {
    // x.clamp(EXP_LO, EXP_HI): vmaxps/vminps return the second operand (x) for a NaN x.
    let xc = _mm512_min_ps(splat(math::EXP_HI), _mm512_max_ps(splat(math::EXP_LO), x));
    let magic = splat(math::ROUND_MAGIC);
    let t = add(mul(xc, splat(math::LOG2E)), magic);
    let nf = sub(t, magic); // n = round(x / ln 2), exactly, as a float
    let r = sub(
        sub(xc, mul(nf, splat(math::LN2_HI))),
        mul(nf, splat(math::LN2_LO)),
    );
    let z = mul(r, r);
    let c = math::EXP_POLY;
    let mut p = add(mul(splat(c[0]), r), splat(c[1]));
    p = add(mul(p, r), splat(c[2]));
    p = add(mul(p, r), splat(c[3]));
    p = add(mul(p, r), splat(c[4]));
    p = add(mul(p, r), splat(0.5));
    p = add(add(mul(p, z), r), splat(1.0));
    // The core's p·2^(n>>1)·2^(n − n>>1): two products by exact powers of two, the first
    // exact (p·2^(n>>1) is a normal number), the second rounded once. vscalefps(a, b)
    // computes a·2^⌊b⌋ rounded once, which is the same product: with h = n/2 (exact),
    // ⌊h⌋ = n>>1 and ⌊h + ½⌋ = n − n>>1.
    let h = mul(nf, splat(0.5));
    let y = _mm512_scalef_ps(_mm512_scalef_ps(p, h), add(h, splat(0.5)));
    _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x), x)
}

/// `math::ln`, lane by lane: the same operations in the same order, its branches as masks.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn ln(x: __m512) -> __m512 {
    let ints = _mm512_set1_epi32;
    // Subnormals scaled into the normal range first (exactly, by 2^23).
    let subnormal = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, splat(f32::MIN_POSITIVE));
    let xs = _mm512_mask_mul_ps(x, subnormal, x, splat(8_388_608.0));
    let bits = _mm512_castps_si512(xs);
    // x = m·2^e with m in [0.5, 1).
    let e = _mm512_sub_epi32(
        _mm512_and_si512(_mm512_srli_epi32::<23>(bits), ints(0xff)),
        ints(126),
    );
    let mut e = _mm512_mask_sub_epi32(e, subnormal, e, ints(23));
    let m = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_and_si512(bits, ints(0x007f_ffff)),
        ints(0x3f00_0000),
    ));
    let small = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(m, splat(core::f32::consts::FRAC_1_SQRT_2));
    e = _mm512_mask_sub_epi32(e, small, e, ints(1));
    let one = splat(1.0);
    let f = _mm512_mask_blend_ps(small, sub(m, one), sub(add(m, m), one));
    let ef = _mm512_cvtepi32_ps(e);
    let z = mul(f, f);
    let c = math::LN_POLY;
    let mut y = splat(c[0]);
    for &ci in &c[1..] {
        y = add(mul(y, f), splat(ci));
    }
    y = mul(mul(y, f), z);
    y = add(y, mul(splat(math::LN2_LO), ef));
    y = add(y, mul(splat(-0.5), z));
    let r = add(add(f, y), mul(splat(math::LN2_HI), ef));
    // NaN for NaN or x < 0, −∞ at ±0, ∞ at ∞, in the scalar code's order of precedence.
    let zero = _mm512_setzero_ps();
    let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x) | _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, zero);
    let r = _mm512_mask_mov_ps(
        r,
        _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(x, splat(f32::INFINITY)),
        x,
    );
    let r = _mm512_mask_mov_ps(
        r,
        _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(x, zero),
        splat(f32::NEG_INFINITY),
    );
    _mm512_mask_mov_ps(r, nan, splat(f32::NAN))
}

/// `L[r0.., j0 + c] = Σ_k W_E[r0.., k] · W_U[k, j0 + c]` for `c < NB`, k ascending from +0.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn logits_pass<const V: usize, const D: usize, const NB: usize>(
    we: *const f32,
    wu: *const f32,
    l: *mut f32,
    r0: usize,
    rows: __mmask16,
    j0: usize,
) {
    let mut acc = [_mm512_setzero_ps(); NB];
    for k in 0..D {
        let x = load(we.add(k * V + r0), rows);
        for c in 0..NB {
            acc[c] = add(acc[c], mul(splat(*wu.add((j0 + c) * D + k)), x));
        }
    }
    for c in 0..NB {
        store(l.add((j0 + c) * V + r0), rows, acc[c]);
    }
}

/// `∂W_U[d0.., j0 + c] = Σ_i W_E[i, d0..] · G[i, j0 + c]` for `c < NB`, i ascending from +0.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn grad_w_u_pass<const V: usize, const D: usize, const NB: usize>(
    g: *const f32,
    we_rows: *const f32,
    gu: *mut f32,
    v: usize,
    d0: usize,
    dims: __mmask16,
    j0: usize,
) {
    let mut acc = [_mm512_setzero_ps(); NB];
    for i in 0..v {
        let x = load(we_rows.add(i * D + d0), dims);
        for c in 0..NB {
            acc[c] = add(acc[c], mul(splat(*g.add((j0 + c) * V + i)), x));
        }
    }
    for c in 0..NB {
        store(gu.add((j0 + c) * D + d0), dims, acc[c]);
    }
}

/// One epoch of `Trainer::run`: `loss_and_grad` (the loss before the update, the gradient
/// into `t.grads`, `G` into `t.ws.probs`, the logits and log-sum-exps into `t.ws`), then,
/// if the loss is finite, `AdamW::step`. Returns the loss.
///
/// The order of the work differs from the core's where no result depends on it, so that
/// the divider (softmax, `G`, AdamW) runs beside the multiplies: `G` is computed column by
/// column inside the `∂W_E` sums that read it, and AdamW updates each block of `W_U`'s
/// columns right after its `∂W_U` pass, and a share of `W_E` (whose old rows the `∂W_U`
/// passes read from a copy) after every pass. Every element still sees the same operations
/// in the same order.
#[target_feature(enable = "avx512f")]
unsafe fn epoch<const V: usize, const D: usize>(
    t: &mut Trainer<V, D>,
    b: &Bigrams<V>,
    s: &mut Scratch<V, D>,
) -> f32 {
    let v = b.vocab_len();
    // Column-major everywhere, as nalgebra stores it: W_E[i, k] at k·V + i, W_U[k, j] at
    // j·D + k, and V×V matrices [i, j] at j·V + i.
    let we = t.model.w_e.as_mut_slice().as_mut_ptr();
    let wu = t.model.w_u.as_mut_slice().as_mut_ptr();
    let l = t.ws.logits.as_mut_slice().as_mut_ptr();
    let p = t.ws.probs.as_mut_slice().as_mut_ptr();
    let lse_out = t.ws.lse.as_mut_slice().as_mut_ptr();
    let ge = t.grads.w_e.as_mut_slice().as_mut_ptr();
    let gu = t.grads.w_u.as_mut_slice().as_mut_ptr();
    let c = b.counts.as_slice().as_ptr();
    let big_n = splat(b.total);

    for r0 in (0..V).step_by(LANES) {
        let rows = first(V - r0);

        // L[:, j] = Σ_k W_E[:, k] · W_U[k, j], k ascending.
        let mut j = 0;
        while j + COLS <= v {
            logits_pass::<V, D, COLS>(we, wu, l, r0, rows, j);
            j += COLS;
        }
        while j < v {
            logits_pass::<V, D, 1>(we, wu, l, r0, rows, j);
            j += 1;
        }

        // Row maxima, in two interleaved chains: f32::max ignores NaN and is exact, so
        // the maximum does not depend on the order (a zero's sign may, and cannot matter:
        // exp(±0) = 1 and ±0 + ln(sum) = ln(sum) or +0).
        let col = |j: usize| load(l.add(j * V + r0), rows);
        let (mut m0, mut m1) = (col(0), col(0));
        let mut j = 1;
        while j + 1 < v {
            m1 = max(m1, col(j));
            m0 = max(m0, col(j + 1));
            j += 2;
        }
        if j < v {
            m1 = max(m1, col(j));
        }
        let mx = max(m0, m1);
        // exp(L − max) and the row sums, j ascending.
        let mut sum = _mm512_setzero_ps();
        for j in 0..v {
            let e = exp(sub(col(j), mx));
            store(p.add(j * V + r0), rows, e);
            sum = add(sum, e);
        }
        let lse = add(mx, ln(sum));
        store(lse_out.add(r0), rows, lse);

        // Σ_j C_ij (lse_i − L_ij), j ascending.
        let mut acc = _mm512_setzero_ps();
        for j in 0..v {
            acc = add(acc, mul(load(c.add(j * V + r0), rows), sub(lse, col(j))));
        }
        store(s.row_loss.as_mut_ptr().add(r0), rows, acc);

        // G[:, j] = (n_i p_ij − C_ij) / N with p_ij = e_ij / sum_i, in place of e; and
        // ∂W_E[:, k] = Σ_j G[:, j] · W_U[k, j], j ascending, for these rows.
        let n = load(b.row_totals.as_slice().as_ptr().add(r0), rows);
        let mut acc = [_mm512_setzero_ps(); D];
        for j in 0..v {
            let at = j * V + r0;
            let pij = div(load(p.add(at), rows), sum);
            let g = div(sub(mul(n, pij), load(c.add(at), rows)), big_n);
            store(p.add(at), rows, g);
            for k in 0..D {
                acc[k] = add(acc[k], mul(splat(*wu.add(j * D + k)), g));
            }
        }
        for k in 0..D {
            store(ge.add(k * V + r0), rows, acc[k]);
        }
    }

    // loss = (1/N) Σ_i (row sum i), i ascending.
    let mut total = 0.0f32;
    for a in s.row_loss.iter().take(v) {
        total += *a;
    }
    let loss = total / b.total;

    // W_E by rows (gathered) for ∂W_U, before AdamW changes W_E.
    let stride = _mm512_mullo_epi32(
        _mm512_set1_epi32(V as i32),
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    );
    let rows_out = s.w_e_rows.as_mut_ptr() as *mut f32;
    for d0 in (0..D).step_by(LANES) {
        let dims = first(D - d0);
        for i in 0..V {
            let row = _mm512_mask_i32gather_ps::<4>(
                _mm512_setzero_ps(),
                dims,
                stride,
                we.add(d0 * V + i),
            );
            store(rows_out.add(i * D + d0), dims, row);
        }
    }

    // AdamW only after a finite loss, as Trainer::step and Trainer::run step.
    let scalars = loss.is_finite().then(|| {
        t.opt.step += 1;
        t.opt.config.scalars(t.opt.step)
    });
    let o = &mut t.opt;
    let (me, ve) = (
        o.m.w_e.as_mut_slice().as_mut_ptr(),
        o.v.w_e.as_mut_slice().as_mut_ptr(),
    );
    let (mu, vu) = (
        o.m.w_u.as_mut_slice().as_mut_ptr(),
        o.v.w_u.as_mut_slice().as_mut_ptr(),
    );
    // AdamW of parameters [from, to) of W_E or of W_U.
    let adamw_e = |from: usize, to: usize| {
        if let Some(sc) = &scalars {
            update(
                we.add(from),
                me.add(from),
                ve.add(from),
                ge.add(from),
                to - from,
                sc,
            );
        }
    };
    let adamw_u = |from: usize, to: usize| {
        if let Some(sc) = &scalars {
            update(
                wu.add(from),
                mu.add(from),
                vu.add(from),
                gu.add(from),
                to - from,
                sc,
            );
        }
    };
    let (e_len, passes) = (V * D, v / COLS + v % COLS);
    let e_share = e_len.div_ceil(passes.max(1)).next_multiple_of(LANES);
    let mut e_done = 0;

    // ∂W_U[:, j] = Σ_i W_E[i, :] · G[i, j], i ascending, a block of columns at a time;
    // then AdamW of those columns, and of a share of W_E.
    let mut j = 0;
    while j < v {
        let nb = if j + COLS <= v { COLS } else { 1 };
        for d0 in (0..D).step_by(LANES) {
            let dims = first(D - d0);
            if nb == COLS {
                grad_w_u_pass::<V, D, COLS>(p, rows_out, gu, v, d0, dims, j);
            } else {
                grad_w_u_pass::<V, D, 1>(p, rows_out, gu, v, d0, dims, j);
            }
        }
        adamw_u(j * D, (j + nb) * D);
        let to = (e_done + e_share).min(e_len);
        adamw_e(e_done, to);
        e_done = to;
        j += nb;
    }
    // Columns j ≥ v (a padded model's): zero gradient, as in the core, and still updated.
    t.grads.w_u.as_mut_slice()[v * D..].fill(0.0);
    adamw_u(v * D, V * D);
    adamw_e(e_done, e_len);
    loss
}

/// `adamw::update` of `n` parameters at `p` (moments at `m`, `v`, gradient at `g`), 16 at
/// a time.
#[target_feature(enable = "avx512f")]
unsafe fn update(p: *mut f32, m: *mut f32, v: *mut f32, g: *const f32, n: usize, s: &StepScalars) {
    let (decay, omb1, beta2, omb2) = (
        splat(s.decay),
        splat(s.one_minus_beta1),
        splat(s.beta2),
        splat(s.one_minus_beta2),
    );
    let (bc2, eps, nss) = (
        splat(s.bias_correction2_sqrt),
        splat(s.eps),
        splat(s.neg_step_size),
    );
    for i in (0..n).step_by(LANES) {
        let k = first(n - i);
        let (pp, mp, vp) = (p.add(i), m.add(i), v.add(i));
        let gi = load(g.add(i), k);
        let pi = mul(load(pp, k), decay);
        let mi = load(mp, k);
        let mi = add(mi, mul(omb1, sub(gi, mi)));
        let vi = add(mul(load(vp, k), beta2), mul(mul(omb2, gi), gi));
        let denom = add(div(_mm512_sqrt_ps(vi), bc2), eps);
        store(pp, k, add(pi, div(mul(nss, mi), denom)));
        store(mp, k, mi);
        store(vp, k, vi);
    }
}

/// `Trainer::step`: one epoch of `Trainer::run` (no update after a non-finite loss).
/// Safety: the CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub unsafe fn step<const V: usize, const D: usize>(t: &mut Trainer<V, D>, b: &Bigrams<V>) -> f32 {
    epoch(t, b, &mut Scratch::<V, D>::new())
}

/// `Trainer::run`. Safety: the CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub unsafe fn run<const V: usize, const D: usize>(
    t: &mut Trainer<V, D>,
    b: &Bigrams<V>,
    epochs: u32,
    mut on_epoch: impl FnMut(u32, f32),
) -> Result<f32, (u32, f32)> {
    let mut s = Scratch::<V, D>::new();
    for e in 0..epochs {
        let loss = epoch(t, b, &mut s);
        if !loss.is_finite() {
            return Err((e, loss));
        }
        // After the update rather than before it: on_epoch sees only the loss.
        on_epoch(e, loss);
    }
    t.final_loss(b, epochs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_the_core_bit_for_bit() {
        if !is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        // Every 61st f32 from -0 down past exp's underflow, and from +0 past its overflow,
        // plus the special values.
        let mut xs: Vec<f32> = Vec::new();
        let mut u = (-0.0f32).to_bits();
        while f32::from_bits(u) >= -110.0 {
            xs.push(f32::from_bits(u));
            u += 61;
        }
        let mut u = 0u32;
        while f32::from_bits(u) <= 90.0 {
            xs.push(f32::from_bits(u));
            u += 61;
        }
        xs.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -1e30, 1e30]);
        while !xs.len().is_multiple_of(LANES) {
            xs.push(0.5);
        }
        let mut out = vec![0.0f32; xs.len()];
        for (x, o) in xs.chunks(LANES).zip(out.chunks_mut(LANES)) {
            // SAFETY: AVX-512F checked above; both chunks hold 16 floats.
            unsafe { _mm512_storeu_ps(o.as_mut_ptr(), exp(_mm512_loadu_ps(x.as_ptr()))) };
        }
        for (x, o) in xs.iter().zip(&out) {
            let want = math::exp(*x);
            assert!(
                o.to_bits() == want.to_bits() || (o.is_nan() && want.is_nan()),
                "exp({x:e}): {o:e} vs the core's {want:e}"
            );
        }
    }

    #[test]
    fn ln_matches_the_core_bit_for_bit() {
        if !is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        // The log-sum-exp's domain [1, 31] densely, every 61st positive f32 (subnormals
        // included), and the special values.
        let mut xs: Vec<f32> = Vec::new();
        let mut u = 1.0f32.to_bits();
        while f32::from_bits(u) <= 31.0 {
            xs.push(f32::from_bits(u));
            u += 3;
        }
        let mut u = 1u32;
        while u < f32::INFINITY.to_bits() {
            xs.push(f32::from_bits(u));
            u += 61;
        }
        xs.extend([
            0.0,
            -0.0,
            -1.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
        ]);
        while !xs.len().is_multiple_of(LANES) {
            xs.push(2.0);
        }
        let mut out = vec![0.0f32; xs.len()];
        for (x, o) in xs.chunks(LANES).zip(out.chunks_mut(LANES)) {
            // SAFETY: AVX-512F checked above; both chunks hold 16 floats.
            unsafe { _mm512_storeu_ps(o.as_mut_ptr(), ln(_mm512_loadu_ps(x.as_ptr()))) };
        }
        for (x, o) in xs.iter().zip(&out) {
            let want = math::ln(*x);
            assert!(
                o.to_bits() == want.to_bits(),
                "ln({x:e}): {o:e} vs the core's {want:e}"
            );
        }
    }
}
