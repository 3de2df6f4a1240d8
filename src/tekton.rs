//! Where Tekton's entrypoint and baton differ, Tekton's side: the exit codes
//! and `exitCode` files of its mode (`--mode tekton`), and what its init
//! containers ask of the binary besides the copy: the `/tekton/steps` links
//! (`init`, `step-init`) and the decoding of the `script:` files that the
//! place-scripts container writes (`decode-script`). The facts are
//! tektoncd/pipeline's `pkg/entrypoint`, `cmd/entrypoint/subcommands` and
//! `pkg/pod/script.go` (docs/tekton.md).

use std::ffi::OsString;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
#[cfg(feature = "tekton")]
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
#[cfg(feature = "tekton")]
use base64::Engine as _;

use crate::exit_code::{Failure, USAGE};

/// The exit code of a step that timed out, in Tekton's mode.
pub const TIMEOUT_EXIT: u8 = 1;
/// The exit code of a cancelled step, in Tekton's mode: its entrypoint exits
/// with the number of SIGKILL.
pub const CANCELLED_EXIT: u8 = 9;
/// The exit code of a step whose termination message could not be written,
/// in Tekton's mode: its entrypoint's `log.Fatalf`.
pub const MESSAGE_EXIT: u8 = 1;

/// What Tekton's entrypoint writes to `STEP_METADATA_DIR/exitCode`, if
/// anything (`pkg/entrypoint/entrypointer.go`): `0` for a success (and a
/// step its `when` expressions skipped), the command's code under
/// `on_error: continue`, `killed` for a cancelled step; nothing for a failure,
/// a timeout or a skip after a failure upstream.
pub fn exit_code_file(code: u8, command_code: Option<u8>, reason: Option<&str>) -> Option<String> {
    match (reason, command_code) {
        (Some("Cancelled"), _) => Some("killed".into()),
        (_, Some(command)) => Some(command.to_string()),
        _ if code == 0 => Some("0".into()),
        _ => None,
    }
}

/// This machine's platform as Go's `platforms.NewPlatform().Format()`
/// writes it, the key of `TEKTON_PLATFORM_COMMANDS`.
pub const PLATFORM: &str = if cfg!(target_arch = "x86_64") {
    "linux/amd64"
} else if cfg!(target_arch = "aarch64") {
    "linux/arm64/v8"
} else {
    "linux/unknown"
};

/// The command for this platform from `TEKTON_PLATFORM_COMMANDS`, which the
/// controller sets instead of `-entrypoint` for a step without `command`
/// whose image is built for several platforms: a JSON object from platform
/// (`linux/amd64`, `linux/arm64/v8`) to the image's command. A platform with
/// a CPU variant falls back to the same platform without it, as Tekton's.
#[cfg(feature = "tekton")]
pub fn platform_command(json: &str, platform: &str) -> Result<Vec<String>, String> {
    let commands: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(json)
        .map_err(|err| {
            format!("TEKTON_PLATFORM_COMMANDS is not a JSON object of commands: {err}")
        })?;
    let without_variant = platform.rsplit_once('/').map_or(platform, |(head, _)| head);
    commands
        .get(platform)
        .or_else(|| commands.get(without_variant))
        .cloned()
        .ok_or_else(|| format!("TEKTON_PLATFORM_COMMANDS has no command for platform {platform:?}"))
}

/// Without the tekton feature (the image's /baton) there is no
/// `TEKTON_PLATFORM_COMMANDS`: the controller runs /ko-app/entrypoint.
#[cfg(not(feature = "tekton"))]
pub fn platform_command(_json: &str, _platform: &str) -> Result<Vec<String>, String> {
    Err(format!("TEKTON_PLATFORM_COMMANDS {NOT_IN_THIS_BUILD}"))
}

/// What a build without the tekton feature says of what only that feature has.
#[cfg(not(feature = "tekton"))]
const NOT_IN_THIS_BUILD: &str =
    "is not in this build of baton: use the image's /ko-app/entrypoint, built with the tekton feature";

/// The mode Tekton gives the entrypoint binary it copies (`cp`, `init`).
pub const BINARY_MODE: u32 = 0o311;

