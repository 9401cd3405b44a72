//! The man page and completions in the repository are exactly what the clap command
//! generates, and they mention every command and option.

#[test]
fn generated_docs_are_committed_and_current() {
    for (path, text) in wgq::frontend::docs::generated_files() {
        let on_disk = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(on_disk == text, "{path} is stale: run `cargo run --example gendocs`");
    }
}

#[test]
fn every_command_and_option_is_documented() {
    let files = wgq::frontend::docs::generated_files();
    let commands = wgq::frontend::docs::commands();
    // The clap command's visible subcommands, independently of the docs' own walk.
    let cmd = wgq::frontend::cli::wgq_command();
    let visible: Vec<&str> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).map(|s| s.get_name()).collect();
    assert_eq!(commands.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), visible);
    for name in ["up", "down", "save", "strip", "check", "reload", "show", "showconf", "genkey", "genpsk", "pubkey", "wg-quick"] {
        assert!(visible.contains(&name), "the CLI lost {name}");
    }
    let help = wgq::frontend::cli::wgq_command().render_help().to_string();
    for c in &commands {
        for (path, text) in &files {
            let name = if path.ends_with(".8") { c.name.replace('-', "\\-") } else { c.name.clone() };
            assert!(text.contains(&name), "{path} misses command {}", c.name);
            for (o, _) in &c.options {
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
        assert!(help.contains(&c.name), "help misses {}", c.name);
        let sub = cmd.find_subcommand(&c.name).unwrap().clone().render_help().to_string();
        for (o, _) in &c.options {
            assert!(sub.contains(o.as_str()), "help of {} misses {o}", c.name);
        }
    }
    // Subcommands (`wgq server init`, `wgq peer add`, ...) and their options.
    for c in &commands {
        for sub in &c.subcommands {
            for (path, text) in &files {
                assert!(text.contains(&sub.name), "{path} misses {} {}", c.name, sub.name);
                for (o, _) in &sub.options {
                    let needle = if path.ends_with(".8") {
                        o.replace('-', "\\-")
                    } else if path.ends_with(".fish") {
                        o.trim_start_matches("--").to_string()
                    } else {
                        o.to_string()
                    };
                    assert!(text.contains(&needle), "{path} misses option {o} of {} {}", c.name, sub.name);
                }
            }
        }
    }
    for name in ["server", "peer", "qr"] {
        assert!(visible.contains(&name), "the CLI lost {name}");
    }
    for (short, long) in [("\\-h", "\\-\\-help"), ("\\-V", "\\-\\-version")] {
        assert!(files[0].1.contains(short) && files[0].1.contains(long), "man page misses {long}");
    }
    // wg-quick's usage names its own four commands.
    let usage = wgq::frontend::cli::usage("wg-quick");
    assert!(usage.starts_with("Usage: wg-quick [ up | down | save | strip ] [ CONFIG_FILE | INTERFACE ]\n"));
}
