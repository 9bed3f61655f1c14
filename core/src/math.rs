//! `exp` and `ln` in plain f32 arithmetic: the same bits on every target, and vectorisable.
//!
//! The softmax takes V² exponentials per step, the hot spot once the products are vectorised.
//! libm's `expf` is a scalar call the compiler cannot vectorise; std's `f32::exp` differs between
//! targets. These functions use only f32 add, sub, mul, comparisons and bit moves, each rounded
//! to nearest once (Rust never contracts `a * b + c` into an FMA), so every target and the PTX
//! kernels (with `.rn` on every operation) compute the same bits. Both stay within 1 ulp of the
//! correctly rounded result; tests check that over dense sweeps of their domains.
//!
//! Method (Cephes `expf`/`logf`, S. L. Moshier): exp reduces `x = n·ln2 + r`, `|r| ≤ ln2/2`, with
//! a two-part ln2 (Cody–Waite) and evaluates a degree-6 polynomial; ln splits off the binary
//! exponent, maps the mantissa to `[√½, √2)` and evaluates a degree-9 polynomial.

// The constants are public so that the vectorised copies of `exp` and `ln` (zl-lanes, `lanes/`)
// use these very values; their tests check them against `exp` and `ln` bit for bit.

/// 1.5·2^23: adding it rounds an f32 below 2^22 in magnitude to an integer (ties to even).
pub const ROUND_MAGIC: f32 = 12_582_912.0;
/// log2(e), the range reduction's scale.
pub const LOG2E: f32 = core::f32::consts::LOG2_E;
/// ln 2 in two parts: `LN2_HI` has 9 significant bits, so `n·LN2_HI` is exact for |n| < 2^15.
pub const LN2_HI: f32 = 0.693_359_4;
/// The low part of ln 2 (`ln 2 − LN2_HI`).
pub const LN2_LO: f32 = -2.121_944_4e-4;
/// Below this, `exp(x)` rounds to zero in f32; above the upper bound it overflows.
pub const EXP_LO: f32 = -104.0;
/// Above this, `exp(x)` overflows to ∞.
pub const EXP_HI: f32 = 88.8;
/// `ln`'s polynomial in `f = m − 1`, highest degree first (Cephes `logf`):
/// `(((c0·f + c1)·f + …)·f + c8)·f·f²`.
pub const LN_POLY: [f32; 9] = [
    7.037_683_6e-2,
    -1.151_461_e-1,
    1.167_699_9e-1,
    -1.242_014_1e-1,
    1.424_932_3e-1,
    -1.666_805_8e-1,
    2.000_071_5e-1,
    -2.499_999_4e-1,
    3.333_333e-1,
];
/// `exp`'s polynomial, highest degree first: `((((c0·r + c1)·r + c2)·r + c3)·r + c4)·r + ½`,
/// then `·r² + r + 1` (Cephes `expf`).
pub const EXP_POLY: [f32; 5] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
];

