//! What zl reads and writes: corpus files ([`corpus`]) as characters or a tokenizer's tokens
//! ([`tokenizer`], [`vocab`]), their counts as the pairs that occur ([`pairs`]), count files
//! ([`counts`]), and weights, figures and reports as files written atomically ([`files`]).
//! Everything read is checked here, before it reaches a backend.

pub mod corpus;
pub mod counts;
pub mod files;
pub mod memory;
pub mod merge;
pub mod pairs;
pub mod tokenizer;
pub mod vocab;

pub use corpus::MAX_VOCAB;
