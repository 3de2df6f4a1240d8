//! Link settings for the static release binary. With `+crt-static` the binary
//! is a static-pie that relocates itself at start-up; packing its relative
//! relocations (RELR, read by glibc since 2.36 and by both lld and GNU ld)
//! makes that table 77 KB smaller and the self-relocation shorter, and keeps
//! the binary position-independent (ASLR). See docs/performance.md.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" && features.split(',').any(|f| f == "crt-static") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
