//! Link settings for a static binary, and the version `--version` prints.
//!
//! `scripts/build-static` builds it position-dependent; built as a
//! static-pie instead (`+crt-static` without `-C relocation-model=static`),
//! it relocates itself at start-up, and packing its relative relocations
//! (RELR, read by glibc since 2.36, written by lld and GNU ld) makes that
//! table 77 KB smaller and the self-relocation shorter. The flag is harmless
//! for a position-dependent binary. See docs/performance.md.
//!
//! `BATON_VERSION`, `0.1.0 (COMMIT DATE)`: see build-support/version.rs.

#[path = "build-support/version.rs"]
mod version;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" && features.split(',').any(|f| f == "crt-static") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    let root = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    version::emit(
        "BATON_VERSION",
        &root,
        &[
            "src",
            "build.rs",
            "build-support",
            "Cargo.toml",
            "Cargo.lock",
        ],
    );
}
