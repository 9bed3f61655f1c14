//! Count files (`zl count`): counting shards and merging them equals counting the
//! whole text, in both semantics; and every command trains from `--counts` as from the text.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use proptest::prelude::*;
use safetensors::{Dtype, SafeTensors};
use serde_json::{json, Value};
use zl_cli::data::{
    corpus::{self, Corpus, Source, Tokens},
    counts::{self, Semantics},
};
use zl_tests::{assert_one_line_error, root, zl};

/// A count file's counts as a dense table (read from its sparse rows here, with its shape) and
/// its metadata.
fn read(path: &Path) -> (Vec<usize>, Vec<u64>, HashMap<String, String>) {
    let bytes = std::fs::read(path).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let words = |name: &str, dtype: Dtype, size: usize| -> Vec<u64> {
        let t = st.tensor(name).unwrap();
        assert_eq!(t.dtype(), dtype, "{name}");
        t.data()
            .chunks_exact(size)
            .map(|b| {
                let mut w = [0u8; 8];
                w[..size].copy_from_slice(b);
                u64::from_le_bytes(w)
            })
            .collect()
    };
    let row_start = words("row_start", Dtype::U64, 8);
    let (col, count) = (words("col", Dtype::U32, 4), words("count", Dtype::U64, 8));
    let v = row_start.len() - 1;
    let mut dense = vec![0u64; v * v];
    for i in 0..v {
        for p in row_start[i] as usize..row_start[i + 1] as usize {
            dense[i * v + col[p] as usize] = count[p];
        }
    }
    (vec![v, v], dense, header.metadata().clone().unwrap())
}

