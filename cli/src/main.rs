//! `zl`: train a zero-layer transformer and show what it learned.
//!
//! Data (reports, JSON) goes to stdout; progress and errors go to stderr. Every error is one
//! line that names the flag, file or value at fault and how to fix it, with a non-zero exit:
//! 2 for a bad command line, 1 for anything that fails afterwards.

mod args;
mod files;
mod show;
mod simd;
mod train;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
            ExitCode::from(1)
        }
    }
}

fn run(cli: args::Cli) -> anyhow::Result<()> {
    match cli.command {
        args::Command::Train(a) => train::run(cli.backend, &a),
    }
}
