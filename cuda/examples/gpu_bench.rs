//! The GPU timings of issue 5, with the CPU comparison, for scripts/gpu-check.sh:
//!   (a) one seed-model run of `--epochs` (10,000) in one launch, at several block sizes;
//!   (b) a batch of `--models` (1,024) seeds × `--epochs` in one launch;
//! each checked against zl-core on the CPU (losses within 1e-5, weights within 1e-3, and how
//! many are bit-identical). Progress goes to stderr; one JSON object goes to stdout.
//!
//! Run: `cargo run --release -p zl-cuda --example gpu_bench -- [--epochs N] [--models N]`.
//! `--simulated` runs the same program on the PTX simulator (tiny sizes only: it checks this
//! program, not the GPU's speed).
//! Exits 2 where there is no GPU, 1 where a result disagrees with the CPU.

use std::{process::ExitCode, time::Instant};

use zl_core::{AdamWConfig, Bigrams, SeedModel, TrainConfig, Trainer, Vocab, SEED_TEXT};
use zl_cuda::{Batch, Device, Run};

/// Issue 5's bounds: every epoch's loss, and the final weights.
const LOSS_ATOL: f32 = 1e-5;
const WEIGHT_ATOL: f32 = 1e-3;

struct Cpu {
    losses: Vec<f32>,
    final_loss: f32,
    weights: Vec<f32>,
    ms: f64,
}

fn cpu_run(b: &Bigrams<30>, seed: u64, epochs: u32) -> Cpu {
    let start = Instant::now();
    let mut t = Trainer::new(
        SeedModel::init_torch(seed, 30, 16).unwrap(),
        AdamWConfig::default(),
    );
    let losses: Vec<f32> = (0..epochs).map(|_| t.step(b)).collect();
    let final_loss = t.loss(b);
    let ms = start.elapsed().as_secs_f64() * 1e3;
    Cpu {
        losses,
        final_loss,
        weights: weights(&t),
        ms,
    }
}

fn weights(t: &Trainer<30, 16>) -> Vec<f32> {
    t.model
        .w_e_row_major()
        .chain(t.model.w_u_row_major())
        .collect()
}

/// (max |diff|, elements with equal bits)
fn compare(a: &[f32], b: &[f32]) -> (f32, usize) {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold((0.0f32, 0), |(m, n), (x, y)| {
        let d = if x.is_finite() && y.is_finite() {
            (x - y).abs()
        } else {
            f32::INFINITY
        };
        (m.max(d), n + (x.to_bits() == y.to_bits()) as usize)
    })
}

struct Check {
    ok: bool,
    json: String,
}

/// Compares one GPU run with the CPU's run of the same seed.
fn check(run: &Run<30, 16>, cpu: &Cpu, what: &str) -> Check {
    let (wd, wbits) = compare(&weights(&run.trainer), &cpu.weights);
    let fd = (run.final_loss - cpu.final_loss).abs();
    let mut ok = wd <= WEIGHT_ATOL && fd <= LOSS_ATOL;
    let mut json = format!(
        "\"final_loss_gpu\": {}, \"final_loss_cpu\": {}, \"final_loss_bits_equal\": {}, \
         \"weights_max_diff\": {wd:e}, \"weights_bits_equal\": {wbits}, \"weights\": {}",
        run.final_loss,
        cpu.final_loss,
        run.final_loss.to_bits() == cpu.final_loss.to_bits(),
        cpu.weights.len()
    );
    if !run.losses.is_empty() {
        let (ld, lbits) = compare(&run.losses, &cpu.losses);
        ok &= ld <= LOSS_ATOL;
        json += &format!(
            ", \"losses_max_diff\": {ld:e}, \"losses_bits_equal\": {lbits}, \"epochs\": {}",
            cpu.losses.len()
        );
        eprintln!(
            "  {what}: losses max |diff| {ld:e} ({lbits}/{} bit-identical)",
            cpu.losses.len()
        );
    }
    eprintln!(
        "  {what}: final loss {} (CPU {}), weights max |diff| {wd:e} ({wbits}/{} bit-identical): {}",
        run.final_loss,
        cpu.final_loss,
        cpu.weights.len(),
        if ok { "ok" } else { "DISAGREES" }
    );
    Check { ok, json }
}

