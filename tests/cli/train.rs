//! `zl train`: the notebook's numbers, JSON, saved weights, bad input, the same lines on every
//! backend, losses as they happen and Ctrl-C, `--seeds`'s summary and `--val-fraction`.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
};

use serde_json::Value;
use zl_tests::{
    assert_one_line_error, floats, root, zl, zl_bin, zl_json, zl_with, Out, NOTEBOOK_LOSSES,
};

use super::run::{assert_has, custom, json, ok};

#[test]
fn train_prints_the_notebooks_losses_and_the_comparison() {
    let o = zl(&["train"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut printed = Vec::new();
    for line in o.stdout.lines() {
        if let Some(rest) = line.strip_prefix("Epoch: ") {
            let (e, l) = rest.split_once(", train loss: ").expect("notebook format");
            printed.push((e.parse::<u32>().unwrap(), l.parse::<f64>().unwrap()));
        }
    }
    assert_eq!(printed.len(), 100, "one line every 100 epochs");
    for (i, want) in NOTEBOOK_LOSSES.iter().enumerate() {
        let (e, got) = printed[i];
        assert_eq!(e, 100 * i as u32);
        assert!(
            (got - want).abs() <= 1e-5,
            "epoch {e}: {got} vs the notebook's {want}"
        );
    }
    assert!(
        o.stdout.contains("{'h': 0, 'i': 1, 'B': 2,"),
        "the notebook's vocabulary"
    );
    assert!(o
        .stdout
        .contains("uniform loss: ln 30 = 3.4011973816621555"));
    assert!(o.stdout.contains("bigram entropy floor"));
    assert!(
        o.stdout.contains("for 30 of 30 characters"),
        "every argmax agrees after 10k epochs"
    );
}

#[test]
fn json_is_one_object_with_the_documented_keys() {
    let o = zl(&["train", "--json", "--epochs", "300", "--seed", "3"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).expect("stdout is exactly one JSON object");
    assert_eq!(v["losses"].as_array().unwrap().len(), 300);
    assert_eq!(v["initial_loss"], v["losses"][0]);
    let vocab: Vec<&str> = v["vocab"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(vocab.len(), 30);
    assert_eq!((vocab[0], vocab[21], vocab[29]), ("h", "\u{2019}", " "));
    let we = v["W_E"].as_array().unwrap();
    let wu = v["W_U"].as_array().unwrap();
    assert_eq!((we.len(), we[0].as_array().unwrap().len()), (30, 16));
    assert_eq!((wu.len(), wu[0].as_array().unwrap().len()), (16, 30));
    let final_loss = v["final_loss"].as_f64().unwrap();
    let last = v["losses"][299].as_f64().unwrap();
    assert!(
        final_loss < last,
        "final_loss is after the last update: {final_loss} vs {last}"
    );
    assert!(v["train_seconds"].as_f64().unwrap() > 0.0);
    assert!(
        o.stderr.contains("Epoch: 0, train loss:"),
        "logs go to stderr"
    );
}

#[test]
fn checksum_line_is_last() {
    let o = zl(&["train", "--epochs", "100", "--checksum"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let last = o.stdout.lines().last().unwrap();
    let parts: Vec<&str> = last.split(' ').collect();
    assert_eq!(parts[0], "epochs=100");
    assert!(
        parts[1].starts_with("final_loss=0x") && parts[1].len() == 21,
        "{last}"
    );
    assert!(
        parts[2].starts_with("weights_fnv1a=0x") && parts[2].len() == 24,
        "{last}"
    );
}

#[test]
fn saved_weights_equal_the_json_and_carry_the_vocab() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let o = zl(&[
        "train",
        "--epochs",
        "200",
        "--json",
        "--save",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for (name, shape) in [("W_E", [30, 16]), ("W_U", [16, 30])] {
        let t = st.tensor(name).unwrap();
        assert_eq!(t.dtype(), safetensors::Dtype::F32);
        assert_eq!(t.shape(), shape);
        let got: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(
            got,
            floats(&v[name]),
            "{name} in the file equals {name} in the JSON, row-major"
        );
    }
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let vocab: Vec<String> =
        serde_json::from_str(&header.metadata().as_ref().unwrap()["vocab"]).unwrap();
    assert_eq!(vocab.concat(), "hiByxodcm.arufn-pszlt\u{2019}eSkg,vb ");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file is left behind: {leftovers:?}"
    );
}

#[test]
fn bad_flags_get_one_clear_line() {
    assert_one_line_error(&["train", "--lr", "nan"], 2, "--lr");
    assert_one_line_error(&["train", "--lr", "-1e-3"], 2, "--lr");
    assert_one_line_error(&["train", "--lr", "inf"], 2, "positive finite");
    assert_one_line_error(&["train", "--lr", "fast"], 2, "'fast' is not a number");
    assert_one_line_error(&["train", "--weight-decay", "-0.1"], 2, "--weight-decay");
    assert_one_line_error(&["train", "--weight-decay", "NaN"], 2, "--weight-decay");
    assert_one_line_error(&["train", "--epochs", "0"], 2, "--epochs");
    assert_one_line_error(&["train", "--epochs", "-5"], 2, "--epochs");
    assert_one_line_error(
        &["train", "--epochs", "99999999999"],
        2,
        "between 1 and 10000000",
    );
    assert_one_line_error(&["train", "--log-every", "0"], 2, "--log-every");
    assert_one_line_error(&["--backend", "tpu", "train"], 2, "tpu");
    // A bad backend lists every backend there is.
    for name in zl_tests::backend::NAMES {
        assert_one_line_error(&["train", "--backend", "tpu"], 2, name);
    }
    assert_one_line_error(&["train", "--sed", "1"], 2, "--seed");
    assert_one_line_error(&["train", "--seed", "-1"], 2, "--seed");
    assert_one_line_error(&["fly"], 2, "fly");
}

#[test]
fn cuda_without_a_gpu_is_one_line() {
    for args in [
        &["--backend", "cuda", "train"][..],
        &["train", "--backend", "cuda"][..],
    ] {
        let o = zl(args);
        if o.code == 0 {
            eprintln!(
                "SKIP: this machine trained on CUDA; the no-GPU error path is not exercised here"
            );
            continue;
        }
        assert_eq!(o.code, 1);
        assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
        assert!(
            o.stderr.starts_with("zl: error: ") && o.stderr.contains("cuda"),
            "{}",
            o.stderr
        );
        assert!(!o.stderr.contains("panicked"));
    }
}

/// The ptxsim backend needs python3; where it cannot run, the caller skips, saying why, except
/// under CI, where python3 is always installed and a skip could hide a failure.
fn simulator_or_skip(test: &str) -> bool {
    match zl_cuda::Device::simulated() {
        Ok(_) => true,
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "{test}: {e}");
            eprintln!("SKIP {test}: {e}");
            false
        }
    }
}

/// The name `--backend cpu` resolves to on this CPU.
fn best_cpu() -> String {
    zl_cli::backend::Backend::open(zl_cli::backend::Choice::Cpu)
        .unwrap()
        .name()
}

/// A backend this machine runs without a GPU: (what --backend takes, its environment, the name
/// zl reports).
type GpuLess = (
    &'static str,
    &'static [(&'static str, &'static str)],
    String,
);

/// The backends this machine runs without a GPU, as (what --backend takes, the environment, the
/// name zl reports): every CPU instruction set, ptxsim, and cuda with ZL_CUDA_SIMULATOR=1 (the
/// alias, which reports ptxsim).
fn gpu_less_backends() -> Vec<GpuLess> {
    const NONE: &[(&str, &str)] = &[];
    const ALIAS: &[(&str, &str)] = &[("ZL_CUDA_SIMULATOR", "1")];
    let mut all = vec![
        ("cpu", NONE, best_cpu()),
        ("cpu-portable", NONE, "cpu-portable".to_string()),
    ];
    if best_cpu() == "cpu-avx512" {
        all.push(("cpu-avx512", NONE, "cpu-avx512".to_string()));
    }
    all.push(("ptxsim", NONE, "ptxsim".to_string()));
    all.push(("cuda", ALIAS, "ptxsim".to_string()));
    all
}

/// `zl --backend BACKEND ARGS` with the backend's environment.
fn on(backend: &str, env: &[(&str, &str)], args: &[&str]) -> Out {
    let mut all = vec!["--backend", backend];
    all.extend_from_slice(args);
    zl_with(&all, env)
}

/// Every backend prints the same checksum line: the seed run on each CPU instruction set, and a
/// short run in the PTX interpreter (both names for it) against the CPU's.
#[test]
fn every_backend_prints_the_same_checksum_line() {
    let line = |backend: &str, env: &[(&str, &str)], epochs: &str| {
        let o = on(backend, env, &["train", "--epochs", epochs, "--checksum"]);
        assert_eq!(o.code, 0, "{backend}: {}", o.stderr);
        o.stdout.lines().last().unwrap().to_string()
    };
    let full = line("cpu", &[], "10000");
    assert!(full.starts_with("epochs=10000 final_loss=0x"), "{full}");
    let short = line("cpu", &[], "2");
    for (backend, env, _) in gpu_less_backends() {
        if backend == "ptxsim" || backend == "cuda" {
            if simulator_or_skip("every_backend_prints_the_same_checksum_line") {
                assert_eq!(
                    line(backend, env, "2"),
                    short,
                    "--backend {backend} {env:?}"
                );
            }
        } else {
            assert_eq!(line(backend, env, "10000"), full, "--backend {backend}");
        }
    }
}

/// The checksum lines that docs/PERFORMANCE.md gives as the proof that every fast path keeps
/// zl-core's bits hold on every CPU backend this machine runs: each documented command, with
/// `--backend cpu`, `cpu-portable` and (where the CPU has it) `cpu-avx512`, prints its line.
#[test]
fn documented_checksum_lines_hold_on_every_cpu_backend() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/PERFORMANCE.md"),
    )
    .unwrap();
    let lines: Vec<(Vec<&str>, &str)> = doc
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("zl train --checksum")?;
            let at = rest.find("epochs=")?;
            Some((rest[..at].split_whitespace().collect(), rest[at..].trim()))
        })
        .collect();
    assert!(
        lines.len() >= 5,
        "docs/PERFORMANCE.md lists {} checksum lines",
        lines.len()
    );
    let mut backends = vec!["cpu", "cpu-portable"];
    if best_cpu() == "cpu-avx512" {
        backends.push("cpu-avx512");
    }
    for (args, want) in &lines {
        for backend in &backends {
            let all = [
                &["--backend", backend, "train", "--checksum"][..],
                &args[..],
            ]
            .concat();
            let o = zl(&all);
            assert_eq!(o.code, 0, "{all:?}: {}", o.stderr);
            assert_eq!(o.stdout.lines().last(), Some(*want), "{all:?}");
        }
    }
}

