//! `--big V:E,...`: the large-vocabulary rows. For each vocabulary V: a synthetic Zipf-like
//! sparse bigram table from a fixed seed, a model of `--big-d` dimensions, `--big-epochs` epochs
//! of `Device::step_big` timed `--repeats` times (median and minimum), then E epochs from the
//! same start checked against zl-core on the CPU, bit for bit (losses, final loss, weights and
//! both moments; E = 0: not checked, and the record says so) with zl-core's large-V trainer on
//! the CPU's vectors and threads (zl-lanes' `Big`, whose bits are `zl_core::big`'s), where the
//! time budget holds the CPU's time as foreseen from the previous check. Records are JSON Lines of kinds
//! `big_device`, `big_time`, `big_check`, `big_skip` and `big_done`.

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use serde_json::json;
use zl_core::{AdamWConfig, Csr};
use zl_cuda::Device;
use zl_lanes::{Big, BigModel, Isa};

use super::{emit, median, min, Args};

/// Tokens of the synthetic text behind each table.
const TOKENS: usize = 1_000_000;
/// Its seed.
const SEED: u64 = 2_463_534_242;

/// Bigram counts as sparse rows, owned.
struct Table {
    row_start: Vec<usize>,
    col: Vec<u32>,
    count: Vec<u64>,
}

/// A fixed sequence of `TOKENS` tokens over `v`: each token's successor is a Zipf(1) draw, added
/// to the token itself half the time (so that rows differ), counted as bigrams.
fn zipf_table(v: usize) -> Table {
    let mut x = SEED;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut cdf = Vec::with_capacity(v);
    let mut acc = 0.0f64;
    for k in 0..v {
        acc += 1.0 / (k + 1) as f64;
        cdf.push(acc);
    }
    let mut pairs = Vec::with_capacity(TOKENS);
    let mut cur = 0usize;
    for _ in 0..TOKENS {
        let u = (next() >> 11) as f64 / (1u64 << 53) as f64 * acc;
        let z = cdf.partition_point(|&c| c < u).min(v - 1);
        let t = if next() & 1 == 0 { (cur + z) % v } else { z };
        pairs.push(((cur as u64) << 32) | t as u64);
        cur = t;
    }
    pairs.sort_unstable();
    let mut t = Table {
        row_start: vec![0; v + 1],
        col: vec![],
        count: vec![],
    };
    let mut last = None;
    for p in pairs {
        if last == Some(p) {
            *t.count.last_mut().expect("a pair") += 1;
        } else {
            t.col.push(p as u32);
            t.count.push(1);
            t.row_start[(p >> 32) as usize + 1] = t.col.len();
        }
        last = Some(p);
    }
    for i in 1..=v {
        t.row_start[i] = t.row_start[i].max(t.row_start[i - 1]);
    }
    t
}

/// `init_torch(0)` (the notebook's initialisation) with fresh AdamW state.
fn init(v: usize, d: usize) -> BigModel {
    BigModel::init_torch(0, v, d, AdamWConfig::default())
}

/// W_E then W_U.
fn weights(m: &BigModel) -> Vec<f32> {
    [&m.w_e[..], &m.w_u[..]].concat()
}

/// m_E, m_U, v_E, v_U.
fn moments(m: &BigModel) -> Vec<f32> {
    [&m.m[..], &m.v[..]].concat().concat()
}

/// `epochs` epochs of zl-core's large-V trainer on this CPU's best instruction set and every
/// thread (zl-lanes' `Big`, zl_core::big's bits): each epoch's loss, then the final loss.
fn cpu_epochs(c: &Csr, m: &mut BigModel, epochs: u32) -> (Vec<f32>, f32) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut big = Big::new(Isa::best(), threads, None, c.vocab_len(), m.d_model);
    let mut s = m.state();
    let losses = (0..epochs).map(|_| big.epoch(&mut s, c)).collect();
    (losses, big.loss(&s, c))
}

/// How many elements of `a` and `b` have equal bits.
fn same(a: &[f32], b: &[f32]) -> usize {
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.to_bits() == y.to_bits())
        .count()
}

