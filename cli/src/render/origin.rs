//! Where a model and its corpus came from, in words: a corpus's source, the first line of
//! `zl interpret`, `zl sample` and `zl run`, the budget every quoted gap holds for, and why the
//! ablation did not run.

use std::fmt::{self, Display, Formatter};

use crate::{
    analysis::{AblationNotRun, Budget, Origin},
    data::{
        corpus::{NoText, Source},
        files::VocabFrom,
    },
};

impl Display for Source {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Source::Seed => f.write_str("the seed notebook's text"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Stdin(_) => f.write_str("standard input"),
            Source::Shuffled { of, seed } => write!(f, "a shuffle of {of} (seed {seed})"),
            Source::Counts(p) => write!(f, "the counts in {}", p.display()),
        }
    }
}

impl Display for Origin {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Loaded {
                path,
                d_model,
                corpus,
                vocabulary,
            } => write!(
                f,
                "weights loaded from {} (d_model {d_model}), on {corpus}; vocabulary: {vocabulary}",
                path.display()
            ),
            Origin::Trained {
                backend,
                corpus,
                job,
                seconds,
            } => {
                let cfg = &job.config;
                write!(
                    f,
                    "a model trained here ({backend} backend) on {corpus}: seed {}, {} epochs, d_model {}, AdamW lr {} weight decay {}",
                    cfg.seed, cfg.epochs, job.d_model, cfg.adamw.lr, cfg.adamw.weight_decay,
                )?;
                match seconds {
                    Some(s) => write!(f, " ({:.0} ms)", s * 1e3),
                    None => Ok(()),
                }
            }
        }
    }
}

impl Display for Budget {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Budget::Epochs(n) => write!(f, "{n} epochs"),
            Budget::Unrecorded => {
                f.write_str("the loaded weights' training (its epochs are not recorded)")
            }
        }
    }
}

impl Display for NoText {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            NoText::Shuffled(source) => write!(
                f,
                "{source}: a shuffled control keeps only its counts, not its text"
            ),
            NoText::Counts(p) => write!(f, "{} holds the bigram counts, not the text", p.display()),
        }
    }
}

impl Display for AblationNotRun {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the ablation was not run: it reruns the text itself, and {}",
            self.0
        )
    }
}

impl Display for VocabFrom {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VocabFrom::Metadata => "the file's vocab metadata",
            VocabFrom::Corpus => "the --corpus text's (the file has no vocab metadata)",
            VocabFrom::Seed => {
                "the seed notebook's (the file has no vocab metadata and W_E has its 30 rows)"
            }
        })
    }
}