/// The whole command-line path of every backend (device, launch, divergence check, text, JSON,
/// --save, --checksum), the GPU's in the PTX interpreter: every output equals the CPU
/// backend's but for the name of the backend that ran, which each output says, and the time.
#[test]
fn every_backend_prints_what_the_cpu_backend_prints() {
    if !simulator_or_skip("every_backend_prints_what_the_cpu_backend_prints") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let args = ["train", "--epochs", "3", "--log-every", "1"];
    let reference = best_cpu();
    let mut texts = vec![];
    let mut jsons = vec![];
    for (backend, env, name) in gpu_less_backends() {
        let o = on(backend, env, &[&args[..], &["--checksum"]].concat());
        assert_eq!(o.code, 0, "{backend}: {}", o.stderr);
        assert!(
            o.stdout.starts_with(&format!("zl train: backend {name}, ")),
            "{backend}: {}",
            o.stdout
        );
        let text: Vec<String> = o
            .stdout
            .lines()
            .filter(|l| !l.starts_with("train time:"))
            .map(|l| {
                l.replace(
                    &format!("backend {name},"),
                    &format!("backend {reference},"),
                )
            })
            .collect();
        assert!(text.len() > 40 && text.last().unwrap().starts_with("epochs=3 "));
        texts.push((backend, text));

        let save = dir.path().join(format!("{backend}.safetensors"));
        let o = on(
            backend,
            env,
            &[&args[..], &["--json", "--save", save.to_str().unwrap()]].concat(),
        );
        assert_eq!(o.code, 0, "{backend}: {}", o.stderr);
        let mut v: Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["backend"], name.as_str(), "{backend}");
        assert!(v["train_seconds"].as_f64().unwrap() > 0.0);
        for key in ["backend", "train_seconds"] {
            v.as_object_mut().unwrap().remove(key);
        }
        let bytes = std::fs::read(&save).unwrap();
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let saved_by = meta.metadata().as_ref().and_then(|m| m.get("backend"));
        assert_eq!(saved_by, Some(&name), "{backend}");
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let tensors: Vec<Vec<u8>> = ["W_E", "W_U"]
            .iter()
            .map(|n| st.tensor(n).unwrap().data().to_vec())
            .collect();
        jsons.push((backend, v, tensors));
    }
    for (backend, text) in &texts[1..] {
        assert_eq!(
            text, &texts[0].1,
            "--backend {backend}: text, checksum line included"
        );
    }
    for (backend, v, tensors) in &jsons[1..] {
        assert_eq!(
            v, &jsons[0].1,
            "--backend {backend}: --json, but for backend and time"
        );
        assert_eq!(
            tensors, &jsons[0].2,
            "--backend {backend}: --save, byte for byte"
        );
    }
}