fn ok(args: &[&str]) -> String {
    let o = zl(args);
    assert_eq!(o.code, 0, "zl {args:?}: {}", o.stderr);
    o.stdout
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The text `tests/golden/custom.txt` cut into `n` pieces at character boundaries, written to
/// `dir` as shard0.txt, …; returns the whole text's path and the shards'.
fn shards(dir: &Path, n: usize) -> (PathBuf, Vec<PathBuf>) {
    let text = std::fs::read_to_string(root().join("tests/golden/custom.txt")).unwrap();
    let chars: Vec<char> = text.chars().collect();
    let whole = dir.join("whole.txt");
    std::fs::write(&whole, &text).unwrap();
    let paths = (0..n)
        .map(|k| {
            let piece: String = chars[k * chars.len() / n..(k + 1) * chars.len() / n]
                .iter()
                .collect();
            let p = dir.join(format!("shard{k}.txt"));
            std::fs::write(&p, piece).unwrap();
            p
        })
        .collect();
    (whole, paths)
}

/// The whole text in `dir` and its count file: (dir, text, counts).
fn counted(d: &Path) -> (&Path, PathBuf, PathBuf) {
    let (whole, _) = shards(d, 1);
    let c = d.join("c.safetensors");
    ok(&["count", s(&whole), "--out", s(&c)]);
    (d, whole, c)
}

#[test]
fn shards_counted_and_merged_equal_the_whole_text() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (whole, parts) = shards(d, 5);
    let whole_c = d.join("whole.safetensors");
    ok(&["count", "--concatenate", s(&whole), "--out", s(&whole_c)]);
    let mut merged_args = vec!["count", "--merge", "--concatenate"];
    let outs: Vec<PathBuf> = (0..parts.len())
        .map(|k| d.join(format!("c{k}.safetensors")))
        .collect();
    for (p, o) in parts.iter().zip(&outs) {
        ok(&["count", "--concatenate", s(p), "--out", s(o)]);
        merged_args.push(s(o));
    }
    let merged = d.join("merged.safetensors");
    merged_args.extend(["--out", s(&merged)]);
    ok(&merged_args);
    let (shape, want, meta) = read(&whole_c);
    let (got_shape, got, got_meta) = read(&merged);
    assert_eq!(
        (got_shape, got),
        (shape.clone(), want.clone()),
        "tensor for tensor"
    );
    for key in [
        "vocab",
        "tokens",
        "documents",
        "first",
        "last",
        "semantics",
        "version",
    ] {
        assert_eq!(got_meta[key], meta[key], "{key}");
    }
    assert_eq!(meta["semantics"], "concatenate");
    // The whole text counted by zl train's own reader.
    let c = Corpus::from_file(&whole, &Tokens::Chars).unwrap();
    let vocab: Vec<String> = serde_json::from_str(&meta["vocab"]).unwrap();
    assert_eq!(
        vocab,
        c.vocab
            .as_chars()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(want, c.dense_counts().unwrap());
    assert_eq!(shape, vec![c.vocab.len(); 2]);
    assert_eq!(meta["tokens"], c.chars.to_string());

    // Counting the shards at once, concatenated, is the same again.
    let mut at_once = vec!["count", "--concatenate"];
    at_once.extend(parts.iter().map(|p| s(p)));
    let once = d.join("once.safetensors");
    at_once.extend(["--out", s(&once)]);
    ok(&at_once);
    assert_eq!(read(&once).1, want);

    // As documents, the merge lacks exactly the four boundary pairs, and says 5 documents.
    let mut docs_args = vec!["count"];
    docs_args.extend(parts.iter().map(|p| s(p)));
    let docs = d.join("docs.safetensors");
    docs_args.extend(["--out", s(&docs)]);
    ok(&docs_args);
    let (_, doc_counts, doc_meta) = read(&docs);
    assert_eq!(doc_meta["documents"], "5");
    assert_eq!(doc_meta["semantics"], "documents");
    assert_eq!(
        want.iter().sum::<u64>() - doc_counts.iter().sum::<u64>(),
        4,
        "no pair spans two documents"
    );
    // And a documents merge of documents count files equals it.
    let mut dm = vec!["count", "--merge"];
    let douts: Vec<PathBuf> = (0..parts.len())
        .map(|k| d.join(format!("d{k}.safetensors")))
        .collect();
    for (p, o) in parts.iter().zip(&douts) {
        ok(&["count", s(p), "--out", s(o)]);
        dm.push(s(o));
    }
    let dmerged = d.join("dmerged.safetensors");
    dm.extend(["--out", s(&dmerged)]);
    ok(&dm);
    assert_eq!(read(&dmerged).1, doc_counts);
}

#[test]
fn train_from_counts_prints_the_same_checksum_as_from_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let (d, whole, c) = counted(dir.path());
    let last = |out: String| out.lines().last().unwrap().to_string();
    let text = last(ok(&[
        "train",
        "--corpus",
        s(&whole),
        "--epochs",
        "500",
        "--checksum",
    ]));
    let counted = last(ok(&[
        "train",
        "--counts",
        s(&c),
        "--epochs",
        "500",
        "--checksum",
    ]));
    assert!(text.starts_with("epochs=500 final_loss=0x"), "{text}");
    assert_eq!(counted, text);
    // The seed text, counted with no FILE, keeps the notebook's ids and so its checksum.
    let seed = d.join("seed.safetensors");
    ok(&["count", "--out", s(&seed)]);
    let vocab: Vec<String> = serde_json::from_str(&read(&seed).2["vocab"]).unwrap();
    assert_eq!((vocab[0].as_str(), vocab[2].as_str()), ("h", "B"));
    assert_eq!(
        last(ok(&[
            "train",
            "--counts",
            s(&seed),
            "--epochs",
            "500",
            "--checksum"
        ])),
        last(ok(&["train", "--epochs", "500", "--checksum"]))
    );
    // sweep: the same losses.
    let sweep = |flag: &str, p: &Path| -> Value {
        let out = ok(&[
            "sweep",
            flag,
            s(p),
            "--d-model",
            "2,4",
            "--epochs",
            "200",
            "--json",
        ]);
        let mut v: Value = serde_json::from_str(&out).unwrap();
        for r in v["runs"].as_array_mut().unwrap() {
            r.as_object_mut()
                .unwrap()
                .retain(|k, _| !k.contains("seconds"));
        }
        assert_eq!(v["runs"].as_array().unwrap().len(), 2);
        json!([v["runs"], v["summary"], v["bigram_entropy"]])
    };
    assert_eq!(sweep("--counts", &c), sweep("--corpus", &whole));
}

