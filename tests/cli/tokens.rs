//! Subword tokens at V ≤ 256 through the dense interpretation (every section, `--json`, the
//! report and `--plot`), each token by its one label; and double-width characters, whose
//! heatmaps and tables stay aligned on a terminal.

use std::path::Path;

use serde_json::{json, Value};
use zl_cli::render::width;
use zl_tests::{zl, zl_json};

/// A text and a tokenizer of 21 tokens for it: its 16 characters and five merges, among them
/// `' the'` (a space in a token) and `'日本'` (two double-width characters).
fn small_tokenizer(dir: &Path) -> (String, String, Vec<String>) {
    let text = "the cat sat on the mat; the hat 日本 is at the mat.\n".repeat(3);
    let mut vocab: Vec<String> = {
        let mut c: Vec<char> = text.chars().collect();
        c.sort();
        c.dedup();
        c.iter().map(char::to_string).collect()
    };
    let merges = [
        ("t", "h"),
        ("th", "e"),
        ("a", "t"),
        ("日", "本"),
        (" ", "the"),
    ];
    vocab.extend(merges.iter().map(|(a, b)| format!("{a}{b}")));
    let ids: serde_json::Map<String, Value> = (0..)
        .zip(&vocab)
        .map(|(i, t)| (t.clone(), json!(i)))
        .collect();
    let tokenizer = json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null,
            "continuing_subword_prefix": null, "end_of_word_suffix": null, "fuse_unk": false,
            "byte_fallback": false, "ignore_merges": false, "vocab": ids,
            "merges": merges.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
        }
    });
    let (t, k) = (dir.join("small.txt"), dir.join("small.json"));
    std::fs::write(&t, &text).unwrap();
    std::fs::write(&k, tokenizer.to_string()).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    (s(&t), s(&k), vocab)
}

/// Python's `repr` of a token's text, as zl labels it (these tokens need no escapes).
fn label(t: &str) -> String {
    match t {
        "\n" => "'\\n'".into(),
        _ => format!("'{t}'"),
    }
}

/// The lines of the heatmap under `title`: its column headings and its rows (up to the legend).
fn heatmap_grid<'a>(s: &'a str, title: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = s.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(title))
        .unwrap_or_else(|| panic!("no {title:?} in:\n{s}"));
    lines[at + 2..]
        .iter()
        .take_while(|l| !l.trim_start().starts_with("legend:"))
        .copied()
        .collect()
}

/// Whether every line has the same display width.
fn square(lines: &[&str]) -> bool {
    lines.windows(2).all(|w| width(w[0]) == width(w[1]))
}

#[test]
fn a_tokenizers_tokens_get_the_whole_interpretation() {
    let dir = tempfile::tempdir().unwrap();
    let (text, tok, vocab) = small_tokenizer(dir.path());
    let v = vocab.len();
    let args = [
        "interpret",
        "--corpus",
        &text,
        "--tokenizer",
        &tok,
        "--epochs",
        "300",
    ];
    let o = zl(&[&args[..], &["--full"]].concat());
    assert_eq!(o.code, 0, "{}", o.stderr);
    let s = &o.stdout;
    // The heatmaps: columns headed by one key each, every row its key and its token's label;
    // the grid as wide on every line.
    let grid = heatmap_grid(s, "The tables:");
    assert_eq!(grid.len(), v + 1, "{s}");
    assert!(grid[0].contains("0123456789abcdefghijk"), "{s}");
    assert!(square(&grid), "{s}");
    let keys = "0123456789abcdefghijk";
    for (k, t) in keys.chars().zip(&vocab) {
        let row = format!(" {k} {}", label(t));
        assert!(grid.iter().any(|l| l.starts_with(&row)), "{row:?} in:\n{s}");
    }
    // Every token's row in the per-token table, labelled; the ablation of every row leaves the
    // other positions exactly as they were (an architecture fact, for any tokens).
    for t in ["' the'", "'日本'", "'the'", "'\\n'"] {
        assert!(
            s.lines().any(|l| l.trim_start().starts_with(t)),
            "{t} in:\n{s}"
        );
    }
    assert_eq!(
        s.lines().filter(|l| l.contains("0 (exact)")).count(),
        v,
        "{s}"
    );
    // The JSON: the tokens' texts in id order, every row, and the decomposition's identity.
    let j = zl_json(&[&args[..], &["--json"]].concat());
    let got: Vec<&str> = j["vocab"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(got, vocab);
    assert!(j["text"]
        .as_str()
        .unwrap()
        .starts_with("the cat sat on the mat; the hat 日本"));
    let num = |k: &str| j[k].as_f64().unwrap_or_else(|| panic!("{k}"));
    assert!((num("model_loss") - num("bigram_entropy") - num("kl_weighted")).abs() < 1e-9);
    for class in j["successor_classes"].as_array().unwrap() {
        for t in class.as_array().unwrap() {
            assert!(vocab.iter().any(|x| x == t.as_str().unwrap()), "{t}");
        }
    }
    // The report: the vocabulary by label, and the heatmap figure labelled by the tokens.
    let out = dir.path().join("r.html");
    let o = zl(&[
        "report",
        "--corpus",
        &text,
        "--tokenizer",
        &tok,
        "--epochs",
        "300",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        html.contains("<code>' the':20</code>"),
        "the vocabulary by label"
    );
    assert!(
        html.contains(">␣the</text>"),
        "the figure's axes name the tokens"
    );
}

/// A byte-level BPE at V = 256 (the bytes alone): a byte that is part of a character is
/// labelled `'\xNN'` in the per-token table, and the report and the figures are made.
#[test]
fn a_byte_level_bpe_of_256_tokens_is_interpreted_densely() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("t.txt");
    std::fs::write(&text, "café crème, déjà vu; naïve façade.\n".repeat(20)).unwrap();
    let t = text.to_str().unwrap();
    let base = [
        "--corpus",
        t,
        "--bpe",
        "256",
        "--d-model",
        "4",
        "--epochs",
        "100",
    ];
    let plots = dir.path().join("plots");
    let o = zl(&[
        &["interpret", "--full", "--plot", plots.to_str().unwrap()][..],
        &base,
    ]
    .concat());
    assert_eq!(o.code, 0, "{}", o.stderr);
    // é is 0xc3 0xa9: its first byte is a token of its own.
    assert!(
        o.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("'\\xc3'")),
        "{}",
        o.stdout
    );
    assert!(square(&heatmap_grid(&o.stdout, "The tables:")));
    let svg = std::fs::read_to_string(plots.join("bigram_vs_model.svg")).unwrap();
    assert!(svg.contains("\\xc3"), "the figure labels the byte");
    let out = dir.path().join("r.html");
    let o = zl(&[&["report", "--out", out.to_str().unwrap()][..], &base].concat());
    assert_eq!(o.code, 0, "{}", o.stderr);
}

