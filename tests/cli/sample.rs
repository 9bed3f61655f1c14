//! `zl sample`: reproducible text from the model and from the bigram table side by side, the
//! argmax chain at a low temperature, and a text of its own.

use zl_core::SEED_TEXT;
use zl_tests::zl;

use super::run::{assert_has, custom, json, ok};

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
