//! The GPU timings, with the CPU comparison, for scripts/gpu-check.sh:
//!   (a) one seed-model run of `--epochs` (10,000) in one launch;
//!   (b) a batch of `--models` (1,024) seeds × `--epochs` in one launch;
//! each at the default block size and then at several others, each configuration launched
//! `--repeats` (5) times after about a second of real work has raised the GPU's clocks, and
//! checked against zl-core on the CPU (losses within 1e-5, weights within 1e-3, and how many are
//! bit-identical).
//!
//! Output: JSON Lines on stdout, one record per measurement as soon as it is made, so that a run
//! cut short by a timeout keeps what it measured; a launch that fails is recorded as an error and
//! the run goes on. Progress goes to stderr.
//!
//! Run: `cargo run --release -p zl-cuda --example gpu_bench -- [--epochs N] [--models N]
//! [--repeats N] [--budget-s S] [--simulated]`; `--info` prints the driver, the device and what
//! the JIT made of the kernel, as text, and exits. `--simulated` runs the same program on the PTX
//! simulator (tiny sizes only: it checks this program and its consumers, not a GPU's speed).
//! Exits 2 where there is no GPU or the arguments are bad, 1 where a launch failed or a result
//! disagrees with the CPU.

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use zl_core::{AdamWConfig, Bigrams, SeedModel, TrainConfig, Trainer, Vocab, SEED_TEXT};
use zl_cuda::{Batch, Device, Run};

mod big;

/// The bounds against the CPU (as tests/backends): every epoch's loss, and the final weights.
const LOSS_ATOL: f32 = 1e-5;
const WEIGHT_ATOL: f32 = 1e-3;
/// How long the warm-up keeps the GPU busy: an idle card sits near its lowest clock (about
/// 345 MHz), and a few launches of microseconds do not raise it.
const WARM_UP: Duration = Duration::from_secs(1);

struct Args {
    epochs: u32,
    models: u32,
    repeats: u32,
    budget: Duration,
    simulated: bool,
    info: bool,
    /// `--big`: the large-vocabulary rows instead: (v, epochs checked against the CPU) each.
    big: Vec<(usize, u32)>,
    big_d: usize,
    big_epochs: u32,
}

/// The command line, or one line saying what is wrong with it.
fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        epochs: 10_000,
        models: 1_024,
        repeats: 5,
        budget: Duration::from_secs(80),
        simulated: false,
        info: false,
        big: vec![],
        big_d: 64,
        big_epochs: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut number = |min: u32| -> Result<u32, String> {
            let v = it.next().ok_or(format!("{flag} takes a number"))?;
            match v.parse::<u32>() {
                Ok(n) if n >= min => Ok(n),
                _ => Err(format!(
                    "{flag} takes a whole number of at least {min}, not {v:?}"
                )),
            }
        };
        match flag.as_str() {
            "--epochs" => a.epochs = number(1)?,
            "--models" => a.models = number(1)?,
            "--repeats" => a.repeats = number(1)?,
            "--budget-s" => a.budget = Duration::from_secs(number(1)?.into()),
            "--simulated" => a.simulated = true,
            "--info" => a.info = true,
            "--big-d" => a.big_d = number(1)? as usize,
            "--big-epochs" => a.big_epochs = number(1)?,
            "--big" => {
                let list = it.next().ok_or("--big takes V:E[,V:E...]")?;
                for item in list.split(',') {
                    let parsed = item.split_once(':').and_then(|(v, e)| {
                        Some((v.parse::<usize>().ok()?, e.parse::<u32>().ok()?))
                    });
                    match parsed {
                        Some((v, e)) if v >= 2 => a.big.push((v, e)),
                        _ => {
                            return Err(format!(
                                "--big takes vocabulary:checked-epochs pairs such as \
                                 5000:2,50257:1, not {item:?}"
                            ))
                        }
                    }
                }
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (expected --epochs, --models, --repeats, \
                     --budget-s, --simulated, --info, --big, --big-d, --big-epochs)"
                ))
            }
        }
    }
    Ok(a)
}

/// One JSON record, on its own line, flushed at once (stdout is line-buffered).
fn emit(v: Value) {
    println!("{v}");
}

struct Cpu {
    losses: Vec<f32>,
    final_loss: f32,
    weights: Vec<f32>,
    ms: f64,
}

