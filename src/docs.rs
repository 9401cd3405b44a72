//! The man page and shell completions, generated from [`crate::cli::COMMANDS`] so that
//! they cannot drift from the CLI (a test compares the committed files with these).

use crate::cli::COMMANDS;

fn roff_escape(s: &str) -> String {
    s.replace('\\', "\\e").replace('-', "\\-").replace('\'', "\\(aq")
}

/// `man/wgq.8`.
pub fn man_page() -> String {
    let mut s = String::new();
    s.push_str(".\\\" Generated from src/cli.rs by `cargo run --example gendocs`; do not edit.\n");
    s.push_str(".TH WGQ 8 \"\" \"wgq\" \"System Manager's Manual\"\n");
    s.push_str(".SH NAME\nwgq \\- set up a WireGuard interface simply, transactionally and fast\n");
    s.push_str(".SH SYNOPSIS\n");
    for c in COMMANDS {
        let opts: String = c.options.iter().map(|(o, _)| format!(" [\\fB{}\\fP]", roff_escape(o))).collect();
        let args = if c.args.is_empty() { String::new() } else { format!(" [ \\fI{}\\fP ]", roff_escape(c.args)) };
        s.push_str(&format!(".B wgq {}\n{}{}\n.br\n", c.name, opts.trim_start(), args));
    }
    s.push_str(".SH DESCRIPTION\n");
    s.push_str(
        "\\fBwgq\\fP is a drop\\-in replacement for \\fBwg\\-quick\\fP(8). It reads the same configuration \
         files: \\fICONFIG_FILE\\fP is a path whose file name is the interface name followed by \\fB.conf\\fP; \
         otherwise \\fIINTERFACE\\fP names \\fB/etc/wireguard/\\fP\\fIINTERFACE\\fP\\fB.conf\\fP. The file \
         is in \\fBwg\\fP(8)'s format plus the [Interface] keys Address, DNS, MTU, Table, PreUp, PostUp, \
         PreDown, PostDown and SaveConfig, which behave as in \\fBwg\\-quick\\fP(8).\n.PP\n\
         The whole file is validated before anything is changed, and every error is reported with its \
         line. Each change is printed as a \\fB[#]\\fP trace line written as the \\fBip\\fP, \\fBwg\\fP or \
         \\fBnft\\fP command that would do the same. If any step fails, or SIGINT, SIGTERM or SIGHUP \
         arrives, every change made so far is undone in reverse order. A lock in \\fB/run/wgq\\fP \
         serialises runs on the same interface.\n",
    );
    s.push_str(".SH COMMANDS\n");
    for c in COMMANDS {
        s.push_str(&format!(".TP\n.B {}\n{}.\n", c.name, roff_escape(c.about)));
        for (o, a) in c.options {
            s.push_str(&format!(".RS\n.TP\n.B {}\n{}.\n.RE\n", roff_escape(o), roff_escape(a)));
        }
    }
    s.push_str(
        ".SH JSON OUTPUT\n\\fBwgq show \\-\\-json\\fP prints an array of interfaces, each with the fields \
         \\fBinterface\\fP, \\fBpublic_key\\fP, \\fBlisten_port\\fP, \\fBfwmark\\fP and \\fBpeers\\fP; each peer has \
         \\fBpublic_key\\fP, \\fBpreshared_key\\fP (true when set; the key itself is never shown), \
         \\fBendpoint\\fP, \\fBallowed_ips\\fP, \\fBlatest_handshake\\fP (seconds since the epoch, 0 for \
         never), \\fBrx_bytes\\fP, \\fBtx_bytes\\fP and \\fBpersistent_keepalive\\fP.\n",
    );
    s.push_str(
        ".SH ENVIRONMENT\n.TP\n.B WG_QUICK_USERSPACE_IMPLEMENTATION\nThe userspace program used when the \
         kernel has no WireGuard support (default \\fBwireguard\\-go\\fP).\n.TP\n\
         .B WG_ENDPOINT_RESOLUTION_RETRIES\nHow many times to retry resolving an Endpoint host name \
         (default 15; \\fBinfinity\\fP for no limit).\n",
    );
    s.push_str(
        ".SH EXIT STATUS\n0 on success; 1 for a usage or configuration error; otherwise the status of the \
         step that failed (a hook's own status, 2 for a refused netlink request).\n",
    );
    s.push_str(
        ".SH FILES\n/etc/wireguard/\\fIINTERFACE\\fP.conf, /run/wgq/\\fIINTERFACE\\fP.lock, /run/wgq/\\fIINTERFACE\\fP.state\n",
    );
    s.push_str(".SH SEE ALSO\n\\fBwg\\-quick\\fP(8), \\fBwg\\fP(8), \\fBip\\fP(8), \\fBnft\\fP(8)\n");
    s
}

fn names() -> Vec<&'static str> {
    COMMANDS.iter().map(|c| c.name).collect()
}

