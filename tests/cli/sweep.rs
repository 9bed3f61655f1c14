//! `zl sweep --until-gap`: each size trains until its measured gap to the bigram floor is below
//! EPS, and the answer depends on training that long (the control with a short budget finds no
//! size). The gaps are checked against an f64 KL computed here from `zl train`'s weights.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use zl_cli::data::corpus::Corpus;
use zl_tests::{assert_one_line_error, zl, zl_json, zl_with};

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("a number: {v}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("a whole number: {v}"))
}

/// `Σ_i (n_i/N)·KL(P_i‖Q_i)` of weights `W_E`, `W_U` (JSON matrices) on the seed text's counts,
/// in f64 straight from the definition: independent of zl-core's interpret code.
fn kl_gap(w_e: &Value, w_u: &Value) -> f64 {
    let c = Corpus::seed();
    let v = c.vocab.len();
    let rows = |m: &Value| -> Vec<Vec<f64>> {
        m.as_array()
            .unwrap()
            .iter()
            // The JSON holds f32 weights; back to f32 gives exactly those.
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| f(x) as f32 as f64)
                    .collect()
            })
            .collect()
    };
    let (e, un) = (rows(w_e), rows(w_u));
    let counts = c.dense_counts().unwrap();
    let total: u64 = counts.iter().sum();
    let mut gap = 0.0;
    for (e_i, row) in e.iter().zip(counts.chunks(v)) {
        let n_i: u64 = row.iter().sum();
        if n_i == 0 {
            continue;
        }
        let l: Vec<f64> = (0..v)
            .map(|j| e_i.iter().zip(&un).map(|(x, u_k)| x * u_k[j]).sum())
            .collect();
        let mx = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = mx + l.iter().map(|x| (x - mx).exp()).sum::<f64>().ln();
        for (&cij, l_ij) in row.iter().zip(&l) {
            if cij > 0 {
                let p = cij as f64 / n_i as f64;
                gap += cij as f64 / total as f64 * (p.ln() - (l_ij - lse));
            }
        }
    }
    gap
}

