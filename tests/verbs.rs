//! The verbs of issue 16 as a user runs them: `--load` of weights from anywhere, `zl sample`,
//! `zl run`, `--val-fraction`, hover values on the heatmaps, and the seed notebook's own
//! TransformerLens class against zl.

use std::{collections::HashMap, path::Path, process::Command};

use safetensors::{tensor::TensorView, Dtype};
use serde_json::Value;
use zl_cli::data::files;
use zl_core::SEED_TEXT;
use zl_tests::{assert_one_line_error, root, zl, Out};

/// `zl run`'s loss on the seed text against the training's own f32 loss of the same weights:
/// f64 log-softmax on the exact products vs zl-core's f32 forward.
const RUN_LOSS_ATOL: f64 = 1e-6;
/// PyTorch's f32 loss of the notebook's class vs zl's f64 loss of the same weights.
const TORCH_LOSS_ATOL: f64 = 1e-5;

fn ok(o: Out, what: &str) -> Out {
    assert_eq!(o.code, 0, "{what}: {}", o.stderr);
    o
}

fn json(o: &Out) -> Value {
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", o.stdout))
}

/// Asserts that `out` contains `what`, showing `out` where it does not.
fn assert_has(out: &str, what: &str) {
    assert!(out.contains(what), "{what:?} not in:\n{out}");
}

fn custom() -> String {
    root().join("tests/golden/custom.txt").display().to_string()
}

/// Saves a model with `zl train --save` (and `extra` flags) into `dir`; returns its path.
fn saved(dir: &Path, name: &str, extra: &[&str]) -> String {
    let path = dir.join(name).display().to_string();
    let mut args = vec!["train", "--epochs", "2000", "--save", &path];
    args.extend_from_slice(extra);
    ok(zl(&args), "train --save");
    path
}

/// The weights of `path` rewritten as `dtype` with no metadata at all, as numpy or
/// `safetensors.torch.save_file(model.state_dict())` writes them.
fn bare_copy(path: &str, out: &Path, dtype: Dtype) -> String {
    let w = files::read_safetensors(Path::new(path)).unwrap();
    let bytes = |x: &[f32]| -> Vec<u8> {
        x.iter()
            .flat_map(|&v| match dtype {
                Dtype::F32 => v.to_le_bytes().to_vec(),
                Dtype::F64 => (v as f64).to_le_bytes().to_vec(),
                Dtype::F16 => half::f16::from_f32(v).to_le_bytes().to_vec(),
                Dtype::BF16 => half::bf16::from_f32(v).to_le_bytes().to_vec(),
                _ => unreachable!(),
            })
            .collect()
    };
    let (we, wu) = (bytes(&w.w_e), bytes(&w.w_u));
    let v = w.vocab.len();
    let tensors = [
        (
            "W_E",
            TensorView::new(dtype, vec![v, w.d_model], &we).unwrap(),
        ),
        (
            "W_U",
            TensorView::new(dtype, vec![w.d_model, v], &wu).unwrap(),
        ),
    ];
    let st = safetensors::serialize(tensors, None::<HashMap<String, String>>).unwrap();
    std::fs::write(out, st).unwrap();
    out.display().to_string()
}