fn takes_config(name: &str) -> bool {
    COMMANDS.iter().any(|c| c.name == name && c.args.contains("CONFIG_FILE"))
}

fn takes_interface(name: &str) -> bool {
    COMMANDS.iter().any(|c| c.name == name && c.args.contains("INTERFACE") && !c.args.contains("CONFIG_FILE"))
}

fn options_of(name: &str) -> Vec<&'static str> {
    COMMANDS.iter().filter(|c| c.name == name).flat_map(|c| c.options.iter().map(|(o, _)| *o)).collect()
}

/// `completions/wgq.bash`
pub fn bash_completion() -> String {
    let mut s = String::from("# bash completion for wgq. Generated from src/cli.rs; do not edit.\n_wgq() {\n");
    s.push_str("\tlocal cur=${COMP_WORDS[COMP_CWORD]}\n\tif [[ $COMP_CWORD -eq 1 ]]; then\n");
    s.push_str(&format!("\t\tCOMPREPLY=( $(compgen -W \"{} help\" -- \"$cur\") )\n\t\treturn\n\tfi\n", names().join(" ")));
    s.push_str("\tcase ${COMP_WORDS[1]} in\n");
    for c in COMMANDS {
        let opts = options_of(c.name).join(" ");
        let words = if takes_config(c.name) {
            format!("{opts} $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\\.conf$//')")
        } else if takes_interface(c.name) {
            let all = if c.args.contains("all") { " all" } else { "" };
            format!("{opts}{all} $(ls /sys/class/net 2>/dev/null)")
        } else {
            opts
        };
        s.push_str(&format!("\t{})\n\t\tCOMPREPLY=( $(compgen -W \"{}\" -- \"$cur\") )\n", c.name, words.trim()));
        if takes_config(c.name) {
            s.push_str("\t\tCOMPREPLY+=( $(compgen -f -X '!*.conf' -- \"$cur\") )\n");
        }
        s.push_str("\t\t;;\n");
    }
    s.push_str("\tesac\n}\ncomplete -F _wgq wgq\n");
    s
}

/// `completions/_wgq` (zsh)
pub fn zsh_completion() -> String {
    let mut s = String::from("#compdef wgq\n# zsh completion for wgq. Generated from src/cli.rs; do not edit.\n\n_wgq() {\n");
    s.push_str("\tlocal -a commands\n\tcommands=(\n");
    for c in COMMANDS {
        s.push_str(&format!("\t\t'{}:{}'\n", c.name, c.about.replace('\'', "'\\''").replace(':', "\\:")));
    }
    s.push_str("\t)\n\tif (( CURRENT == 2 )); then\n\t\t_describe 'command' commands\n\t\treturn\n\tfi\n");
    s.push_str("\tcase $words[2] in\n");
    for c in COMMANDS {
        let mut parts: Vec<String> = options_of(c.name).iter().map(|o| format!("'{o}'")).collect();
        if takes_config(c.name) {
            parts.push("'*:config:_files -g \"*.conf\"'".into());
        } else if takes_interface(c.name) {
            parts.push("'*:interface:_net_interfaces'".into());
        }
        if !parts.is_empty() {
            s.push_str(&format!("\t{})\n\t\t_arguments {}\n\t\t;;\n", c.name, parts.join(" ")));
        }
    }
    s.push_str("\tesac\n}\n\n_wgq \"$@\"\n");
    s
}

/// `completions/wgq.fish`
pub fn fish_completion() -> String {
    let mut s = String::from("# fish completion for wgq. Generated from src/cli.rs; do not edit.\n");
    s.push_str(&format!("set -l wgq_commands {}\n", names().join(" ")));
    for c in COMMANDS {
        s.push_str(&format!(
            "complete -c wgq -f -n \"not __fish_seen_subcommand_from $wgq_commands\" -a {} -d '{}'\n",
            c.name,
            c.about.replace('\'', "\\'")
        ));
        for (o, a) in c.options {
            s.push_str(&format!(
                "complete -c wgq -n \"__fish_seen_subcommand_from {}\" -l {} -d '{}'\n",
                c.name,
                o.trim_start_matches("--"),
                a.replace('\'', "\\'")
            ));
        }
        if takes_config(c.name) {
            s.push_str(&format!(
                "complete -c wgq -n \"__fish_seen_subcommand_from {}\" -F -a \"(path basename /etc/wireguard/*.conf | string replace -r '\\.conf\\$' '')\"\n",
                c.name
            ));
        } else if takes_interface(c.name) {
            s.push_str(&format!(
                "complete -c wgq -f -n \"__fish_seen_subcommand_from {}\" -a \"(__fish_print_interfaces)\"\n",
                c.name
            ));
        }
    }
    s
}

/// Every generated file with its path in the repository.
pub fn generated_files() -> Vec<(&'static str, String)> {
    vec![
        ("man/wgq.8", man_page()),
        ("completions/wgq.bash", bash_completion()),
        ("completions/_wgq", zsh_completion()),
        ("completions/wgq.fish", fish_completion()),
    ]
}
