//! From run-time sizes to the core's compile-time capacities: the one place where they meet.
//!
//! zl-core is generic over `const V` (vocabulary capacity) and `const D` (d_model capacity); a
//! model may use fewer tokens and dimensions, with exact zeros in the rest, which gives the same
//! numbers as a model of its exact size. [`dispatch`] runs a computation at the smallest of a
//! handful of capacity tiers that fits, or at the seed notebook's exact 30×16. Each tier is one
//! more copy of every generic function it reaches in the binary, so the tiers are few, and the
//! only callers are the backend layer (training) and the analysis layer.

pub use crate::data::{MAX_D_MODEL, MAX_VOCAB};

/// A computation over the core's generic types, run by [`dispatch`] at one capacity.
pub trait AtCapacity: Send {
    /// What it gives back.
    type Output: Send;
    /// Runs at vocabulary capacity `V` and d_model capacity `D`.
    fn at<const V: usize, const D: usize>(self) -> Self::Output;
}

/// Runs `f.at::<V, D>()` for the smallest capacity tier holding `v` tokens × `d` dimensions, on
/// a thread whose stack holds the biggest tier's training state (about 1.2 MiB of matrices at
/// 256×64, more in a debug build).
///
/// Panics unless `1 ≤ v ≤ MAX_VOCAB` and `1 ≤ d ≤ MAX_D_MODEL`: the data layer and the flags
/// check both before anything gets here.
pub fn dispatch<F: AtCapacity>(v: usize, d: usize, f: F) -> F::Output {
    assert!(
        (1..=MAX_VOCAB).contains(&v) && (1..=MAX_D_MODEL).contains(&d),
        "{v} tokens × d_model {d} is outside the capacity tiers"
    );
    let tv = [32usize, 64, 128, 256].into_iter().find(|&t| v <= t);
    let td = [8usize, 16, 32, 64].into_iter().find(|&t| d <= t);
    on_big_stack(move || match (v, d, tv, td) {
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
    })
}

/// Runs `f` on a thread with a 64 MiB stack and returns its result.
fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("zl-train".into())
            .stack_size(64 << 20)
            .spawn_scoped(s, f)
            .expect("spawning the training thread")
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}
