//! A new user's command lines: every kind of clap error keeps its content in one line (the
//! missing value, the flags that conflict and how to fix that, the possible values only where
//! there are some), and every bad command line exits 2, every failure after parsing 1.

use zl_tests::{assert_one_line_error, zl};

/// The line `zl args` prints, after checking it is one line with exit code `code`.
fn line(args: &[&str], code: i32) -> String {
    assert_one_line_error(args, code, "zl: error: ");
    zl(args).stderr.trim_end().to_string()
}

/// Asserts that the line names each of `what` (flags, values, words the user typed).
fn names(l: &str, what: &[&str]) {
    for w in what {
        assert!(l.contains(w), "{w:?} not named in: {l}");
    }
}

#[test]
fn a_missing_value_names_the_flag_and_lists_no_empty_values() {
    for flag in ["--corpus", "--seed", "--d-model"] {
        let l = line(&["train", flag], 2);
        names(&l, &[flag]);
        assert!(!l.contains("possible values"), "no empty list: {l}");
    }
    let l = line(&["interpret", "--load"], 2);
    names(&l, &["--load"]);
    assert!(!l.contains("possible values"), "no empty list: {l}");
    // A flag with values lists them when its value is missing.
    let l = line(&["train", "--backend"], 2);
    names(&l, &["--backend", "cpu", "cpu-portable"]);
}

#[test]
fn a_conflict_names_every_flag_and_the_fix() {
    // Each conflict names the flags on both sides; the fix is to drop one side, so it names them.
    for (args, flags) in [
        (
            &[
                "interpret",
                "--load",
                "m.safetensors",
                "--seed",
                "3",
                "--epochs",
                "5",
            ][..],
            &["--load", "--seed", "--epochs"][..],
        ),
        (
            &["interpret", "--load", "m.safetensors", "--lr", "0.01"],
            &["--load", "--lr"],
        ),
        (
            &[
                "sweep",
                "--until-gap",
                "1e-4",
                "--max-epochs",
                "100",
                "--epochs",
                "5",
            ],
            &["--until-gap", "--epochs", "--max-epochs"],
        ),
        (
            &["train", "--seeds", "0..4", "--log-every", "10"],
            &["--seeds", "--log-every"],
        ),
        (&["train", "--seed", "1", "--seed", "2"], &["--seed"]),
    ] {
        names(&line(args, 2), flags);
    }
}

#[test]
fn other_clap_errors_keep_their_content() {
    // A misspelt flag or command: the word typed and the one meant.
    names(
        &line(&["train", "--bakend", "cpu"], 2),
        &["--bakend", "--backend"],
    );
    names(&line(&["trian"], 2), &["trian", "train"]);
    // A bad value: the value, the flag and, where there are some, the possible values.
    names(
        &line(&["train", "--backend", "tpu"], 2),
        &["tpu", "--backend", "cpu-portable"],
    );
    names(&line(&["train", "--epochs", "0"], 2), &["0", "--epochs"]);
    // A flag that another requires.
    names(
        &line(&["sweep", "--until-gap", "1e-4"], 2),
        &["--max-epochs"],
    );
    names(&line(&["train", "extra"], 2), &["extra"]);
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

#[test]
fn backend_is_offered_where_a_command_trains() {
    for cmd in ["train", "sweep", "interpret", "report", "sample", "run"] {
        let o = zl(&[cmd, "--help"]);
        assert!(
            o.stdout.contains("--backend"),
            "zl {cmd} --help: {}",
            o.stdout
        );
    }
    for cmd in ["eval", "count"] {
        let o = zl(&[cmd, "--help"]);
        assert!(
            !o.stdout.contains("--backend"),
            "zl {cmd} --help: {}",
            o.stdout
        );
        assert!(!o.stdout.contains("docs/"), "zl {cmd} --help: {}", o.stdout);
    }
    assert_one_line_error(&["eval", "--backend", "cpu", "--load", "m"], 2, "--backend");
    // Before the command or after it, the same run.
    let before = zl(&[
        "--backend",
        "cpu-portable",
        "train",
        "--epochs",
        "3",
        "--checksum",
    ]);
    let after = zl(&[
        "train",
        "--backend",
        "cpu-portable",
        "--epochs",
        "3",
        "--checksum",
    ]);
    assert_eq!(before.code, 0, "{}", before.stderr);
    assert!(
        before.stdout.contains("backend cpu-portable"),
        "{}",
        before.stdout
    );
    assert_eq!(before.stdout.lines().last(), after.stdout.lines().last());
}
