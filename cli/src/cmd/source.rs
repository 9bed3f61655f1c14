//! The model `zl interpret` and `zl report` look at: weights from `--load`, or a model trained
//! now on the chosen backend; analysed on its corpus (the seed text unless `--corpus` names a
//! file). Shared by the two commands, so that neither calls the other.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::{
    analysis::{self, Analysis},
    args::ModelSource,
    backend::{Backend, Choice, Job},
    data::{corpus::Corpus, files},
};

/// The analysis of the model `src` names.
pub fn analyse(choice: Choice, src: &ModelSource) -> Result<Analysis> {
    let corpus = Corpus::load(src.corpus.as_deref())?;
    let (weights, source, losses) = match &src.load {
        Some(path) => {
            let w = load_model(path, &corpus)?;
            let what = format!(
                "weights loaded from {} (d_model {}), on {}",
                path.display(),
                w.d_model,
                corpus.source
            );
            (w, what, None)
        }
        None => {
            let backend = Backend::open(choice)?;
            let job = Job {
                d_model: src.d_model,
                config: src.config(),
            };
            let run = backend.train(&corpus, &[job], true)?.remove(0);
            let cfg = &job.config;
            let what = format!(
                "a model trained here ({} backend) on {}: seed {}, {} epochs, d_model {}, AdamW lr {} weight decay {} ({:.0} ms)",
                backend.name(),
                corpus.source,
                cfg.seed,
                cfg.epochs,
                job.d_model,
                cfg.adamw.lr,
                cfg.adamw.weight_decay,
                run.seconds * 1e3
            );
            (run.weights, what, Some(run.losses))
        }
    };
    analysis::analyse(&weights, &corpus, source, losses)
}

/// Reads `--load PATH` and checks that its vocabulary is the corpus's, in token-id order.
fn load_model(path: &Path, corpus: &Corpus) -> Result<files::Weights> {
    let flag = || format!("--load {}", path.display());
    let w = files::read_safetensors(path).with_context(flag)?;
    if w.vocab != corpus.vocab {
        let got: String = w.vocab.iter().collect();
        let want: String = corpus.vocab.iter().collect();
        bail!(
            "{}: its vocabulary {got:?} ({} characters) is not that of {} {want:?} ({} characters); pass the --corpus it was trained on",
            flag(),
            w.vocab.len(),
            corpus.source,
            corpus.vocab.len()
        );
    }
    Ok(w)
}