/// Characters two columns wide (CJK) keep the heatmaps square and the tables' columns straight.
#[test]
fn double_width_characters_keep_heatmaps_and_tables_aligned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ja.txt");
    let chars: Vec<char> = "日本語のテキストをよむ、かく。 abc\n".chars().collect();
    let mut x = 7u32;
    let text: String = (0..3_000)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            chars[(x >> 16) as usize % chars.len()]
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    let args = [
        "interpret",
        "--corpus",
        path.to_str().unwrap(),
        "--d-model",
        "4",
        "--epochs",
        "100",
        "--full",
    ];
    let o = zl(&args);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let s = &o.stdout;
    let grid = heatmap_grid(s, "The tables:");
    assert!(grid[0].contains('日'), "{s}");
    assert!(square(&grid), "{s}");
    // The table of where the gap lives: a label column, then fixed-width numbers.
    let lines: Vec<&str> = s.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("Where the gap lives"))
        .unwrap();
    let table: Vec<&str> = lines[at + 1..]
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect();
    assert!(
        table.len() > 2 && table.iter().any(|l| l.contains('\'')),
        "{s}"
    );
    assert!(square(&table), "{}", table.join("\n"));
}

/// Above 256 tokens, `--plot` writes the heatmap figure of the most frequent tokens the large
/// view shows, and the report is a page of tables and that figure, not text in a `<pre>`.
#[test]
fn above_256_tokens_plot_draws_the_heatmap_and_the_report_is_html() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.txt");
    // 300 distinct CJK characters, each at least once, then a fixed pseudo-random sequence;
    // '一' the most frequent by far.
    let mut x = 3u32;
    let text: String = (0..6_000u32)
        .map(|i| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let k = match i {
                0..300 => i,
                _ if i % 3 == 0 => 0,
                _ => (x >> 16) % 300,
            };
            char::from_u32(0x4e00 + k).unwrap()
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap();
    let base = ["--corpus", p, "--d-model", "4", "--epochs", "50"];
    let plots = dir.path().join("plots");
    let o = zl(&[&["interpret", "--plot", plots.to_str().unwrap()][..], &base].concat());
    assert_eq!(o.code, 0, "{}", o.stderr);
    let svg = std::fs::read_to_string(plots.join("bigram_vs_model.svg")).unwrap();
    // The shown tokens' cells (P and Q), each with its values on hover, and '一' on the axes.
    let cells = svg.matches("<title>").count();
    assert_eq!(cells, 2 * 60 * 60, "60 most frequent of 300, P and Q");
    assert!(svg.contains("most frequent characters, 240 hidden"));
    assert!(svg.contains(">一</text>"));
    assert!(
        std::fs::metadata(plots.join("bigram_vs_model.png"))
            .unwrap()
            .len()
            > 0
    );
    let out = dir.path().join("r.html");
    let o = zl(&[&["report", "--out", out.to_str().unwrap()][..], &base].concat());
    assert_eq!(o.code, 0, "{}", o.stderr);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(!html.contains("<pre>"), "tables, not preformatted text");
    for id in ["gap", "regimes", "tables", "evidence", "spectrum"] {
        assert!(html.contains(&format!("<h2 id=\"{id}\">")), "section {id}");
    }
    assert!(html.contains("<figure id=\"bigram_vs_model\"><svg"));
    // The per-token table's first row is the most followed token.
    let rows = &html[html.find("most followed of 300").unwrap()..];
    let first = &rows[rows.find("<tr><td class=l>").unwrap()..];
    assert!(
        first.starts_with("<tr><td class=l><code>一</code>"),
        "{}",
        &first[..80]
    );
}
