//! docs/EMBEDDED.md's guide for your own firmware, held to the code: its example is
//! demos/own-model/src/lib.rs whole, which on the host trains and loads exactly what `zl` trains
//! and saves (its thumbv7em build is in `external::cross`); its memory table is what
//! `core::mem::size_of` says; every excerpt it quotes is in the file it names; and
//! `zl train --checksum` prints zl-core's own checksum line.

use std::{
    process::{Command, Stdio},
    sync::OnceLock,
};

use serde_json::Value;
use zl_core::{checksum, AdamWConfig, Bigrams, Model, SeedModel, Trainer, Vocab, SEED_TEXT};
use zl_tests::{floats, root, zl, zl_bin};

use crate::docs::block_after;

/// The demos train for the notebook's 10,000 epochs.
pub(crate) const EPOCHS: u32 = 10_000;

fn guide() -> String {
    std::fs::read_to_string(root().join("docs/EMBEDDED.md")).expect("docs/EMBEDDED.md")
}

#[test]
fn the_guides_example_is_the_whole_file() {
    let doc = guide();
    let shown = block_after(&doc, "<!-- from demos/own-model/src/lib.rs -->").join("\n") + "\n";
    let file = std::fs::read_to_string(root().join("demos/own-model/src/lib.rs")).unwrap();
    assert_eq!(
        shown, file,
        "docs/EMBEDDED.md must show demos/own-model/src/lib.rs whole"
    );
}

const TEXT: &str = "the cat sat on the mat; the dog sat on the log. a cat, a dog, a mat, a log!\n";

/// `train_on` trains what `zl train --corpus` trains, bit for bit; `load_zl_weights` reads
/// the file `zl train --save` writes into the same weights; `next_char` is the argmax of
/// `W_E[c]·W_U`.
#[test]
fn the_guides_example_trains_and_loads_what_zl_does() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("t.txt");
    std::fs::write(&corpus, TEXT).unwrap();
    let saved = dir.path().join("m.safetensors");
    let o = zl(&[
        "train",
        "--corpus",
        corpus.to_str().unwrap(),
        "--d-model",
        "5",
        "--seed",
        "3",
        "--epochs",
        "400",
        "--json",
        "--save",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();

    let (vocab, model, final_loss) = zl_own_model::train_on(TEXT, 5, 3, 400).unwrap();
    let chars: Vec<String> = vocab.chars().iter().map(|c| c.to_string()).collect();
    assert_eq!(serde_json::to_value(&chars).unwrap(), v["vocab"]);
    assert_eq!(final_loss as f64, v["final_loss"].as_f64().unwrap());
    let (w_e, w_u) = (floats(&v["W_E"]), floats(&v["W_U"]));
    let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&model.w_e_row_major().collect::<Vec<_>>()), bits(&w_e));
    assert_eq!(bits(&model.w_u_row_major().collect::<Vec<_>>()), bits(&w_u));

    let file = std::fs::read(&saved).unwrap();
    let loaded = zl_own_model::load_zl_weights(&file, vocab.len()).unwrap();
    assert_eq!(
        loaded, model,
        "the saved file loads into the trained weights"
    );
    assert_eq!(loaded.d_model(), 5);
    // A wrong vocabulary size, or a cut file, is refused rather than misread.
    assert!(zl_own_model::load_zl_weights(&file, vocab.len() + 1).is_err());
    assert!(zl_own_model::load_zl_weights(&file[..file.len() - 4], vocab.len()).is_err());
    assert!(zl_own_model::load_zl_weights(&file[..6], vocab.len()).is_err());

    // next_char against the argmax of W_E·W_U computed here from zl's JSON, in f64.
    let (n, d) = (vocab.len(), 5);
    for (i, &c) in vocab.chars().iter().enumerate() {
        let logit = |j: usize| {
            (0..d)
                .map(|k| w_e[i * d + k] as f64 * w_u[k * n + j] as f64)
                .sum::<f64>()
        };
        let best = (0..n).fold(0, |b, j| if logit(j) > logit(b) { j } else { b });
        assert_eq!(
            zl_own_model::next_char(&loaded, &vocab, c),
            Some(vocab.chars()[best])
        );
    }
    assert_eq!(zl_own_model::next_char(&loaded, &vocab, 'Z'), None);
    let mut out = String::new();
    zl_own_model::write_greedy(&mut out, &loaded, &vocab, 't', 12).unwrap();
    assert_eq!(out.chars().count(), 12);
}