/// `--seeds` on every backend (one launch of several models on the GPU's path): each model's
/// final loss is the CPU's. A model that diverges stops the batch with the same message on
/// every backend, naming the seed and the epoch.
#[test]
fn every_backend_batches_and_diverges_alike() {
    if !simulator_or_skip("every_backend_batches_and_diverges_alike") {
        return;
    }
    let batch = |backend: &str, env: &[(&str, &str)]| {
        let o = on(
            backend,
            env,
            &["train", "--seeds", "0..3", "--epochs", "2", "--json"],
        );
        assert_eq!(o.code, 0, "{backend}: {}", o.stderr);
        let v: Value = serde_json::from_str(&o.stdout).unwrap();
        v["models"].clone()
    };
    let cpu = batch("cpu", &[]);
    assert_eq!(cpu.as_array().unwrap().len(), 3);
    for (backend, env, _) in gpu_less_backends() {
        assert_eq!(
            batch(backend, env),
            cpu,
            "--backend {backend}: each seed's final loss"
        );
    }
    for args in [
        &["train", "--epochs", "3", "--lr", "1e30"][..],
        &["train", "--seeds", "3,0", "--epochs", "3", "--lr", "1e30"][..],
    ] {
        let cpu = on("cpu", &[], args);
        assert_eq!(cpu.code, 1, "{args:?}: {}", cpu.stderr);
        assert!(
            cpu.stderr.contains("diverged at epoch 1") && cpu.stderr.contains("epoch 0"),
            "{}",
            cpu.stderr
        );
        if args.contains(&"--seeds") {
            assert!(
                cpu.stderr.starts_with("zl: error: seed 3: "),
                "{}",
                cpu.stderr
            );
        }
        for (backend, env, _) in gpu_less_backends() {
            let o = on(backend, env, args);
            assert_eq!(
                (o.code, &o.stderr),
                (cpu.code, &cpu.stderr),
                "{backend} {args:?}"
            );
        }
    }
}

