//! `kubectl baton --version`: the version and the commit, as baton's.

#[path = "../../build-support/version_check.rs"]
mod version_check;

#[test]
fn version_names_the_commit_it_was_built_from() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    version_check::check(
        std::path::Path::new(env!("CARGO_BIN_EXE_kubectl-baton")),
        "kubectl-baton",
        root,
    );
}
