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
    // wgq's own page and completions (those of wg and wg-quick are checked below).
    let files: Vec<_> = wgq::frontend::docs::generated_files().into_iter().filter(|(p, _)| p.contains("wgq")).collect();
    assert_eq!(files.len(), 4);
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
    // ... and theirs (`wgq web-admin token add`).
    let nested: Vec<(String, &wgq::frontend::docs::CommandDoc)> = commands
        .iter()
        .flat_map(|c| c.subcommands.iter().map(move |s| (c.name.clone(), s)))
        .flat_map(|(p, s)| {
            std::iter::once((p.clone(), s)).chain(s.subcommands.iter().map(move |t| (format!("{p} {}", s.name), t)))
        })
        .collect();
    for (parent, sub) in &nested {
        let c = &parent;
        {
            for (path, text) in &files {
                let name = if path.ends_with(".8") { sub.name.replace('-', "\\-") } else { sub.name.clone() };
                assert!(text.contains(&name), "{path} misses {c} {}", sub.name);
                for (o, _) in &sub.options {
                    let needle = if path.ends_with(".8") {
                        o.replace('-', "\\-")
                    } else if path.ends_with(".fish") {
                        o.trim_start_matches("--").to_string()
                    } else {
                        o.to_string()
                    };
                    assert!(text.contains(&needle), "{path} misses option {o} of {c} {}", sub.name);
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

#[test]
fn wg_quick_page_and_completions_name_its_four_commands() {
    use wgq::frontend::cli::parse_args;
    use wgq::frontend::docs::{WG_QUICK_COMMANDS, WG_QUICK_KEYS, wg_quick_commands};
    // The list the docs use is the grammar of the wg-quick name: these four and no other
    // visible command of wgq.
    for c in wgq::frontend::docs::commands() {
        let args = [std::ffi::OsString::from(&c.name), "wg0".into()];
        assert_eq!(parse_args(&args).is_ok(), WG_QUICK_COMMANDS.contains(&c.name.as_str()), "{}", c.name);
    }
    assert_eq!(wg_quick_commands().len(), WG_QUICK_COMMANDS.len());
    let files = wgq::frontend::docs::generated_files();
    let file = |p: &str| files.iter().find(|(path, _)| *path == p).map(|(_, t)| t.clone()).unwrap();
    let page = file("man/wg-quick.8");
    for c in WG_QUICK_COMMANDS {
        assert!(page.contains(&format!(".B {c}\n")), "wg-quick.8 misses {c}");
        for comp in ["completions/wg-quick.bash", "completions/_wg-quick", "completions/wg-quick.fish"] {
            assert!(file(comp).contains(c), "{comp} misses {c}");
        }
    }
    for (key, _) in WG_QUICK_KEYS {
        assert!(page.contains(&format!(".B {key}\n")), "wg-quick.8 misses {key}");
    }
    for needle in [
        "WG_QUICK_USERSPACE_IMPLEMENTATION",
        "WG_ENDPOINT_RESOLUTION_RETRIES",
        "EXIT STATUS",
        "/etc/wireguard/",
        "\\fBwgq\\fP(8)",
    ] {
        assert!(page.contains(needle), "wg-quick.8 misses {needle}");
    }
}

#[test]
fn wg_page_and_completions_name_every_command_field_and_option() {
    use wgq::frontend::docs::{
        WG_COMMANDS, WG_CONFIG_KEYS, WG_ENVIRONMENT, WG_SET_INTERFACE_OPTIONS, WG_SET_PEER_OPTIONS, WG_SHOW_FIELDS,
    };
    // The tables follow the wg front-end: its subcommands (as its usage lists them) and
    // the fields of `wg show`.
    let names: Vec<&str> = WG_COMMANDS.iter().map(|c| c.name).collect();
    assert_eq!(names, ["show", "showconf", "set", "setconf", "addconf", "syncconf", "genkey", "genpsk", "pubkey"]);
    let usage = wgq::frontend::wg::usage("wg");
    let listed: Vec<&str> = usage.lines().filter_map(|l| l.strip_prefix("  ")?.split_once(": ").map(|(name, _)| name)).collect();
    assert_eq!(names, listed, "wg's usage lists other subcommands");
    let fields: Vec<&str> = WG_SHOW_FIELDS.iter().map(|(f, _)| *f).collect();
    assert_eq!(fields, wgq::frontend::wg::show::FIELDS, "wg show's fields");
    let files = wgq::frontend::docs::generated_files();
    let file = |p: &str| files.iter().find(|(path, _)| *path == p).map(|(_, t)| t.clone()).unwrap();
    let page = file("man/wg.8");
    let completions = ["completions/wg.bash", "completions/_wg", "completions/wg.fish"];
    for c in WG_COMMANDS {
        assert!(page.contains(&format!(".B wg {}\n", c.name)), "wg.8's synopsis misses {}", c.name);
        for comp in completions {
            assert!(file(comp).contains(c.name), "{comp} misses {}", c.name);
        }
    }
    for (f, _) in WG_SHOW_FIELDS {
        assert!(page.contains(&format!(".B {}\n", f.replace('-', "\\-"))), "wg.8 misses the field {f}");
        for comp in completions {
            assert!(file(comp).contains(f), "{comp} misses the field {f}");
        }
    }
    for (k, _, _) in WG_SET_INTERFACE_OPTIONS.iter().chain(WG_SET_PEER_OPTIONS) {
        assert!(page.contains(&format!("\\fB{}\\fP", k.replace('-', "\\-"))), "wg.8 misses set's {k}");
        for comp in completions {
            assert!(file(comp).contains(k), "{comp} misses set's {k}");
        }
    }
    for (section, key, _) in WG_CONFIG_KEYS {
        assert!(page.contains(&format!(".BR {key} \" (in [{section}])\"")), "wg.8 misses {key}");
    }
    for (var, _) in WG_ENVIRONMENT {
        assert!(page.contains(&format!(".B {var}\n")), "wg.8 misses {var}");
    }
    for var in ["WG_COLOR_MODE", "WG_HIDE_KEYS", "WG_ENDPOINT_RESOLUTION_RETRIES"] {
        assert!(WG_ENVIRONMENT.iter().any(|(v, _)| *v == var), "{var}");
    }
}

/// Runs `shell -n` on each file with that extension (or name prefix); false if the shell is missing.
fn syntax_check(shell: &str, matches: impl Fn(&str) -> bool) -> bool {
    if std::process::Command::new(shell).arg("-c").arg("true").output().is_err() {
        return false;
    }
    for (path, _) in wgq::frontend::docs::generated_files() {
        if !matches(path) {
            continue;
        }
        let out = std::process::Command::new(shell).arg("-n").arg(path).output().unwrap();
        assert!(out.status.success(), "{shell} -n {path}: {}", String::from_utf8_lossy(&out.stderr));
    }
    true
}

#[test]
fn completions_parse() {
    assert!(syntax_check("bash", |p| p.ends_with(".bash")), "bash is missing");
    if !syntax_check("zsh", |p| p.starts_with("completions/_")) {
        eprintln!("skipped: zsh is not installed (zsh -n of the zsh completions)");
    }
    if !syntax_check("fish", |p| p.ends_with(".fish")) {
        eprintln!("skipped: fish is not installed (fish -n of the fish completions)");
    }
    // Each bash completion, sourced, registers its function for its name.
    for (path, name, func) in [
        ("completions/wgq.bash", "wgq", "_wgq"),
        ("completions/wg.bash", "wg", "_wg"),
        ("completions/wg-quick.bash", "wg-quick", "_wg_quick"),
    ] {
        let out = std::process::Command::new("bash").arg("-c").arg(format!(". {path} && complete -p {name}")).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("complete -F {func} {name}"), "{path}");
    }
}

#[test]
fn man_pages_render_without_warnings() {
    if std::process::Command::new("man").arg("--version").output().is_err() {
        eprintln!("skipped: man is not installed");
        return;
    }
    for (path, _) in wgq::frontend::docs::generated_files() {
        if !path.ends_with(".8") {
            continue;
        }
        let out = std::process::Command::new("man")
            .args(["--warnings", "-P", "cat", "-l", path])
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        assert!(out.status.success() && !out.stdout.is_empty(), "man -l {path} failed");
        assert!(out.stderr.is_empty(), "man -l {path} warns: {}", String::from_utf8_lossy(&out.stderr));
    }
}
