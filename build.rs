//! Passes the target triple to the build (`wgq --version` prints it).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=WGQ_TARGET={target}");
}