/// `2^n` for `n` in −126..=127, built from its exponent bits.
#[inline(always)]
fn pow2i(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

/// eˣ in f32, within 1 ulp of the correctly rounded result; NaN for NaN, 0 for −∞, ∞ past ~88.72.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let xc = x.clamp(EXP_LO, EXP_HI);
    // n = round(x / ln2), by the magic-number trick (pure f32 adds, ties to even).
    let t = xc * LOG2E + ROUND_MAGIC;
    let nf = t - ROUND_MAGIC;
    let n = (t.to_bits() as i32) - (ROUND_MAGIC.to_bits() as i32);
    let r = (xc - nf * LN2_HI) - nf * LN2_LO;
    let z = r * r;
    let c = EXP_POLY;
    let p = ((((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + 0.5) * z + r) + 1.0;
    // p·2^n in two exact-then-once-rounded steps, so that subnormal results and n = 128 need
    // no branch: p·2^(n>>1) is a normal number, the second product rounds once.
    let n1 = n >> 1;
    let y = (p * pow2i(n1)) * pow2i(n - n1);
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// ln x in f32 for finite x > 0 (normal or subnormal), within 1 ulp of the correctly rounded
/// result; −∞ at 0, NaN below 0 or for NaN, ∞ for ∞.
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    // Scale subnormals into the normal range first (exactly, by 2^23).
    let sub = x < f32::MIN_POSITIVE;
    let xs = if sub { x * 8_388_608.0 } else { x };
    let bits = xs.to_bits();
    // x = m·2^e with m in [0.5, 1).
    let mut e = ((bits >> 23) & 0xff) as i32 - 126 - if sub { 23 } else { 0 };
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let small = m < core::f32::consts::FRAC_1_SQRT_2;
    if small {
        e -= 1;
    }
    let f = if small { (m + m) - 1.0 } else { m - 1.0 };
    let ef = e as f32;
    let z = f * f;
    // Horner's scheme; adding a negative coefficient is the same IEEE operation as subtracting
    // its magnitude.
    let c = LN_POLY;
    let mut y = c[0];
    for &ci in &c[1..] {
        y = y * f + ci;
    }
    y = y * f * z;
    y += LN2_LO * ef;
    y += -0.5 * z;
    let r = (f + y) + LN2_HI * ef;
    if x.is_nan() || x < 0.0 {
        f32::NAN
    } else if x == 0.0 {
        f32::NEG_INFINITY
    } else if x == f32::INFINITY {
        x
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Error of `got` in ulps of the exact value (f64), measured on the f32 grid around it.
    fn ulp_error(got: f32, exact: f64) -> f64 {
        let rounded = exact as f32;
        let ulp = if rounded == 0.0 || rounded.is_subnormal() {
            f32::from_bits(1) as f64
        } else {
            let b = rounded.abs().to_bits();
            (f32::from_bits(b + 1) as f64) - (f32::from_bits(b) as f64)
        };
        (got as f64 - exact).abs() / ulp
    }

    fn sweep(lo: f32, hi: f32, stride: u32, mut f: impl FnMut(f32)) {
        // Every `stride`-th f32 between lo and hi (same sign), plus both ends.
        let (a, b) = (
            lo.to_bits().min(hi.to_bits()),
            lo.to_bits().max(hi.to_bits()),
        );
        let mut u = a;
        while u <= b {
            f(f32::from_bits(u));
            u = match u.checked_add(stride) {
                Some(v) => v,
                None => break,
            };
        }
        f(lo);
        f(hi);
    }

    #[test]
    fn exp_within_one_ulp() {
        let mut worst = (0.0f64, 0.0f32);
        let mut check = |x: f32| {
            let e = ulp_error(exp(x), (x as f64).exp());
            if e > worst.0 {
                worst = (e, x);
            }
        };
        // The softmax's domain (x ≤ 0, down to where exp underflows), then the positive side.
        sweep(-0.0, -104.0, 97, &mut check);
        sweep(0.0, 88.72, 97, &mut check);
        std::println!("exp: worst {:.3} ulp at {:e}", worst.0, worst.1);
        assert!(
            worst.0 < 1.0,
            "exp error {} ulp at x = {:e}",
            worst.0,
            worst.1
        );
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-200.0), 0.0);
        assert_eq!(exp(89.0), f32::INFINITY);
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn ln_within_one_ulp() {
        let mut worst = (0.0f64, 0.0f32);
        let mut check = |x: f32| {
            let e = ulp_error(ln(x), (x as f64).ln());
            if e > worst.0 {
                worst = (e, x);
            }
        };
        // The log-sum-exp's domain, [1, 256] (every f32), then all positive floats, strided.
        sweep(1.0, 256.0, 1, &mut check);
        sweep(f32::from_bits(1), f32::MAX, 101, &mut check);
        std::println!("ln: worst {:.3} ulp at {:e}", worst.0, worst.1);
        assert!(
            worst.0 < 1.0,
            "ln error {} ulp at x = {:e}",
            worst.0,
            worst.1
        );
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f32::NEG_INFINITY);
        assert!(ln(-1.0).is_nan() && ln(f32::NAN).is_nan());
        assert_eq!(ln(f32::INFINITY), f32::INFINITY);
    }
}
