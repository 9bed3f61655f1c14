//! The CPU backend: zl-lanes' training loop in one instruction set, one model per task across
//! every core (rayon), each exactly `Trainer::run`.

use std::time::Instant;

use anyhow::Result;
use rayon::prelude::*;
use zl_core::{Bigrams, Trainer};
use zl_lanes::{Big, BigModel, Isa};

use super::{Diverged, Run};

/// One model's losses, final loss and seconds.
type Outcome = (Vec<f32>, f32, f64);

pub(super) fn train_states<const V: usize, const D: usize>(
    isa: Isa,
    b: &Bigrams<V>,
    mut trainers: Vec<Trainer<V, D>>,
    epochs: u32,
    record: bool,
) -> Result<Vec<Run<V, D>>> {
    // The trainers stay where they are (a 256×64 one is over a megabyte, too big to move
    // through a worker thread's stack); each task runs one in place.
    let results: Vec<Result<Outcome, Diverged>> = trainers
        .par_iter_mut()
        .enumerate()
        .map(|(model, t)| {
            let mut losses = Vec::with_capacity(if record { epochs as usize } else { 0 });
            let mut last = None;
            let start = Instant::now();
            let result = isa.run(t, b, epochs, |_, l| {
                if record {
                    losses.push(l);
                }
                last = Some(l);
            });
            let seconds = start.elapsed().as_secs_f64();
            match result {
                Ok(final_loss) => Ok((losses, final_loss, seconds)),
                Err(at) => Err(Diverged {
                    model,
                    at,
                    previous: last,
                    lr: t.opt.config.lr,
                }),
            }
        })
        .collect();
    // The first model that diverged, in the models' order, as on every backend.
    let mut runs = Vec::with_capacity(trainers.len());
    for (trainer, r) in trainers.into_iter().zip(results) {
        let (losses, final_loss, seconds) = r?;
        runs.push(Run {
            trainer,
            losses,
            final_loss,
            seconds,
        });
    }
    Ok(runs)
}

/// One model beyond the capacity tiers, `epochs` epochs from its state, on every core (rayon's
/// thread count): its losses (when `record`), the loss after the last update and the seconds.
/// A diverged model is model 0 of the error ([`Diverged`]).
pub(super) fn train_big(
    isa: Isa,
    b: &zl_core::Csr<'_>,
    m: &mut BigModel,
    epochs: u32,
    record: bool,
) -> Result<Outcome> {
    let mut t = Big::new(
        isa,
        rayon::current_num_threads(),
        None,
        b.vocab_len(),
        m.d_model,
    );
    let mut losses = Vec::with_capacity(if record { epochs as usize } else { 0 });
    let mut last = None;
    let start = Instant::now();
    let lr = m.adamw.lr;
    let result = t.run(&mut m.state(), b, epochs, |_, l| {
        if record {
            losses.push(l);
        }
        last = Some(l);
    });
    let seconds = start.elapsed().as_secs_f64();
    match result {
        Ok(final_loss) => Ok((losses, final_loss, seconds)),
        Err(at) => Err(Diverged {
            model: 0,
            at,
            previous: last,
            lr,
        }
        .into()),
    }
}
