//! `cargo run -p xtask -- generate` (what `scripts/generate` runs): writes the
//! man pages and shell completions that the `xtask` library renders from
//! baton's command line into the repository, and says what changed.

use std::process::ExitCode;

const USAGE: &str = "usage: cargo run -p xtask -- generate";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate"] => match xtask::generate(&xtask::repo_root()) {
            Ok(changed) if changed.is_empty() => {
                println!("generated files: all up to date");
                ExitCode::SUCCESS
            }
            Ok(changed) => {
                for line in changed {
                    println!("{line}");
                }
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("xtask generate: {err}");
                ExitCode::FAILURE
            }
        },
        ["-h" | "--help"] => {
            println!(
                "{USAGE}\n\ngenerate: writes docs/man/*.1, completions/* and kubectl-baton/generated/* from baton's command line"
            );
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
