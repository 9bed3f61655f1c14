//! zl-cli: the `zl` command line as a library, so that fuzz targets and tests reach the same
//! file and corpus readers the binary uses. `src/main.rs` only calls [`main`].
//!
//! Data (reports, JSON) goes to stdout; progress and errors go to stderr. Every error is one
//! line that names the flag, file or value at fault and how to fix it, with a non-zero exit:
//! 2 for a bad command line, 1 for anything that fails afterwards, 130 for a run stopped by
//! Ctrl-C.

//!
//! The layers, each a folder, with dependencies pointing one way (docs/ARCHITECTURE.md):
//! [`cmd`] → [`backend`], [`data`], [`analysis`], [`render`] → zl-core (and zl-lanes, zl-cuda).

pub mod analysis;
pub mod args;
pub mod backend;
pub mod cmd;
pub mod data;
pub mod render;

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line, runs the command, and turns any error into one line on stderr.
pub fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return args::report_usage_error(e),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the context chain, outermost first.
            let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("zl: error: {}", msg.join(": "));
            if e.downcast_ref::<cmd::live::Interrupted>().is_some() {
                ExitCode::from(cmd::live::INTERRUPTED_EXIT)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn run(cli: args::Cli) -> anyhow::Result<()> {
    use args::Command::*;
    match &cli.command {
        Train(a) => cmd::train::run(cli.backend(&a.training), a),
        Sweep(a) => cmd::sweep::run(cli.backend(&a.training), a),
        Interpret(a) => cmd::interpret::run(cli.backend(&a.source.training), a),
        Report(a) => cmd::report::run(cli.backend(&a.source.training), a),
        Sample(a) => cmd::sample::run(cli.backend(&a.source.training), a),
        Run(a) => cmd::run::run(cli.backend(&a.source.training), a),
        Eval(a) => cmd::eval::run(a),
        Count(a) => cmd::count::run(a),
    }
}