/// A seed's run: (epochs, gap) at each checkpoint.
fn gaps(seed: &Value) -> Vec<(u64, f64)> {
    seed["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (u(&c[0]), f(&c[1])))
        .collect()
}

/// What every `--until-gap` JSON must satisfy, whatever it found: each seed stops at its first
/// checkpoint below EPS or at N, the size's best is its seeds' lowest gap, and still_falling is
/// the documented rule applied to the recorded gaps.
fn check_consistent(v: &Value) {
    let eps = f(&v["until_gap"]);
    let n = u(&v["max_epochs"]);
    let drop_rule = f(&v["still_falling_drop"]);
    let checkpoints: Vec<u64> = v["checkpoints"].as_array().unwrap().iter().map(u).collect();
    assert_eq!(checkpoints.last(), Some(&n), "the last checkpoint is N");
    let mut smallest = None;
    for size in v["runs"].as_array().unwrap() {
        let seeds = size["seeds"].as_array().unwrap();
        let mut best = (f64::INFINITY, 0u64, 0u64);
        for s in seeds {
            let g = gaps(s);
            let (last_epochs, last_gap) = *g.last().unwrap();
            assert_eq!(f(&s["gap"]), last_gap);
            assert_eq!(u(&s["epochs"]), last_epochs);
            let epochs: Vec<u64> = g.iter().map(|c| c.0).collect();
            assert_eq!(
                epochs,
                checkpoints[..g.len()],
                "measured at every checkpoint in turn"
            );
            assert!(
                g[..g.len() - 1].iter().all(|c| c.1 >= eps),
                "a run stops at its first gap below EPS: {g:?}"
            );
            let reached = last_gap < eps;
            assert_eq!(s["reached"], reached, "{s}");
            if !reached {
                assert_eq!(last_epochs, n, "a run that did not reach EPS trained to N");
                let half = g
                    .iter()
                    .find(|c| c.0 == n / 2)
                    .expect("a checkpoint at N/2")
                    .1;
                let drop = 1.0 - last_gap / half;
                assert!((f(&s["drop_over_last_half"]) - drop).abs() < 1e-12);
                assert_eq!(s["still_falling"], drop > drop_rule, "{s}");
            } else {
                assert!(s["still_falling"].is_null());
            }
            if last_gap < best.0 {
                best = (last_gap, u(&s["seed"]), last_epochs);
            }
        }
        assert_eq!(
            (
                f(&size["best_gap"]),
                u(&size["best_seed"]),
                u(&size["epochs"])
            ),
            best
        );
        let any = seeds.iter().any(|s| s["reached"] == true);
        assert_eq!(size["reached"], any);
        let falling = seeds.iter().any(|s| s["still_falling"] == true);
        assert_eq!(
            size["still_falling"],
            if any { Value::Null } else { falling.into() }
        );
        if any && smallest.is_none() {
            smallest = Some(u(&size["d_model"]));
        }
    }
    assert_eq!(v["smallest_d_model_at_gap"], serde_json::json!(smallest));
}

/// On the seed text, d_model 5 reaches a gap of 1e-4 within 300,000 epochs and d_model 4 does
/// not; the reported gap is the KL of the weights `zl train` gives at those epochs.
#[test]
fn until_gap_names_the_smallest_size_that_reaches_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let figs = dir.path().join("figs");
    let t = std::time::Instant::now();
    let v = zl_json(&[
        "sweep",
        "--d-model",
        "5,4",
        "--until-gap",
        "1e-4",
        "--max-epochs",
        "300000",
        "--json",
        "--plot",
        figs.to_str().unwrap(),
    ]);
    eprintln!(
        "zl sweep --d-model 4,5 to 1e-4: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    check_consistent(&v);
    assert_eq!(v["smallest_d_model_at_gap"], 5, "{}", v["summary"]);
    let (d4, d5) = (&v["runs"][0], &v["runs"][1]);
    assert_eq!((u(&d4["d_model"]), u(&d5["d_model"])), (4, 5), "sorted");
    assert_eq!(
        (&d4["reached"], &d5["reached"]),
        (&false.into(), &true.into())
    );
    assert!(
        f(&d4["best_gap"]) > 100.0 * 1e-4,
        "d_model 4 is far off: {d4}"
    );
    assert_eq!(v["seeds"], serde_json::json!([0]), "--seed's default");
    let summary = v["summary"].as_str().unwrap();
    // The verdict names the answer, 5, and the size below it that did not reach the gap.
    assert!(
        summary.contains("d_model 5") && summary.contains("d_model 4"),
        "{summary}"
    );
    // It states the conclusion in a few lines and leaves the numbers to the table.
    let sizes = v["runs"].as_array().unwrap().len();
    assert!(
        summary.lines().count() <= 5 && summary.chars().count() <= 300 * sizes,
        "{} characters in {} lines: {summary}",
        summary.chars().count(),
        summary.lines().count()
    );
    assert!(
        !summary.contains(&format!("{:.3e}", f(&d4["best_gap"]))),
        "d_model 4's gap restated: {summary}"
    );
    // The gaps are what straight training gives: the segments change nothing.
    for size in [d4, d5] {
        let d = size["d_model"].to_string();
        let epochs = size["epochs"].to_string();
        let t = zl_json(&["train", "--d-model", &d, "--epochs", &epochs, "--json"]);
        let want = kl_gap(&t["W_E"], &t["W_U"]);
        let got = f(&size["best_gap"]);
        assert!(
            // Two f64 sums of the same f32 weights differ by rounding (~1e-14); a wrong
            // checkpoint or a changed run differs by 1e-7 or more.
            (got - want).abs() <= 1e-12,
            "d_model {d}: the sweep's gap {got} vs the KL of zl train's weights {want}"
        );
    }
    for name in ["sweep.svg", "sweep.png", "sweep_gap.svg", "sweep_gap.png"] {
        assert!(
            std::fs::metadata(figs.join(name)).unwrap().len() > 1000,
            "{name}"
        );
    }
}

/// The control: with 1,000 epochs no size reaches 1e-4, so the answer above comes from training
/// to convergence, not from the sizes alone.
#[test]
fn a_short_budget_reaches_no_size() {
    let v = zl_json(&[
        "sweep",
        "--d-model",
        "4,5",
        "--until-gap",
        "1e-4",
        "--max-epochs",
        "1000",
        "--json",
    ]);
    check_consistent(&v);
    assert!(v["smallest_d_model_at_gap"].is_null(), "{}", v["summary"]);
    for size in v["runs"].as_array().unwrap() {
        assert_eq!(
            (&size["reached"], u(&size["epochs"])),
            (&false.into(), 1000)
        );
    }
    let summary = v["summary"].as_str().unwrap();
    // The verdict names the gap, the budget and the flag that raises it.
    for fact in ["1e-4", "1,000", "--max-epochs"] {
        assert!(summary.contains(fact), "{fact:?} not in {summary}");
    }
}

/// With several seeds each size reports its best, and every seed's run is there.
#[test]
fn every_seed_is_reported_and_the_best_is_the_lowest() {
    let v = zl_json(&[
        "sweep",
        "--d-model",
        "4,5",
        "--until-gap",
        "1e-3",
        "--max-epochs",
        "50000",
        "--seeds",
        "0..3",
        "--json",
    ]);
    check_consistent(&v);
    assert_eq!(v["seeds"], serde_json::json!([0, 1, 2]));
    for size in v["runs"].as_array().unwrap() {
        let seeds: Vec<u64> = size["seeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| u(&s["seed"]))
            .collect();
        assert_eq!(seeds, [0, 1, 2]);
    }
}

/// Without --until-gap the verdict holds for its epochs only and points to --until-gap.
#[test]
fn a_fixed_budget_names_its_epochs_and_claims_no_rank_need() {
    let o = zl(&["sweep", "--d-model", "4,8", "--epochs", "2000"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    for fact in ["2,000 epochs", "d_model 8", "0.01 nats"] {
        assert!(o.stdout.contains(fact), "{fact:?} not in {}", o.stdout);
    }
    assert!(o.stdout.contains("d_model 4 is not"), "{}", o.stdout);
    assert!(o.stdout.contains("--until-gap"), "{}", o.stdout);
    assert!(!o.stdout.contains("needs a rank"), "{}", o.stdout);
}

#[test]
fn bad_until_gap_flags_are_one_line_and_exit_2() {
    let s = |extra: &[&'static str]| {
        let mut a = vec!["sweep", "--d-model", "1"];
        a.extend_from_slice(extra);
        a
    };
    assert_one_line_error(&s(&["--until-gap", "1e-4"]), 2, "--max-epochs");
    assert_one_line_error(&s(&["--max-epochs", "10"]), 2, "--until-gap");
    assert_one_line_error(&s(&["--seeds", "0..2"]), 2, "--until-gap");
    for bad in ["0", "-1e-4", "inf", "NaN", "x", ""] {
        assert_one_line_error(
            &s(&["--until-gap", bad, "--max-epochs", "10"]),
            2,
            "--until-gap",
        );
    }
    assert_one_line_error(
        &s(&["--until-gap", "0", "--max-epochs", "10"]),
        2,
        "such as 1e-4",
    );
    for bad in ["0", "10000001", "-5", "1.5"] {
        assert_one_line_error(
            &s(&["--until-gap", "1e-4", "--max-epochs", bad]),
            2,
            "--max-epochs",
        );
    }
    let both = s(&[
        "--until-gap",
        "1e-4",
        "--max-epochs",
        "10",
        "--epochs",
        "10",
    ]);
    assert_one_line_error(&both, 2, "--epochs");
    assert_one_line_error(&both, 2, "--until-gap");
    let seeds = s(&[
        "--until-gap",
        "1e-4",
        "--max-epochs",
        "10",
        "--seeds",
        "0..2",
        "--seed",
        "3",
    ]);
    assert_one_line_error(&seeds, 2, "--seed <");
    let empty = s(&[
        "--until-gap",
        "1e-4",
        "--max-epochs",
        "10",
        "--seeds",
        "2..2",
    ]);
    assert_one_line_error(&empty, 2, "--seeds");
}

/// The JSON without what differs by backend: its name and the times.
fn without_times(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                o.remove("train_seconds");
                o.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    v.as_object_mut().unwrap().remove("backend");
    strip(&mut v);
    v
}

fn best_cpu() -> String {
    zl_cli::backend::Backend::open(zl_cli::backend::Choice::Cpu)
        .unwrap()
        .name()
}

/// Every CPU instruction set trains the segments to the same bits, so the same JSON.
#[test]
fn every_cpu_backend_gives_the_same_answer() {
    let args = [
        "sweep",
        "--d-model",
        "3,5",
        "--until-gap",
        "1e-3",
        "--max-epochs",
        "20000",
        "--seeds",
        "0,1",
        "--json",
    ];
    let on = |backend: &str| {
        let mut a = vec!["--backend", backend];
        a.extend_from_slice(&args);
        let v = zl_json(&a);
        assert_eq!(
            v["backend"],
            if backend == "cpu" {
                best_cpu()
            } else {
                backend.into()
            }
        );
        without_times(v)
    };
    let cpu = on("cpu");
    check_consistent(&cpu);
    let mut others = vec!["cpu-portable"];
    if best_cpu() == "cpu-avx512" {
        others.push("cpu-avx512");
    }
    for b in others {
        assert_eq!(on(b), cpu, "--backend {b}");
    }
}

/// The GPU's kernel, run in the PTX interpreter (both names for it), stops at the same
/// checkpoints with the same gaps as the CPU. The interpreter takes about half a second an
/// epoch, so the budget is three epochs and EPS is out of reach.
#[test]
fn ptxsim_gives_the_same_answer_as_the_cpu() {
    if let Err(e) = zl_cuda::Device::simulated() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the PTX interpreter: {e}"
        );
        eprintln!("SKIP ptxsim_gives_the_same_answer_as_the_cpu: {e}");
        return;
    }
    let args = [
        "sweep",
        "--d-model",
        "1,2",
        "--until-gap",
        "1e-9",
        "--max-epochs",
        "3",
        "--seeds",
        "0,1",
        "--json",
    ];
    let on = |backend: &str, env: &[(&str, &str)]| {
        let mut a = vec!["--backend", backend];
        a.extend_from_slice(&args);
        let o = zl_with(&a, env);
        assert_eq!(o.code, 0, "{backend}: {}", o.stderr);
        let v: Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(
            v["backend"],
            if backend == "cpu" {
                best_cpu()
            } else {
                "ptxsim".into()
            }
        );
        without_times(v)
    };
    let cpu = on("cpu", &[]);
    check_consistent(&cpu);
    assert_eq!(cpu["checkpoints"], serde_json::json!([1, 2, 3]));
    assert_eq!(on("ptxsim", &[]), cpu, "--backend ptxsim");
    assert_eq!(
        on("cuda", &[("ZL_CUDA_SIMULATOR", "1")]),
        cpu,
        "--backend cuda with ZL_CUDA_SIMULATOR=1"
    );
}

#[test]
fn sweep_shows_where_the_rank_limit_costs_loss() {
    let dir = tempfile::tempdir().unwrap();
    let figs = dir.path().join("figs");
    let o = zl(&[
        "sweep",
        "--d-model",
        "16,1,4,8",
        "--epochs",
        "4000",
        "--json",
        "--plot",
        figs.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    let runs = v["runs"].as_array().unwrap();
    let sizes: Vec<u64> = runs
        .iter()
        .map(|r| r["d_model"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [1, 4, 8, 16], "sorted");
    let floor = v["bigram_entropy"].as_f64().unwrap();
    let losses: Vec<f64> = runs
        .iter()
        .map(|r| r["final_loss"].as_f64().unwrap())
        .collect();
    assert!(
        losses.iter().all(|&l| l > floor),
        "no size beats the floor: {losses:?} vs {floor}"
    );
    assert!(
        losses[0] > losses[3] + 0.5,
        "rank 1 cannot hold the bigram table: {losses:?}"
    );
    // Each size equals `zl train` at that size: the sweep only runs them side by side.
    let t = zl(&["train", "--d-model", "4", "--epochs", "4000", "--json"]);
    let t: Value = serde_json::from_str(&t.stdout).unwrap();
    assert_eq!(t["final_loss"].as_f64().unwrap(), losses[1]);
    let limit = v["smallest_d_model_within_cost"].as_u64().unwrap();
    assert!(
        limit == 8 || limit == 16,
        "the seed text needs rank above 4: {limit}"
    );
    for f in ["sweep.svg", "sweep.png"] {
        assert!(std::fs::metadata(figs.join(f)).unwrap().len() > 1000, "{f}");
    }
}

/// The tick labels of `zl sweep --plot`'s figures: every numeric label of each axis, once.
/// (plotters' log axis put "10" there twice.)
#[test]
fn sweep_figure_ticks_are_labelled_once() {
    let dir = tempfile::tempdir().unwrap();
    let figs = dir.path().join("figs");
    let o = zl(&[
        "sweep",
        "--d-model",
        "1,2,4,8,16,32",
        "--epochs",
        "200",
        "--plot",
        figs.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = zl(&[
        "sweep",
        "--d-model",
        "1,2,3,4,8,16",
        "--until-gap",
        "1e-2",
        "--max-epochs",
        "3000",
        "--plot",
        dir.path().join("gap").to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    for (svg, want_x) in [
        (figs.join("sweep.svg"), vec!["1", "2", "4", "8", "16", "32"]),
        (
            dir.path().join("gap/sweep_gap.svg"),
            vec!["1", "2", "3", "4", "8", "16"],
        ),
    ] {
        let s = std::fs::read_to_string(&svg).unwrap();
        let labels = numeric_labels(&s);
        // An axis's tick labels share a row (the x axis) or a column (the y axis).
        let mut rows: HashMap<i64, Vec<&str>> = HashMap::new();
        let mut columns: HashMap<i64, Vec<&str>> = HashMap::new();
        for (x, y, text) in &labels {
            rows.entry(*y).or_default().push(text);
            columns.entry(*x).or_default().push(text);
        }
        for axis in rows.values().chain(columns.values()) {
            let distinct: HashSet<&&str> = axis.iter().collect();
            assert_eq!(
                distinct.len(),
                axis.len(),
                "{}: a tick label repeats on one axis: {axis:?}",
                svg.display()
            );
        }
        let bottom = labels.iter().map(|l| l.1).max().unwrap();
        assert_eq!(
            rows[&bottom],
            want_x,
            "{}: the d_model ticks",
            svg.display()
        );
    }
}

/// Every `<text>` of an SVG whose content is a number, with its position (x, y).
fn numeric_labels(svg: &str) -> Vec<(i64, i64, String)> {
    let mut out = vec![];
    for piece in svg.split("<text").skip(1) {
        let Some((attrs, body)) = piece.split_once('>') else {
            continue;
        };
        let attr = |name: &str| -> Option<i64> {
            let at = attrs.find(&format!(" {name}=\""))? + name.len() + 3;
            let v: f64 = attrs[at..].split('"').next()?.parse().ok()?;
            Some(v.round() as i64)
        };
        let text = body.split("</text>").next().unwrap_or_default().trim();
        if let (Some(x), Some(y), Ok(_)) = (attr("x"), attr("y"), text.parse::<f64>()) {
            out.push((x, y, text.to_string()));
        }
    }
    out
}
