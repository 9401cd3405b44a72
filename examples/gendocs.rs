//! Regenerates man/wgq.8 and completions/* from the clap command: `cargo run --example gendocs`.
fn main() -> std::io::Result<()> {
    for (path, text) in wgq::frontend::docs::generated_files() {
        std::fs::write(path, text)?;
        println!("wrote {path}");
    }
    Ok(())
}
