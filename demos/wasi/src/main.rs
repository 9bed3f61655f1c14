//! zl-core under WASI: trains the seed model for 10,000 epochs and prints the loss every 1,000
//! epochs and, last, the checksum line that the host's `zl train --checksum` prints. An
//! ordinary std program; run.sh builds it for wasm32-wasip1 and runs it under node.
use std::{
    fmt,
    io::{self, Write},
    process::ExitCode,
};

/// Stdout as a `core::fmt::Write`, which is what zl-seed-train writes to (it is no_std).
struct Stdout(io::Stdout);

impl fmt::Write for Stdout {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_all(s.as_bytes()).map_err(|_| fmt::Error)
    }
}

fn main() -> ExitCode {
    let mut out = Stdout(io::stdout());
    match zl_seed_train::train_seed(&mut out) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("training failed: {e}");
            ExitCode::FAILURE
        }
    }
}