fn cpu_run(b: &Bigrams<30>, seed: u64, epochs: u32) -> Cpu {
    let start = Instant::now();
    let mut t = Trainer::new(
        SeedModel::init_torch(seed, 30, 16).expect("the seed model's shape"),
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

/// (max |diff|, elements with equal bits); a non-finite value on either side counts as an
/// infinite difference.
fn compare(a: &[f32], b: &[f32]) -> (f32, usize) {
    a.iter().zip(b).fold((0.0f32, 0), |(m, n), (x, y)| {
        let d = if x.is_finite() && y.is_finite() {
            (x - y).abs()
        } else {
            f32::INFINITY
        };
        (m.max(d), n + (x.to_bits() == y.to_bits()) as usize)
    })
}

/// Compares one GPU run with the CPU's run of the same seed: its JSON record and whether it is
/// within the bounds.
fn check(run: &Run<30, 16>, cpu: &Cpu, part: &str, seed: u64) -> (bool, Value) {
    let (wd, wbits) = compare(&weights(&run.trainer), &cpu.weights);
    let fd = (run.final_loss - cpu.final_loss).abs();
    let mut ok = wd <= WEIGHT_ATOL && fd <= LOSS_ATOL;
    let mut rec = json!({
        "kind": "check", "part": part, "seed": seed,
        "final_loss_gpu": run.final_loss, "final_loss_cpu": cpu.final_loss,
        "final_loss_bits_equal": run.final_loss.to_bits() == cpu.final_loss.to_bits(),
        "weights_max_diff": wd, "weights_bits_equal": wbits, "weights": cpu.weights.len(),
    });
    if !run.losses.is_empty() {
        let (ld, lbits) = compare(&run.losses, &cpu.losses);
        ok &= ld <= LOSS_ATOL && run.losses.len() == cpu.losses.len();
        rec["losses_max_diff"] = json!(ld);
        rec["losses_bits_equal"] = json!(lbits);
        rec["epochs"] = json!(cpu.losses.len());
    }
    rec["ok"] = json!(ok);
    eprintln!(
        "  {part} seed {seed}: final loss {} (CPU {}), weights max |diff| {wd:e} ({wbits}/{} \
         bit-identical): {}",
        run.final_loss,
        cpu.final_loss,
        cpu.weights.len(),
        if ok { "ok" } else { "DISAGREES" }
    );
    (ok, rec)
}

fn median(xs: &[f64]) -> Option<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

fn min(xs: &[f64]) -> Option<f64> {
    xs.iter().copied().reduce(f64::min)
}

/// One part of the benchmark: its configurations and what its launches have cost so far.
struct Part<'a> {
    name: &'static str,
    configs: &'a [TrainConfig],
    record_losses: bool,
    /// The slowest launch of this part so far, with transfers, to foresee the next
    /// configuration's cost against the budget.
    slowest: Duration,
}

/// The run's clock and its time budget, which ends repeats early rather than let the caller's
/// timeout cut the run before its records are out.
struct Clock {
    started: Instant,
    budget: Duration,
}

/// Launches `part` `repeats` times at `threads` threads per block (`None`: the default),
/// emitting one record with every kernel and wall time, their median and minimum, and any
/// error. Returns the last batch that ran. A launch that fails ends this configuration (a
/// failed launch may leave the context unusable, and its error is the news), not the run; so
/// does a next repeat that the budget would not hold (the record says how many ran).
fn measure(
    dev: &mut Device,
    b: &Bigrams<30>,
    part: &mut Part,
    threads: Option<u32>,
    repeats: u32,
    clock: &Clock,
    errors: &mut u32,
) -> Option<Batch<30, 16>> {
    let mut rec = json!({
        "kind": "time", "part": part.name, "models": part.configs.len(),
        "epochs": part.configs[0].epochs, "threads": threads, "default": threads.is_none(),
    });
    if let Err(e) = dev.set_threads_per_block(threads) {
        // More threads than this GPU allows for the kernel: not a failure of the kernel.
        rec["skipped"] = json!(e.to_string());
        emit(rec);
        return None;
    }
    let (mut kernel_ms, mut wall_ms, mut last) = (vec![], vec![], None::<Batch<30, 16>>);
    let mut deterministic = true;
    for _ in 0..repeats {
        if last.is_some() && clock.started.elapsed() + part.slowest > clock.budget {
            rec["cut_short"] = json!(format!("the time budget of {} s", clock.budget.as_secs()));
            break;
        }
        let wall = Instant::now();
        match dev.train_batch::<30, 16>(b, part.configs, 16, part.record_losses) {
            Ok(batch) => {
                let w = wall.elapsed();
                part.slowest = part.slowest.max(w);
                wall_ms.push(w.as_secs_f64() * 1e3);
                kernel_ms.push(batch.kernel_time.as_secs_f64() * 1e3);
                rec["threads_used"] = json!(batch.threads_per_block);
                // Every repeat of one configuration must give the same bits.
                if let Some(prev) = &last {
                    deterministic &= prev
                        .runs
                        .iter()
                        .zip(&batch.runs)
                        .all(|(p, q)| p.final_loss.to_bits() == q.final_loss.to_bits());
                }
                last = Some(batch);
            }
            Err(e) => {
                *errors += 1;
                eprintln!("  {} {threads:?} threads: launch FAILED: {e}", part.name);
                rec["error"] = json!(e.to_string());
                break;
            }
        }
    }
    if !deterministic {
        *errors += 1;
    }
    rec["kernel_ms"] = json!(kernel_ms);
    rec["wall_ms"] = json!(wall_ms);
    rec["repeats"] = json!(kernel_ms.len());
    rec["kernel_median_ms"] = json!(median(&kernel_ms));
    rec["kernel_min_ms"] = json!(min(&kernel_ms));
    rec["wall_median_ms"] = json!(median(&wall_ms));
    rec["wall_min_ms"] = json!(min(&wall_ms));
    rec["deterministic"] = json!(deterministic);
    if let (Some(k), Some(w)) = (median(&kernel_ms), median(&wall_ms)) {
        eprintln!(
            "  {} x {} epochs, {} threads/block: kernel median {k:.3} ms (min {:.3}), with \
             transfers {w:.3} ms, {} runs",
            part.configs.len(),
            part.configs[0].epochs,
            rec["threads_used"],
            min(&kernel_ms).unwrap_or(k),
            kernel_ms.len()
        );
    }
    emit(rec);
    let _ = dev.set_threads_per_block(None);
    last
}

/// Launches the batch configuration with fewer epochs until `WARM_UP` has passed, so that the
/// timed launches run at the clocks the GPU reaches under load.
fn warm_up(dev: &Device, b: &Bigrams<30>, configs: &[TrainConfig], errors: &mut u32) {
    let start = Instant::now();
    let (mut launches, mut error) = (0u32, None);
    while start.elapsed() < WARM_UP && launches < 10_000 {
        match dev.train_batch::<30, 16>(b, configs, 16, false) {
            Ok(_) => launches += 1,
            Err(e) => {
                *errors += 1;
                eprintln!("  warm-up launch FAILED: {e}");
                error = Some(e.to_string());
                break;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    eprintln!("warm-up: {launches} launches in {seconds:.2} s");
    emit(json!({
        "kind": "warmup", "launches": launches, "seconds": seconds,
        "models": configs.len(), "epochs": configs[0].epochs, "error": error,
    }));
}

/// `--info`: the driver, the device and the JIT'd kernel, one fact a line, for env.txt.
fn info(dev: &Device) {
    println!("device: {}", dev.describe());
    match dev.driver_version() {
        Some(v) => println!(
            "CUDA driver API version (cuDriverGetVersion): {v} ({}.{})",
            v / 1000,
            v % 1000 / 10
        ),
        None => println!("CUDA driver API version: none (the PTX simulator)"),
    }
    match dev.kernel_info() {
        Some(k) => {
            println!(
                "kernel zl_train_f32 (cuFuncGetAttribute): {} registers, {} bytes local memory, \
                 {} bytes static shared memory, at most {} threads per block, binary version {} \
                 (sm_{}), PTX version {}",
                k.registers,
                k.local_bytes,
                k.static_shared_bytes,
                k.max_threads_per_block,
                k.binary_version,
                k.binary_version,
                k.ptx_version
            );
            println!("JIT info log (cuModuleLoadDataEx, verbose):");
            for line in k.jit_log.lines() {
                println!("  {line}");
            }
            if k.jit_log.is_empty() {
                println!("  (empty)");
            }
        }
        None => println!("kernel: interpreted, not JIT-compiled (the PTX simulator)"),
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gpu_bench: {e}");
            return ExitCode::from(2);
        }
    };
    let opened = if args.simulated {
        Device::simulated()
    } else {
        Device::open()
    };
    let mut dev = match opened {
        Ok(d) => d,
        Err(e) => {
            eprintln!("gpu_bench: {e}");
            if !args.info {
                emit(
                    json!({"kind": "open", "error": e.to_string(), "unavailable": e.is_unavailable()}),
                );
            }
            // 2: nothing to run on; 1: a GPU is there but the kernel did not load (a JIT error).
            return ExitCode::from(if e.is_unavailable() { 2 } else { 1 });
        }
    };
    if args.info {
        info(&dev);
        return ExitCode::SUCCESS;
    }
    if !args.big.is_empty() {
        return big::main(&mut dev, &args);
    }
    let clock = Clock {
        started: Instant::now(),
        budget: args.budget,
    };
    let (epochs, models) = (args.epochs, args.models);
    eprintln!("device: {}", dev.describe());
    emit(json!({
        "kind": "device", "device": dev.describe(), "simulated": dev.is_simulated(),
        "driver_version": dev.driver_version(), "epochs": epochs, "models": models,
        "repeats": args.repeats, "budget_s": args.budget.as_secs(),
        "kernel": dev.kernel_info().map(|k| json!({
            "registers": k.registers, "local_bytes": k.local_bytes,
            "binary_version": k.binary_version, "ptx_version": k.ptx_version,
        })),
    }));
    let b = Bigrams::<30>::from_text(&Vocab::seed(), SEED_TEXT).expect("the seed text");
    let cfg = |seed| TrainConfig {
        seed,
        epochs,
        adamw: AdamWConfig::default(),
    };
    let (mut all_ok, mut errors) = (true, 0u32);

    let batch_configs: Vec<TrainConfig> = (0..models as u64).map(cfg).collect();
    let warm: Vec<TrainConfig> = batch_configs
        .iter()
        .map(|c| TrainConfig {
            epochs: epochs.min(1_000),
            ..*c
        })
        .collect();
    warm_up(&dev, &b, &warm, &mut errors);

    let single_configs = [cfg(0)];
    let mut single = Part {
        name: "single",
        configs: &single_configs,
        record_losses: true,
        slowest: Duration::ZERO,
    };
    let mut batch = Part {
        name: "batch",
        configs: &batch_configs,
        record_losses: false,
        slowest: Duration::ZERO,
    };

    // The headline figures first, at the default block size, each checked against the CPU, so
    // that a run short of time still has them; the block-size sweeps after, as time allows.
    eprintln!("(a) one model, {epochs} epochs, one launch");
    let cpu0 = cpu_run(&b, 0, epochs);
    eprintln!("  CPU (zl-core, one thread): {:.1} ms", cpu0.ms);
    emit(json!({"kind": "cpu", "seed": 0, "epochs": epochs, "ms": cpu0.ms}));
    if let Some(run) = measure(
        &mut dev,
        &b,
        &mut single,
        None,
        args.repeats,
        &clock,
        &mut errors,
    ) {
        let (ok, rec) = check(&run.runs[0], &cpu0, "single", 0);
        all_ok &= ok;
        emit(rec);
    }

    eprintln!("(b) {models} models x {epochs} epochs, one launch");
    if let Some(run) = measure(
        &mut dev,
        &b,
        &mut batch,
        None,
        args.repeats,
        &clock,
        &mut errors,
    ) {
        let last = models as u64 - 1;
        let mut sample = vec![0, 1, 2, last / 2, last];
        sample.retain(|&s| s <= last);
        sample.sort_unstable();
        sample.dedup();
        for seed in sample {
            let cpu = cpu_run(&b, seed, epochs);
            let (ok, rec) = check(&run.runs[seed as usize], &cpu, "batch", seed);
            all_ok &= ok;
            emit(rec);
        }
    }

    eprintln!(
        "block sizes, as the budget of {} s allows",
        args.budget.as_secs()
    );
    let sweeps: [(&mut Part, &[u32]); 2] = [
        (&mut single, &[128, 256, 512, 1024]),
        (&mut batch, &[64, 128, 256, 512]),
    ];
    for (part, sizes) in sweeps {
        for &t in sizes {
            let foreseen = clock.started.elapsed() + part.slowest * args.repeats;
            if foreseen > args.budget {
                emit(json!({
                    "kind": "time", "part": part.name, "threads": t, "default": false,
                    "skipped": format!("the time budget of {} s", args.budget.as_secs()),
                }));
                continue;
            }
            measure(
                &mut dev,
                &b,
                part,
                Some(t),
                args.repeats,
                &clock,
                &mut errors,
            );
        }
    }

    emit(json!({
        "kind": "done", "agrees_with_cpu": all_ok, "errors": errors,
        "seconds": clock.started.elapsed().as_secs_f64(),
    }));
    if all_ok && errors == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("gpu_bench: {errors} failed launch(es) or nondeterministic repeats; agrees with the CPU: {all_ok}");
        ExitCode::from(1)
    }
}
