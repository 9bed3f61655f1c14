//! Trains the seed notebook's model on any target: no_std, no allocator, output through any
//! `core::fmt::Write`. This is the whole of what a firmware or WASI program needs from zl-core;
//! docs/EMBEDDED.md shows it as the minimal example.
#![no_std]

use core::fmt::{self, Write};

use zl_core::{
    checksum, AdamWConfig, Bigrams, CorpusError, SeedModel, ShapeError, Trainer, Vocab, SEED_D,
    SEED_TEXT, SEED_V,
};

/// Full-batch epochs, as in the notebook.
pub const EPOCHS: u32 = 10_000;
/// How often the loss is printed.
pub const REPORT_EVERY: u32 = 1_000;

/// The checksum line, `epochs=10000 final_loss=0x… weights_fnv1a=0x…` (59 characters).
pub type ChecksumLine = heapless::String<80>;

/// Why a run failed.
#[derive(Debug)]
pub enum Error {
    /// The seed text did not fit the vocabulary (cannot happen with the built-in corpus).
    Corpus(CorpusError),
    /// The model did not fit its capacity (cannot happen for the seed sizes).
    Shape(ShapeError),
    /// The loss stopped being finite at this epoch.
    Diverged { epoch: u32, loss: f32 },
    /// The output stream refused a write.
    Write,
}

impl From<fmt::Error> for Error {
    fn from(_: fmt::Error) -> Self {
        Error::Write
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Corpus(e) => write!(f, "corpus: {e}"),
            Error::Shape(e) => write!(f, "model: {e}"),
            Error::Diverged { epoch, loss } => write!(f, "loss {loss} at epoch {epoch}"),
            Error::Write => f.write_str("the output stream refused a write"),
        }
    }
}

/// Trains the seed model (torch seed 0, AdamW lr 1e-3) for [`EPOCHS`] epochs, writing the loss
/// every [`REPORT_EVERY`] epochs to `out`, and returns the checksum line for the caller to print
/// last. The training state (a 24 KiB `Trainer`, 3.6 KiB of bigram counts) lives on this
/// function's stack: about 40 KiB of stack in all on a Cortex-M (docs/EMBEDDED.md).
pub fn train_seed(out: &mut impl Write) -> Result<ChecksumLine, Error> {
    let bigrams = Bigrams::<SEED_V>::from_text(&Vocab::seed(), SEED_TEXT).map_err(Error::Corpus)?;
    let model = SeedModel::init_torch(0, SEED_V, SEED_D).map_err(Error::Shape)?;
    let mut trainer = Trainer::new(model, AdamWConfig::default());

    // The loss before each reported epoch's update, as the notebook's `train_losses[::1000]`.
    let mut written = Ok(());
    let final_loss = trainer
        .run(&bigrams, EPOCHS, |epoch, loss| {
            if epoch % REPORT_EVERY == 0 {
                written = written.and(writeln!(out, "epoch {epoch:>5}  loss {loss:.6}"));
            }
        })
        .map_err(|zl_core::Diverged { epoch, loss }| Error::Diverged { epoch, loss })?;
    written?;
    writeln!(
        out,
        "epoch {EPOCHS:>5}  loss {final_loss:.6}  (after the last update)"
    )?;

    let mut line = ChecksumLine::new();
    checksum::write_line(&mut line, EPOCHS, final_loss, &trainer.model)?;
    Ok(line)
}
