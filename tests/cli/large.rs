//! `zl interpret` above 256 tokens (the streamed large-V view): every regime decided by the dense
//! view's rules, from models trained beside the model within stated budgets. Each regime on a run
//! where it holds, the others checked against their own numbers, and the text's marks against
//! the JSON. The texts are slices of Vim's Chinese tutor (Debian's vim-runtime), above 256
//! distinct characters, short enough to train in seconds.

use std::path::{Path, PathBuf};

use serde_json::Value;
use zl_tests::{zl, zl_json};

use super::{
    interpret::num,
    regimes::{assert_marks_match, regimes},
};

/// Vim's tutor in traditional Chinese, wherever this Vim's runtime keeps it.
fn tutor() -> PathBuf {
    let found = std::fs::read_dir("/usr/share/vim").ok().and_then(|d| {
        d.filter_map(|e| Some(e.ok()?.path().join("tutor/tutor.zh_tw.utf-8")))
            .find(|p| p.exists())
    });
    found.expect("/usr/share/vim/vim*/tutor/tutor.zh_tw.utf-8 is missing: install vim-runtime")
}

/// The tutor's first `chars` characters, in `dir`.
fn slice(dir: &Path, chars: usize) -> PathBuf {
    let text: String = std::fs::read_to_string(tutor())
        .unwrap()
        .chars()
        .take(chars)
        .collect();
    let path = dir.join(format!("tutor-{chars}.txt"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The first 3,000 characters: 347 distinct.
const SLICE: usize = 3_000;

/// `zl interpret` on the slice with `args`: the JSON's `view.beside` (where the verdict is), and
/// the text.
fn interpret(args: &[&str]) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let corpus = slice(dir.path(), SLICE);
    let args = [&["--corpus", corpus.to_str().unwrap()], args].concat();
    let j = zl_json(&[&["interpret", "--json"], &args[..]].concat());
    let o = zl(&[&["interpret"], &args[..]].concat());
    assert_eq!(o.code, 0, "zl interpret {args:?}: {}", o.stderr);
    assert_eq!(j["view"]["vocab_len"], 347, "above 256: the large-V view");
    let beside = j["view"]["beside"].clone();
    assert_marks_match(&beside, &o.stdout);
    assert_rules(&beside);
    (beside, o.stdout)
}

/// Every regime holds exactly where its rule says, from the numbers beside it; the shuffled
/// control was trained and is among the control gaps.
fn assert_rules(b: &Value) {
    let v = &b["verdict"];
    let r = regimes(b);
    let holds = |name: &str| r.iter().any(|x| x == name);
    let (gap, small) = (num(v, "gap"), num(v, "small_gap"));
    let told = v["controls_told_apart"].as_bool().unwrap();
    assert_eq!(holds("not_learned"), !told, "{v}");
    assert_eq!(holds("bigram_table"), told && gap <= small, "{v}");
    let wider = !v["wider_model"].is_null() && num(&v["wider_model"], "gap") * 10.0 <= gap;
    assert_eq!(holds("rank_limited"), gap > small && wider, "{v}");
    let falling = v["gap_trend"]["falling"].as_bool() == Some(true);
    assert_eq!(holds("undertrained"), gap > small && falling, "{v}");
    // The controls: the untrained seeds and at least one shuffle, each gap at least the best.
    assert!(b["shuffles"].as_u64().unwrap() >= 1, "{b}");
    assert!(b["shuffles_not_trained"].is_null(), "{b}");
    let row = b["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "gap")
        .unwrap();
    let shuffled = &row["shuffled"];
    let best = num(v, "best_control_gap");
    assert!(best <= num(row, "control") && best <= num(shuffled, "control"));
    assert!(best == row["spread"][0].as_f64().unwrap() || best == shuffled["spread"][0]);
}

/// Trained long enough (d_model 32, 1,500 epochs), the tutor's model is its bigram table: a gap
/// of 0.016 nats against a small gap of 0.047, the controls' 300× larger.
#[test]
fn the_chinese_tutor_trained_long_enough_is_a_bigram_table() {
    let (b, text) = interpret(&["--d-model", "32", "--epochs", "1500"]);
    assert_eq!(regimes(&b), ["bigram_table"]);
    // Still falling, and a 4× wider model is better, but a small gap is neither.
    let v = &b["verdict"];
    assert_eq!(v["gap_trend"]["falling"], true, "{v}");
    assert_eq!(
        v["wider_model"]["d_model"], 128,
        "4× d_model within the budget"
    );
    // The narrower widths (1 to 16, 136 width units at 1,500 epochs: 2.5·10^10) are past their
    // budget (2·10^10): not measured, and the verdict's reason says how far the budget reaches.
    let m = &b["minimum"]["not_measured"];
    assert_eq!(m["reason"], "over_budget", "{m}");
    assert!(m["widest"].as_u64().unwrap() < 16, "{m}");
    // The text says what held them back: their cost, past their budget, as printed.
    let held = &b["minimum_not_measured"];
    assert_eq!(
        (&held["from"], &held["to"]),
        (&1.into(), &16.into()),
        "{held}"
    );
    assert!(num(held, "work") > num(held, "budget"), "{held}");
    let line = text
        .lines()
        .find(|l| l.contains("minimum width"))
        .expect("a minimum width line");
    let after = |prefix: &str| -> f64 {
        let at = line
            .find(prefix)
            .unwrap_or_else(|| panic!("{prefix:?} in {line}"))
            + prefix.len();
        line[at..].split(' ').next().unwrap().parse().unwrap()
    };
    assert!(line.contains(" 16 "), "the widest searched, 16: {line}");
    assert!(
        (after("cost ") / num(held, "work") - 1.0).abs() < 0.01,
        "{line}"
    );
    assert!(after("cost ") > after("budget of "), "{line}");
}

/// One epoch: the model is as far from the floor as its controls, and nothing else is claimed.
#[test]
fn one_epoch_is_not_learned_and_nothing_else() {
    let (b, _) = interpret(&["--epochs", "1"]);
    assert_eq!(regimes(&b), ["not_learned"]);
    let v = &b["verdict"];
    assert_eq!(v["controls_told_apart"], false);
    assert!(
        v["gap_trend"]["falling"].is_null(),
        "one epoch has no last doubling"
    );
    // Cheap enough for everything: two shuffles, the narrower widths, no width reaching the gap.
    assert_eq!(b["shuffles"], 2);
    assert!(b["minimum"]["d_model"].is_null(), "{}", b["minimum"]);
    assert!(b["minimum"]["tried"].as_array().unwrap().len() >= 16);
}

/// d_model 4 for 2,000 epochs: a 4× wider model trained the same way is more than 10× better
/// (0.036 nats against 1.2): rank-limited, and not a bigram table.
#[test]
fn a_narrow_model_is_rank_limited() {
    let (b, _) = interpret(&["--d-model", "4", "--epochs", "2000"]);
    let r = regimes(&b);
    assert!(r.contains(&"rank_limited".into()), "{r:?}");
    let v = &b["verdict"];
    assert_eq!(v["wider_model"]["d_model"], 16);
    assert!(num(v, "wider_ratio") >= 10.0, "{v}");
    assert!(v["wider_not_trained"].is_null());
}

/// d_model 64 for 400 epochs: the gap (0.16) fell by 86% over the last doubling, and a 4× wider
/// model is less than 10× better: undertrained, and only that.
#[test]
fn a_short_run_still_falling_is_undertrained() {
    let (b, _) = interpret(&["--d-model", "64", "--epochs", "400"]);
    assert_eq!(regimes(&b), ["undertrained"]);
    let t = &b["verdict"]["gap_trend"];
    let epochs: Vec<u64> = t["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_u64().unwrap())
        .collect();
    assert_eq!(epochs, [100, 200, 400]);
    let gaps = t["gap"].as_array().unwrap();
    assert_eq!(
        gaps[2], b["verdict"]["gap"],
        "the model's own gap at its epochs"
    );
    assert!(num(t, "drop") > 0.01, "{t}");
}

/// A loaded model is retrained with the settings its file records for its gap curve: the retrained
/// run is the saved one bit for bit, so its gap at the last epoch is the loaded model's.
#[test]
fn a_loaded_model_is_retrained_with_its_recorded_settings() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = slice(dir.path(), SLICE);
    let model = dir.path().join("m.safetensors");
    let (c, m) = (corpus.to_str().unwrap(), model.to_str().unwrap());
    let o = zl(&[
        "train",
        "--corpus",
        c,
        "--d-model",
        "8",
        "--epochs",
        "200",
        "--save",
        m,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j = zl_json(&["interpret", "--json", "--load", m, "--corpus", c]);
    let b = &j["view"]["beside"];
    assert_rules(b);
    let t = &b["verdict"]["gap_trend"];
    assert_eq!(t["at"], 200);
    assert_eq!(
        t["gap"].as_array().unwrap().last(),
        Some(&b["verdict"]["gap"])
    );
    assert_eq!(b["verdict"]["wider_model"]["d_model"], 32);
}
