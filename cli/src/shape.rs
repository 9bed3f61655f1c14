//! From runtime sizes to the core's compile-time capacities.
//!
//! zl-core is generic over `const V` (vocabulary capacity) and `const D` (d_model capacity); a
//! model may use fewer tokens and dimensions, with exact zeros in the rest, which gives the same
//! numbers as a model of its exact size. The CLI instantiates a handful of capacity tiers and
//! picks the smallest that fits, plus the seed notebook's exact 30×16.

/// Largest d_model zl trains.
pub const MAX_D_MODEL: usize = 64;

/// Calls `$f::<V, D>($args…)` for the smallest capacity tier holding `$v` tokens × `$d` dims.
/// The caller has checked `1 ≤ v ≤ 256` and `1 ≤ d ≤ 64`.
macro_rules! with_capacity {
    ($v:expr, $d:expr, $f:ident ( $($arg:expr),* $(,)? )) => {{
        let (v, d): (usize, usize) = ($v, $d);
        let tv = [32usize, 64, 128, 256].into_iter().find(|&t| v <= t).expect("v ≤ 256");
        let td = [8usize, 16, 32, 64].into_iter().find(|&t| d <= t).expect("d ≤ 64");
        match (v, d, tv, td) {
            (30, 16, _, _) => $f::<30, 16>($($arg),*),
            (_, _, 32, 8) => $f::<32, 8>($($arg),*),
            (_, _, 32, 16) => $f::<32, 16>($($arg),*),
            (_, _, 32, 32) => $f::<32, 32>($($arg),*),
            (_, _, 32, 64) => $f::<32, 64>($($arg),*),
            (_, _, 64, 8) => $f::<64, 8>($($arg),*),
            (_, _, 64, 16) => $f::<64, 16>($($arg),*),
            (_, _, 64, 32) => $f::<64, 32>($($arg),*),
            (_, _, 64, 64) => $f::<64, 64>($($arg),*),
            (_, _, 128, 8) => $f::<128, 8>($($arg),*),
            (_, _, 128, 16) => $f::<128, 16>($($arg),*),
            (_, _, 128, 32) => $f::<128, 32>($($arg),*),
            (_, _, 128, 64) => $f::<128, 64>($($arg),*),
            (_, _, 256, 8) => $f::<256, 8>($($arg),*),
            (_, _, 256, 16) => $f::<256, 16>($($arg),*),
            (_, _, 256, 32) => $f::<256, 32>($($arg),*),
            (_, _, 256, 64) => $f::<256, 64>($($arg),*),
            _ => unreachable!("every (v ≤ 256, d ≤ 64) has a tier"),
        }
    }};
}
pub(crate) use with_capacity;

/// Runs `f` on a thread with a stack large enough for the biggest tier's training state
/// (about 1.2 MiB of matrices at 256×64, more in a debug build), and returns its result.
pub fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
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
