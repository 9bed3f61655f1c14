//! The hostile-input battery: files and flags a person might feed zl by mistake. For each, zl
//! must exit non-zero with one line that names the input, never panic, and change no file.

use std::{collections::BTreeMap, path::Path, process::Command};

use safetensors::{tensor::TensorView, Dtype};
use zl_tests::{assert_one_line, assert_one_line_error, zl_bin, zl_in};

/// Every file under `dir` with its bytes, to prove a failed command changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap_or_default(),
            )
        })
        .collect()
}

/// Runs zl in `dir` and checks the failure contract.
fn fails_cleanly(dir: &Path, args: &[&str], code: i32, names: &[&str]) {
    fails_cleanly_after(dir, args, code, names, false)
}

/// [`fails_cleanly`] for a run that fails while training: `zl train` prints its header and
/// each logged loss as it happens, so stdout holds those, and nothing of what follows a run.
fn fails_cleanly_after(dir: &Path, args: &[&str], code: i32, names: &[&str], streamed: bool) {
    let before = snapshot(dir);
    let o = zl_in(dir, args);
    assert_one_line(&o, args, code, names);
    assert!(
        !o.stderr.contains(".zl-tmp"),
        "zl {args:?}: names its own temporary file: {}",
        o.stderr
    );
    if streamed {
        let header = [
            "zl train: ",
            "corpus: ",
            "vocab (",
            "uniform loss: ",
            "Epoch: ",
        ];
        for line in o.stdout.lines().filter(|l| !l.is_empty()) {
            assert!(
                header.iter().any(|h| line.starts_with(h)),
                "zl {args:?}: only the header and losses, got {line:?}"
            );
        }
    } else {
        assert!(o.stdout.is_empty(), "zl {args:?}: stdout {:?}", o.stdout);
    }
    assert_eq!(
        snapshot(dir),
        before,
        "zl {args:?} changed files in its folder"
    );
}

const SEED_VOCAB: &str = "hiByxodcm.arufn-pszlt\u{2019}eSkg,vb ";

/// A safetensors file with the given tensors (name, dtype, shape, f32 values) and vocab metadata.
fn model_file(path: &Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<f32>)], vocab: Option<&str>) {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, dt, _, v)| match dt {
            Dtype::F64 => v.iter().flat_map(|x| (*x as f64).to_le_bytes()).collect(),
            _ => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        })
        .collect();
    let views: Vec<(&str, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((n, dt, s, _), b)| (*n, TensorView::new(*dt, s.clone(), b).unwrap()))
        .collect();
    let meta = vocab.map(|v| {
        let list: Vec<String> = v.chars().map(|c| c.to_string()).collect();
        std::collections::HashMap::from([(
            "vocab".to_string(),
            serde_json::to_string(&list).unwrap(),
        )])
    });
    std::fs::write(path, safetensors::serialize(views, meta).unwrap()).unwrap();
}

fn seed_tensors(fill: f32) -> Vec<(&'static str, Dtype, Vec<usize>, Vec<f32>)> {
    vec![
        ("W_E", Dtype::F32, vec![30, 16], vec![fill; 480]),
        ("W_U", Dtype::F32, vec![16, 30], vec![fill; 480]),
    ]
}

