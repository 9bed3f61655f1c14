//! `zl run --text TEXT`: the model position by position, as the notebook's `run_with_cache`
//! shows it.

use anyhow::Result;

use super::source;
use crate::{
    analysis::sample,
    args::RunArgs,
    backend::{Backend, Choice},
    render,
};

pub fn run(choice: Choice, a: &RunArgs) -> Result<()> {
    let corpus = source::corpus(&a.source)?;
    // The text is checked against the vocabulary before any training.
    let tokens = corpus.vocab.encode(&a.text, "--text")?;
    let backend = Backend::open(choice)?;
    let got = source::obtain(&backend, &a.source, &corpus, None, &|_| {}, &[])?;
    if let Some(note) = &got.note {
        eprintln!("{note}");
    }
    let view = render::verbs::RunView {
        what: &got.what,
        vocab: &got.weights.vocab,
        run: &sample::run(&got.weights, &tokens),
    };
    if a.json {
        println!("{}", render::verbs::run_json(&view));
    } else {
        print!("{}", render::verbs::run_text(&view));
    }
    Ok(())
}
