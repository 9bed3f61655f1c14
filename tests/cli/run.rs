//! `zl run`: the hooked activations of a text, bit for bit, and the training loss; `--load` of
//! weights from anywhere (any float type, with or without a vocabulary). Its helpers save and
//! rewrite weights for the other modules.

use std::{collections::HashMap, path::Path};

use safetensors::{tensor::TensorView, Dtype};
use serde_json::Value;
use zl_cli::data::files;
use zl_core::SEED_TEXT;
use zl_tests::{assert_one_line_error, root, zl, Out};

/// `zl run`'s loss on the seed text against the training's own f32 loss of the same weights:
/// f64 log-softmax on the exact products vs zl-core's f32 forward.
pub(crate) const RUN_LOSS_ATOL: f64 = 1e-6;

pub(crate) fn ok(o: Out, what: &str) -> Out {
    assert_eq!(o.code, 0, "{what}: {}", o.stderr);
    o
}

pub(crate) fn json(o: &Out) -> Value {
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", o.stdout))
}

/// Asserts that `out` contains `what`, showing `out` where it does not.
pub(crate) fn assert_has(out: &str, what: &str) {
    assert!(out.contains(what), "{what:?} not in:\n{out}");
}

pub(crate) fn custom() -> String {
    root().join("tests/golden/custom.txt").display().to_string()
}

/// Saves a model with `zl train --save` (and `extra` flags) into `dir`; returns its path.
pub(crate) fn saved(dir: &Path, name: &str, extra: &[&str]) -> String {
    let path = dir.join(name).display().to_string();
    let mut args = vec!["train", "--epochs", "2000", "--save", &path];
    args.extend_from_slice(extra);
    ok(zl(&args), "train --save");
    path
}

/// The weights of `path` rewritten as `dtype` with no metadata at all, as numpy or
/// `safetensors.torch.save_file(model.state_dict())` writes them.
pub(crate) fn bare_copy(path: &str, out: &Path, dtype: Dtype) -> String {
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

pub(crate) fn hook_embeds(run: &Value) -> Vec<Vec<f32>> {
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
        let vocab: Vec<char> = w.vocab.as_chars().unwrap();
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
                let chars = w.vocab.as_chars().unwrap();
                let j = chars.iter().position(|c| c.to_string() == n).unwrap();
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
