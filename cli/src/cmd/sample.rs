//! `zl sample`: text from the model and from the data's bigram table, drawn with one stream of
//! uniform numbers, and where they first differ.

use anyhow::Result;

use super::source;
use crate::{
    analysis::sample,
    args::SampleArgs,
    backend::{Backend, Choice},
    render,
};

pub fn run(choice: Choice, a: &SampleArgs) -> Result<()> {
    let corpus = source::corpus(&a.source)?;
    // The prompt is checked against the vocabulary (the model's is the corpus's) before any
    // training.
    let prompt = match &a.prompt {
        Some(p) => sample::token_ids(p, &corpus.vocab, "--prompt")?,
        None => corpus.tokens(1)?,
    };
    let backend = Backend::open(choice)?;
    let got = source::obtain(&backend, &a.source, &corpus, None, &|_| {})?;
    if let Some(note) = &got.note {
        eprintln!("{note}");
    }
    let vocab = &got.weights.vocab;
    let rows = sample::model_rows(&got.weights, a.temperature)?;
    let s = sample::sample(
        &rows.log_q,
        &corpus,
        &prompt,
        a.chars as usize,
        a.sample_seed,
    );
    let view = render::verbs::SampleView {
        what: &got.what,
        vocab,
        prompt: &prompt,
        samples: &s,
        seed: a.sample_seed,
        temperature: a.temperature,
    };
    if a.json {
        println!("{}", render::verbs::sample_json(&view));
    } else {
        print!("{}", render::verbs::sample_text(&view));
    }
    Ok(())
}