/// Where Tekton's directories are: `/tekton`, or `$BATON_TEKTON_ROOT` (for
/// tests, and for a layout of one's own).
pub fn root() -> PathBuf {
    std::env::var_os("BATON_TEKTON_ROOT").map_or_else(|| PathBuf::from("/tekton"), PathBuf::from)
}

/// Makes `ROOT/steps/NAME` and `ROOT/steps/I`, for the I-th of `steps`,
/// links to `ROOT/run/I/status`, the directory only step I may write: so
/// that `$(steps.NAME.exitCode.path)` and step results resolve. A link that
/// exists already (a restarted container) is left as it is.
pub fn link_steps(steps: &[OsString]) -> Result<()> {
    let root = root();
    let dir = root.join("steps");
    fs::create_dir_all(&dir).with_context(|| format!("creating directory {}", dir.display()))?;
    for (i, name) in steps.iter().enumerate() {
        let status = root.join("run").join(i.to_string()).join("status");
        for link in [dir.join(name), dir.join(i.to_string())] {
            match std::os::unix::fs::symlink(&status, &link) {
                Err(err) if err.kind() != ErrorKind::AlreadyExists => {
                    return Err(err).with_context(|| {
                        format!("linking {} to {}", link.display(), status.display())
                    });
                }
                _ => {}
            }
        }
    }
    tracing::info!(steps = steps.len(), dir = %dir.display(), "step links made");
    Ok(())
}

/// Go's `base64.StdEncoding`, as Tekton decodes with it: padded, lenient
/// about the unused bits of the last symbol.
#[cfg(feature = "tekton")]
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// Replaces the base64 text in `path` with the script it encodes, in place,
/// keeping the file's mode (place-scripts made it executable). Line breaks
/// are skipped, as Go's decoder does (the heredoc ends in one). A file that
/// is not base64 is bad input (exit 2), and is left as it was.
#[cfg(feature = "tekton")]
pub fn decode_script(path: &Path) -> Result<()> {
    let encoded =
        fs::read(path).with_context(|| format!("reading script file {}", path.display()))?;
    let text: Vec<u8> = encoded
        .into_iter()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    let script = GO_STD.decode(&text).map_err(|err| Failure {
        code: USAGE,
        message: format!("script file {} is not base64: {err}", path.display()),
    })?;
    fs::write(path, script).with_context(|| format!("writing script file {}", path.display()))?;
    tracing::info!(path = %path.display(), "script decoded");
    Ok(())
}

/// Without the tekton feature, no `decode-script`: Tekton's place-scripts
/// runs the binary that prepare copied from /ko-app/entrypoint.
#[cfg(not(feature = "tekton"))]
pub fn decode_script(_path: &Path) -> Result<()> {
    Err(Failure {
        code: USAGE,
        message: format!("decode-script {NOT_IN_THIS_BUILD}"),
    }
    .into())
}

#[cfg(all(test, feature = "tekton"))]
mod tests {
    use super::GO_STD;
    use base64::Engine as _;

    #[test]
    fn the_platform_command_falls_back_to_the_platform_without_variant() {
        let json = r#"{"linux/amd64":["/ko-app/a","x"],"linux/arm64":["/b"]}"#;
        assert_eq!(
            super::platform_command(json, "linux/amd64").unwrap(),
            ["/ko-app/a", "x"]
        );
        assert_eq!(
            super::platform_command(json, "linux/arm64/v8").unwrap(),
            ["/b"]
        );
        assert!(super::platform_command(json, "linux/s390x")
            .unwrap_err()
            .contains("s390x"));
        assert!(super::platform_command("[]", "linux/amd64").is_err());
    }

    #[test]
    fn decodes_as_go_s_std_encoding() {
        assert_eq!(GO_STD.decode("aGk=").unwrap(), b"hi");
        assert_eq!(
            GO_STD.decode("aGl=").unwrap(),
            b"hi",
            "trailing bits allowed"
        );
        assert!(GO_STD.decode("aGk").is_err(), "padding required");
        assert!(GO_STD.decode("a$k=").is_err());
    }
}
