//! PyTorch's CPU generator: `torch.manual_seed(seed); torch.randn(...)` for float32.
//!
//! References (PyTorch source):
//! - `aten/src/ATen/core/MT19937RNGEngine.h`: mt19937 seeded by `init_with_uint32(seed)`;
//! - `aten/src/ATen/core/TransformationHelper.h`: a float uniform is `(u32 & 0xFFFFFF) * 2^-24`,
//!   a double uniform is `(random64() & (2^53-1)) * 2^-53`, `random64() = (first << 32) | second`;
//! - `aten/src/ATen/native/cpu/DistributionTemplates.h`: `normal_fill` fills every element with
//!   a float uniform, then runs `normal_fill_16` (Box–Muller) on each block of 16; when the count
//!   is not a multiple of 16 it redraws the last 16 uniforms and transforms them again. Tensors
//!   of fewer than 16 elements take the scalar `normal_distribution<double>` path instead, which
//!   caches every second sample in the generator.
//!
//! PyTorch's x86 builds run an AVX2 `normal_fill` whose vector log/sin/cos differ from libm's by
//! an ulp or two, so values agree to within 2 ulp (held by a golden test), not always bit for bit.

/// Mersenne Twister state size.
const N: usize = 624;
/// Mersenne Twister shift size.
const M: usize = 397;

/// `torch.Generator` on CPU: an mt19937 plus the cached second normal sample of the double path.
#[derive(Clone)]
pub struct TorchGenerator {
    state: [u32; N],
    next: usize,
    cached_normal: Option<f64>,
}

impl TorchGenerator {
    /// `torch.manual_seed(seed)`: PyTorch keeps the low 32 bits for mt19937's `init_genrand`.
    pub fn new(seed: u64) -> Self {
        let mut state = [0u32; N];
        state[0] = seed as u32;
        for j in 1..N {
            state[j] = 1_812_433_253u32
                .wrapping_mul(state[j - 1] ^ (state[j - 1] >> 30))
                .wrapping_add(j as u32);
        }
        TorchGenerator {
            state,
            next: N,
            cached_normal: None,
        }
    }

