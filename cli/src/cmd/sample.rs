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
    let prompt = sample::prompt_ids(a.prompt.as_deref(), &corpus)?;
    let backend = Backend::open(choice)?;
    let got = source::obtain(&backend, &a.source, &corpus, None, &|_| {}, &[])?;
    if let Some(note) = &got.note {
        eprintln!("{note}");
    }
    let w = &got.weights;
    let chars = a.chars as usize;
    let view = render::verbs::SampleView {
        what: &got.what,
        vocab: &w.vocab,
        prompt: &prompt,
        samples: &sample::sample(w, a.temperature, &corpus, &prompt, chars, a.sample_seed),
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