/// `zl sweep` trains on the backend asked for (on the GPU one launch per size), not silently on
/// the CPU: the JSON names the backend, and every size's final loss is the CPU backend's.
#[test]
fn every_backend_sweeps_alike() {
    if !simulator_or_skip("every_backend_sweeps_alike") {
        return;
    }
    let sweep = |backend: &str, env: &[(&str, &str)], name: &str| {
        let o = on(
            backend,
            env,
            &["sweep", "--d-model", "3,1", "--epochs", "2", "--json"],
        );
        assert_eq!(o.code, 0, "{backend}: {}", o.stderr);
        let mut v: Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(v["backend"], name, "{backend}");
        for run in v["runs"].as_array_mut().unwrap() {
            run.as_object_mut().unwrap().remove("train_seconds");
        }
        v.as_object_mut().unwrap().remove("backend");
        v
    };
    let cpu = sweep("cpu", &[], &best_cpu());
    assert_eq!(cpu["runs"][0]["d_model"], 1);
    for (backend, env, name) in gpu_less_backends() {
        assert_eq!(sweep(backend, env, &name), cpu, "--backend {backend}");
    }
}

/// `--backend cpu-avx512` on a CPU without AVX-512F is one line naming the flag and the fix.
#[test]
fn an_instruction_set_the_cpu_lacks_is_one_line() {
    let o = zl(&["train", "--backend", "cpu-avx512", "--epochs", "1"]);
    if best_cpu() == "cpu-avx512" {
        assert_eq!(o.code, 0, "{}", o.stderr);
        return;
    }
    assert_eq!(o.code, 1);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("--backend cpu-avx512") && o.stderr.contains("--backend cpu"),
        "{}",
        o.stderr
    );
}