#[test]
fn interpret_and_report_from_counts_say_the_ablation_was_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let (d, whole, c) = counted(dir.path());
    let json = |flag: &str, p: &Path| -> Value {
        serde_json::from_str(&ok(&["interpret", flag, s(p), "--epochs", "300", "--json"])).unwrap()
    };
    let (from_text, from_counts) = (json("--corpus", &whole), json("--counts", &c));
    assert!(from_text["ablation_not_run"].is_null());
    assert!(from_text["rows"][0]["ablation"].is_object());
    let why = from_counts["ablation_not_run"].as_str().unwrap();
    assert!(
        why.contains("not run") && why.contains("c.safetensors"),
        "{why}"
    );
    assert!(from_counts["rows"][0]["ablation"].is_null());
    assert!(from_counts["ablation_changed_elsewhere"].is_null());
    // Everything else is computed from the counts, so it is the same.
    for key in [
        "model_loss",
        "bigram_entropy",
        "kl_weighted",
        "rank",
        "singular_values",
        "substitution_loss",
        "bigram_counts",
        "vocab",
        "predictions",
        "corpus_chars",
        "evidence",
    ] {
        assert_eq!(from_counts[key], from_text[key], "{key}");
    }
    let text = ok(&["interpret", "--counts", s(&c), "--epochs", "300", "--full"]);
    assert_eq!(
        text.matches("the ablation was not run: it reruns the text itself")
            .count(),
        2,
        "{text}"
    );
    let page = d.join("r.html");
    ok(&[
        "report",
        "--counts",
        s(&c),
        "--epochs",
        "300",
        "--full",
        "--out",
        s(&page),
    ]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("the ablation was not run"));
}

#[test]
fn counts_and_corpus_exclude_each_other() {
    for cmd in ["train", "sweep", "interpret", "report"] {
        let mut args = vec![cmd, "--corpus", "a.txt", "--counts", "c.safetensors"];
        if cmd == "report" {
            args.extend(["--out", "r.html"]);
        }
        assert_one_line_error(&args, 2, "--counts");
    }
    assert_one_line_error(&["count", "--merge", "--out", "x.safetensors"], 2, "FILE");
}

/// `n` pieces of `chars`, cut at random places (each piece at least one character).
fn cut(chars: &[char], cuts: &[usize]) -> Vec<String> {
    let mut at: Vec<usize> = cuts.iter().map(|c| 1 + c % (chars.len() - 1)).collect();
    at.sort_unstable();
    at.dedup();
    let mut bounds = vec![0];
    bounds.extend(at);
    bounds.push(chars.len());
    bounds
        .windows(2)
        .map(|w| chars[w[0]..w[1]].iter().collect())
        .collect()
}

fn piece(text: &str) -> Corpus {
    let c = corpus::tally(text.as_bytes(), "piece")
        .unwrap()
        .corpus(Source::Seed)
        .unwrap();
    // Through the file format and back, as an engine's workers would hand them over.
    let bytes = counts::to_bytes(&c, Semantics::Concatenate).unwrap();
    counts::from_bytes(&bytes, Path::new("p")).unwrap().0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any split of a text into pieces, counted and merged in order, is the whole text's count;
    /// as documents it is the sum of the pieces' own pair counts.
    #[test]
    fn any_split_merges_to_the_whole(
        text in proptest::collection::vec(proptest::sample::select(vec!['a', 'b', 'c', ' ', 'é', '—', '日', '\n']), 2..300),
        cuts in proptest::collection::vec(0usize..10_000, 0..12),
    ) {
        let whole: String = text.iter().collect();
        let pieces = cut(&text, &cuts);
        let parts: Vec<Corpus> = pieces.iter().map(|p| piece(p)).collect();
        let merged = counts::merge(&parts, Semantics::Concatenate).unwrap();
        let want = corpus::tally(whole.as_bytes(), "whole").unwrap();
        prop_assert_eq!(&merged.vocab, &want.vocab);
        prop_assert_eq!(&merged.pairs, &want.pairs);
        prop_assert_eq!((merged.chars, merged.documents, merged.first, merged.last), (want.chars, 1, want.first, want.last));

        let docs = counts::merge(&parts, Semantics::Documents).unwrap();
        prop_assert_eq!(&docs.vocab, &want.vocab);
        let v = want.vocab.len();
        let chars = want.vocab.as_chars().unwrap();
        let mut naive = vec![0u64; v * v];
        for p in &pieces {
            let ids: Vec<usize> = p.chars().map(|c| chars.binary_search(&c).unwrap()).collect();
            for w in ids.windows(2) {
                naive[w[0] * v + w[1]] += 1;
            }
        }
        prop_assert_eq!(&docs.dense_counts().unwrap(), &naive);
        prop_assert_eq!((docs.chars, docs.documents), (want.chars, pieces.len() as u64));
    }
}
