//! From run-time sizes to the core's compile-time capacities: the one place where they meet.
//!
//! The tiers themselves are zl-core's ([`zl_core::capacity`]), shared with the browser page's
//! WebAssembly module; this module runs them on a thread with a big stack. Only training runs at
//! a tier; the analysis is sized at run time (`zl_core::interpret`, `zl_core::loss::loss_at`).

pub use zl_core::capacity::{AtCapacity, MAX_D_MODEL, MAX_VOCAB};

/// zl-core's [`zl_core::capacity::dispatch`], on a thread whose stack holds the biggest tier's
/// training state (about 1.2 MiB of matrices at 256×64, more in a debug build).
pub fn dispatch<F: AtCapacity + Send>(v: usize, d: usize, f: F) -> F::Output
where
    F::Output: Send,
{
    on_big_stack(move || zl_core::capacity::dispatch(v, d, f))
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
