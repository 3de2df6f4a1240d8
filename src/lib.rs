//! baton: makes the containers of one Kubernetes pod run in order. Each
//! container's command becomes `baton [OPTIONS] -- COMMAND`; baton waits for
//! the marker of the container before it, runs COMMAND as a child, forwards
//! signals, reaps zombies, passes the exit code on and writes its own marker.
//! See `docs/how-baton-works.md`.

pub mod breakpoint;
pub mod child;
pub mod cli;
#[cfg(feature = "tekton")]
pub mod creds;
pub mod duration;
pub mod envfile;
pub mod exit_code;
pub mod install;
pub mod job_control;
pub mod listeners;
pub mod lock;
pub mod logging;
pub mod marker;
pub mod oom;
pub mod output;
pub mod pod_run;
pub mod ready;
pub mod reap;
pub mod requests;
pub mod settings;
pub mod signals;
pub mod startup;
pub mod step;
#[cfg(feature = "tekton")]
pub mod substitute;
pub mod supervise;
pub mod tekton;
pub mod terminal;
pub mod termination;
pub mod timestamp;
pub mod wait;
pub mod watch;
#[cfg(feature = "tekton")]
pub mod when;

use anyhow::Result;

use cli::{Cli, Sub};

/// Does what the command line asks and returns baton's exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.sub {
        Some(Sub::Install { dest }) => install::install(&dest, install::MODE).map(|_| 0),
        Some(Sub::Cp { dest, .. }) => install::install(&dest, tekton::BINARY_MODE).map(|_| 0),
        Some(Sub::Init { dest, steps, .. }) => {
            install::install(&dest, tekton::BINARY_MODE)?;
            tekton::link_steps(&steps).map(|()| 0)
        }
        Some(Sub::StepInit { steps }) => tekton::link_steps(&steps).map(|()| 0),
        Some(Sub::DecodeScript { file }) => tekton::decode_script(&file).map(|()| 0),
        None => step::run(&cli.step),
    }
}
