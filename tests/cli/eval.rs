//! `zl eval`: a saved model scored on a text, including one with another vocabulary.

use serde_json::Value;
use std::process::{Command, Stdio};

use zl_tests::{assert_one_line_error, zl, zl_bin, zl_json};

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
    let own = zl_json(&[
        "eval",
        "--load",
        m,
        "--corpus",
        train_text.to_str().unwrap(),
        "--json",
    ]);
    let it = zl_json(&[
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
    let e = zl_json(&[
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
    let given = zl_json(&["eval", "--load", m, "--corpus", text, "--json"]);
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
