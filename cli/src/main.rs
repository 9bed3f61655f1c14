//! `zl`: train a zero-layer transformer and show what it learned. See `lib.rs`.

fn main() -> std::process::ExitCode {
    zl_cli::main()
}