fn snapshot(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn divergence_stops_the_run_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keep.safetensors");
    std::fs::write(&path, b"an existing file that must survive").unwrap();
    let before = snapshot(&path);
    let o = zl(&["train", "--lr", "1e30", "--save", path.to_str().unwrap()]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("diverged at epoch") && o.stderr.contains("--lr"),
        "{}",
        o.stderr
    );
    assert_eq!(snapshot(&path), before, "the existing file is untouched");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn unwritable_save_path_is_one_line_and_nothing_is_lost() {
    let o = zl(&[
        "train",
        "--epochs",
        "10",
        "--save",
        "/nonexistent-dir/m.safetensors",
    ]);
    assert_eq!(o.code, 1);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(o.stderr.contains("/nonexistent-dir"), "{}", o.stderr);
    let dir = tempfile::tempdir().unwrap();
    let o = zl(&[
        "train",
        "--epochs",
        "10",
        "--save",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("is a folder"), "{}", o.stderr);
}

#[test]
fn custom_corpus_trains_through_the_cli_like_the_core() {
    let path = root().join("tests/golden/custom.txt");
    let args = [
        "train",
        "--corpus",
        path.to_str().unwrap(),
        "--d-model",
        "5",
        "--lr",
        "1e-2",
        "--epochs",
        "300",
        "--json",
    ];
    let o = zl(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let vocab = zl_core::Vocab::<128>::from_text_sorted(&text).unwrap();
    let got: String = v["vocab"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        vocab.chars().iter().collect::<String>(),
        "ids in code-point order"
    );
    assert_eq!(v["d_model"], 5);
    assert_eq!(v["W_E"][0].as_array().unwrap().len(), 5);
    // The same run through the core directly, at another capacity: the same bits.
    let b = zl_core::Bigrams::from_text(&vocab, &text).unwrap();
    let cfg = zl_core::AdamWConfig {
        lr: 1e-2,
        ..Default::default()
    };
    let mut t = Box::new(zl_core::Trainer::new(
        zl_core::Model::<128, 64>::init_torch(0, vocab.len(), 5).unwrap(),
        cfg,
    ));
    let final_loss = t.run(&b, 300, |_, _| {}).unwrap();
    assert_eq!(v["final_loss"].as_f64().unwrap(), final_loss as f64);
    assert_eq!(
        floats(&v["W_U"]),
        t.model.w_u_row_major().collect::<Vec<f32>>()
    );
}

#[test]
fn bad_corpus_files_get_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        (
            dir.path().join("missing.txt").to_str().unwrap().to_string(),
            "cannot open",
        ),
        (write("empty.txt", b""), "empty"),
        (dir.path().to_str().unwrap().to_string(), "is a folder"),
        (write("one.txt", b"a"), "1 character"),
        (write("same.txt", b"aaaa"), "one distinct character"),
        (write("latin1.txt", b"caf\xe9 au lait"), "byte offset 3"),
    ];
    for (path, names) in cases {
        let o = zl(&["train", "--corpus", &path, "--epochs", "5"]);
        assert_eq!(o.code, 1, "{path}: {}", o.stderr);
        assert_eq!(o.stderr.lines().count(), 1, "{path}: {}", o.stderr);
        assert!(
            o.stderr.contains(&path) && o.stderr.contains(names),
            "{path}: {:?} should name {names:?}",
            o.stderr
        );
        assert!(!o.stderr.contains("panicked"));
    }
    assert_one_line_error(&["train", "--d-model", "0"], 2, "--d-model");
    assert_one_line_error(&["train", "--d-model", "65537"], 2, "between 1 and 65536");
}

/// A corpus that cannot be mapped (a pipe: `--corpus /dev/stdin`, `--corpus <(zcat t.gz)`) is
/// read into memory and trains exactly as the same text in a file.
#[test]
fn a_piped_corpus_trains_like_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("text.txt");
    let text = "the cat sat on the mat, and the dog ran — naïvely.\n".repeat(50);
    std::fs::write(&path, &text).unwrap();
    let args = [
        "train",
        "--epochs",
        "20",
        "--checksum",
        "--json",
        "--corpus",
    ];
    let from_file = zl(&[&args[..], &[path.to_str().unwrap()]].concat());
    assert_eq!(from_file.code, 0, "{}", from_file.stderr);
    let mut child = Command::new(zl_tests::zl_bin())
        .args(args)
        .arg("/dev/stdin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feed = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(text.as_bytes()).unwrap();
    });
    let piped = child.wait_with_output().unwrap();
    feed.join().unwrap();
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    let json = |out: &[u8]| -> Value {
        let mut v: Value = serde_json::from_str(std::str::from_utf8(out).unwrap()).unwrap();
        for key in ["corpus", "train_seconds", "count_seconds"] {
            v.as_object_mut().unwrap().remove(key);
        }
        v
    };
    assert_eq!(json(&piped.stdout), json(from_file.stdout.as_bytes()));
}

