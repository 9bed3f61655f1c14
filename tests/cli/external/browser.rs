//! The report and the interactive page in headless Chromium. The report's screenshot is kept at
//! `target/tmp/report-screenshot.png`; the page test (tests/page/page_test.mjs) drives Debian's
//! `chromium` with npm's playwright-core from tests/page/node_modules, and keeps its screenshot
//! at `target/tmp/page-test/page.png`. Under `CI` neither may skip.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use zl_tests::{root, zl_bin};

use crate::report::{make_report, write_page};

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

#[test]
fn page_trains_ablates_and_samples_in_chromium_as_the_cli_does() {
    let ci = std::env::var_os("CI").is_some();
    let Some(chrome) = zl_tests::chromium() else {
        assert!(
            !ci,
            "CI must have Chromium (scripts/test.sh installs Debian's chromium)"
        );
        eprintln!("SKIP: no Chromium here (apt-get install chromium, or set CHROMIUM)");
        return;
    };
    let modules = root().join("tests/page/node_modules/playwright-core");
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node || !modules.exists() {
        assert!(
            !ci,
            "CI must have node and tests/page/node_modules (scripts/test.sh installs them)"
        );
        eprintln!("SKIP: no node or playwright-core here (cd tests/page && npm ci)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = write_page(dir.path(), &[]);
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("page-test");
    std::fs::create_dir_all(&artifacts).unwrap();
    let o = Command::new("node")
        .arg(root().join("tests/page/page_test.mjs"))
        .arg(zl_bin())
        .arg(&page)
        .arg(&artifacts)
        .env("CHROMIUM", chrome)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    println!("{stdout}");
    assert!(
        o.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}"
    );
    assert!(
        artifacts.join("page.png").exists(),
        "the screenshot was kept"
    );
}
