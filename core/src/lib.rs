//! zl-core: a zero-layer transformer, trained exactly as the seed notebook trains it.
//!
//! A zero-layer transformer embeds the current token and unembeds it straight into next-token
//! logits: `logits = W_E[token] · W_U`. Its loss depends on the training text only through the
//! V×V bigram count matrix, so one full-batch training step costs O(V²·D) whatever the corpus
//! length ([`loss`]). The core reproduces the notebook's PyTorch run: the same `torch.randn`
//! initialisation ([`rng`]), the same mean cross-entropy, and `torch.optim.AdamW` ([`adamw`]).
//!
//! Beyond the capacity tiers, [`big`] trains a model of any size with the same sums in the same
//! order, over sparse counts ([`Csr`]) in tiles of rows, in the caller's buffers.
//!
//! The crate is `no_std` with no allocator: every matrix of training is an nalgebra `SMatrix` on
//! the stack, and `exp` and `ln` are computed in plain f32 operations ([`math`]), so the same
//! inputs give the same bits on x86-64, Cortex-M and wasm32. The f64 analysis of a trained model
//! ([`interpret`], the `alloc` feature) is sized at run time instead, and [`verdict`] decides
//! from its numbers what the model is.
//!
//! This is the reference. The fast versions of the training loop (AVX-512 and the other
//! instruction sets) live in the crate zl-lanes (`lanes/`), and the GPU's in `kernels/`; each
//! must match [`Trainer::run`] bit for bit, and the tests check that they do. The constants of
//! [`math`] and the fields of [`Workspace`], [`Grads`] and [`AdamW`] are public for them.
//!
//! Layout conventions: nalgebra matrices are column-major. Wherever weights leave the core
//! (files, JSON, checksums) they are written row-major, as PyTorch stores them.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Index loops mirror the maths (C[i][j], W_E[i][k]); iterator chains would hide it.
#![allow(clippy::needless_range_loop)]

#[cfg(any(test, feature = "alloc"))]
extern crate alloc;

pub mod adamw;
pub mod big;
pub mod bigram;
pub mod capacity;
pub mod checksum;
pub mod corpus;
pub mod csr;
pub mod flags;
#[cfg(any(test, feature = "alloc"))]
pub mod interpret;
pub mod loss;
pub mod math;
pub mod model;
pub mod rng;
pub mod sample;
pub mod train;
#[cfg(any(test, feature = "alloc"))]
pub mod verdict;

pub use adamw::{AdamW, AdamWConfig};
pub use bigram::Bigrams;
pub use corpus::{glyph, CorpusError, Escaped, Ids, Label, Token, Vocab, SEED_TEXT, SEED_VOCAB};
pub use csr::{Csr, CsrError};
pub use loss::{loss, loss_and_grad, Grads, Workspace};
pub use model::{Model, ShapeError};
pub use train::{Diverged, TrainConfig, Trainer};

/// Vocabulary size of the seed notebook's corpus (30 distinct characters).
pub const SEED_V: usize = 30;
/// `d_model` of the seed notebook's model.
pub const SEED_D: usize = 16;
/// The seed notebook's model: W_E 30×16, W_U 16×30.
pub type SeedModel = Model<SEED_V, SEED_D>;