/// Times one launch of `configs` at each block size (`None`: the default), returning each
/// launch's JSON row, the best kernel time, and the default launch's batch.
fn sweep(
    dev: &mut Device,
    b: &Bigrams<30>,
    configs: &[TrainConfig],
    record_losses: bool,
    block_sizes: &[Option<u32>],
) -> (Vec<String>, f64, Option<Batch<30, 16>>) {
    let (mut rows, mut best, mut default) = (vec![], f64::INFINITY, None);
    for &threads in block_sizes {
        if dev.set_threads_per_block(threads).is_err() {
            continue; // more threads than this GPU allows for the kernel
        }
        let wall = Instant::now();
        let batch = dev
            .train_batch::<30, 16>(b, configs, 16, record_losses)
            .expect("launch");
        let wall_ms = wall.elapsed().as_secs_f64() * 1e3;
        let ms = batch.kernel_time.as_secs_f64() * 1e3;
        eprintln!(
            "  {} threads/block: kernel {ms:.2} ms, with transfers {wall_ms:.2} ms",
            batch.threads_per_block
        );
        best = best.min(ms);
        rows.push(format!(
            "{{\"threads\": {}, \"default\": {}, \"kernel_ms\": {ms:.3}, \"wall_ms\": {wall_ms:.3}}}",
            batch.threads_per_block,
            threads.is_none()
        ));
        if threads.is_none() {
            default = Some(batch);
        }
    }
    dev.set_threads_per_block(None).unwrap();
    (rows, best, default)
}

fn arg(name: &str, default: u32) -> u32 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        })
        .unwrap_or(default)
}

fn main() -> ExitCode {
    let epochs = arg("--epochs", 10_000);
    let models = arg("--models", 1_024);
    let simulated = std::env::args().any(|a| a == "--simulated");
    let mut dev = match if simulated {
        Device::simulated()
    } else {
        Device::open()
    } {
        Ok(d) => d,
        Err(e) => {
            eprintln!("gpu_bench: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!("device: {}", dev.describe());
    let b = Bigrams::<30>::from_text(&Vocab::seed(), SEED_TEXT).unwrap();
    let cfg = |seed| TrainConfig {
        seed,
        epochs,
        adamw: AdamWConfig::default(),
    };
    let mut all_ok = true;

    // Warm-up: the first launch pays for lazy initialisation.
    let warm = TrainConfig {
        epochs: 10,
        ..cfg(0)
    };
    dev.train::<30, 16>(&b, &warm, 16).expect("warm-up launch");

    // (a) One run, several block sizes; the default block size is checked against the CPU.
    eprintln!("(a) one model, {epochs} epochs, one launch");
    let cpu0 = cpu_run(&b, 0, epochs);
    eprintln!("  CPU (zl-core, one thread): {:.1} ms", cpu0.ms);
    let sizes = [None, Some(128), Some(256), Some(512), Some(1024)];
    let (single, best, default) = sweep(&mut dev, &b, &[cfg(0)], true, &sizes);
    let c = check(&default.expect("default launch").runs[0], &cpu0, "seed 0");
    all_ok &= c.ok;
    let single_check = c.json;

    // (b) A batch of seeds 0..models in one launch; a sample checked against the CPU.
    eprintln!("(b) {models} models x {epochs} epochs, one launch");
    let configs: Vec<TrainConfig> = (0..models as u64).map(cfg).collect();
    let sizes = [None, Some(64), Some(128), Some(256), Some(512)];
    let (batch_rows, best_batch, default) = sweep(&mut dev, &b, &configs, false, &sizes);
    let batch = default.expect("default launch");
    let mut batch_checks = vec![];
    let last = models as u64 - 1;
    let mut sample = vec![0, 1, 2, last / 2, last];
    sample.retain(|&s| s <= last);
    sample.sort_unstable();
    sample.dedup();
    for seed in sample {
        let cpu = cpu_run(&b, seed, epochs);
        let c = check(&batch.runs[seed as usize], &cpu, &format!("seed {seed}"));
        all_ok &= c.ok;
        batch_checks.push(format!("{{\"seed\": {seed}, {}}}", c.json));
    }
    println!(
        "{{\"device\": {:?}, \"epochs\": {epochs}, \"models\": {models}, \"cpu_single_ms\": {:.3}, \
         \"single\": [{}], \"single_best_kernel_ms\": {best:.3}, \"single_check\": {{{}}}, \
         \"batch\": [{}], \"batch_best_kernel_ms\": {best_batch:.3}, \"batch_checks\": [{}], \
         \"agrees_with_cpu\": {all_ok}}}",
        dev.describe(),
        cpu0.ms,
        single.join(", "),
        single_check,
        batch_rows.join(", "),
        batch_checks.join(", ")
    );
    if all_ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("gpu_bench: the GPU disagrees with the CPU (see above)");
        ExitCode::from(1)
    }
}
