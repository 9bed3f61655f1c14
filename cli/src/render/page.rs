//! The interactive page (`zl report --interactive`): one HTML file holding its script, its
//! styles, its Web Worker and zl-core built for WebAssembly twice (with SIMD128 and without,
//! gzipped, as web/build.sh checks them in under web/dist/), with the text and the training
//! flags as the page's defaults. The page computes everything in the browser; this module only
//! assembles it. Nothing in it loads from anywhere else: it opens from `file://`.

use base64::Engine;
use serde::Serialize;

use super::heatmap_figure::BLUES;
use zl_core::{TrainConfig, SEED_D, SEED_TEXT};

/// The most characters the page trains on: the ablation reruns the model over the whole text
/// for every click, and the text area holds it.
pub const MAX_PAGE_CHARS: usize = 100_000;

const HTML: &str = include_str!("../../../web/page/page.html");
const CSS: &str = include_str!("../../../web/page/page.css");
const JS: &str = include_str!("../../../web/page/page.js");
const WORKER: &str = include_str!("../../../web/page/worker.js");
const WASM_SIMD: &[u8] = include_bytes!("../../../web/dist/zl-web-simd128.wasm.gz");
const WASM_SCALAR: &[u8] = include_bytes!("../../../web/dist/zl-web.wasm.gz");

/// What the page starts from.
#[derive(Serialize)]
struct Config<'a> {
    text: &'a str,
    seed_text: &'a str,
    defaults: Controls,
    /// The flags' own defaults: the page leaves a flag at its default out of the commands it
    /// prints, and its worker warms up on them.
    cli_defaults: Controls,
    /// The report's heatmap scale (P and Q from 0 to 1), so that the page's colours are its.
    colours: [(u8, u8, u8); 5],
    /// The module checks the controls as zl checks its flags; this limit is the page's own.
    limits: Limits,
}

/// The training controls' values; the seed as a string, past JavaScript's exact integers.
#[derive(Serialize)]
struct Controls {
    epochs: u32,
    d_model: usize,
    seed: String,
    lr: f64,
    weight_decay: f64,
}

impl Controls {
    fn new(c: &TrainConfig, d_model: usize) -> Self {
        Controls {
            epochs: c.epochs,
            d_model,
            seed: c.seed.to_string(),
            lr: c.adamw.lr,
            weight_decay: c.adamw.weight_decay,
        }
    }
}

#[derive(Serialize)]
struct Limits {
    max_chars: usize,
}

/// The page for `text` (at most [`MAX_PAGE_CHARS`] characters, checked by the caller) with the
/// controls set to `c`.
pub fn page(text: &str, c: &TrainConfig, d_model: usize) -> String {
    let config = super::json::value(Config {
        text,
        seed_text: SEED_TEXT,
        defaults: Controls::new(c, d_model),
        cli_defaults: Controls::new(&TrainConfig::default(), SEED_D),
        colours: BLUES,
        limits: Limits {
            max_chars: MAX_PAGE_CHARS,
        },
    });
    // Inside <script>, "</script" would end the element: JSON may spell '<' as \u003c, and '<'
    // occurs only inside its strings.
    let config = config.to_string().replace('<', "\\u003c");
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    // The page's own files hold no "</script"; the base64 alphabet has no '<'.
    debug_assert!(!JS.contains("</script") && !WORKER.contains("</script"));
    // One pass over the template, in document order, so that nothing put in (the reader's
    // text) is ever searched for a placeholder.
    let parts: [(&str, &str); 6] = [
        ("/*ZL_CSS*/", CSS),
        ("/*ZL_CONFIG*/", &config),
        ("/*ZL_WORKER*/", WORKER),
        ("/*ZL_WASM_SIMD*/", &b64(WASM_SIMD)),
        ("/*ZL_WASM_SCALAR*/", &b64(WASM_SCALAR)),
        ("/*ZL_JS*/", JS),
    ];
    let mut out = String::with_capacity(HTML.len() + WASM_SIMD.len() * 2 + WASM_SCALAR.len() * 2);
    let mut rest = HTML;
    for (mark, value) in parts {
        let (before, after) = rest
            .split_once(mark)
            .expect("web/page/page.html holds each placeholder once, in this order");
        out.push_str(before);
        out.push_str(value);
        rest = after;
    }
    out.push_str(rest);
    out
}
