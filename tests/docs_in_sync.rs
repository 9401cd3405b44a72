//! The man page and completions in the repository are exactly what the CLI table generates,
//! and they mention every command and option.

#[test]
fn generated_docs_are_committed_and_current() {
    for (path, text) in wgq::docs::generated_files() {
        let on_disk = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(on_disk == text, "{path} is stale: run `cargo run --example gendocs`");
    }
}

#[test]
fn every_command_and_option_is_documented() {
    let files = wgq::docs::generated_files();
    for c in wgq::cli::COMMANDS {
        for (path, text) in &files {
            assert!(text.contains(c.name), "{path} misses command {}", c.name);
            for (o, _) in c.options {
                let needle = if path.ends_with(".8") {
                    o.replace('-', "\\-")
                } else if path.ends_with(".fish") {
                    o.trim_start_matches("--").to_string()
                } else {
                    o.to_string()
                };
                assert!(text.contains(&needle), "{path} misses option {o} of {}", c.name);
            }
        }
        assert!(wgq::cli::usage("wgq").contains(c.name), "usage misses {}", c.name);
    }
}
