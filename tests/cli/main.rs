//! The `zl` binary as a user runs it, one module per command (and usage, hostile input, the
//! docs and the embedded guide as their own), all in one test binary so that zl-cli links once.
//!
//! The external tier (`external`: PyTorch, numpy, TransformerLens and Dask; Chromium; QEMU,
//! node and cross-builds) is built only with `--features external`; scripts/test.sh installs
//! what it needs and runs it as steps of its own (docs/TESTING.md).

mod count;
mod docs;
mod embedded;
mod eval;
#[cfg(feature = "external")]
mod external;
mod hostile;
mod interpret;
mod large;
mod regimes;
mod report;
mod run;
mod sample;
mod sweep;
mod tokens;
mod train;
mod usage;
