//! The entry point: parse, set up logging, run, report an error once.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = baton::cli::parse();
    baton::logging::init(cli.step.log_level, cli.step.log_format);
    match baton::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("baton: {err:#}");
            ExitCode::from(baton::exit_code::of_error(&err))
        }
    }
}
