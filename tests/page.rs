//! `zl report --interactive`: the page in a real browser, its size, its flags, and that its
//! checked-in WebAssembly (web/dist/) is built from the sources here.
//!
//! The browser test (tests/page/page_test.mjs) drives Debian's `chromium` with npm's
//! playwright-core, which scripts/test.sh installs into tests/page/node_modules. Without them it
//! skips, saying why; under `CI` it fails instead. Its screenshot is kept at
//! `target/tmp/page-test/page.png`.

use std::{path::PathBuf, process::Command};

use zl_tests::{assert_one_line_error, root, zl, zl_bin};

/// The page's size limit (issue: at most 1.5 MB).
const MAX_PAGE_BYTES: usize = 1_500_000;

fn write_page(dir: &std::path::Path, extra: &[&str]) -> PathBuf {
    let out = dir.join("page.html");
    let mut args = vec!["report", "--interactive", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = zl(&args);
    assert_eq!(o.code, 0, "zl {args:?}: {}", o.stderr);
    out
}

#[test]
fn checked_in_wasm_is_built_from_these_sources() {
    let want = std::fs::read_to_string(root().join("web/dist/SOURCES")).unwrap();
    let o = Command::new(root().join("web/build.sh"))
        .arg("--sources")
        .output()
        .expect("web/build.sh --sources");
    assert!(o.status.success());
    let got = String::from_utf8(o.stdout).unwrap();
    assert!(
        got == want,
        "web/dist/ was built from other sources than these (zl-core, zl-lanes or web/ changed): \
         run web/build.sh and commit web/dist/\n{}",
        got.lines()
            .zip(want.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a)
            .collect::<Vec<_>>()
            .join("\n")
    );
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
