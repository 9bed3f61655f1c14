//! `zl report`: one self-contained HTML page, checked as text (its browser tests are in
//! `external::browser`); `--interactive`'s page, its size and flags; a report on 256 distinct
//! characters stays small and says what its heatmaps leave out.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    process::Command,
};

use zl_tests::{assert_one_line_error, zl, zl_bin};

use super::run::ok;

pub(crate) fn make_report(dir: &Path, extra: &[&str]) -> String {
    let out = dir.join("report.html");
    let mut args = vec!["report", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = Command::new(zl_bin()).args(&args).output().unwrap();
    assert!(
        o.status.success(),
        "zl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stdout.is_empty(), "the page goes to the file, not stdout");
    std::fs::read_to_string(out).unwrap()
}

/// Everything a page could fetch: attributes and CSS that name a resource.
fn external_references(html: &str) -> Vec<String> {
    let lower = html.to_lowercase();
    let mut found = vec![];
    for needle in [
        "src=", "href=", "url(", "@import", "<link", "<script", "<iframe", "<img", "srcset",
    ] {
        if let Some(at) = lower.find(needle) {
            found.push(html[at..(at + 80).min(html.len())].to_string());
        }
    }
    // URLs anywhere, except the SVG namespace names (identifiers, never fetched).
    let cleaned = lower
        .replace("xmlns=\"http://www.w3.org/2000/svg\"", "")
        .replace("xmlns:xlink=\"http://www.w3.org/1999/xlink\"", "");
    for scheme in ["http://", "https://", "//fonts.", "data:font"] {
        if let Some(at) = cleaned.find(scheme) {
            found.push(cleaned[at..(at + 80).min(cleaned.len())].to_string());
        }
    }
    found
}

/// The report's sections by their ids, in `zl interpret`'s order: the summary's, then those
/// `--full` adds, the appendices last.
const SUMMARY: [&str; 6] = [
    "verdict",
    "problem",
    "tables",
    "gap",
    "logits",
    "training-time",
];
const FULL: [&str; 5] = ["tokens", "evidence", "directions", "sanity", "truncations"];

/// Where each `id` is on the page; panics when one is missing or out of order.
fn sections_in_order(html: &str, ids: &[&str]) -> Vec<usize> {
    let at: Vec<usize> = ids
        .iter()
        .map(|id| {
            html.find(&format!(" id={id}>"))
                .or_else(|| html.find(&format!(" id=\"{id}\">")))
                .unwrap_or_else(|| panic!("no section {id:?}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{ids:?} at {at:?}");
    at
}

#[test]
fn report_is_one_self_contained_page_with_the_story_and_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let summary = make_report(dir.path(), &[]);
    let html = make_report(dir.path(), &["--full"]);
    for page in [&summary, &html] {
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.trim_end().ends_with("</html>"));
        let refs = external_references(page);
        assert!(
            refs.is_empty(),
            "the page must not fetch anything: {refs:?}"
        );
        sections_in_order(page, &SUMMARY);
    }
    for id in FULL {
        assert!(
            !summary.contains(&format!("<h2 id=\"{id}\">")),
            "{id} without --full"
        );
    }
    let limits = sections_in_order(&html, &[&SUMMARY[..], &FULL[..], &["limits"]].concat());
    assert!(html.contains("<h2 id=\"sanity\">Appendix A. Sanity checks: facts of the architecture"));
    for section in [
        "A.1 Ablation is local",
        "A.2 The bigram table reaches the floor",
        "A.3 The rank is at most d_model",
    ] {
        let at = html
            .find(section)
            .unwrap_or_else(|| panic!("no {section:?}"));
        assert!(at > html.find("id=\"sanity\"").unwrap() && at < limits[limits.len() - 2]);
    }
    // Figures inline, one <svg> each: loss curve, P beside Q, gap by token, seen logits,
    // margins, gap against the epoch; --full adds the counts and the spectrum.
    assert_eq!(summary.matches("<svg").count(), 6, "six inline SVG figures");
    assert_eq!(html.matches("<svg").count(), 8, "eight inline SVG figures");
    // No sentence claims a test "would fail" that the page does not run: the controls are
    // shown instead.
    assert!(
        !html.contains("would fail"),
        "a claim the page does not show failing"
    );
    assert!(
        html.contains("<span class=ok>both</span>"),
        "the controls fail the evidence"
    );
    let evidence = &html[html.find("<h2 id=\"evidence\"").unwrap()..];
    let evidence = &evidence[..evidence[4..].find("<h2").unwrap()];
    assert!(
        !evidence.contains("<span class=bad>"),
        "every piece of evidence has failing controls"
    );
    // Computed numbers inline: the seed text's floor, and the exact-zero ablation result.
    assert!(summary.contains("1.606703529"), "the bigram entropy");
    assert!(
        html.contains("<b class=ok>0</b>"),
        "no prediction changed elsewhere"
    );
    assert!(summary.contains("<b>30 of 30</b>"), "top-1 agreement");
    // The text is escaped: the apostrophe is the U+2019 character, and '<' never appears raw in
    // the corpus quote.
    assert!(html.contains("it\u{2019}s useful"));
    // A loaded model has no loss curve, and says so.
    let m = dir.path().join("m.safetensors");
    let o = Command::new(zl_bin())
        .args(["train", "--epochs", "50", "--save", m.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    let html = make_report(dir.path(), &["--load", m.to_str().unwrap()]);
    assert!(html.contains("there is no training curve"));
    // No loss curve for a loaded model; its gap against the epoch is trained with the settings
    // its file records: five of the summary's six figures.
    assert_eq!(html.matches("<svg").count(), 5);
}

#[test]
fn report_to_a_bad_path_is_one_line() {
    let o = Command::new(zl_bin())
        .args([
            "report",
            "--epochs",
            "10",
            "--out",
            "/nonexistent-dir/r.html",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--out") && err.contains("/nonexistent-dir"),
        "{err}"
    );
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
    // Every cell of the two heatmaps (P, Q), and the page's own title.
    assert_eq!(page.matches("<title>").count(), 2 * 30 * 30 + 1);
}

pub(crate) fn write_page(dir: &std::path::Path, extra: &[&str]) -> PathBuf {
    let out = dir.join("page.html");
    let mut args = vec!["report", "--interactive", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = zl(&args);
    assert_eq!(o.code, 0, "zl {args:?}: {}", o.stderr);
    out
}

#[test]
fn the_page_is_one_small_file_with_the_text_as_data() {
    let dir = tempfile::tempdir().unwrap();
    let page = std::fs::read_to_string(write_page(dir.path(), &[])).unwrap();
    assert!(
        page.len() <= MAX_PAGE_BYTES,
        "the page is {} bytes, over {MAX_PAGE_BYTES}",
        page.len()
    );
    // Nothing to fetch: no src or href pointing anywhere, no URL scheme but data and blob.
    for bad in ["src=\"http", "href=\"http", "src=\"//", "import(", "fetch("] {
        assert!(!page.contains(bad), "the page holds {bad:?}");
    }
    // A text that tries to end the script element stays inside the JSON string.
    let hostile = dir.path().join("hostile.txt");
    std::fs::write(&hostile, "ab</script><img src=x onerror=alert(1)>ba").unwrap();
    let p = write_page(dir.path(), &["--corpus", hostile.to_str().unwrap()]);
    let page = std::fs::read_to_string(p).unwrap();
    assert!(
        !page.contains("</script><img"),
        "the text broke out of its script element"
    );
    assert!(page.contains(r"ab\u003c/script>\u003cimg src=x onerror=alert(1)>ba"));
}

#[test]
fn interactive_flags_fail_in_one_line() {
    assert_one_line_error(
        &[
            "report",
            "--interactive",
            "--load",
            "m.safetensors",
            "--out",
            "p.html",
        ],
        2,
        "--interactive",
    );
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.txt");
    std::fs::write(&big, "ab".repeat(60_000)).unwrap();
    let out = dir.path().join("p.html");
    assert_one_line_error(
        &[
            "report",
            "--interactive",
            "--corpus",
            big.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        1,
        "120000 characters, more than the 100000",
    );
    assert!(!out.exists(), "nothing is written after a bad --corpus");
}

/// The page's size limit: at most 1.5 MB.
const MAX_PAGE_BYTES: usize = 1_500_000;

/// Every character of the test text: Latin, Cyrillic, Greek and Latin-1 letters in both
/// cases, digits, punctuation, space and newline: 256 in all.
const LOWER: [&str; 4] = [
    "abcdefghijklmnopqrstuvwxyz",
    "абвгдежзийклмнопрстуфхцчшщъыьэюяё",
    "αβγδεζηθικλμνξοπρςστυφχψω",
    "àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿß",
];
const UPPER: [&str; 4] = [
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯЁ",
    "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ",
    "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞ",
];
const DIGITS: &str = "0123456789";
const PUNCT: &str = ".,;:!?'-()—“”‘’";

/// SplitMix64: a fixed stream, so the text is the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }

    /// One character of `set`, skewed towards its start (the square of a uniform), as letter
    /// frequencies are.
    fn skewed(&mut self, set: &str) -> char {
        let chars: Vec<char> = set.chars().collect();
        let u = self.below(1000) as f64 / 1000.0;
        chars[(chars.len() as f64 * u * u) as usize]
    }
}

/// About 9,000 characters of words in four scripts, with capitals, numbers, punctuation and
/// line breaks; the characters the words happened not to use end the text, one per word, so
/// that all 256 occur, the rare ones once or twice as in a real text.
fn text_of_256_characters() -> String {
    let mut r = Rng(1);
    let mut t = String::new();
    for _ in 0..1500 {
        let script = r.below(4);
        let len = 2 + r.below(7);
        let mut word: String = (0..len).map(|_| r.skewed(LOWER[script])).collect();
        if r.below(8) == 0 {
            word = r.skewed(UPPER[script]).to_string()
                + &word[word.chars().next().unwrap().len_utf8()..];
        }
        if r.below(20) == 0 {
            word = format!("{}{}", r.below(10), r.below(10));
        }
        if r.below(6) == 0 {
            word.push(PUNCT.chars().nth(r.below(PUNCT.chars().count())).unwrap());
        }
        t.push_str(&word);
        t.push(if r.below(12) == 0 { '\n' } else { ' ' });
    }
    let all: String = LOWER.concat() + &UPPER.concat() + DIGITS + PUNCT + " \n";
    let mut missing: Vec<char> = all.chars().filter(|&c| !t.contains(c)).collect();
    missing.sort_unstable();
    for c in missing {
        t.push(c);
        t.push(' ');
    }
    t
}

#[test]
fn the_test_text_has_256_distinct_characters() {
    let t = text_of_256_characters();
    let distinct: HashSet<char> = t.chars().collect();
    assert_eq!(distinct.len(), 256);
    assert!((5_000..20_000).contains(&t.chars().count()));
}

/// The report of a model trained on 256 characters (the worst case: every figure, the loss and
/// gap curves too) stays under 2 MB, and its heatmaps say what they hide.
#[test]
fn a_report_on_256_characters_stays_under_2_mb_and_says_what_is_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("256.txt");
    std::fs::write(&corpus, text_of_256_characters()).unwrap();
    let out = dir.path().join("r.html");
    // d_model 2 and 300 epochs keep the training short; the page's size depends on the
    // vocabulary, not on these.
    let o = zl(&[
        "report",
        "--corpus",
        corpus.to_str().unwrap(),
        "--d-model",
        "2",
        "--epochs",
        "300",
        "--full",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let html = std::fs::read_to_string(&out).unwrap();
    eprintln!("report for 256 characters: {} bytes", html.len());
    assert!(
        html.len() < 2_000_000,
        "report for 256 characters is {} bytes",
        html.len()
    );
    // Stated in the captions, and in the figures' own titles (the bigram counts and the
    // side-by-side P and Q).
    assert!(
        html.contains(
            "showing the 60 most frequent of 256 characters; 196 less frequent ones are hidden"
        ),
        "the caption should say how many characters are hidden"
    );
    assert!(
        html.matches("60 most frequent characters, 196 hidden")
            .count()
            >= 2,
        "both heatmap figures should say how many characters are hidden"
    );
    // At most 60² cells per heatmap: the P and Q panels together draw at most 2·60² of them.
    let fig = |id: &str| {
        let at = html.find(&format!("<figure id=\"{id}\"")).unwrap();
        &html[at..at + html[at..].find("</figure>").unwrap()]
    };
    let cells = fig("bigram_vs_model").matches("<rect").count();
    assert!(
        cells <= 2 * 60 * 60 + 250,
        "{cells} rects in bigram_vs_model"
    );
    assert!(cells >= 2 * 60 * 60, "{cells} rects in bigram_vs_model");
}

/// A bad `ZL_FONT` is reported before any other work: before the corpus is read, so the error
/// names the font and not the missing corpus.
#[test]
fn a_bad_zl_font_fails_at_once_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let plot = dir.path().join("figs");
    for args in [
        vec!["report", "--out", out.to_str().unwrap()],
        vec!["interpret", "--plot", plot.to_str().unwrap()],
    ] {
        let o = Command::new(zl_bin())
            .args(&args)
            .args(["--corpus", "/nonexistent-corpus.txt"])
            .env("ZL_FONT", "/nonexistent.ttf")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "zl {args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("ZL_FONT") && err.contains("/nonexistent.ttf"),
            "{err}"
        );
        assert!(!err.contains("nonexistent-corpus"), "{err}");
        assert!(!out.exists() && !plot.exists());
    }
}

/// The page's title and claims follow the verdict: one epoch has not learned the table, so the
/// page says so and makes none of the claims only a bigram table supports.
#[test]
fn the_report_claims_only_what_its_verdict_supports() {
    let dir = tempfile::tempdir().unwrap();
    let title = |html: &str| {
        let t = html.split_once("<title>").unwrap().1;
        t.split_once("</title>").unwrap().0.to_string()
    };
    let seed = make_report(dir.path(), &["--full"]);
    assert!(title(&seed).contains("learned"), "{}", title(&seed));
    assert!(!title(&seed).contains("not"), "{}", title(&seed));
    assert!(seed.contains("data-holds=\"bigram_table\""));
    assert!(!seed.contains("data-holds=\"rank_limited\""));
    let one = make_report(dir.path(), &["--epochs", "1", "--full"]);
    assert!(title(&one).contains("not learned"), "{}", title(&one));
    assert_eq!(
        super::interpret::bigram_table_claims(&one),
        Vec::<&str>::new()
    );
    assert!(one.contains("not told apart"));
    assert!(one.contains("data-holds=\"not_learned\""));
    assert!(!one.contains("data-holds=\"bigram_table\""));
}
