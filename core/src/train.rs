//! Full-batch training, as the notebook's loop runs it: each epoch computes the loss and its
//! gradient, records the loss (the notebook's `train_losses`, taken before the update), and
//! takes one AdamW step.

use crate::{
    adamw::{AdamW, AdamWConfig},
    bigram::Bigrams,
    loss::{forward, loss_and_grad, Grads, Workspace},
    model::Model,
};

/// A training run's settings (serialised flat: seed, epochs, lr, weight_decay; with `alloc`,
/// which serde's flatten needs).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(all(feature = "serde", feature = "alloc"), derive(serde::Serialize))]
pub struct TrainConfig {
    /// `torch.manual_seed` before the weights are drawn. Default 0, as in the notebook.
    pub seed: u64,
    /// Full-batch epochs (one AdamW step each). Default 10,000, as in the notebook.
    pub epochs: u32,
    /// Optimiser settings. Default: the notebook's `AdamW(lr=1e-3)` with PyTorch's defaults.
    #[cfg_attr(all(feature = "serde", feature = "alloc"), serde(flatten))]
    pub adamw: AdamWConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 0,
            epochs: 10_000,
            adamw: AdamWConfig::default(),
        }
    }
}

/// A run whose loss stopped being finite: at the first epoch whose loss before its update is
/// not finite (that epoch's update is not taken), or at the run's last epoch count when every
/// epoch's loss was finite but the loss after the last update or a weight is not. This is the
/// divergence rule of every backend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Diverged {
    /// The epoch (0-based) whose loss was not finite, or the run's epoch count.
    pub epoch: u32,
    /// That loss.
    pub loss: f32,
}

impl Diverged {
    /// The same rule after the fact, for a run that went through all `epochs` epochs whatever
    /// its losses (a GPU's): the first of `losses` (each epoch's, before its update) that is not
    /// finite, else the end when `end_finite` (the final loss and every weight) is false. `None`
    /// for a finite run, and for a run whose end is not finite but whose losses were not
    /// recorded (its epoch is then unknown).
    pub fn after_the_fact(
        losses: &[f32],
        final_loss: f32,
        end_finite: bool,
        epochs: u32,
    ) -> Option<Diverged> {
        match losses.iter().position(|l| !l.is_finite()) {
            Some(e) => Some(Diverged {
                epoch: e as u32,
                loss: losses[e],
            }),
            None => (!end_finite && losses.len() == epochs as usize).then_some(Diverged {
                epoch: epochs,
                loss: final_loss,
            }),
        }
    }
}

/// Everything a training run holds: the model, the optimiser state and the scratch space.
/// The seed model's whole state is 24 KiB (24,664 bytes on a 32-bit Cortex-M, 24,672 on
/// x86-64: docs/EMBEDDED.md), all of it inline (no heap).
#[derive(Clone, Debug)]
pub struct Trainer<const V: usize, const D: usize> {
    /// The weights being trained.
    pub model: Model<V, D>,
    /// AdamW moments and step count.
    pub opt: AdamW<V, D>,
    /// The last gradient.
    pub grads: Grads<V, D>,
    /// Scratch for the forward pass.
    pub ws: Workspace<V, D>,
}

impl<const V: usize, const D: usize> Trainer<V, D> {
    /// A trainer for `model` with fresh AdamW state.
    pub fn new(model: Model<V, D>, adamw: AdamWConfig) -> Self {
        Trainer {
            model,
            opt: AdamW::new(adamw),
            grads: Grads::default(),
            ws: Workspace::default(),
        }
    }

    /// One epoch of [`Trainer::run`]: returns the loss before the update (what the notebook
    /// appends to `train_losses`), then updates the weights, unless that loss is not finite
    /// (where a run stops, as diverged, without the update).
    pub fn step(&mut self, b: &Bigrams<V>) -> f32 {
        let loss = loss_and_grad(&self.model, b, &mut self.ws, &mut self.grads);
        if loss.is_finite() {
            self.opt.step(&mut self.model, &self.grads);
        }
        loss
    }

