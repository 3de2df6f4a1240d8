//! `kubectl-baton`: the kubectl plugin that wires plain manifests for baton.
//! A member of its own so that what it needs never reaches the in-pod binary;
//! its subcommands (`render`, `status`) come with the renderer.

use clap::Parser;

/// Wires plain pods, jobs and cron jobs for baton, offline.
#[derive(Debug, Parser)]
#[command(name = "kubectl-baton", version, about)]
struct Cli {}

fn main() {
    let Cli {} = Cli::parse();
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
