//! A large vocabulary as a user meets it: a text of 256 distinct characters (the most zl takes)
//! gives a report under 2 MB whose heatmaps say how many characters they leave out; and the
//! sweep's figure labels each tick once.

use std::collections::{HashMap, HashSet};

use zl_tests::zl;

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
