//! The WASI demo with WebAssembly SIMD128: the seed run through zl-lanes' `simd128` loop (the
//! training step over 4-lane `v128` registers, bit-identical to zl-core), its training time,
//! and, last, the checksum line that the host's `zl train --checksum` prints. Built by
//! `run.sh simd128` with `-C target-feature=+simd128`; without it this program says so and
//! fails.
use std::{process::ExitCode, time::Instant};

use zl_core::{
    checksum, AdamWConfig, Bigrams, SeedModel, Trainer, Vocab, SEED_D, SEED_TEXT, SEED_V,
};
use zl_lanes::Isa;
use zl_seed_train::EPOCHS;

fn main() -> ExitCode {
    let isa = match Isa::by_name("simd128") {
        Ok(isa) => isa,
        Err(e) => {
            eprintln!("{e}: build with RUSTFLAGS=\"-C target-feature=+simd128\" (run.sh simd128)");
            return ExitCode::FAILURE;
        }
    };
    let b = Bigrams::<SEED_V>::from_text(&Vocab::seed(), SEED_TEXT).expect("the seed text");
    let model = SeedModel::init_torch(0, SEED_V, SEED_D).expect("the seed sizes");
    let mut t = Trainer::new(model, AdamWConfig::default());
    let start = Instant::now();
    let result = isa.run(&mut t, &b, EPOCHS, |_, _| {});
    let ms = start.elapsed().as_secs_f64() * 1e3;
    match result {
        Ok(final_loss) => {
            println!("trained {EPOCHS} epochs with {isa} in {ms:.1} ms (loop only, node's clock)");
            let mut line = String::new();
            checksum::write_line(&mut line, EPOCHS, final_loss, &t.model).expect("a string");
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(zl_core::Diverged { epoch, loss }) => {
            eprintln!("training failed: loss {loss} at epoch {epoch}");
            ExitCode::FAILURE
        }
    }
}
