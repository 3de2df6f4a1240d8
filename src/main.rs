//! The entry point: parse, set up logging, run, report an error once.
//!
//! baton starts from C's `main` (`#![no_main]`), not through the standard
//! library's start-up, which reads /proc/self/maps to place a stack guard,
//! maps an alternate signal stack for SIGSEGV/SIGBUS handlers and ignores
//! SIGPIPE: work paid in every container that baton does not need (a stack
//! overflow is still a SIGSEGV), and it was most of what separated `baton --
//! true` from tini (docs/performance.md). What of it baton does need is in
//! `startup`; `std::process::exit` flushes stdout as a return from `main` would.
// Under `cargo test` the harness brings its own `main`.
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
use std::ffi::{c_char, c_int};

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    baton::startup::init();
    let cli = baton::cli::parse();
    let default = if cli.step.tekton_mode() {
        baton::logging::TEKTON_DEFAULT_LEVEL
    } else {
        baton::logging::DEFAULT_LEVEL
    };
    baton::logging::init(cli.log.log_level.clone(), cli.log.log_format, default);
    let code = baton::run(cli).unwrap_or_else(|err| {
        tracing::error!(target: "baton", "{err:#}");
        baton::exit_code::of_error(&err)
    });
    std::process::exit(code.into())
}