#[test]
fn losses_appear_as_they_happen_and_ctrl_c_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let save = dir.path().join("m.safetensors");
    // 10M epochs: tens of seconds on any backend, so the run is still going when the first
    // lines arrive, unless zl held them back until the end.
    let mut child = Command::new(zl_bin())
        .args([
            "train",
            "--epochs",
            "10000000",
            "--log-every",
            "1000",
            "--save",
        ])
        .arg(&save)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = vec![];
    while lines.len() < 6 {
        let mut l = String::new();
        assert!(
            out.read_line(&mut l).unwrap() > 0,
            "stdout ended: {lines:?}"
        );
        lines.push(l);
    }
    assert!(
        lines[0].starts_with("zl train: backend "),
        "the header first: {lines:?}"
    );
    assert!(lines[5].starts_with("Epoch: 0, train loss: "), "{lines:?}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first loss came before the run ended"
    );
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "stderr: {err}");
    let last = rest.lines().last().unwrap_or("");
    assert!(
        last.starts_with("stopped by Ctrl-C after ") && last.contains("of 10000000 epochs"),
        "{last:?}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("interrupted (Ctrl-C)") && err.contains("nothing was written"));
    assert!(!save.exists(), "nothing saved");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary file left"
    );
}

#[test]
fn seeds_print_a_summary_with_the_seed_of_each_extreme() {
    let v = zl_json(&["train", "--seeds", "0..6", "--epochs", "200", "--json"]);
    let models = v["models"].as_array().unwrap();
    let losses: Vec<(u64, f64)> = models
        .iter()
        .map(|m| {
            (
                m["seed"].as_u64().unwrap(),
                m["final_loss"].as_f64().unwrap(),
            )
        })
        .collect();
    let s = &v["summary"];
    let min = losses
        .iter()
        .copied()
        .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
    let max = losses
        .iter()
        .copied()
        .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
    assert_eq!(
        (s["min_seed"].as_u64().unwrap(), s["min"].as_f64().unwrap()),
        min
    );
    assert_eq!(
        (s["max_seed"].as_u64().unwrap(), s["max"].as_f64().unwrap()),
        max
    );
    let mut sorted: Vec<f64> = losses.iter().map(|l| l.1).collect();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(s["median"].as_f64().unwrap(), (sorted[2] + sorted[3]) / 2.0);
    // The text output's summary line carries the same numbers: the extremes with their seeds.
    let o = zl(&["train", "--seeds", "0..6", "--epochs", "200"]);
    let line = o
        .stdout
        .lines()
        .find(|l| l.contains("6 seeds"))
        .unwrap_or_else(|| panic!("no summary of the 6 seeds:\n{}", o.stdout));
    for fact in [
        min.1.to_string(),
        format!("seed {}", min.0),
        s["median"].as_f64().unwrap().to_string(),
        max.1.to_string(),
        format!("seed {}", max.0),
    ] {
        assert!(line.contains(&fact), "{fact:?} not in {line:?}");
    }
}

