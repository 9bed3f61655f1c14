//! `zl eval`: saved weights scored on a text that need not share their vocabulary, by
//! character: the loss over the positions both of whose characters the model knows, the
//! bigram floor of those positions, and what was skipped.

use anyhow::{bail, Context, Result};

use crate::{
    analysis,
    args::EvalArgs,
    data::{corpus::Corpus, files},
    render,
};

pub fn run(a: &EvalArgs) -> Result<()> {
    let weights = files::read_safetensors(&a.load)?;
    let corpus = Corpus::load_either(a.text.corpus.as_deref(), a.text.counts.as_deref())?;
    let (scored, skipped) = corpus.restricted_to(&weights.vocab);
    if scored.predictions() == 0 {
        bail!(
            "--corpus {}: no position has both its character and the next in the model's \
             vocabulary ({} characters); score the model on a text written in them",
            corpus.source,
            weights.vocab.len()
        );
    }
    let cmp = analysis::compare(&weights, &scored)
        .with_context(|| format!("scoring {} on {}", a.load.display(), corpus.source))?;
    let view = render::text::EvalView {
        load: &a.load,
        corpus: &corpus,
        weights: &weights,
        scored: scored.predictions(),
        skipped: &skipped,
        cmp: &cmp,
    };
    if a.json {
        println!("{}", render::json::eval(&view));
    } else {
        print!("{}", render::text::eval(&view));
    }
    Ok(())
}
