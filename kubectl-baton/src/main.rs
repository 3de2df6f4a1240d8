//! `kubectl-baton`: the kubectl plugin that wires plain manifests for baton
//! (`kubectl baton render`). A member of its own so that what it needs
//! (YAML) never reaches the in-pod binary.
// The doc comments of the options are their help text, read by users, not rustdoc.
#![allow(clippy::doc_markdown, clippy::doc_link_with_quotes)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use kubectl_baton::output::Format;
use kubectl_baton::podman::Target;
use kubectl_baton::{input, output, Options, DEFAULT_IMAGE};

/// Wires plain Pods, Jobs, CronJobs and workloads for baton, offline.
#[derive(Debug, Parser)]
#[command(name = "kubectl-baton", version = env!("BATON_VERSION"), about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Wire manifests for baton: the steps run in order, sidecars beside them
    /// (kubectl baton render -f job.yaml | kubectl apply -f -)
    Render(Render),
    /// How a pod's steps went: one row per sidecar and step, in chain order
    /// (kubectl get pod NAME -o json | kubectl baton status)
    Status(Status),
}

#[derive(Debug, Args)]
struct Status {
    /// `kubectl get pod NAME -o json` (or -o yaml): one pod, or a List of
    /// pods (a Job's: kubectl get pods -l job-name=NAME -o json); - for
    /// stdin (the default)
    #[arg(short = 'f', long = "filename", value_name = "FILE|-")]
    file: Option<PathBuf>,

    /// The output format: a table, or the same as JSON
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    output: StatusFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StatusFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
struct Render {
    /// A manifest (YAML or JSON, one or many documents), a directory of them
    /// (*.yaml, *.yml, *.json, not its subdirectories), or - for stdin (the
    /// default); repeatable
    #[arg(short = 'f', long = "filename", value_name = "FILE|DIR|-")]
    files: Vec<PathBuf>,

    /// The image of the initContainer that installs baton (the binary at /baton)
    #[arg(long, value_name = "IMAGE", default_value = DEFAULT_IMAGE)]
    image: String,

    /// The command of containers of IMAGE (the image string exactly as written)
    /// that have no command of their own, as if written in their `command`
    /// (e.g. 'nginx:1.27=["/docker-entrypoint.sh","nginx","-g","daemon off;"]'); repeatable
    #[arg(long = "command", value_name = "IMAGE=JSON_ARRAY", value_parser = kubectl_baton::parse_command)]
    commands: Vec<(String, Vec<String>)>,

    /// The output format: multi-document YAML, or a stream of JSON objects
    #[arg(short = 'o', long = "output", value_enum, default_value = "yaml")]
    output: Format,

    /// What the output is for: a cluster, or `podman kube play` (each
    /// workload as a Pod, emptyDirs named after it, no termination message;
    /// docs/podman.md). Applies to pods wired by hand too
    #[arg(long = "for", value_enum, default_value = "kubernetes")]
    target: Target,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Render(args) => render(&args),
        Command::Status(args) => status(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(lines) => {
            let mut stderr = std::io::stderr().lock();
            for line in lines {
                let _ = writeln!(stderr, "kubectl-baton: {line}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Reads everything, renders everything, then writes: nothing on stdout
/// unless every object rendered.
fn render(args: &Render) -> Result<(), Vec<String>> {
    let options = Options {
        image: args.image.clone(),
        commands: args.commands.clone(),
        target: args.target,
    };
    let files = input::expand(&args.files).map_err(|e| vec![e.0])?;
    let mut documents = Vec::new();
    let mut errors = Vec::new();
    for file in &files {
        match input::read(file.as_deref()) {
            Ok(docs) => documents.extend(docs),
            Err(err) => errors.push(err.0),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let rendered = kubectl_baton::render(documents, &options)?;
    let text = output::write(&rendered.documents, args.output).map_err(|e| vec![e])?;
    print(&text)?;
    let mut stderr = std::io::stderr().lock();
    for line in rendered.report {
        let _ = writeln!(stderr, "kubectl-baton: {line}");
    }
    Ok(())
}

/// Reads the pods, prints their table (or data).
fn status(args: &Status) -> Result<(), Vec<String>> {
    let file = args.file.as_deref().filter(|f| f.as_os_str() != "-");
    let documents = input::read(file).map_err(|e| vec![e.0])?;
    let mut pods = Vec::new();
    for doc in &documents {
        let found = kubectl_baton::status::pods(&doc.value)
            .map_err(|why| vec![format!("{}: document {}: {why}", doc.source, doc.number)])?;
        pods.extend(found);
    }
    if pods.is_empty() {
        return Err(vec!["no pod in the input".to_owned()]);
    }
    let text = match args.output {
        StatusFormat::Table => kubectl_baton::status::table(&pods),
        StatusFormat::Json => {
            output::json(&kubectl_baton::status::data(&pods)).map_err(|e| vec![e])?
        }
    };
    print(&text)
}

/// Writes `text` on stdout, whole.
fn print(text: &str) -> Result<(), Vec<String>> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|err| vec![format!("writing to stdout: {err}")])
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
