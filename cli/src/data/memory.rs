//! Whether a model fits in this machine's memory, checked before any work: one line saying how
//! much it would need where it does not.

use anyhow::{bail, Result};

/// Rows of the logits a training thread holds at once (an upper bound on zl-lanes' tiles).
const TILE_ROWS: usize = 96;

/// Bytes training a model of `v` tokens × `d_model` holds: W_E and W_U with their AdamW moments
/// and gradients (six V×D tables of f32), each thread's tile of logit rows, and a row of V.
pub fn training_bytes(v: usize, d_model: usize, threads: usize) -> u64 {
    let floats = 6 * v as u64 * d_model as u64 + (TILE_ROWS * threads + 1) as u64 * v as u64;
    4 * floats
}

/// Bytes this machine has available now (Linux's `MemAvailable`), or `None` where it cannot
/// tell.
pub fn available_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Refuses a model of `v` tokens × `d_model` that would not fit in the memory available.
pub fn check_training(v: usize, d_model: usize) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let need = training_bytes(v, d_model, threads);
    match available_bytes() {
        Some(have) if need > have => bail!(
            "a model of {v} tokens × d_model {d_model} needs about {} to train, and this machine has {} available; use fewer tokens (a smaller --bpe) or a smaller --d-model",
            gib(need),
            gib(have)
        ),
        _ => Ok(()),
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_past_memory_is_refused_with_what_it_needs() {
        assert!(check_training(256, 64).is_ok());
        if let Some(have) = available_bytes() {
            // More tokens than any machine holds at d_model 64.
            let v = (have / (4 * 6 * 64)) as usize * 2;
            let e = check_training(v, 64).unwrap_err().to_string();
            assert!(e.contains("GiB") && e.contains(&v.to_string()), "{e}");
        }
    }
}
