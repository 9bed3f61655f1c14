//! `zl`: train a zero-layer transformer and show what it learned. See `lib.rs`.

fn main() -> std::process::ExitCode {
    // Rust ignores SIGPIPE, so a closed pipe (`zl train | head`) would make every print panic.
    // With the default action zl ends as other tools do, and atomic writes leave no partial file.
    #[cfg(unix)]
    // SAFETY: called first, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    zl_cli::main()
}