#[test]
fn hostile_weight_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A good file first (zl's own --save), to cut and corrupt.
    let good = d.join("good.safetensors");
    let o = zl_in(
        d,
        &["train", "--epochs", "5", "--save", good.to_str().unwrap()],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(d.join("truncated.safetensors"), &bytes[..bytes.len() - 100]).unwrap();
    std::fs::write(d.join("header-only.safetensors"), &bytes[..40]).unwrap();
    std::fs::write(d.join("empty.safetensors"), b"").unwrap();
    let mut flipped = bytes.clone();
    flipped[3] ^= 0x7f; // the header length
    std::fs::write(d.join("corrupt.safetensors"), &flipped).unwrap();
    model_file(
        &d.join("names.safetensors"),
        &[
            ("embed", Dtype::F32, vec![30, 16], vec![0.1; 480]),
            ("unembed", Dtype::F32, vec![16, 30], vec![0.1; 480]),
        ],
        Some(SEED_VOCAB),
    );
    model_file(
        &d.join("shapes.safetensors"),
        &[
            ("W_E", Dtype::F32, vec![30, 16], vec![0.1; 480]),
            ("W_U", Dtype::F32, vec![30, 16], vec![0.1; 480]),
        ],
        Some(SEED_VOCAB),
    );
    model_file(
        &d.join("dtype.safetensors"),
        &[
            // F64, F16 and BF16 are converted (the `run` module); an integer type is not.
            ("W_E", Dtype::I32, vec![30, 16], vec![0.1; 480]),
            ("W_U", Dtype::F32, vec![16, 30], vec![0.1; 480]),
        ],
        Some(SEED_VOCAB),
    );
    model_file(
        &d.join("nan.safetensors"),
        &seed_tensors(f32::NAN),
        Some(SEED_VOCAB),
    );
    model_file(
        &d.join("inf.safetensors"),
        &seed_tensors(f32::INFINITY),
        Some(SEED_VOCAB),
    );
    // No vocab metadata, and a size that is not the seed notebook's 30 (the `run` module loads
    // the 30-row and --corpus cases).
    model_file(
        &d.join("no-vocab.safetensors"),
        &[
            ("W_E", Dtype::F32, vec![29, 16], vec![0.1; 464]),
            ("W_U", Dtype::F32, vec![16, 29], vec![0.1; 464]),
        ],
        None,
    );
    let other: String = "abcdefghijklmnopqrstuvwxyz.,;!".into();
    model_file(
        &d.join("other-vocab.safetensors"),
        &seed_tensors(0.1),
        Some(&other),
    );

    let cases: [(&str, &[&str]); 11] = [
        (
            "missing.safetensors",
            &["missing.safetensors", "cannot read"],
        ),
        (
            "truncated.safetensors",
            &["truncated.safetensors", "truncated or corrupt"],
        ),
        (
            "header-only.safetensors",
            &["header-only.safetensors", "truncated or corrupt"],
        ),
        (
            "empty.safetensors",
            &["empty.safetensors", "truncated or corrupt"],
        ),
        (
            "corrupt.safetensors",
            &["corrupt.safetensors", "truncated or corrupt"],
        ),
        (
            "names.safetensors",
            &["names.safetensors", "no tensor named W_E"],
        ),
        ("shapes.safetensors", &["shapes.safetensors", "shapes"]),
        (
            "dtype.safetensors",
            &["dtype.safetensors", "zl reads F32, F64, F16 or BF16"],
        ),
        ("nan.safetensors", &["nan.safetensors", "non-finite"]),
        ("inf.safetensors", &["inf.safetensors", "non-finite"]),
        (
            "no-vocab.safetensors",
            &["no-vocab.safetensors", "W_E has 29 rows", "has 30"],
        ),
    ];
    for (file, names) in cases {
        fails_cleanly(d, &["interpret", "--load", file], 1, names);
    }
    // A vocabulary that is not the corpus's: both named.
    fails_cleanly(
        d,
        &["interpret", "--load", "other-vocab.safetensors"],
        1,
        &["other-vocab.safetensors", "seed notebook"],
    );
    fails_cleanly(
        d,
        &[
            "interpret",
            "--load",
            "good.safetensors",
            "--corpus",
            env!("CARGO_MANIFEST_DIR").to_owned().leak() as &str,
        ],
        1,
        &["--corpus"],
    );
}

#[test]
fn hostile_flags_and_outputs_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("model.safetensors"), b"precious").unwrap();
    std::fs::write(d.join("report.html"), b"precious").unwrap();
    // Divergence: the existing --save target survives.
    fails_cleanly_after(
        d,
        &["train", "--lr", "1e30", "--save", "model.safetensors"],
        1,
        &["diverged", "--lr"],
        true,
    );
    fails_cleanly(
        d,
        &["train", "--lr", "0", "--save", "model.safetensors"],
        2,
        &["--lr"],
    );
    fails_cleanly(d, &["train", "--epochs", "1e9"], 2, &["--epochs"]);
    fails_cleanly(d, &["train", "--log-every", "0"], 2, &["--log-every"]);
    fails_cleanly(
        d,
        &["train", "--backend", "gpu"],
        2,
        &[
            "gpu",
            "cpu, cpu-portable, cpu-avx2, cpu-neon, cpu-simd128, cpu-avx512, cuda, ptxsim",
        ],
    );
    fails_cleanly(d, &["train", "--seeds", "9..3"], 2, &["--seeds"]);
    fails_cleanly(d, &["sweep", "--d-model", "4,0"], 2, &["--d-model"]);
    fails_cleanly(d, &["sweep", "--d-model", "4,x"], 2, &["--d-model"]);
    fails_cleanly(
        d,
        &[
            "report",
            "--out",
            "no-such-dir/report.html",
            "--epochs",
            "10",
        ],
        1,
        &["no-such-dir", "does it exist"],
    );
    fails_cleanly(
        d,
        &["train", "--epochs", "2", "--save", "."],
        1,
        &["--save", "is a folder"],
    );
    std::fs::write(d.join("archive.zip"), b"PK\x03\x04\x14\x00\xff\xfe binary").unwrap();
    fails_cleanly(
        d,
        &["train", "--corpus", "archive.zip", "--epochs", "5"],
        1,
        &["archive.zip", "UTF-8", "byte offset 6"],
    );
}

