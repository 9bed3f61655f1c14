//! `zl report`: one self-contained HTML page, checked as text and rendered by headless Chromium.
//!
//! The screenshot test skips, saying why, where no Chromium is installed; under `CI` it must not
//! skip (scripts/test.sh installs Debian's `chromium`). The screenshot is kept at
//! `target/tmp/report-screenshot.png` for a person to look at.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use zl_tests::zl_bin;

fn make_report(dir: &Path, extra: &[&str]) -> String {
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

#[test]
fn report_is_one_self_contained_page_with_the_story_and_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let html = make_report(dir.path(), &[]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    let refs = external_references(&html);
    assert!(
        refs.is_empty(),
        "the page must not fetch anything: {refs:?}"
    );
    for section in [
        "1. The problem",
        "2. The mechanism",
        "3. The evidence",
        "3.1 The loss, decomposed",
        "3.2 Each piece of evidence beside its controls",
        "3.5 The logits, before softmax",
        "3.6 The gap against training time",
        "4. Sanity checks: facts of the architecture",
        "4.1 Ablation is local",
        "4.2 The bigram table reaches the floor",
        "4.3 The rank is at most d_model",
        "5. What this shows, and what it does not",
    ] {
        assert!(html.contains(section), "missing section {section:?}");
    }
    // Figures inline, one <svg> each: loss curve, both heatmaps, counts, gap by token, seen
    // logits, margins, gap against the epoch, spectrum.
    assert_eq!(html.matches("<svg").count(), 8, "eight inline SVG figures");
    // No sentence claims a test "would fail" (issue 13): the controls are shown instead.
    assert!(
        !html.contains("would fail"),
        "a claim the page does not show failing"
    );
    assert!(
        html.contains("<span class=ok>both</span>"),
        "the controls fail the evidence"
    );
    assert!(
        !html.contains("<span class=bad>no</span>"),
        "every piece of evidence has failing controls"
    );
    // Computed numbers inline: the seed text's floor, and the exact-zero ablation result.
    assert!(html.contains("1.606703529"), "the bigram entropy");
    assert!(
        html.contains("<b class=ok>0</b>"),
        "no prediction changed elsewhere"
    );
    assert!(html.contains("<b>30 of 30</b>"), "top-1 agreement");
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
    // No loss curve and no gap-against-epoch figure for a loaded model.
    assert_eq!(html.matches("<svg").count(), 6);
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

/// Renders `url` headless into `png` at `w`×`h`; fails after two minutes.
fn screenshot(chrome: &Path, url: &str, png: &Path, (w, h): (u32, u32)) {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={w},{h}"))
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium exited with {status} for {url}");
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish the screenshot of {url} in 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    (
        u32::from_be_bytes(bytes[16..20].try_into().unwrap()),
        u32::from_be_bytes(bytes[20..24].try_into().unwrap()),
    )
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(chrome) = zl_tests::chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Chromium for the report screenshot (scripts/test.sh installs Debian's chromium)"
        );
        eprintln!(
            "SKIP: no Chromium here (apt-get install chromium, or set CHROMIUM=/path/to/chrome)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    make_report(dir.path(), &[]);
    let page = format!("file://{}", dir.path().join("report.html").display());
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();

    let keep = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let size = (1280, 4000);
    screenshot(&chrome, &page, &keep, size);
    let shot = std::fs::read(&keep).unwrap();
    assert_eq!(png_size(&shot), size);
    let empty = dir.path().join("blank.png");
    screenshot(
        &chrome,
        &format!("file://{}", blank.display()),
        &empty,
        size,
    );
    let empty = std::fs::read(&empty).unwrap();
    // A PNG of a blank page compresses to ~23 KiB at this size; the report's first 4000 pixels
    // (text, tables, three figures) to ~430 KiB. Without a PNG decoder among the test
    // dependencies, the compressed size is the measure of ink.
    assert!(
        shot.len() > 10 * empty.len() && shot.len() > 100_000,
        "the screenshot looks empty: {} bytes against {} for a blank page",
        shot.len(),
        empty.len()
    );
    eprintln!(
        "report screenshot: {} ({} KiB; blank page {} KiB)",
        keep.display(),
        shot.len() / 1024,
        empty.len() / 1024
    );
}
