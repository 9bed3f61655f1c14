//! A new user's first hour (issue 18): outputs checked before any work, output as it happens,
//! Ctrl-C, the `--seeds` summary, `zl eval` on a text with another vocabulary, and the training
//! flags of interpret and report.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use serde_json::Value;
use zl_tests::{assert_one_line_error, zl, zl_bin};

fn json(args: &[&str]) -> Value {
    let o = zl(args);
    assert_eq!(o.code, 0, "zl {args:?}: {}", o.stderr);
    serde_json::from_str(&o.stdout).unwrap()
}

#[test]
fn outputs_are_checked_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let file = file.to_str().unwrap();
    let under_file = format!("{file}/figs");
    // Each would train for many seconds first, and train prints its header before training:
    // one error line and an empty stdout show that nothing ran.
    for (args, names) in [
        (
            vec![
                "train",
                "--epochs",
                "10000000",
                "--save",
                "/nonexistent/x.safetensors",
            ],
            "--save /nonexistent/x.safetensors",
        ),
        (
            vec![
                "report",
                "--epochs",
                "10000000",
                "--out",
                "/nonexistent/r.html",
            ],
            "--out /nonexistent/r.html",
        ),
        (
            vec!["report", "--out", dir.path().to_str().unwrap()],
            "is a folder",
        ),
        (
            vec!["sweep", "--epochs", "10000000", "--plot", file],
            "exists and is not a folder",
        ),
        (
            vec!["interpret", "--epochs", "10000000", "--plot", &under_file],
            "which is not a folder",
        ),
    ] {
        assert_one_line_error(&args, 1, names);
    }
    // Nothing was left behind by the checks.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
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
    let v = json(&["train", "--seeds", "0..6", "--epochs", "200", "--json"]);
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
    let o = zl(&["train", "--seeds", "0..6", "--epochs", "200"]);
    assert!(
        o.stdout.contains(&format!(
            "final loss over 6 seeds: min {} (seed {}), median {}, max {} (seed {})",
            min.1,
            min.0,
            s["median"].as_f64().unwrap(),
            max.1,
            max.0
        )),
        "{}",
        o.stdout
    );
}

#[test]
fn eval_scores_a_model_on_a_text_with_another_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    let (train_text, other) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    std::fs::write(&train_text, "the cat sat on the mat. the hat is flat.").unwrap();
    // 'Q' and '!' are not in the model's vocabulary: the pairs they are in are skipped.
    std::fs::write(&other, "that cat sat. Q the mat!").unwrap();
    let m = dir.path().join("m.safetensors");
    let o = zl(&[
        "train",
        "--corpus",
        train_text.to_str().unwrap(),
        "--epochs",
        "500",
        "--save",
        m.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let m = m.to_str().unwrap();
    // On its own text, eval's loss is interpret's.
    let own = json(&[
        "eval",
        "--load",
        m,
        "--corpus",
        train_text.to_str().unwrap(),
        "--json",
    ]);
    let it = json(&[
        "interpret",
        "--load",
        m,
        "--corpus",
        train_text.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(own["loss"], it["model_loss"]);
    assert_eq!(own["floor"], it["bigram_entropy"]);
    assert_eq!(own["skipped"], 0);
    // On the other text: "that cat sat. Q the mat!" has 23 pairs, of which " Q", "Q " and
    // "t!" hold a character outside the vocabulary.
    let e = json(&[
        "eval",
        "--load",
        m,
        "--corpus",
        other.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(e["skipped"], 3, "{e}");
    assert_eq!(e["scored"], 20, "{e}");
    let chars: Vec<&str> = e["skipped_characters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["char"].as_str().unwrap())
        .collect();
    assert_eq!(chars, ["Q", "!"]);
    assert!(e["loss"].as_f64().unwrap() > e["floor"].as_f64().unwrap());
    let o = zl(&["eval", "--load", m, "--corpus", other.to_str().unwrap()]);
    assert!(
        o.stdout.contains("scored 20 of 23 positions; skipped 3"),
        "{}",
        o.stdout
    );
    // Nothing in common: one line.
    std::fs::write(&other, "QQQ!!!").unwrap();
    assert_one_line_error(
        &["eval", "--load", m, "--corpus", other.to_str().unwrap()],
        1,
        "no position",
    );
}

#[test]
fn interpret_takes_the_training_flags() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.safetensors");
    let flags = ["--epochs", "300", "--lr", "0.01", "--weight-decay", "0"];
    let mut train = vec!["train", "--save", p.to_str().unwrap()];
    train.extend(flags);
    assert_eq!(zl(&train).code, 0);
    let mut here = vec!["interpret", "--json"];
    here.extend(flags);
    let trained = json(&here);
    let loaded = json(&["interpret", "--json", "--load", p.to_str().unwrap()]);
    assert_eq!(trained["model_loss"], loaded["model_loss"]);
    let default = json(&["interpret", "--json", "--epochs", "300"]);
    assert_ne!(
        trained["model_loss"], default["model_loss"],
        "--lr and --weight-decay count"
    );
}

/// `zl eval` without --corpus or --counts scores on the corpus the weights record, naming it on
/// stderr, and asks for a text where the record is gone; it never falls back to the seed text.
#[test]
fn eval_asks_for_its_text_unless_the_weights_record_one_that_is_here() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("a.txt");
    std::fs::write(&text, "the cat sat on the mat. the hat is flat.").unwrap();
    let m = dir.path().join("m.safetensors");
    let (text, m) = (text.to_str().unwrap(), m.to_str().unwrap());
    let o = zl(&["train", "--corpus", text, "--epochs", "300", "--save", m]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains(m),
        "--save names what it wrote: {}",
        o.stderr
    );
    let given = json(&["eval", "--load", m, "--corpus", text, "--json"]);
    let o = zl(&["eval", "--load", m, "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains(text),
        "names the recorded corpus: {}",
        o.stderr
    );
    let recorded: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(recorded["loss"], given["loss"]);
    assert_eq!(recorded["scored"], given["scored"]);
    std::fs::remove_file(text).unwrap();
    assert_one_line_error(&["eval", "--load", m], 1, "--corpus");
    // Trained on standard input: nothing to read again.
    let mut child = Command::new(zl_bin())
        .args(["train", "--corpus", "-", "--epochs", "50", "--save", m])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"abcab cab").unwrap();
    assert!(child.wait().unwrap().success());
    assert_one_line_error(&["eval", "--load", m], 1, "--corpus");
}