/// One change to a good count file.
enum Edit {
    None,
    /// Set (or, with `None`, remove) a metadata key.
    Meta(&'static str, Option<&'static str>),
    Dtype(Dtype),
    Shape(Vec<usize>),
    Values(Vec<u64>),
}

/// A count file as `zl count --concatenate` writes it for the text "aba" (3 characters, pairs
/// ab and ba), with `edit` applied.
fn count_file(path: &Path, edit: Edit) {
    let mut meta: BTreeMap<&str, String> = [
        ("format", "zl bigram counts"),
        ("version", "1"),
        ("vocab", r#"["a","b"]"#),
        ("chars", "3"),
        ("documents", "1"),
        ("first", "a"),
        ("last", "a"),
        ("semantics", "concatenate"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect();
    let (mut dtype, mut shape, mut values) = (Dtype::U64, vec![2, 2], vec![0u64, 1, 1, 0]);
    match edit {
        Edit::None => {}
        Edit::Meta(k, Some(v)) => drop(meta.insert(k, v.to_string())),
        Edit::Meta(k, None) => drop(meta.remove(k)),
        Edit::Dtype(d) => dtype = d,
        Edit::Shape(s) => shape = s,
        Edit::Values(v) => values = v,
    }
    let bytes: Vec<u8> = match dtype {
        Dtype::U32 => values
            .iter()
            .flat_map(|x| (*x as u32).to_le_bytes())
            .collect(),
        _ => values.iter().flat_map(|x| x.to_le_bytes()).collect(),
    };
    let view = TensorView::new(dtype, shape, &bytes).unwrap();
    let meta = meta.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    std::fs::write(
        path,
        safetensors::serialize([("counts", view)], Some(meta)).unwrap(),
    )
    .unwrap();
}

/// Runs zl in `dir` and checks that it succeeded.
fn succeeds(dir: &Path, args: &[&str]) {
    let o = zl_in(dir, args);
    assert_eq!(o.code, 0, "zl {args:?}: {}", o.stderr);
}

#[test]
fn hostile_count_files_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    count_file(&d.join("good.st"), Edit::None);
    succeeds(d, &["train", "--counts", "good.st", "--epochs", "3"]);
    let good = std::fs::read(d.join("good.st")).unwrap();
    std::fs::write(d.join("cut.st"), &good[..good.len() - 9]).unwrap();
    std::fs::write(
        d.join("noise.st"),
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ",
    )
    .unwrap();
    let cases: Vec<(&str, Edit, &[&str])> = vec![
        ("dtype.st", Edit::Dtype(Dtype::U32), &["U32", "U64"]),
        ("shape.st", Edit::Shape(vec![4]), &["shape [4]", "[2, 2]"]),
        (
            "negative.st",
            Edit::Meta("chars", Some("-3")),
            &["'chars'", "\"-3\""],
        ),
        (
            "overflow.st",
            Edit::Values(vec![0, u64::MAX, 1, 0]),
            &["2^64"],
        ),
        (
            "totals.st",
            Edit::Meta("chars", Some("7")),
            &["7 characters", "inconsistent"],
        ),
        (
            "uneven.st",
            Edit::Values(vec![1, 1, 0, 0]),
            &["inconsistent"],
        ),
        (
            "dup.st",
            Edit::Meta("vocab", Some(r#"["a","a"]"#)),
            &["'a'", "twice"],
        ),
        (
            "notjson.st",
            Edit::Meta("vocab", Some("a,b")),
            &["'vocab'", "JSON"],
        ),
        (
            "twochar.st",
            Edit::Meta("vocab", Some(r#"["ab","c"]"#)),
            &["vocab entry 0", "one character"],
        ),
        (
            "version.st",
            Edit::Meta("version", Some("9")),
            &["version \"9\"", "version 1"],
        ),
        (
            "semantics.st",
            Edit::Meta("semantics", Some("both")),
            &["'semantics'", "both"],
        ),
        (
            "first.st",
            Edit::Meta("first", Some("z")),
            &["'z'", "not in the vocabulary"],
        ),
        (
            "nometa.st",
            Edit::Meta("format", None),
            &["'format'", "zl count"],
        ),
    ];
    let mut bad: Vec<(&str, &[&str])> = vec![
        ("cut.st", &["truncated or corrupt"][..]),
        ("noise.st", &["truncated or corrupt"][..]),
    ];
    for (name, edit, names) in cases {
        count_file(&d.join(name), edit);
        bad.push((name, names));
    }
    for (name, names) in bad {
        let with_name = [names, &[name]].concat();
        let train = ["train", "--counts", name, "--epochs", "3"];
        fails_cleanly(d, &train, 1, &[&with_name[..], &["--counts"]].concat());
        let merge = [
            "count",
            "--merge",
            "--concatenate",
            "good.st",
            name,
            "--out",
            "m.st",
        ];
        fails_cleanly(d, &merge, 1, &with_name);
    }
    // Valid files that cannot be merged: other semantics.
    count_file(
        &d.join("docs.st"),
        Edit::Meta("semantics", Some("documents")),
    );
    fails_cleanly(
        d,
        &[
            "count",
            "--merge",
            "--concatenate",
            "good.st",
            "docs.st",
            "--out",
            "m.st",
        ],
        1,
        &["docs.st", "counted as documents", "with --concatenate"],
    );
    fails_cleanly(
        d,
        &["count", "--merge", "good.st", "--out", "m.st"],
        1,
        &["good.st", "concatenate"],
    );
    for (k, base) in [(0, 0x4e00u32), (1, 0x5000)] {
        let text: String = (0..200)
            .map(|i| char::from_u32(base + i).unwrap())
            .collect();
        let txt = format!("han{k}.txt");
        std::fs::write(d.join(&txt), text).unwrap();
        succeeds(d, &["count", &txt, "--out", &format!("han{k}.st")]);
        std::fs::remove_file(d.join(&txt)).unwrap();
    }
    // More than 256 characters together merge: a vocabulary has no cap.
    succeeds(
        d,
        &["count", "--merge", "han0.st", "han1.st", "--out", "m.st"],
    );
    let (m, _) = zl_cli::data::counts::read(&d.join("m.st")).unwrap();
    assert_eq!((m.vocab.len(), m.predictions()), (400, 398));
    // Flags and paths, checked before any counting.
    std::fs::write(d.join("t.txt"), "hello").unwrap();
    fails_cleanly(
        d,
        &["count", "t.txt", "--out", "."],
        1,
        &["--out", "is a folder"],
    );
    fails_cleanly(
        d,
        &["count", "t.txt", "--out", "no-such-dir/c.st"],
        1,
        &["no-such-dir", "does it exist"],
    );
    fails_cleanly(
        d,
        &["count", "missing.txt", "--out", "c.st"],
        1,
        &["missing.txt", "cannot open"],
    );
    fails_cleanly(d, &["count", "--merge", "--out", "c.st"], 2, &["FILE"]);
    fails_cleanly(
        d,
        &["train", "--corpus", "t.txt", "--counts", "good.st"],
        2,
        &["--counts", "--corpus"],
    );
    fails_cleanly(
        d,
        &["train", "--counts", "missing.st"],
        1,
        &["--counts", "missing.st", "cannot read"],
    );
    fails_cleanly(d, &["train", "--counts", "."], 1, &["--counts", "folder"]);
    std::fs::write(d.join("e.txt"), "").unwrap();
    fails_cleanly(
        d,
        &["count", "e.txt", "--out", "c.st"],
        1,
        &["e.txt", "empty"],
    );
}

/// Runs zl in `dir` with `input` on standard input; returns (exit code, stdout, stderr).
fn with_stdin(dir: &Path, args: &[&str], input: &[u8]) -> (i32, String, String) {
    use std::{io::Write, process::Stdio};
    let mut child = Command::new(zl_bin())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let o = child.wait_with_output().unwrap();
    let s = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (o.status.code().unwrap_or(-1), s(o.stdout), s(o.stderr))
}

/// Texts as a user gets them wrong: pieces cut through a character, compressed files, a text
/// where a count or weights file belongs. Each error names the cause and the fix; `-` reads
/// standard input.
#[test]
fn hostile_texts_get_the_cause_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = "Привет, мир! Это тест. ".repeat(20);
    std::fs::write(d.join("ru.txt"), &text).unwrap();
    // `split -b`: the cut falls inside the two-byte 'р' of "Привет".
    let cut = text.find('р').unwrap() + 1;
    std::fs::write(d.join("s.00"), &text.as_bytes()[..cut]).unwrap();
    std::fs::write(d.join("s.01"), &text.as_bytes()[cut..]).unwrap();
    for piece in ["s.00", "s.01"] {
        fails_cleanly(
            d,
            &["count", piece, "--out", "x.counts"],
            1,
            &[piece, "UTF-8 character", "--concatenate"],
        );
        fails_cleanly(
            d,
            &["train", "--corpus", piece, "--epochs", "2"],
            1,
            &[piece, "UTF-8 character", "split"],
        );
    }
    // The advice works: the pieces in order count as the whole.
    let count = |args: &[&str]| succeeds(d, args);
    count(&[
        "count",
        "--concatenate",
        "s.00",
        "s.01",
        "--out",
        "pieces.counts",
    ]);
    count(&["count", "ru.txt", "--out", "whole.counts"]);
    let counted = |name: &str| {
        let (c, _) = zl_cli::data::counts::read(&d.join(name)).unwrap();
        (c.vocab, c.pairs, c.chars, c.documents, c.first, c.last)
    };
    assert!(counted("pieces.counts") == counted("whole.counts"));
    // Compressed input, by its magic bytes.
    for (name, magic, format) in [
        ("t.gz", &b"\x1f\x8b\x08\x00"[..], "gzip"),
        ("t.zst", b"\x28\xb5\x2f\xfd\x00", "zstd"),
        ("t.bz2", b"BZh91AY&SY", "bzip2"),
        ("t.xz", b"\xfd7zXZ\x00\x00", "xz"),
    ] {
        std::fs::write(d.join(name), magic).unwrap();
        fails_cleanly(
            d,
            &["train", "--corpus", name, "--epochs", "2"],
            1,
            &[name, format, "--corpus -"],
        );
        fails_cleanly(d, &["count", name, "--out", "x.counts"], 1, &[name, format]);
    }
    // A text where a count file or weights belong: said once, with what to run.
    for args in [
        &["count", "--merge", "ru.txt", "--out", "x.counts"][..],
        &["train", "--counts", "ru.txt", "--epochs", "2"],
        &["interpret", "--load", "ru.txt"],
        &["eval", "--load", "ru.txt", "--corpus", "ru.txt"],
    ] {
        fails_cleanly(d, args, 1, &["ru.txt", "text file", "--corpus"]);
        let line = zl_in(d, args).stderr;
        assert_eq!(line.matches("ru.txt").count(), 1, "{args:?}: {line}");
    }
    // `-` is standard input, for --corpus and for zl count.
    let (code, piped, e) = with_stdin(
        d,
        &["train", "--corpus", "-", "--epochs", "20", "--json"],
        text.as_bytes(),
    );
    assert_eq!(code, 0, "{e}");
    let o = zl_in(
        d,
        &["train", "--corpus", "ru.txt", "--epochs", "20", "--json"],
    );
    let loss =
        |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()["final_loss"].clone();
    assert_eq!(loss(&piped), loss(&o.stdout));
    let (code, _, e) = with_stdin(d, &["count", "-", "--out", "stdin.counts"], text.as_bytes());
    assert_eq!(code, 0, "{e}");
    assert!(counted("stdin.counts") == counted("whole.counts"));
    let (code, _, e) = with_stdin(d, &["train", "--corpus", "-"], b"\x1f\x8b\x08\x00");
    assert_eq!(code, 1);
    assert!(e.contains("gzip") && e.contains("--corpus -"), "{e}");
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

/// A count file's sparse rows: (row_start, col, count).
type Rows = (Vec<u64>, Vec<u32>, Vec<u64>);

/// A sparse count file (version 2) of the text "aba" over the characters a, b, with these rows
/// and the metadata edited.
fn sparse_file(path: &Path, rows: Rows, meta_edit: &[(&str, Option<&str>)]) {
    let mut meta: BTreeMap<&str, String> = [
        ("format", "zl bigram counts"),
        ("version", "2"),
        ("vocab", r#"["a","b"]"#),
        ("tokens", "3"),
        ("documents", "1"),
        ("first", "0"),
        ("last", "0"),
        ("semantics", "concatenate"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect();
    for &(k, v) in meta_edit {
        match v {
            Some(v) => drop(meta.insert(k, v.to_string())),
            None => drop(meta.remove(k)),
        }
    }
    let (rs, col, count) = rows;
    let rs_b: Vec<u8> = rs.iter().flat_map(|x| x.to_le_bytes()).collect();
    let col_b: Vec<u8> = col.iter().flat_map(|x| x.to_le_bytes()).collect();
    let count_b: Vec<u8> = count.iter().flat_map(|x| x.to_le_bytes()).collect();
    let tensors = [
        (
            "row_start",
            TensorView::new(Dtype::U64, vec![rs.len()], &rs_b).unwrap(),
        ),
        (
            "col",
            TensorView::new(Dtype::U32, vec![col.len()], &col_b).unwrap(),
        ),
        (
            "count",
            TensorView::new(Dtype::U64, vec![count.len()], &count_b).unwrap(),
        ),
    ];
    let meta = meta.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    std::fs::write(path, safetensors::serialize(tensors, Some(meta)).unwrap()).unwrap();
}

/// Sparse count files that break an invariant, and tokenizers that are corrupt, unknown or
/// mismatched: each one line naming the file, exit 1 (2 for a bad flag), nothing written.
#[test]
fn hostile_sparse_count_files_and_tokenizers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = || (vec![0, 1, 2], vec![1, 0], vec![1, 1]);
    sparse_file(&d.join("good.st"), good(), &[]);
    succeeds(d, &["train", "--counts", "good.st", "--epochs", "3"]);
    let cases: Vec<(&str, Rows, &[&str])> = vec![
        (
            "beyond.st",
            (vec![0, 1, 2], vec![5, 0], vec![1, 1]),
            &["column id 5", "beyond"],
        ),
        (
            "unsorted.st",
            (vec![0, 2, 2], vec![1, 0], vec![1, 1]),
            &["unsorted"],
        ),
        (
            "repeated.st",
            (vec![0, 2, 2], vec![1, 1], vec![1, 1]),
            &["repeated"],
        ),
        (
            "zero.st",
            (vec![0, 1, 2], vec![1, 0], vec![0, 1]),
            &["count 0"],
        ),
        (
            "overflow.st",
            (vec![0, 1, 2], vec![1, 0], vec![u64::MAX, 1]),
            &["2^64"],
        ),
        (
            "rows.st",
            (vec![0, 3, 2], vec![1, 0], vec![1, 1]),
            &["row_start"],
        ),
        (
            "short.st",
            (vec![0, 2], vec![1, 0], vec![1, 1]),
            &["row_start", "3"],
        ),
        (
            "lengths.st",
            (vec![0, 1, 2], vec![1, 0], vec![1]),
            &["counts"],
        ),
    ];
    for (name, rows, names) in cases {
        sparse_file(&d.join(name), rows, &[]);
        let with_name = [names, &[name]].concat();
        fails_cleanly(
            d,
            &["train", "--counts", name, "--epochs", "3"],
            1,
            &with_name,
        );
        let merge = [
            "count",
            "--merge",
            "--concatenate",
            "good.st",
            name,
            "--out",
            "m.st",
        ];
        fails_cleanly(d, &merge, 1, &with_name);
    }
    // A count file whose tokenizer is corrupt, or not the one its hash names.
    sparse_file(
        &d.join("badtok.st"),
        good(),
        &[
            ("vocab", None),
            ("tokenizer", Some("{oops")),
            ("tokenizer_sha256", Some("00")),
        ],
    );
    fails_cleanly(
        d,
        &["train", "--counts", "badtok.st"],
        1,
        &["badtok.st", "tokenizer"],
    );
    // A tokenizer file that is corrupt, of an unknown model, missing, or a folder.
    std::fs::write(d.join("text.txt"), "the cat sat on the mat. ".repeat(40)).unwrap();
    std::fs::write(d.join("corrupt.json"), "{\"model\": ").unwrap();
    std::fs::write(
        d.join("unknown.json"),
        r#"{"version":"1.0","model":{"type":"Nope"}}"#,
    )
    .unwrap();
    for (tok, names) in [
        ("corrupt.json", &["corrupt.json", "tokenizer.json"][..]),
        ("unknown.json", &["unknown.json", "tokenizer.json"]),
        ("missing.json", &["missing.json", "cannot read"]),
        (".", &["folder"]),
    ] {
        let args = [
            "train",
            "--corpus",
            "text.txt",
            "--tokenizer",
            tok,
            "--epochs",
            "2",
        ];
        fails_cleanly(d, &args, 1, names);
        let count = ["count", "text.txt", "--tokenizer", tok, "--out", "t.st"];
        fails_cleanly(d, &count, 1, names);
    }
    // --bpe below the bytes, or beside --tokenizer: usage errors.
    fails_cleanly(
        d,
        &["train", "--corpus", "text.txt", "--bpe", "10"],
        2,
        &["--bpe", "256"],
    );
    fails_cleanly(
        d,
        &[
            "train",
            "--corpus",
            "text.txt",
            "--bpe",
            "300",
            "--tokenizer",
            "corrupt.json",
        ],
        2,
        &["--bpe", "--tokenizer"],
    );
    // Counts of two different tokenizers, or of a tokenizer and characters, do not merge.
    succeeds(
        d,
        &["count", "text.txt", "--bpe", "260", "--out", "t260.st"],
    );
    succeeds(
        d,
        &["count", "text.txt", "--bpe", "270", "--out", "t270.st"],
    );
    succeeds(d, &["count", "text.txt", "--out", "chars.st"]);
    fails_cleanly(
        d,
        &["count", "--merge", "t260.st", "t270.st", "--out", "m.st"],
        1,
        &["tokenizer", "--tokenizer"],
    );
    fails_cleanly(
        d,
        &["count", "--merge", "t260.st", "chars.st", "--out", "m.st"],
        1,
        &["tokenizer", "characters"],
    );
    // A text tokenized differently from its count file is refused.
    std::fs::write(d.join("t270.json"), {
        let (c, _) = zl_cli::data::counts::read(&d.join("t270.st")).unwrap();
        c.vocab.tokenizer().unwrap().json().to_string()
    })
    .unwrap();
    fails_cleanly(
        d,
        &["train", "--counts", "t260.st", "--tokenizer", "t270.json"],
        1,
        &["tokenized", "--tokenizer"],
    );
}