pub fn main(dev: &mut Device, args: &Args) -> ExitCode {
    let started = Instant::now();
    let d = args.big_d;
    emit(json!({
        "kind": "big_device", "device": dev.describe(), "simulated": dev.is_simulated(),
        "d_model": d, "epochs": args.big_epochs, "repeats": args.repeats,
        "tokens": TOKENS, "budget_s": args.budget.as_secs(),
        "cpu_reference": format!("zl-lanes Big ({}, {} threads)", Isa::best(),
            std::thread::available_parallelism().map_or(1, |n| n.get())),
    }));
    let (mut errors, mut all_ok) = (0u32, true);
    // The CPU's last check: (v, epochs + 1 passes, ms), to foresee the next one's time.
    let mut cpu_rate: Option<(usize, u32, f64)> = None;
    for &(v, check_epochs) in &args.big {
        let t = zipf_table(v);
        let csr = Csr::new(v, &t.row_start, &t.col, &t.count).expect("a valid table");
        let start = init(v, d);
        eprintln!(
            "large V: {v} tokens x d_model {d}, {} pairs, {} epochs a run",
            csr.pairs(),
            args.big_epochs
        );
        // One epoch first, untimed: the first use JIT-compiles kernels/big.ptx.
        let mut warm = start.clone();
        if let Err(e) = dev.step_big(&csr, &mut warm.state(), 1) {
            errors += 1;
            eprintln!("  launch FAILED: {e}");
            emit(json!({"kind": "big_time", "v": v, "d_model": d, "error": e.to_string()}));
            continue;
        }
        let (mut kernel_ms, mut wall_ms, mut tile_rows) = (vec![], vec![], 0);
        let mut first: Option<Vec<u32>> = None;
        let mut deterministic = true;
        let mut rec = json!({
            "kind": "big_time", "v": v, "d_model": d, "pairs": csr.pairs(),
            "epochs": args.big_epochs,
        });
        for _ in 0..args.repeats {
            let slowest = wall_ms.iter().copied().fold(0.0, f64::max);
            if !wall_ms.is_empty()
                && started.elapsed() + Duration::from_secs_f64(slowest / 1e3) > args.budget
            {
                rec["cut_short"] = json!(format!("the time budget of {} s", args.budget.as_secs()));
                break;
            }
            let mut s = start.clone();
            let wall = Instant::now();
            match dev.step_big(&csr, &mut s.state(), args.big_epochs) {
                Ok(run) => {
                    wall_ms.push(wall.elapsed().as_secs_f64() * 1e3);
                    kernel_ms.push(run.kernel_time.as_secs_f64() * 1e3);
                    tile_rows = run.tile_rows;
                    let bits: Vec<u32> = run
                        .losses
                        .iter()
                        .chain([&run.final_loss])
                        .chain(&weights(&s))
                        .map(|x| x.to_bits())
                        .collect();
                    match &first {
                        Some(f) => deterministic &= *f == bits,
                        None => first = Some(bits),
                    }
                }
                Err(e) => {
                    errors += 1;
                    eprintln!("  launch FAILED: {e}");
                    rec["error"] = json!(e.to_string());
                    break;
                }
            }
        }
        if !deterministic {
            errors += 1;
        }
        let k = median(&kernel_ms);
        rec["tile_rows"] = json!(tile_rows);
        rec["kernel_ms"] = json!(kernel_ms);
        rec["wall_ms"] = json!(wall_ms);
        rec["repeats"] = json!(kernel_ms.len());
        rec["kernel_median_ms"] = json!(k);
        rec["kernel_min_ms"] = json!(min(&kernel_ms));
        rec["wall_median_ms"] = json!(median(&wall_ms));
        rec["epoch_median_ms"] = json!(k.map(|k| k / args.big_epochs as f64));
        rec["deterministic"] = json!(deterministic);
        if let Some(k) = k {
            eprintln!(
                "  {} epochs: kernel median {k:.1} ms ({:.1} ms an epoch), tiles of {tile_rows} \
                 rows, {} runs",
                args.big_epochs,
                k / args.big_epochs as f64,
                kernel_ms.len()
            );
        }
        emit(rec);

        if check_epochs == 0 {
            emit(json!({"kind": "big_skip", "v": v, "why": "not asked (--big V:0)"}));
            continue;
        }
        // A CPU pass costs about v^2: foreseen from the last check, if any.
        if let Some((v0, passes, ms)) = cpu_rate {
            let scale = (v as f64 / v0 as f64).powi(2) * (check_epochs + 1) as f64 / passes as f64;
            let foreseen = Duration::from_secs_f64(ms * scale / 1e3);
            if started.elapsed() + foreseen > args.budget {
                emit(json!({"kind": "big_skip", "v": v, "epochs": check_epochs,
                    "why": format!("the CPU would need about {:.0} s, past the time budget of {} s",
                        foreseen.as_secs_f64(), args.budget.as_secs())}));
                continue;
            }
        }
        let mut gpu = start.clone();
        let run = match dev.step_big(&csr, &mut gpu.state(), check_epochs) {
            Ok(r) => r,
            Err(e) => {
                errors += 1;
                emit(json!({"kind": "big_check", "v": v, "error": e.to_string(), "ok": false}));
                continue;
            }
        };
        let mut cpu = start.clone();
        let t0 = Instant::now();
        let (losses, final_loss) = cpu_epochs(&csr, &mut cpu, check_epochs);
        let cpu_ms = t0.elapsed().as_secs_f64() * 1e3;
        cpu_rate = Some((v, check_epochs + 1, cpu_ms));
        let (gpu_moments, cpu_moments) = (moments(&gpu), moments(&cpu));
        let (gpu_weights, cpu_weights) = (weights(&gpu), weights(&cpu));
        let rec = json!({
            "kind": "big_check", "v": v, "d_model": d, "epochs": check_epochs, "cpu_ms": cpu_ms,
            "losses_bits_equal": same(&run.losses, &losses), "losses": losses.len(),
            "final_loss_bits_equal": run.final_loss.to_bits() == final_loss.to_bits(),
            "weights_bits_equal": same(&gpu_weights, &cpu_weights), "weights": cpu_weights.len(),
            "moments_bits_equal": same(&gpu_moments, &cpu_moments), "moments": cpu_moments.len(),
            "final_loss_gpu": run.final_loss, "final_loss_cpu": final_loss,
        });
        let ok = rec["losses_bits_equal"] == losses.len()
            && rec["final_loss_bits_equal"] == true
            && rec["weights_bits_equal"] == cpu_weights.len()
            && rec["moments_bits_equal"] == cpu_moments.len();
        all_ok &= ok;
        eprintln!(
            "  {check_epochs} epoch(s) against the CPU ({cpu_ms:.0} ms there): {}",
            if ok { "bit-identical" } else { "DIFFER" }
        );
        let mut rec = rec;
        rec["ok"] = json!(ok);
        emit(rec);
    }
    emit(json!({
        "kind": "big_done", "agrees_with_cpu": all_ok, "errors": errors,
        "seconds": started.elapsed().as_secs_f64(),
    }));
    if all_ok && errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
