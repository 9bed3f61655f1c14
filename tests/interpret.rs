//! `zl interpret` as a user runs it, and its numbers against an independent computation:
//! tests/golden/interpret_check.py (numpy position by position, LAPACK's SVD, the notebook's
//! PyTorch loss) on the trained model and on random weights written here.

use std::{collections::HashMap, path::Path, process::Command};

use serde_json::Value;
use zl_core::{rng::TorchGenerator, SEED_VOCAB};
use zl_tests::{assert_close, assert_one_line_error, floats, root, zl, zl_with};

fn zl_json(args: &[&str]) -> Value {
    let o = zl(args);
    assert_eq!(o.code, 0, "zl {args:?}: {}", o.stderr);
    serde_json::from_str(&o.stdout).expect("stdout is one JSON object")
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number: {}", v[key]))
}

#[test]
fn interpret_prints_the_decomposition_tests_and_heatmaps() {
    let o = zl(&["interpret"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let s = &o.stdout;
    for needle in [
        "1. Loss decomposition",
        "H(next|current), the bigram floor",
        "residual (model − floor − gap)",
        "uniform predictions, ln 30                3.401197382",
        "unigram entropy H(next)",
        "2. Per input token",
        "for 30 of 30 characters",
        "the model's top-1 is it for 24 of 24",
        "3. Evidence beside its controls",
        "4. The logits before softmax",
        "5. Sanity checks: facts of the architecture, true for ANY weights",
        "(a) Ablation",
        "predictions changed away from the ablated token: 0 (over all 30 ablations)",
        "(b) Substitution",
        "(c) Spectrum",
        "→ rank 16 (d_model 16, so at most 16)",
        "6. Rank, invariant to the row shift",
        "7. The gap against training time",
        "8. Heatmaps",
        "   hiByxodcm.arufn-pszlt’eSkg,vb␣       hiByxodcm.arufn-pszlt’eSkg,vb␣",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in:\n{s}");
    }
    // The trained model's decomposition, as printed: model = floor + gap.
    let value = |prefix: &str| -> f64 {
        let line = s
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?}"));
        line.trim_start()[prefix.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let model = value("model loss, −(1/N) Σ C_ij ln Q_ij");
    let floor = value("= H(next|current), the bigram floor");
    let gap = value("+ Σ_i (n_i/N)·KL(P_i‖Q_i), the gap");
    // Printed to 9 decimals: the identity holds to the last printed digit.
    assert!((model - floor - gap).abs() <= 2e-9, "{model} {floor} {gap}");
    assert!(
        (floor - 1.606703529).abs() < 1e-9,
        "the seed text's bigram entropy"
    );
    assert!(
        gap > 0.0 && gap < 1e-4,
        "10,000 epochs close the gap to ~3e-5"
    );
    // Every ablation row: nothing changed elsewhere, exactly.
    let ablation_rows = s.lines().filter(|l| l.contains("0 (exact)")).count();
    assert_eq!(ablation_rows, 30);
    assert!(
        !s.contains('\x1b'),
        "no colour escapes when stdout is not a terminal"
    );
}

#[test]
fn json_has_every_metric_and_they_hang_together() {
    let v = zl_json(&["interpret", "--json", "--epochs", "500"]);
    for key in [
        "bigram_entropy",
        "unigram_entropy",
        "uniform_loss",
        "model_loss",
        "kl_weighted",
        "argmax_agreement",
        "rows",
        "decomposition_residual",
        "substitution_loss",
        "singular_values",
        "rank",
        "rank_threshold",
        "rank_k_losses",
        "losses",
        "model_loss_f32",
    ] {
        assert!(!v[key].is_null(), "missing key {key}");
    }
    let (model, floor, gap) = (
        num(&v, "model_loss"),
        num(&v, "bigram_entropy"),
        num(&v, "kl_weighted"),
    );
    // f64 sums of a few hundred terms of size ≤ 10: the identity holds to ~1e-15.
    assert!((model - floor - gap).abs() < 1e-12);
    assert!(
        gap > 1e-3,
        "after 500 epochs the model is visibly above the floor: {gap}"
    );
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 30);
    let weighted: f64 = rows
        .iter()
        .map(|r| num(r, "count") / 192.0 * num(r, "kl"))
        .sum();
    assert!((weighted - gap).abs() < 1e-12, "rows add up to the gap");
    let rk = floats(&v["rank_k_losses"]);
    assert_eq!(rk.len(), 31, "k = 0..=30");
    assert!(
        (rk[0] as f64 - 30f64.ln()).abs() < 1e-6,
        "rank 0 is uniform"
    );
    assert_eq!(v["losses"].as_array().unwrap().len(), 500);
    assert_eq!(v["ablation_changed_elsewhere"], 0);
}

/// Writes a safetensors file of random weights (torch.randn · scale) with the seed vocabulary.
fn random_model(path: &Path, seed: u64, d: usize, scale: f32) {
    let mut g = TorchGenerator::new(seed);
    let (mut we, mut wu) = (vec![0f32; 30 * d], vec![0f32; d * 30]);
    g.randn(&mut we);
    g.randn(&mut wu);
    we.iter_mut().chain(wu.iter_mut()).for_each(|x| *x *= scale);
    let bytes = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let (be, bu) = (bytes(&we), bytes(&wu));
    let tensors = [
        (
            "W_E",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![30, d], &be)
                .unwrap(),
        ),
        (
            "W_U",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![d, 30], &bu)
                .unwrap(),
        ),
    ];
    let vocab: Vec<String> = SEED_VOCAB.iter().map(|c| c.to_string()).collect();
    let meta = HashMap::from([("vocab".to_string(), serde_json::to_string(&vocab).unwrap())]);
    std::fs::write(path, safetensors::serialize(tensors, Some(meta)).unwrap()).unwrap();
}

