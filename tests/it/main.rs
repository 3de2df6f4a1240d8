//! Integration tests: the built baton, driven as a pod would drive it, with
//! real processes, signals and files.

mod chain;
mod cli;
#[cfg(feature = "tekton")]
mod creds;
mod exit_codes;
mod features;
mod harness;
mod install;
mod kubelet;
mod layout;
mod oom;
mod pods;
mod reaping;
mod restart;
mod sidecar;
mod signals;
mod static_binary;
mod tekton;
mod terminal;
mod termination;
mod wait;
#[cfg(feature = "tekton")]
mod when;
