//! From run-time sizes to compile-time capacities: the one place where they meet.
//!
//! Everything here is generic over `const V` (vocabulary capacity) and `const D` (d_model
//! capacity). A model may use fewer tokens and dimensions than its capacity, with exact zeros in
//! the rest, which gives the same numbers as a model of its exact size. [`dispatch`] runs a
//! computation at the smallest of a handful of capacity tiers that fits, or at the seed
//! notebook's exact 30×16. Each tier is one more copy of every generic function it reaches in a
//! binary, so the tiers are few. The `zl` binary (on a thread with a big stack) and the browser
//! page's WebAssembly module (`web/`) both choose their tiers here, for training only: the f64
//! analysis (`interpret`, with the `alloc` feature) and `loss::loss_at` are sized at run time.

/// The largest vocabulary a model can have (token ids 0..=255).
pub const MAX_VOCAB: usize = 256;
/// The largest d_model a model can have.
pub const MAX_D_MODEL: usize = 64;

/// A computation over the core's generic types, run by [`dispatch`] at one capacity.
pub trait AtCapacity {
    /// What it gives back.
    type Output;
    /// Runs at vocabulary capacity `V` and d_model capacity `D`.
    fn at<const V: usize, const D: usize>(self) -> Self::Output;
}

/// Runs `f.at::<V, D>()` for the smallest capacity tier holding `v` tokens × `d` dimensions.
/// The biggest tier's training state is about 1.2 MiB of matrices (256×64), on the stack: the
/// caller provides a stack that holds it.
///
/// Panics unless `1 ≤ v ≤ MAX_VOCAB` and `1 ≤ d ≤ MAX_D_MODEL`: callers check both first.
pub fn dispatch<F: AtCapacity>(v: usize, d: usize, f: F) -> F::Output {
    assert!(
        (1..=MAX_VOCAB).contains(&v) && (1..=MAX_D_MODEL).contains(&d),
        "{v} tokens × d_model {d} is outside the capacity tiers"
    );
    let tv = [32usize, 64, 128, 256].into_iter().find(|&t| v <= t);
    let td = [8usize, 16, 32, 64].into_iter().find(|&t| d <= t);
    match (v, d, tv, td) {
        (30, 16, _, _) => f.at::<30, 16>(),
        (_, _, Some(32), Some(8)) => f.at::<32, 8>(),
        (_, _, Some(32), Some(16)) => f.at::<32, 16>(),
        (_, _, Some(32), Some(32)) => f.at::<32, 32>(),
        (_, _, Some(32), Some(64)) => f.at::<32, 64>(),
        (_, _, Some(64), Some(8)) => f.at::<64, 8>(),
        (_, _, Some(64), Some(16)) => f.at::<64, 16>(),
        (_, _, Some(64), Some(32)) => f.at::<64, 32>(),
        (_, _, Some(64), Some(64)) => f.at::<64, 64>(),
        (_, _, Some(128), Some(8)) => f.at::<128, 8>(),
        (_, _, Some(128), Some(16)) => f.at::<128, 16>(),
        (_, _, Some(128), Some(32)) => f.at::<128, 32>(),
        (_, _, Some(128), Some(64)) => f.at::<128, 64>(),
        (_, _, Some(256), Some(8)) => f.at::<256, 8>(),
        (_, _, Some(256), Some(16)) => f.at::<256, 16>(),
        (_, _, Some(256), Some(32)) => f.at::<256, 32>(),
        (_, _, _, _) => f.at::<256, 64>(),
    }
}