    fn twist(&mut self) {
        for k in 0..N {
            let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % N] & 0x7fff_ffff);
            let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
            self.state[k] = self.state[(k + M) % N] ^ (y >> 1) ^ mag;
        }
        self.next = 0;
    }

    /// The next raw 32-bit output of mt19937.
    pub fn next_u32(&mut self) -> u32 {
        if self.next >= N {
            self.twist();
        }
        let mut y = self.state[self.next];
        self.next += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `uniform_real_distribution<float>(0, 1)`: 24 random bits times 2^-24.
    pub fn uniform_f32(&mut self) -> f32 {
        (self.next_u32() & 0x00ff_ffff) as f32 * (1.0 / 16_777_216.0)
    }

    /// `uniform_real_distribution<double>(0, 1)`: 53 random bits of `random64()` times 2^-53.
    pub fn uniform_f64(&mut self) -> f64 {
        let hi = self.next_u32() as u64;
        let lo = self.next_u32() as u64;
        (((hi << 32) | lo) & ((1u64 << 53) - 1)) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `normal_distribution<double>` with mean 0 and std 1, as `at::normal_distribution` draws it:
    /// a cached second sample first, else `r = sqrt(-2 log1p(-u2))`, `θ = 2π u1`.
    fn normal_f64(&mut self) -> f64 {
        if let Some(x) = self.cached_normal.take() {
            return x;
        }
        let u1 = self.uniform_f64();
        let u2 = self.uniform_f64();
        let r = libm::sqrt(-2.0 * libm::log1p(-u2));
        let theta = 2.0 * core::f64::consts::PI * u1;
        self.cached_normal = Some(r * libm::sin(theta));
        r * libm::cos(theta)
    }

    /// `torch.randn` into `out` (a contiguous float32 tensor, in PyTorch's row-major order).
    pub fn randn(&mut self, out: &mut [f32]) {
        let n = out.len();
        if n < 16 {
            for x in out.iter_mut() {
                *x = self.normal_f64() as f32;
            }
            return;
        }
        for x in out.iter_mut() {
            *x = self.uniform_f32();
        }
        for block in out.chunks_exact_mut(16) {
            normal_fill_16(block);
        }
        if !n.is_multiple_of(16) {
            let tail = &mut out[n - 16..];
            for x in tail.iter_mut() {
                *x = self.uniform_f32();
            }
            normal_fill_16(tail);
        }
    }
}

/// 2π rounded to f32, as `_mm256_set1_ps(2.0f * c10::pi<double>)` holds it.
const TWO_PI_F32: f32 = 2.0 * core::f32::consts::PI;

/// Box–Muller on 16 uniforms in place: pairs `(d[j], d[j+8])` for j in 0..8.
/// θ is the f32 product `2π·u2`, as PyTorch's x86 `normal_fill_16_AVX2` computes it (the scalar
/// fallback computes it in double; the vector path is the one PyTorch's x86 builds run).
fn normal_fill_16(d: &mut [f32]) {
    for j in 0..8 {
        let u1 = 1.0f32 - d[j];
        let u2 = d[j + 8];
        let radius = libm::sqrtf(-2.0 * libm::logf(u1));
        let theta = TWO_PI_F32 * u2;
        d[j] = radius * libm::cosf(theta);
        d[j + 8] = radius * libm::sinf(theta);
    }
}

/// `W_E = randn(v, d) / sqrt(d)`, then `W_U = randn(d, v) / sqrt(d)` after
/// `torch.manual_seed(seed)`, into row-major slices (`w_e.len() / d` tokens): the notebook's
/// initialisation, as [`crate::Model::init_torch`] places it
/// (and [`crate::big`] trains it).
pub fn init_torch(seed: u64, d_model: usize, w_e: &mut [f32], w_u: &mut [f32]) {
    // `tensor / np.sqrt(d)`: PyTorch casts the double scalar to float, then divides in float.
    let scale = libm::sqrt(d_model as f64) as f32;
    let mut g = TorchGenerator::new(seed);
    for w in [w_e, w_u] {
        g.randn(w);
        w.iter_mut().for_each(|x| *x /= scale);
    }
}

/// Shuffles `items` in place (Fisher–Yates, from the last item down) with SplitMix64 (Steele,
/// Lea and Flood 2014, as java.util.SplittableRandom) seeded with `seed`: the shuffled-text
/// control's shuffle ([`crate::verdict`]), the same text for the same seed on every target.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for k in (1..items.len()).rev() {
        // Lemire's multiply-shift: an index in 0..=k (bias below 2^-40 for these lengths).
        let r = ((next() as u128 * (k as u128 + 1)) >> 64) as usize;
        items.swap(k, r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_reference_sequence() {
        // The reference implementation's first outputs for init_genrand(5489).
        let mut g = TorchGenerator::new(5489);
        assert_eq!(g.next_u32(), 3_499_211_612);
        assert_eq!(g.next_u32(), 581_869_302);
        assert_eq!(g.next_u32(), 3_890_346_734);
        // The 10000th output of std::mt19937 with its default seed (C++ standard, [rand.predef]).
        let mut g = TorchGenerator::new(5489);
        let mut x = 0;
        for _ in 0..10_000 {
            x = g.next_u32();
        }
        assert_eq!(x, 4_123_659_995);
    }

    #[test]
    fn a_shuffle_is_a_permutation_fixed_by_its_seed() {
        let sorted: Vec<u32> = (0..100).collect();
        let (mut a, mut b, mut c) = (sorted.clone(), sorted.clone(), sorted.clone());
        shuffle(&mut a, 0);
        shuffle(&mut b, 0);
        shuffle(&mut c, 1);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, sorted);
        a.sort_unstable();
        assert_eq!(a, sorted);
    }
}