/// `zl interpret --load PATH --json` against interpret_check.py on the same file, quantity by
/// quantity with named tolerances. Returns nothing; prints the largest differences.
fn compare_with_numpy(path: &Path, what: &str) {
    let ours = zl_json(&["interpret", "--json", "--load", path.to_str().unwrap()]);
    let py = Command::new("python3")
        .arg(root().join("tests/golden/interpret_check.py"))
        .arg(path)
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

    // Singular values: Jacobi and LAPACK are both accurate to about ε·σ_1 in absolute terms;
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
    // Issue 13's evidence: the gap split, margins, the indicator fit, the correlation, the
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
    eprintln!(
        "{what}: max |zl − numpy|: {}, row KL {d_kl:.1e}, row count {d_n:.1e}, ablation Δ {d_ab:.1e}, σ {d_sv:.1e} (σ_1 {:.3}), rank-k loss {d_rk:.1e}, P {d_p:.1e}, Q {d_q:.1e}; rank {}",
        report.join(", "),
        s_np[0],
        ours["rank"]
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
    compare_with_numpy(&trained, "trained (seed 0, 10k epochs)");

    // Random weights: the identity and the tests do not depend on training. Scale 3 gives peaked
    // rows and a large KL; d_model 8 a rank of 8.
    for (seed, d, scale) in [(11u64, 16usize, 1.0f32), (12, 16, 3.0), (13, 8, 2.0)] {
        let p = dir.path().join(format!("random-{seed}.safetensors"));
        random_model(&p, seed, d, scale);
        compare_with_numpy(
            &p,
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

/// Each piece of evidence fails on its controls, and each sanity check passes on the untrained
/// model too (which is why it is not evidence): measured, not asserted in prose.
#[test]
fn controls_fail_the_evidence_and_pass_the_sanity_checks() {
    let v = zl_json(&["interpret", "--json"]);
    let (t, u, sh) = (
        &v["evidence"],
        &v["controls"]["untrained"],
        &v["controls"]["shuffled"],
    );
    let gap = num(t, "kl_weighted");
    assert!(gap < 1e-4, "10,000 epochs: gap {gap}");
    for (name, c) in [("untrained", u), ("shuffled", sh)] {
        // Orders of magnitude, not a close call: the shuffled model learned the unigram table.
        assert!(
            num(c, "kl_weighted") > 1e3 * gap,
            "{name}: gap {}",
            c["kl_weighted"]
        );
        assert!(
            num(c, "gap_leak") > 1e3 * num(t, "gap_leak"),
            "{name}: leak"
        );
        assert!(
            c["argmax_agreement"].as_u64() < Some(t["argmax_agreement"].as_u64().unwrap() / 2),
            "{name}: top-1 {} vs {}",
            c["argmax_agreement"],
            t["argmax_agreement"]
        );
        assert!(
            c["positive_margins"].as_u64() < Some(t["positive_margins"].as_u64().unwrap() / 2),
            "{name}: margins"
        );
        assert!(
            num(c, "indicator_r2") < 0.5 * num(t, "indicator_r2"),
            "{name}: R²"
        );
        assert!(
            num(c, "seen_logit_correlation") < 0.5 * num(t, "seen_logit_correlation"),
            "{name}: correlation"
        );
        assert!(
            num(c, "seen_spread_max") > 1e2 * num(t, "seen_spread_max"),
            "{name}: row spread {} vs {}",
            c["seen_spread_max"],
            t["seen_spread_max"]
        );
    }
    for check in v["sanity_checks"].as_array().unwrap() {
        assert_eq!(check["holds_for_any_weights"], true, "{check}");
        match check["name"].as_str().unwrap() {
            "ablation_locality" => {
                assert_eq!(
                    (&check["trained"], &check["untrained"]),
                    (&0.into(), &0.into())
                )
            }
            "substitution_equals_floor" => {
                assert_eq!(check["trained"], check["untrained"]);
                assert!((num(check, "trained") - num(check, "floor")).abs() < 1e-12);
            }
            "rank_at_most_d_model" => {
                assert_eq!(check["trained"], check["d_model"]);
                assert_eq!(check["untrained"], check["d_model"]);
            }
            other => panic!("unknown sanity check {other}"),
        }
    }
    // Retrained at every d_model up to 16 with the same settings: the d_model 16 run is this
    // model (the same bits, so the same loss), and d_model 1 is far from it, unlike the
    // truncation's rank 1, which is worse than uniform.
    let refit = v["refit_losses"].as_array().unwrap();
    assert_eq!(refit.len(), 16);
    assert_eq!(refit[15]["d_model"], 16);
    assert_eq!(num(&refit[15], "loss"), num(&v, "model_loss"));
    assert!(num(&refit[0], "loss") < num(&v, "uniform_loss"));
    assert!(v["rank_k_losses"][1].as_f64().unwrap() > num(&v, "uniform_loss"));
    // The gap is a stopping time: it keeps falling with the epoch, with and without decay.
    let g = &v["gap_curve"];
    let (e, a, b) = (&g["epochs"], &g["gap"], &g["gap_without_weight_decay"]);
    let last = e.as_array().unwrap().len() - 1;
    assert!(
        e[last].as_u64().unwrap() >= 100_000,
        "to at least 10^5 epochs"
    );
    let at = |s: &Value, epoch: u64| {
        let k = e
            .as_array()
            .unwrap()
            .iter()
            .position(|x| x.as_u64() == Some(epoch))
            .unwrap();
        s[k].as_f64().unwrap()
    };
    assert!(
        (at(a, 10_000) - gap).abs() < 1e-15,
        "the curve meets the model at 10^4 epochs"
    );
    assert!(at(a, 100_000) < 0.5 * at(a, 10_000) && at(b, 100_000) < 0.5 * at(b, 10_000));
}

#[test]
fn interpret_without_load_equals_interpret_of_the_saved_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.safetensors");
    let o = zl(&["train", "--epochs", "300", "--save", p.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let trained = zl_json(&["interpret", "--json", "--epochs", "300"]);
    let loaded = zl_json(&["interpret", "--json", "--load", p.to_str().unwrap()]);
    for key in [
        "model_loss",
        "kl_weighted",
        "singular_values",
        "rank_k_losses",
        "rows",
    ] {
        assert_eq!(
            trained[key], loaded[key],
            "{key}: same weights, same numbers"
        );
    }
    let got = floats(&trained["singular_values"]);
    assert_close(
        "σ (sanity)",
        &got,
        &floats(&loaded["singular_values"]),
        0.0,
        0.0,
    );
}

#[test]
fn bad_loads_and_flags_get_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.safetensors");
    assert_one_line_error(
        &["interpret", "--load", missing.to_str().unwrap()],
        1,
        "--load",
    );
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"not a safetensors file").unwrap();
    assert_one_line_error(
        &["interpret", "--load", junk.to_str().unwrap()],
        1,
        "junk.safetensors",
    );
    let wide = dir.path().join("wide.safetensors");
    random_model(&wide, 1, 65, 1.0);
    assert_one_line_error(
        &["interpret", "--load", wide.to_str().unwrap()],
        1,
        "d_model 65",
    );
    assert_one_line_error(&["interpret", "--load", "x", "--seed", "1"], 2, "--seed");
    assert_one_line_error(&["interpret", "--epochs", "0"], 2, "--epochs");
    assert_one_line_error(&["report"], 2, "--out");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    assert_one_line_error(
        &[
            "interpret",
            "--epochs",
            "10",
            "--plot",
            file.to_str().unwrap(),
        ],
        1,
        "not a folder",
    );
}

#[test]
fn plot_writes_every_figure_as_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let figs = dir.path().join("figs");
    // With fontconfig finding nothing: the figures' text uses the font built into zl.
    let o = zl_with(
        &[
            "interpret",
            "--epochs",
            "200",
            "--plot",
            figs.to_str().unwrap(),
        ],
        &[
            ("FONTCONFIG_FILE", "/nonexistent"),
            ("FONTCONFIG_PATH", "/nonexistent"),
            ("XDG_DATA_DIRS", "/nonexistent"),
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    for (stem, size) in [
        ("loss_curve", (1400, 560)),
        ("bigram_counts", (960, 924)),
        ("bigram_vs_model", (1500, 764)),
        ("spectrum", (1400, 560)),
        ("gap_by_token", (1400, 520)),
    ] {
        let svg = std::fs::read_to_string(figs.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        let png = std::fs::read(figs.join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}.png signature");
        let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((w, h), size, "{stem}.png size");
        assert!(png.len() > 20_000, "{stem}.png has content");
    }
    let heat = std::fs::read_to_string(figs.join("bigram_vs_model.svg")).unwrap();
    for label in [
        "next token",
        "input token",
        "Bigram statistics",
        "W_E @ W_U (post softmax)",
    ] {
        assert!(heat.contains(label), "the heatmap SVG shows {label:?}");
    }
    // The labels, outside the cells' hover titles (which name the characters too).
    let labels: String = heat
        .split("<title>")
        .map(|part| part.split_once("</title>").map_or(part, |(_, rest)| rest))
        .collect();
    for ch in ['’', '␣'] {
        assert_eq!(
            labels.matches(ch).count(),
            4,
            "{ch:?} labels a row and a column of each heatmap"
        );
    }
    let no_curve = dir.path().join("loaded");
    let m = dir.path().join("m.safetensors");
    random_model(&m, 2, 16, 1.0);
    let o = zl(&[
        "interpret",
        "--load",
        m.to_str().unwrap(),
        "--plot",
        no_curve.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        !no_curve.join("loss_curve.svg").exists(),
        "no loss curve for a loaded model"
    );
    assert!(no_curve.join("spectrum.png").exists());
}

/// A corpus longer than the position-by-position ablation reruns: the decomposition and N cover
/// every character, the ablation says which prefix it reran and counts exactly its positions,
/// and the text shown is cut to its start.
#[test]
fn long_corpora_say_what_the_ablation_covered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.txt");
    let chars = 4_200_000usize;
    let text: String = (0..chars)
        .map(|i| if i % 3 == 0 { 'a' } else { 'b' })
        .collect();
    std::fs::write(&path, &text).unwrap();
    let p = path.to_str().unwrap();
    let v = zl_json(&["interpret", "--corpus", p, "--epochs", "20", "--json"]);
    let ablated = 1usize << 22;
    assert_eq!(v["corpus_chars"], chars);
    assert_eq!(num(&v, "predictions"), (chars - 1) as f64);
    assert_eq!(v["ablation_chars"], ablated);
    assert_eq!(v["text"].as_str().unwrap().chars().count(), 2_000);
    for row in v["rows"].as_array().unwrap() {
        let a = &row["ablation"];
        let positions =
            a["positions_with"].as_u64().unwrap() + a["positions_without"].as_u64().unwrap();
        assert_eq!(positions, ablated as u64 - 1, "{a}");
        assert_eq!(a["changed_without"], 0);
    }
    let o = zl(&["interpret", "--corpus", p, "--epochs", "20"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains(&format!(
            "rerun the first {ablated} characters of the {chars}-character text"
        )) && o
            .stdout
            .contains(&format!("each of its {} predictions", ablated - 1))
            && o.stdout
                .contains(&format!("N = {} next-token predictions", chars - 1)),
        "{}",
        o.stdout
    );
}

/// The ablation's work grows as characters × V² × d_model: a text of many distinct characters
/// reruns only as many as the documented budget allows (2^32 / (2·V²·d) characters), so that
/// `zl interpret` on a researcher's own text takes seconds, not the minutes of a full rerun.
#[test]
fn the_ablation_keeps_to_its_budget_on_large_vocabularies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v80.txt");
    let chars = 25_000usize;
    // 80 distinct characters in a fixed pseudo-random order.
    let mut x = 7u32;
    let text: String = (0..chars)
        .map(|i| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            char::from(
                33 + if i < 80 {
                    i as u8
                } else {
                    ((x >> 16) % 80) as u8
                },
            )
        })
        .collect();
    std::fs::write(&path, &text).unwrap();
    let v = zl_json(&[
        "interpret",
        "--corpus",
        path.to_str().unwrap(),
        "--epochs",
        "5",
        "--json",
    ]);
    assert_eq!(v["vocab"].as_array().unwrap().len(), 80);
    let budget = (1usize << 32) / (2 * 80 * 80 * 16);
    assert_eq!(v["corpus_chars"], chars);
    assert_eq!(v["ablation_chars"], budget);
    assert_eq!(v["ablation_changed_elsewhere"], 0);
}