#[test]
fn val_fraction_trains_bit_for_bit_on_the_head_and_reports_the_held_out_loss() {
    // A text whose second half repeats its first: the head is the first half exactly, with
    // every character, so training on it alone must give the same bits.
    let dir = tempfile::tempdir().unwrap();
    let half = std::fs::read_to_string(custom()).unwrap();
    let (whole, head) = (dir.path().join("whole.txt"), dir.path().join("head.txt"));
    std::fs::write(&whole, format!("{half}{half}")).unwrap();
    std::fs::write(&head, &half).unwrap();
    let (whole, head) = (whole.display().to_string(), head.display().to_string());
    let common = ["--epochs", "700", "--log-every", "200", "--checksum"];
    let mut a = vec!["train", "--corpus", &whole, "--val-fraction", "0.5"];
    a.extend_from_slice(&common);
    let mut b = vec!["train", "--corpus", &head];
    b.extend_from_slice(&common);
    let (a, b) = (ok(zl(&a), "--val-fraction"), ok(zl(&b), "head"));
    let last = |o: &Out| o.stdout.lines().last().unwrap().to_string();
    assert_eq!(
        last(&a),
        last(&b),
        "the checksum line: the same training, bit for bit"
    );
    assert_has(&a.stdout, "Epoch: 600, held-out loss: ");
    // The held-out half is the head again: every pair but the one across the cut was seen.
    assert_has(&a.stdout, "the count model, add-α with α = 0 ");

    let j = ok(
        zl(&[
            "train",
            "--corpus",
            &whole,
            "--val-fraction",
            "0.5",
            "--epochs",
            "700",
            "--log-every",
            "200",
            "--json",
        ]),
        "--json",
    );
    let j = json(&j);
    let val: Vec<f64> = j["val_losses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let epochs: Vec<u64> = j["val_epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(epochs, [0, 200, 400, 600, 700]);
    assert_eq!(val.len(), epochs.len());
    assert_eq!(*val.last().unwrap(), j["final_val_loss"].as_f64().unwrap());
    assert!(
        val[0] > val[4],
        "training lowers the held-out loss of a repeated text"
    );
}

#[test]
fn val_fraction_trains_on_the_head_nanogpt_cuts() {
    // 193 characters at F = 0.1: nanoGPT's data[:int(n*0.9)] trains on 173 (rounding the held-out
    // part instead, 19, would leave 174).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.txt");
    let text: String = "the cat sat on the mat. "
        .chars()
        .cycle()
        .take(193)
        .collect();
    std::fs::write(&path, &text).unwrap();
    let path = path.display().to_string();
    for (f, want) in [("0.1", 173u64), ("0.25", 144), ("0.5", 96)] {
        let args = [
            "train",
            "--corpus",
            &path,
            "--val-fraction",
            f,
            "--epochs",
            "3",
            "--json",
        ];
        let j = json(&ok(zl(&args), "--val-fraction"));
        let h = &j["held_out"];
        let n = 193.0f64;
        let nanogpt = (n * (1.0 - f.parse::<f64>().unwrap())) as u64;
        assert_eq!(nanogpt, want);
        assert_eq!(h["train_chars"].as_u64(), Some(want), "--val-fraction {f}");
        assert_eq!(
            h["held_out_chars"].as_u64(),
            Some(193 - want),
            "--val-fraction {f}"
        );
    }
}
