//! The simulated device: the same PTX text and the same job, run by kernels/sim/ptxsim.py (a
//! PTX interpreter with barrier, race and bounds checks) instead of a GPU. About 10^5 times
//! slower than a GPU, so only for tests on small runs; it needs `python3` and nothing else.

use std::{
    io::Write,
    process::{Command, Stdio},
    time::Instant,
};

use serde_json::{json, Value};

use crate::{
    big::{Arg, BigJob, BigOutput, Buf, BIG_PTX},
    job::{Job, JobOutput},
    kernels::{TRAIN_ENTRY, TRAIN_PTX},
    CudaError,
};

/// The interpreter's source, carried in the binary so that it runs from any directory.
pub const PTXSIM_PY: &str = include_str!("../../kernels/sim/ptxsim.py");

/// The Python interpreter: `$ZL_PYTHON`, else `python3`.
fn python() -> String {
    std::env::var("ZL_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Whether the simulator can run here; `Err` says why not.
pub(crate) fn available() -> Result<(), String> {
    let py = python();
    match Command::new(&py)
        .args(["-c", "import json, struct, math, re"])
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "{py} cannot import the standard library: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("{py} not found ({e}); set ZL_PYTHON")),
    }
}

fn f32_bits(v: &[f32]) -> Value {
    v.iter().map(|x| x.to_bits()).collect()
}

fn f64_bits(v: &[f64]) -> Value {
    v.iter().map(|x| x.to_bits()).collect()
}

fn bits<T>(out: &Value, name: &str, f: impl Fn(u64) -> T) -> Result<Vec<T>, CudaError> {
    out["buffers"][name]
        .as_array()
        .ok_or_else(|| CudaError::Simulator(format!("no buffer {name} in the output")))?
        .iter()
        .map(|x| {
            x.as_u64()
                .map(&f)
                .ok_or_else(|| CudaError::Simulator(format!("{name}: {x} is not a bit pattern")))
        })
        .collect()
}

/// Runs the interpreter on one request and returns its JSON answer.
fn interpret(request: &Value) -> Result<Value, CudaError> {
    let py = python();
    let mut child = Command::new(&py)
        .args(["-c", PTXSIM_PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CudaError::Simulator(format!("cannot start {py}: {e}")))?;
    let input = request.to_string();
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let done = child
        .wait_with_output()
        .map_err(|e| CudaError::Simulator(format!("{py}: {e}")))?;
    writer
        .join()
        .expect("writer thread")
        .map_err(|e| CudaError::Simulator(format!("writing the job to {py}: {e}")))?;
    if !done.status.success() {
        return Err(CudaError::Simulator(
            String::from_utf8_lossy(&done.stderr).trim().to_string(),
        ));
    }
    serde_json::from_slice(&done.stdout)
        .map_err(|e| CudaError::Simulator(format!("unreadable output: {e}")))
}

/// Runs `job` in the interpreter, `threads` threads per block.
pub(crate) fn run(job: &Job, threads: u32) -> Result<JobOutput, CudaError> {
    let buf = |ty: &str, b: Value| json!({ "type": ty, "bits": b });
    let nonempty = |v: Value| {
        if v.as_array().is_some_and(|a| a.is_empty()) {
            json!([0])
        } else {
            v
        }
    };
    let losses = if job.record_losses {
        json!({ "ptr": "losses" })
    } else {
        json!({ "ptr": null })
    };
    let request = json!({
        "ptx": TRAIN_PTX,
        "entry": TRAIN_ENTRY,
        "grid": job.n,
        "block": threads,
        "shared_bytes": job.shared_bytes(),
        "buffers": {
            "counts": buf("f32", f32_bits(&job.counts)),
            "row_totals": buf("f32", f32_bits(&job.row_totals)),
            "state": buf("f32", f32_bits(&job.state)),
            "steps": buf("u32", json!(job.steps)),
            "hyper": buf("f32", f32_bits(&job.hyper)),
            "lr": buf("f64", f64_bits(&job.lr)),
            "sched_off": buf("u32", json!(job.sched_off)),
            "bc1": buf("f64", nonempty(f64_bits(&job.bc1))),
            "bc2s": buf("f32", nonempty(f32_bits(&job.bc2s))),
            "losses": buf("f32", json!(vec![0u32; job.losses_len().max(1)])),
            "final_loss": buf("f32", json!(vec![0u32; job.n as usize])),
        },
        "params": [
            {"ptr": "counts"}, {"ptr": "row_totals"}, {"f32_bits": job.total.to_bits()},
            {"u32": job.v}, {"u32": job.d}, {"u32": job.n}, {"u32": job.epochs},
            {"ptr": "state"}, {"ptr": "steps"}, {"ptr": "hyper"}, {"ptr": "lr"},
            {"ptr": "sched_off"}, {"ptr": "bc1"}, {"ptr": "bc2s"}, losses, {"ptr": "final_loss"},
        ],
        "outputs": ["state", "steps", "losses", "final_loss"],
    });
    let start = Instant::now();
    let out = interpret(&request)?;
    let as_f32 = |b: u64| f32::from_bits(b as u32);
    Ok(JobOutput {
        state: bits(&out, "state", as_f32)?,
        steps: bits(&out, "steps", |b| b as u32)?,
        losses: if job.record_losses {
            bits(&out, "losses", as_f32)?
        } else {
            vec![]
        },
        final_loss: bits(&out, "final_loss", as_f32)?,
        kernel_time: start.elapsed(),
    })
}

/// Runs every launch of `job` in the interpreter, in one process, on the same buffers.
pub(crate) fn run_big(job: &BigJob) -> Result<BigOutput, CudaError> {
    let buf = |ty: &str, b: Value| json!({ "type": ty, "bits": b });
    let zeros = |n: usize| json!(vec![0u32; n]);
    let launches: Vec<Value> = job
        .launches
        .iter()
        .map(|l| {
            let params: Vec<Value> = l
                .args
                .iter()
                .map(|a| match a {
                    Arg::Buf(b) => json!({ "ptr": b.name() }),
                    Arg::U32(x) => json!({ "u32": x }),
                    Arg::F32(x) => json!({ "f32_bits": x.to_bits() }),
                })
                .collect();
            json!({
                "entry": l.entry,
                "grid": l.grid,
                "block": l.block,
                "shared_bytes": 0,
                "params": params,
            })
        })
        .collect();
    let request = json!({
        "ptx": BIG_PTX,
        "buffers": {
            "w": buf("f32", f32_bits(&job.weights)),
            "m": buf("f32", f32_bits(&job.m)),
            "sq": buf("f32", f32_bits(&job.sq)),
            "grad": buf("f32", zeros(job.grad_len)),
            "tile": buf("f32", zeros(job.tile_len)),
            "row_start": buf("u32", json!(job.row_start)),
            "col": buf("u32", json!(job.col)),
            "count": buf("f32", f32_bits(&job.count)),
            "row_totals": buf("f32", f32_bits(&job.row_totals)),
            "row_loss": buf("f32", zeros(job.v)),
            "losses": buf("f32", zeros(job.epochs as usize + 1)),
        },
        "launches": launches,
        "outputs": ["w", "m", "sq", "losses"],
    });
    let start = Instant::now();
    let out = interpret(&request)?;
    let as_f32 = |b: u64| f32::from_bits(b as u32);
    Ok(BigOutput {
        weights: bits(&out, Buf::W.name(), as_f32)?,
        m: bits(&out, Buf::M.name(), as_f32)?,
        sq: bits(&out, Buf::Sq.name(), as_f32)?,
        losses: bits(&out, Buf::Losses.name(), as_f32)?,
        kernel_time: start.elapsed(),
    })
}