    /// The loss of the current weights (after the last update), without a gradient.
    pub fn loss(&mut self, b: &Bigrams<V>) -> f32 {
        forward(&self.model, b, &mut self.ws)
    }

    /// Runs `epochs` steps, calling `on_epoch(epoch, loss_before_update)` after each; stops
    /// early at the first loss that is not finite. Returns the loss after the last update, or
    /// where the run diverged ([`Diverged`]).
    pub fn run(
        &mut self,
        b: &Bigrams<V>,
        epochs: u32,
        mut on_epoch: impl FnMut(u32, f32),
    ) -> Result<f32, Diverged> {
        for epoch in 0..epochs {
            let loss = self.step(b);
            if !loss.is_finite() {
                return Err(Diverged { epoch, loss });
            }
            on_epoch(epoch, loss);
        }
        self.final_loss(b, epochs)
    }

    /// The end of a run of `epochs` epochs: the loss after the last update, or [`Diverged`] at
    /// `epochs` when that loss or any weight is not finite.
    pub fn final_loss(&mut self, b: &Bigrams<V>, epochs: u32) -> Result<f32, Diverged> {
        let final_loss = self.loss(b);
        if final_loss.is_finite() && self.model.is_finite() {
            Ok(final_loss)
        } else {
            Err(Diverged {
                epoch: epochs,
                loss: final_loss,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{corpus::Vocab, SEED_TEXT};

    #[test]
    fn training_lowers_the_loss_towards_the_bigram_floor() {
        let b = Bigrams::from_text(&Vocab::seed(), SEED_TEXT).unwrap();
        let mut t = Trainer::new(
            Model::<30, 16>::init_torch(0, 30, 16).unwrap(),
            AdamWConfig::default(),
        );
        let mut first = None;
        let last = t.run(&b, 3000, |e, l| {
            if e == 0 {
                first = Some(l)
            }
        });
        let (first, last) = (first.unwrap(), last.unwrap());
        let floor = b.conditional_entropy() as f32;
        assert!(
            first > 3.4 && last < 1.62 && last > floor,
            "{first} -> {last}, floor {floor}"
        );
    }

    /// A run through every epoch, judged afterwards, diverges where `run` stops.
    #[test]
    fn the_rule_after_the_fact_is_runs() {
        let b = Bigrams::from_text(&Vocab::seed(), SEED_TEXT).unwrap();
        for lr in [1e-3, 1e3, 1e30] {
            let config = AdamWConfig {
                lr,
                ..AdamWConfig::default()
            };
            let m = Model::<30, 16>::init_torch(0, 30, 16).unwrap();
            let (mut run, mut all) = (Trainer::new(m.clone(), config), Trainer::new(m, config));
            let want = run.run(&b, 50, |_, _| {}).err();
            assert_eq!(want.is_some(), lr > 1.0, "lr {lr}: {want:?}");
            let losses: std::vec::Vec<f32> = (0..50).map(|_| all.step(&b)).collect();
            let end = all.loss(&b);
            let got = Diverged::after_the_fact(
                &losses,
                end,
                end.is_finite() && all.model.is_finite(),
                50,
            );
            let bits = |d: Option<Diverged>| d.map(|d| (d.epoch, d.loss.to_bits()));
            assert_eq!(bits(got), bits(want), "lr {lr}");
        }
        // A non-finite end: at the epoch count, unless the losses were not recorded.
        let inf = f32::INFINITY;
        let end = Diverged::after_the_fact(&[1.0, 2.0], inf, false, 2);
        assert_eq!(
            end,
            Some(Diverged {
                epoch: 2,
                loss: inf
            })
        );
        assert_eq!(Diverged::after_the_fact(&[], inf, false, 2), None);
    }
}