fn hook_embeds(run: &Value) -> Vec<Vec<f32>> {
    run["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["hook_embed"]
                .as_array()
                .unwrap()
                .iter()
                // Parsed straight to f32: the printed decimal must name the f32 itself.
                .map(|x| x.to_string().parse::<f32>().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn load_takes_weights_without_metadata_in_every_float_type_and_says_whose_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    let zl_file = saved(dir.path(), "zl.safetensors", &[]);
    let w = files::read_safetensors(Path::new(&zl_file)).unwrap();
    let text = "Before moving";
    let run = |path: &str| ok(zl(&["run", "--load", path, "--text", text, "--json"]), path);
    let with_meta = run(&zl_file);
    assert!(json(&with_meta)["model"]
        .as_str()
        .unwrap()
        .contains("vocabulary: the file's vocab metadata"));
    for (dtype, converted) in [
        (Dtype::F32, false),
        (Dtype::F64, true),
        (Dtype::F16, true),
        (Dtype::BF16, true),
    ] {
        let bare = bare_copy(&zl_file, &dir.path().join(format!("{dtype:?}")), dtype);
        let o = run(&bare);
        let j = json(&o);
        assert!(
            j["model"].as_str().unwrap().contains("the seed notebook's"),
            "{dtype:?}: {}",
            j["model"]
        );
        assert_eq!(
            o.stderr
                .contains(&format!("stored as {dtype:?}; converted to f32")),
            converted,
            "{dtype:?}: {}",
            o.stderr
        );
        // Each embedding is W_E's row in the stored type, widened to f32 exactly.
        let round = |x: f32| match dtype {
            Dtype::F16 => half::f16::from_f32(x).to_f32(),
            Dtype::BF16 => half::bf16::from_f32(x).to_f32(),
            _ => x,
        };
        let vocab: Vec<char> = w.vocab.clone();
        for (k, (row, c)) in hook_embeds(&j).iter().zip(text.chars()).enumerate() {
            let t = vocab.iter().position(|&x| x == c).unwrap();
            let want: Vec<u32> = w.w_e[t * w.d_model..(t + 1) * w.d_model]
                .iter()
                .map(|&x| round(x).to_bits())
                .collect();
            let got: Vec<u32> = row.iter().map(|x| x.to_bits()).collect();
            assert_eq!(got, want, "{dtype:?}: position {k}");
        }
    }
}

#[test]
fn load_without_metadata_takes_the_corpus_vocabulary_or_names_both_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let custom = custom();
    let file = saved(dir.path(), "custom.safetensors", &["--corpus", &custom]);
    let bare = bare_copy(&file, &dir.path().join("bare"), Dtype::F32);
    let o = ok(
        zl(&[
            "run",
            "--load",
            &bare,
            "--corpus",
            &custom,
            "--text",
            "Zero-layer",
        ]),
        "run --corpus",
    );
    assert_has(&o.stdout, "vocabulary: the --corpus text's");
    let v = files::read_safetensors(Path::new(&file))
        .unwrap()
        .vocab
        .len();
    // Without --corpus the seed notebook's 30 characters do not fit; the line names both sizes.
    assert_one_line_error(
        &["sample", "--load", &bare],
        1,
        &format!("W_E has {v} rows but the seed notebook's vocabulary has 30"),
    );
    // A seed model's bare weights on a text of another size: both sizes again.
    let seed_bare = bare_copy(
        &saved(dir.path(), "seed.safetensors", &[]),
        &dir.path().join("seed-bare"),
        Dtype::F32,
    );
    assert_one_line_error(
        &["interpret", "--load", &seed_bare, "--corpus", &custom],
        1,
        &format!("W_E has 30 rows but {custom} has {v} distinct characters"),
    );
}

#[test]
fn sample_is_reproducible_and_the_two_texts_agree_until_they_diverge() {
    let args = [
        "sample",
        "--epochs",
        "3000",
        "--chars",
        "300",
        "--sample-seed",
        "7",
        "--json",
    ];
    let a = ok(zl(&args), "sample");
    let b = ok(zl(&args), "sample again");
    assert_eq!(a.stdout, b.stdout, "the same seed gives the same output");
    let j = json(&a);
    for key in [
        "model_text",
        "table_text",
        "first_divergence",
        "seed",
        "temperature",
    ] {
        assert!(j.get(key).is_some(), "--json has {key}: {j}");
    }
    assert_eq!(j["seed"], 7);
    assert_eq!(j["temperature"], 1.0);
    let m: Vec<char> = j["model_text"].as_str().unwrap().chars().collect();
    let t: Vec<char> = j["table_text"].as_str().unwrap().chars().collect();
    assert_eq!(m.len(), 300);
    let first = m
        .iter()
        .zip(&t)
        .position(|(x, y)| x != y)
        .or((m.len() != t.len()).then_some(m.len().min(t.len())));
    assert_eq!(j["first_divergence"].as_u64().map(|x| x as usize), first);
    // Every generated pair is one the text has, for the table (P is the counts).
    let text: Vec<char> = SEED_TEXT.chars().collect();
    let prompt = j["prompt"].as_str().unwrap().chars().last().unwrap();
    let mut prev = prompt;
    for &c in &t {
        assert!(
            text.windows(2).any(|w| w[0] == prev && w[1] == c),
            "the table drew {prev:?} → {c:?}, a pair the text never has"
        );
        prev = c;
    }
    let mut seed_8 = args;
    seed_8[6] = "8";
    let other = ok(zl(&seed_8), "seed 8");
    assert_ne!(
        json(&other)["model_text"],
        j["model_text"],
        "another seed, another text"
    );
    // Text output: both texts and the divergence line.
    let o = ok(
        zl(&["sample", "--epochs", "3000", "--prompt", "the "]),
        "sample text",
    );
    assert_has(&o.stdout, "model, softmax(W_E·W_U / T):");
    assert_has(&o.stdout, "table, the data's bigram P");
    assert_has(&o.stdout, "first divergence: ");
}

#[test]
fn sample_at_a_low_temperature_is_the_models_argmax_chain() {
    let o = ok(
        zl(&[
            "sample",
            "--epochs",
            "3000",
            "--prompt",
            "B",
            "--chars",
            "40",
            "--temperature",
            "0.0001",
            "--json",
        ]),
        "cold sample",
    );
    let j = json(&o);
    let r = ok(
        zl(&[
            "run",
            "--epochs",
            "3000",
            "--text",
            &format!("B{}", j["model_text"].as_str().unwrap()),
            "--json",
        ]),
        "run on it",
    );
    // At T = 1e-4 each step takes the model's most likely next character wherever it leads the
    // next one by 2e-3 (odds above e^20); closer ties may go either way.
    for p in json(&r)["positions"].as_array().unwrap() {
        let Some(next) = p["next"].as_str() else {
            continue;
        };
        let logits: Vec<f64> = p["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
        let best = order[0];
        if logits[order[0]] - logits[order[1]] < 2e-3 {
            continue;
        }
        let vocab = json(&r)["vocab"].clone();
        assert_eq!(vocab[best].as_str().unwrap(), next, "after {}", p["char"]);
    }
}

#[test]
fn sample_on_a_text_of_its_own() {
    let custom = custom();
    let o = ok(
        zl(&[
            "sample", "--corpus", &custom, "--epochs", "500", "--chars", "50", "--json",
        ]),
        "sample --corpus",
    );
    let j = json(&o);
    assert_eq!(j["model_text"].as_str().unwrap().chars().count(), 50);
    // The default prompt is the text's first character.
    let first = std::fs::read_to_string(&custom)
        .unwrap()
        .chars()
        .next()
        .unwrap();
    assert_eq!(j["prompt"].as_str().unwrap(), first.to_string());
}

#[test]
fn run_gives_w_e_rows_bit_for_bit_and_the_training_loss() {
    let dir = tempfile::tempdir().unwrap();
    let file = saved(dir.path(), "m.safetensors", &[]);
    let w = files::read_safetensors(Path::new(&file)).unwrap();
    let o = ok(
        zl(&["run", "--load", &file, "--text", SEED_TEXT, "--json"]),
        "run",
    );
    let j = json(&o);
    let positions = j["positions"].as_array().unwrap();
    assert_eq!(positions.len(), SEED_TEXT.chars().count());
    let d = w.d_model;
    for (k, (p, row)) in positions.iter().zip(hook_embeds(&j)).enumerate() {
        let t = p["token"].as_u64().unwrap() as usize;
        let want: Vec<u32> = w.w_e[t * d..(t + 1) * d]
            .iter()
            .map(|x| x.to_bits())
            .collect();
        let got: Vec<u32> = row.iter().map(|x| x.to_bits()).collect();
        assert_eq!(
            got, want,
            "position {k}: hook_embed is W_E's row, bit for bit"
        );
        assert_eq!(p["logits"].as_array().unwrap().len(), w.vocab.len());
        // log_prob is the log-softmax of the logits at the target.
        match p["next"].as_str() {
            Some(n) => {
                let l: Vec<f64> = p["logits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect();
                let mx = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let lse = mx + l.iter().map(|x| (x - mx).exp()).sum::<f64>().ln();
                let j = w.vocab.iter().position(|c| c.to_string() == n).unwrap();
                let lp = p["log_prob"].as_f64().unwrap();
                assert!(
                    (lp - (l[j] - lse)).abs() < 1e-5,
                    "position {k}: {lp} vs {}",
                    l[j] - lse
                );
            }
            None => {
                assert_eq!(k, positions.len() - 1, "only the last position has no next");
                assert!(p["log_prob"].is_null());
            }
        }
    }
    // The mean loss over the seed text is the training's loss of these weights.
    let t = ok(zl(&["train", "--epochs", "2000", "--json"]), "train --json");
    let final_loss = json(&t)["final_loss"].as_f64().unwrap();
    let loss = j["loss"].as_f64().unwrap();
    assert!(
        (loss - final_loss).abs() <= RUN_LOSS_ATOL,
        "zl run {loss} vs training {final_loss}"
    );
    // Text output: a row per position and the mean.
    let o = ok(
        zl(&["run", "--load", &file, "--text", "Before"]),
        "run text",
    );
    assert_has(&o.stdout, "model's top 5 next (Q)");
    assert_has(&o.stdout, "mean loss over 5 predictions");
}

#[test]
fn run_on_a_text_of_its_own() {
    let custom = custom();
    let o = ok(
        zl(&[
            "run",
            "--corpus",
            &custom,
            "--epochs",
            "500",
            "--text",
            "ça marche!",
            "--json",
        ]),
        "run --corpus",
    );
    let j = json(&o);
    assert_eq!(j["positions"].as_array().unwrap().len(), 10);
    assert_eq!(j["positions"][0]["char"], "ç");
    assert!(j["loss"].as_f64().unwrap().is_finite());
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
fn interpret_val_fraction_sets_the_model_beside_the_smoothed_table() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("figs");
    let o = ok(
        zl(&[
            "interpret",
            "--val-fraction",
            "0.2",
            "--epochs",
            "1000",
            "--plot",
            plot.to_str().unwrap(),
            "--json",
        ]),
        "interpret --val-fraction",
    );
    let h = &json(&o)["held_out"];
    let unseen = h["unseen_predictions"].as_u64().unwrap();
    assert!(
        unseen > 0,
        "the seed text's last fifth has pairs its start never has"
    );
    let t = h["table_losses"].as_array().unwrap();
    let alphas: Vec<f64> = t.iter().map(|x| x["alpha"].as_f64().unwrap()).collect();
    assert_eq!(alphas, [0.0, 0.01, 0.1, 1.0]);
    assert!(
        t[0]["loss"].is_null(),
        "α = 0 is infinite where a pair is unseen"
    );
    assert!(t[1..]
        .iter()
        .all(|x| x["loss"].as_f64().unwrap().is_finite()));
    assert!(h["model_loss"].as_f64().unwrap().is_finite());
    let svg = std::fs::read_to_string(plot.join("loss_curve.svg")).unwrap();
    assert!(
        svg.contains("held-out loss (final"),
        "the loss curve's second line"
    );
    let counts = std::fs::read_to_string(plot.join("bigram_counts.svg")).unwrap();
    let pq = std::fs::read_to_string(plot.join("bigram_vs_model.svg")).unwrap();
    assert_eq!(
        counts.matches("<title>").count(),
        30 * 30,
        "one title a cell"
    );
    assert_eq!(
        pq.matches("<title>").count(),
        2 * 30 * 30,
        "one title a cell, P and Q"
    );
    // 'B' (token 2) is followed by 'e' (22) once: P(e|B) = 1.
    assert!(
        counts.contains("<title>'B'→'e' count 1, P 1.000, Q "),
        "{counts:.2000}"
    );
    let text = ok(
        zl(&["interpret", "--val-fraction", "0.2", "--epochs", "1000"]),
        "text",
    );
    assert_has(&text.stdout, &format!("{unseen} of the"));
    assert_has(&text.stdout, "inf nats (an unseen pair has P = 0)");
}

#[test]
fn heatmap_cells_carry_their_values_on_hover_in_the_report() {
    // The figures' SVG files are checked in interpret_val_fraction_… (one interpret run).
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.html");
    ok(
        zl(&[
            "report",
            "--epochs",
            "500",
            "--out",
            report.to_str().unwrap(),
        ]),
        "report",
    );
    let page = std::fs::read_to_string(report).unwrap();
    assert!(page.contains("<title>'B'→'e' count 1, P 1.000, Q "));
    // Every cell of the three heatmaps (counts, P, Q), and the page's own title.
    assert_eq!(page.matches("<title>").count(), 3 * 30 * 30 + 1);
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

/// Whether python3 has transformer_lens (and torch) for the notebook-class tests; where it does
/// not, the test skips saying why, and under CI (whose scripts/test.sh installs it) fails.
fn transformer_lens_or_skip(test: &str) -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import torch, safetensors; from transformer_lens import HookedRootModule",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: CI must have transformer-lens (scripts/test.sh installs it)"
        );
        eprintln!("SKIP {test}: python3 with torch and transformer-lens 4 is not installed (pip install transformer-lens==4.3.0)");
    }
    ok
}

fn python(args: &[&str]) -> String {
    let o = Command::new("python3")
        .arg(root().join("tests/golden/tl_notebook.py"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "tl_notebook.py {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn zl_weights_run_in_the_notebooks_hooked_class() {
    if !transformer_lens_or_skip("zl_weights_run_in_the_notebooks_hooked_class") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = saved(dir.path(), "m.safetensors", &[]);
    let o = ok(
        zl(&["run", "--load", &file, "--text", SEED_TEXT, "--json"]),
        "run",
    );
    let run = dir.path().join("run.json");
    std::fs::write(&run, &o.stdout).unwrap();
    let line = python(&["cache", &file, run.to_str().unwrap()]);
    assert!(line.starts_with("run_with_cache ok"), "{line}");
}

#[test]
fn the_notebooks_own_trained_weights_are_interpreted_by_zl() {
    if !transformer_lens_or_skip("the_notebooks_own_trained_weights_are_interpreted_by_zl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nb.safetensors").display().to_string();
    let torch: Value = serde_json::from_str(&python(&["train", &file, "300"])).unwrap();
    let want = torch["loss"].as_f64().unwrap();
    let o = ok(
        zl(&["interpret", "--load", &file, "--json"]),
        "interpret --load",
    );
    let j = json(&o);
    assert!(
        j["source"]
            .as_str()
            .unwrap()
            .contains("vocabulary: the seed notebook's"),
        "{}",
        j["source"]
    );
    let got = j["model_loss"].as_f64().unwrap();
    assert!(
        (got - want).abs() <= TORCH_LOSS_ATOL,
        "zl interpret {got} vs PyTorch {want}"
    );
}

/// Control characters (an escape sequence among them) and a byte-order mark reach the terminal
/// only as the labels show them: `zl sample`'s texts escape them as `zl train`'s tables do, and
/// the tables show the BOM as Python does, '\ufeff'. The divergence line names the two
/// characters that differ.
#[test]
fn sample_and_tables_escape_what_a_terminal_would_swallow() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("esc.txt");
    std::fs::write(
        &text,
        "\u{feff}red \x1b[31mred\x1b[0m and plain\r\n".repeat(8),
    )
    .unwrap();
    let text = text.to_str().unwrap();
    let t = ok(
        zl(&["train", "--corpus", text, "--epochs", "50"]),
        "train on it",
    );
    assert_has(&t.stdout, "'\\ufeff'");
    assert_has(&t.stdout, "'\\x1b'");
    assert!(
        !t.stdout.contains('\u{feff}'),
        "a raw BOM in:\n{}",
        t.stdout
    );
    let args = [
        "sample", "--corpus", text, "--epochs", "50", "--chars", "400",
    ];
    let o = ok(zl(&args), "sample");
    for raw in ['\x1b', '\r', '\u{feff}'] {
        assert!(!o.stdout.contains(raw), "raw {raw:?} in:\n{}", o.stdout);
    }
    assert_has(&o.stdout, "\\x1b");
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let j = json(&ok(zl(&json_args), "sample --json"));
    let m: Vec<char> = j["model_text"].as_str().unwrap().chars().collect();
    let t: Vec<char> = j["table_text"].as_str().unwrap().chars().collect();
    if let Some(k) = j["first_divergence"].as_u64() {
        let label = |c: Option<&char>| c.map(|&c| zl_core::Label(c).to_string());
        let line = o
            .stdout
            .lines()
            .find(|l| l.starts_with("first divergence"))
            .unwrap();
        for l in [label(m.get(k as usize)), label(t.get(k as usize))]
            .into_iter()
            .flatten()
        {
            assert_has(line, &l);
        }
    }
}
