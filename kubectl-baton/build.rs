//! The version `kubectl baton --version` prints, `0.1.0 (COMMIT DATE)`, as
//! baton's: see build-support/version.rs.

#[path = "../build-support/version.rs"]
mod version;

fn main() {
    let manifest = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let root = manifest
        .parent()
        .expect("kubectl-baton/ lies in the repository root");
    version::emit(
        "BATON_VERSION",
        root,
        &[
            "kubectl-baton/src",
            "kubectl-baton/build.rs",
            "kubectl-baton/Cargo.toml",
            "build-support",
            "Cargo.toml",
            "Cargo.lock",
        ],
    );
}