/// The memory table of docs/EMBEDDED.md: each row's sizes are `size_of` of `Trainer<V, D>`,
/// `Bigrams<V>` and `Model<V, D>` on this (64-bit) host.
#[test]
fn the_memory_table_is_what_size_of_says() {
    let mut want = vec![];
    macro_rules! tiers {
        ($($v:literal x $d:literal),*) => {$(
            want.push(($v, $d, [
                std::mem::size_of::<Trainer<$v, $d>>(),
                std::mem::size_of::<Bigrams<$v>>(),
                std::mem::size_of::<Model<$v, $d>>(),
            ]));
        )*};
    }
    // The seed model, then every tier of core/src/capacity.rs.
    tiers!(30 x 16, 32 x 8, 32 x 16, 32 x 32, 32 x 64, 64 x 8, 64 x 16, 64 x 32, 64 x 64,
        128 x 8, 128 x 16, 128 x 32, 128 x 64, 256 x 8, 256 x 16, 256 x 32, 256 x 64);
    let doc = guide();
    let mut got = vec![];
    for line in doc.lines() {
        // | `Trainer<256, 64>` | 1,115,208 | 263,184 | 131,088 | …
        let Some(rest) = line.strip_prefix("| `Trainer<") else {
            continue;
        };
        let (vd, rest) = rest.split_once(">`").unwrap();
        let (v, d) = vd.split_once(", ").unwrap();
        let cells: Vec<usize> = rest
            .split('|')
            .map(|c| c.trim().replace(',', ""))
            .filter_map(|c| c.parse().ok())
            .collect();
        got.push((
            v.parse::<usize>().unwrap(),
            d.parse::<usize>().unwrap(),
            [cells[0], cells[1], cells[2]],
        ));
    }
    assert_eq!(got, want, "docs/EMBEDDED.md's memory table vs size_of");
}

/// The checksum line of the seed run, computed here through zl-core on the host (once).
pub(crate) fn host_line() -> &'static str {
    static LINE: OnceLock<String> = OnceLock::new();
    LINE.get_or_init(train_on_host)
}

fn train_on_host() -> String {
    let b = Bigrams::<30>::from_text(&Vocab::seed(), SEED_TEXT).unwrap();
    let mut t = Trainer::new(
        SeedModel::init_torch(0, 30, 16).unwrap(),
        AdamWConfig::default(),
    );
    let final_loss = t.run(&b, EPOCHS, |_, _| {}).unwrap();
    let mut line = String::new();
    checksum::write_line(&mut line, EPOCHS, final_loss, &t.model).unwrap();
    // A line of the documented shape, so that an empty or truncated one cannot match.
    let shape = "epochs=10000 final_loss=0x00000000 weights_fnv1a=0x00000000";
    assert!(
        line.starts_with("epochs=10000 final_loss=0x") && line.len() == shape.len(),
        "unexpected checksum line {line:?}"
    );
    line
}

#[test]
fn zl_train_checksum_prints_the_zl_core_line() {
    let out = Command::new(zl_bin())
        .args(["train", "--checksum"])
        .stdin(Stdio::null())
        .output()
        .expect("run zl");
    assert!(
        out.status.success(),
        "zl train --checksum failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().last().unwrap_or_default(),
        host_line(),
        "the last line of `zl train --checksum` vs zl-core's (empty: this zl has no --checksum yet)"
    );
}

/// docs/EMBEDDED.md marks each code excerpt with `<!-- from PATH -->` on the line before its
/// fence; the excerpt must appear verbatim in PATH, which run.sh builds, so the docs cannot
/// drift from code that compiles.
#[test]
fn embedded_docs_excerpts_are_in_the_files_they_name() {
    let doc = std::fs::read_to_string(root().join("docs/EMBEDDED.md")).expect("docs/EMBEDDED.md");
    let mut lines = doc.lines();
    let mut checked = 0;
    while let Some(line) = lines.next() {
        let Some(path) = line
            .trim()
            .strip_prefix("<!-- from ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "<!-- from {path} --> must precede a ``` fence"
        );
        let excerpt: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        let file = std::fs::read_to_string(root().join(path))
            .unwrap_or_else(|e| panic!("docs/EMBEDDED.md cites {path}: {e}"));
        let excerpt = excerpt.join("\n") + "\n";
        assert!(
            file.contains(&excerpt),
            "docs/EMBEDDED.md shows an excerpt of {path} that is no longer in it:\n{excerpt}"
        );
        checked += 1;
    }
    assert!(
        checked >= 3,
        "only {checked} excerpts checked in docs/EMBEDDED.md"
    );
}
