//! The external tier: tests that need what `cargo test` must not install or start. Each module
//! is one step of scripts/test.sh, which installs what it needs first; under `CI` none may skip.
//! - `python`: PyTorch, numpy, TransformerLens and Dask, in scripts/test.sh's virtual
//!   environment (`ZL_PYTHON`).
//! - `browser`: headless Chromium, and node with playwright-core (tests/page).
//! - `cross`: builds for other targets (thumbv7em, wasm32) and their runs under QEMU and node.

mod browser;
mod cross;
mod python;
