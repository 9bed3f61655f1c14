//! A new user's command lines: every kind of clap error keeps its content in one line (the
//! missing value, the flags that conflict and how to fix that, the possible values only where
//! there are some), and every bad command line exits 2, every failure after parsing 1.

use zl_tests::{assert_one_line_error, zl};

/// The line `zl args` prints, after checking it is one line with exit code `code`.
fn line(args: &[&str], code: i32) -> String {
    assert_one_line_error(args, code, "zl: error: ");
    zl(args).stderr.trim_end().to_string()
}

#[test]
fn a_missing_value_names_the_flag_and_lists_no_empty_values() {
    for (flag, shown) in [
        ("--corpus", "'--corpus <FILE>'"),
        ("--seed", "'--seed <SEED>'"),
        ("--d-model", "'--d-model <D_MODEL>'"),
    ] {
        let l = line(&["train", flag], 2);
        assert!(
            l.contains(&format!("a value is required for {shown}")),
            "{l}"
        );
        assert!(!l.contains("possible values"), "no empty list: {l}");
    }
    let l = line(&["interpret", "--load"], 2);
    assert!(
        l.contains("'--load <PATH>'") && !l.contains("possible values"),
        "{l}"
    );
    // A flag with values lists them when its value is missing.
    let l = line(&["train", "--backend"], 2);
    assert!(l.contains("possible values: cpu, cpu-portable"), "{l}");
}

#[test]
fn a_conflict_names_every_flag_and_the_fix() {
    let l = line(
        &[
            "interpret",
            "--load",
            "m.safetensors",
            "--seed",
            "3",
            "--epochs",
            "5",
        ],
        2,
    );
    assert!(
        l.contains("'--load <PATH>' cannot be used with '--seed <SEED>', '--epochs <EPOCHS>'"),
        "{l}"
    );
    assert!(
        l.contains("drop --seed, --epochs to analyse the file"),
        "{l}"
    );
    let l = line(&["interpret", "--load", "m.safetensors", "--lr", "0.01"], 2);
    assert!(
        l.contains("--lr") && l.contains("drop --load to train one now"),
        "{l}"
    );
    let l = line(
        &[
            "sweep",
            "--until-gap",
            "1e-4",
            "--max-epochs",
            "100",
            "--epochs",
            "5",
        ],
        2,
    );
    assert!(
        l.contains("'--until-gap <EPS>' cannot be used with '--epochs <EPOCHS>'"),
        "{l}"
    );
    assert!(
        l.contains("with --max-epochs N as the budget: drop --epochs"),
        "{l}"
    );
    let l = line(&["train", "--seeds", "0..4", "--log-every", "10"], 2);
    assert!(
        l.contains("'--log-every <LOG_EVERY>'") && l.contains("drop --log-every"),
        "{l}"
    );
    let l = line(&["train", "--seed", "1", "--seed", "2"], 2);
    assert!(
        l.contains("cannot be used multiple times") && l.contains("give --seed once"),
        "{l}"
    );
}

#[test]
fn other_clap_errors_keep_their_content() {
    let l = line(&["train", "--bakend", "cpu"], 2);
    assert!(
        l.contains("'--bakend'") && l.contains("a similar argument exists: '--backend'"),
        "{l}"
    );
    let l = line(&["trian"], 2);
    assert!(l.contains("'trian'") && l.contains("'train'"), "{l}");
    let l = line(&["train", "--backend", "tpu"], 2);
    assert!(
        l.contains("invalid value 'tpu'") && l.contains("possible values: cpu,"),
        "{l}"
    );
    let l = line(&["train", "--epochs", "0"], 2);
    assert!(
        l.contains("invalid value '0' for '--epochs <EPOCHS>'"),
        "{l}"
    );
    let l = line(&["sweep", "--until-gap", "1e-4"], 2);
    assert!(
        l.contains("the following required arguments were not provided: '--max-epochs <N>'"),
        "{l}"
    );
    let l = line(&["train", "extra"], 2);
    assert!(l.contains("'extra'"), "{l}");
    // No subcommand: clap's help, and exit 2 (a bad command line).
    let o = zl(&[]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("Usage:") || o.stdout.contains("Usage:"));
}

#[test]
fn bad_command_lines_exit_2_and_later_failures_exit_1() {
    // Every combination of flags that cannot work is a bad command line.
    for args in [
        &["train", "--seeds", "0..4", "--save", "s.safetensors"][..],
        &["train", "--seeds", "0..4", "--checksum"],
        &["train", "--seeds", "0..4", "--log-every", "5"],
    ] {
        assert_one_line_error(args, 2, "--seeds");
    }
    // A file that is not there is found after parsing.
    assert_one_line_error(
        &["train", "--corpus", "/nonexistent/t.txt"],
        1,
        "/nonexistent/t.txt",
    );
    assert_one_line_error(
        &["interpret", "--load", "/nonexistent/m.safetensors"],
        1,
        "/nonexistent/m.safetensors",
    );
}

#[test]
fn bad_values_of_the_new_flags_get_one_clear_line() {
    for bad in ["0", "1", "-0.1", "nan", "half"] {
        assert_one_line_error(&["train", "--val-fraction", bad], 2, "--val-fraction");
        assert_one_line_error(&["interpret", "--val-fraction", bad], 2, "--val-fraction");
    }
    assert_one_line_error(
        &["train", "--val-fraction", "0.1", "--seeds", "0..2"],
        2,
        "--val-fraction",
    );
    assert_one_line_error(
        &["train", "--val-fraction", "0.999"],
        1,
        "--val-fraction 0.999",
    );
    for bad in ["0", "-1", "inf", "nan", "hot"] {
        assert_one_line_error(&["sample", "--temperature", bad], 2, "--temperature");
    }
    for bad in ["0", "-3", "1000001", "many"] {
        assert_one_line_error(&["sample", "--chars", bad], 2, "--chars");
    }
    assert_one_line_error(&["sample", "--sample-seed", "-1"], 2, "--sample-seed");
    assert_one_line_error(&["sample", "--prompt", ""], 2, "--prompt");
    assert_one_line_error(
        &["sample", "--prompt", "Bq"],
        1,
        "--prompt: character 1 ('q')",
    );
    assert_one_line_error(&["run"], 2, "--text");
    assert_one_line_error(&["run", "--text", "B"], 2, "--text");
    assert_one_line_error(&["run", "--text", "Bq!"], 1, "--text: character 1 ('q')");
    assert_one_line_error(
        &[
            "run",
            "--text",
            "Be",
            "--load",
            "/nonexistent/m.safetensors",
        ],
        1,
        "--load /nonexistent/m.safetensors",
    );
}
