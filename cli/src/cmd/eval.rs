//! `zl eval`: saved weights scored on a text that need not share their vocabulary, by
//! character: the loss over the positions both of whose characters the model knows, the
//! bigram floor of those positions, and what was skipped.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::{
    analysis,
    args::EvalArgs,
    data::{
        corpus::{Corpus, Source, Tokens},
        files,
    },
    render,
};

pub fn run(a: &EvalArgs) -> Result<()> {
    let weights = files::read_safetensors(&a.load)?;
    // A text is tokenized as the model is, unless a tokenizer is given (then they must agree).
    let tokens = match (a.text.tokens(), weights.vocab.tokenizer()) {
        (Tokens::Chars, Some(t)) => Tokens::Loaded(t.clone()),
        (t, _) => t,
    };
    let corpus = match (&a.text.corpus, &a.text.counts) {
        (None, None) => recorded(&a.load, &tokens)?,
        (corpus, counts) => Corpus::load_either(corpus.as_deref(), counts.as_deref(), &tokens)?,
    };
    weights.vocab.same_tokenizer(
        &corpus.vocab,
        &format!("--load {}", a.load.display()),
        &corpus.source.to_string(),
    )?;
    let (scored, skipped) = corpus.restricted_to(&weights.vocab);
    if scored.predictions() == 0 {
        bail!(
            "--corpus {}: no position has both its character and the next in the model's \
             vocabulary ({} characters); score the model on a text written in them",
            corpus.source,
            weights.vocab.len()
        );
    }
    let scoring = || format!("scoring {} on {}", a.load.display(), corpus.source);
    // Above the dense analysis' size, the large-V view's decomposition (rows streamed).
    let decomposition = if scored.vocab.len() > analysis::large::DENSE_MAX {
        analysis::large::comparison(&weights, &scored)
            .with_context(scoring)?
            .decomposition
    } else {
        analysis::compare(&weights, &scored)
            .with_context(scoring)?
            .decomposition
    };
    let view = render::text::EvalView {
        load: &a.load,
        corpus: &corpus,
        weights: &weights,
        scored: scored.predictions(),
        skipped: &skipped,
        decomposition: &decomposition,
    };
    if a.json {
        println!("{}", render::json::eval(&view));
    } else {
        print!("{}", render::text::eval(&view));
    }
    Ok(())
}

/// The corpus the weights record, named on stderr; without one there is no text to score.
fn recorded(load: &Path, tokens: &Tokens) -> Result<Corpus> {
    let corpus = match files::recorded_corpus(load)? {
        Some(Source::Seed) => Corpus::load(None, tokens)?,
        Some(Source::File(p)) => Corpus::from_file(&p, tokens)?,
        Some(Source::Counts(p)) => Corpus::load_either(None, Some(&p), tokens)?,
        _ => bail!(
            "--load {}: which text should it be scored on? give it with --corpus FILE (or a count file with --counts FILE); the weights record no corpus that is here",
            load.display()
        ),
    };
    eprintln!(
        "zl eval: scoring on {}, the corpus {} records (give --corpus or --counts for another)",
        corpus.source,
        load.display()
    );
    Ok(corpus)
}
