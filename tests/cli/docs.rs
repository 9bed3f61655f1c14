//! The docs against the code a new user runs: the README's sample of `zl train` is its real
//! output, counts in the JSON are integers, and docs/INTERPRET.md's `--load` limit is the one
//! the loader applies.

use serde_json::Value;
use zl_tests::{root, zl};

/// The fenced block after the line `marker` in `text`.
pub(crate) fn block_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    let at = text.find(marker).unwrap_or_else(|| panic!("no {marker:?}"));
    text[at..]
        .lines()
        .skip_while(|l| !l.starts_with("```"))
        .skip(1)
        .take_while(|l| !l.starts_with("```"))
        .collect()
}

/// Every line of the README's sample appears in `zl train`'s output, in order: a line with …
/// matches a line that starts with what comes before the … and ends with what comes after, a
/// line of … alone stands for any number of lines, and the timing line is matched up to its
/// numbers. The backend's name is the one this CPU runs.
#[test]
fn the_readmes_sample_of_zl_train_is_its_output() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let sample = block_after(&readme, "## What `zl train` prints");
    assert!(sample.len() > 20, "the sample is {} lines", sample.len());
    let o = zl(&["train"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let portable = !o.stdout.contains("backend cpu-avx512");
    let out: Vec<&str> = o.stdout.lines().collect();
    let mut at = 0;
    let mut skipping = false;
    for want in sample {
        if want == "…" {
            skipping = true;
            continue;
        }
        let want = if portable {
            want.replace("backend cpu-avx512", "backend cpu-portable")
        } else {
            want.to_string()
        };
        let matches = |got: &str| match want.split_once('…') {
            Some((head, tail)) => got.starts_with(head) && got.ends_with(tail),
            None if want.starts_with("train time: ") => {
                got.starts_with("train time: ") && got.ends_with(" µs per epoch)")
            }
            None => got == want,
        };
        let found = if skipping {
            out[at..].iter().position(|g| matches(g)).map(|k| at + k)
        } else {
            (at < out.len() && matches(out[at])).then_some(at)
        };
        let Some(k) = found else {
            panic!(
                "README.md's sample line {want:?} is not the output's line {} ({:?}); the output:\n{}",
                at + 1,
                out.get(at),
                o.stdout
            );
        };
        at = k + 1;
        skipping = false;
    }
}

/// `predictions`, each row's `count` and `bigram_counts` are counts: JSON integers, not 192.0.
#[test]
fn counts_in_the_interpret_json_are_integers() {
    let o = zl(&["interpret", "--epochs", "20", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["predictions"].as_u64(), Some(192), "{}", v["predictions"]);
    assert!(o.stdout.contains("\"predictions\":192"));
    let rows = v["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["count"].is_u64()));
    assert_eq!(
        rows.iter()
            .map(|r| r["count"].as_u64().unwrap())
            .sum::<u64>(),
        192
    );
    let counts = v["bigram_counts"].as_array().unwrap();
    assert!(counts
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .all(Value::is_u64));
}

/// docs/INTERPRET.md says `--load` takes any d_model: one wider than the capacity tiers' 64
/// loads.
#[test]
fn interpret_load_takes_the_documented_d_model() {
    let doc = std::fs::read_to_string(root().join("docs/INTERPRET.md")).unwrap();
    assert!(
        doc.contains("(any d_model"),
        "docs/INTERPRET.md's --load limit"
    );
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.safetensors");
    let o = zl(&[
        "train",
        "--d-model",
        "80",
        "--epochs",
        "5",
        "--save",
        m.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = zl(&["interpret", "--load", m.to_str().unwrap(), "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["d_model"], 80);
}
