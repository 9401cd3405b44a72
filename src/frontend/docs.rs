//! The man page and shell completions, generated from wgq's clap command
//! ([`crate::frontend::cli::wgq_command`]) so that they cannot drift from the CLI (a test compares the
//! committed files with these). The generators are wgq's own rather than clap_mangen's and
//! clap_complete's: one page for every command (clap_mangen points to a page per
//! subcommand), and completions of the names in /etc/wireguard and of network interfaces,
//! which static clap_complete scripts cannot offer.

use crate::frontend::cli::{WG_QUICK_SUBCOMMAND, wgq_command};

/// One visible subcommand of the clap command, as the generators need it.
pub struct CommandDoc {
    pub name: String,
    pub about: String,
    /// `(--long, help)` of each option.
    pub options: Vec<(String, String)>,
    /// The positional argument, if any: its value name (`CONFIG_FILE|INTERFACE`), whether
    /// it is required, and whether it takes several values.
    pub positional: Option<(String, bool, bool)>,
    /// Every positional argument in order (the first is [`CommandDoc::positional`]).
    pub positionals: Vec<(String, bool, bool)>,
    /// Subcommands (`wgq peer add`, …), each documented the same way.
    pub subcommands: Vec<CommandDoc>,
}

impl CommandDoc {
    fn value_name(&self) -> &str {
        self.positional.as_ref().map_or("", |p| p.0.as_str())
    }

    fn takes_config(&self) -> bool {
        self.value_name().contains("CONFIG_FILE")
    }

    fn takes_interface(&self) -> bool {
        !self.takes_config() && self.value_name().split('|').any(|v| v == "INTERFACE")
    }

    fn option_names(&self) -> Vec<&str> {
        self.options.iter().map(|(o, _)| o.as_str()).collect()
    }
}

/// The visible subcommands of `wgq`, in the order its help lists them.
pub fn commands() -> Vec<CommandDoc> {
    subcommands(&wgq_command())
}

fn subcommands(cmd: &clap::Command) -> Vec<CommandDoc> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| {
            let positionals: Vec<(String, bool, bool)> = s
                .get_positionals()
                .map(|a| {
                    let names: Vec<&str> = a.get_value_names().unwrap_or_default().iter().map(|n| n.as_str()).collect();
                    (names.join(" "), a.is_required_set(), matches!(a.get_action(), clap::ArgAction::Append))
                })
                .collect();
            CommandDoc {
                name: s.get_name().to_string(),
                about: s.get_about().map(|a| a.to_string()).unwrap_or_default(),
                options: s
                    .get_arguments()
                    .filter_map(|a| {
                        Some((format!("--{}", a.get_long()?), a.get_help().map(|h| h.to_string()).unwrap_or_default()))
                    })
                    .collect(),
                positional: positionals.first().cloned(),
                positionals,
                subcommands: subcommands(s),
            }
        })
        .collect()
}

/// Every command to document on its own: the top-level ones without subcommands, and each
/// subcommand as `parent sub`.
fn leaves() -> Vec<CommandDoc> {
    let mut v = Vec::new();
    for c in commands() {
        if c.subcommands.is_empty() {
            v.push(c);
        } else {
            for s in c.subcommands {
                v.push(CommandDoc { name: format!("{} {}", c.name, s.name), ..s });
            }
        }
    }
    v
}

/// `(-s, --long, help)` of wgq's own options (help and version).
fn global_options() -> Vec<(String, String, String)> {
    let mut cmd = wgq_command();
    cmd.build();
    cmd.get_arguments()
        .filter(|a| !a.is_positional())
        .map(|a| {
            let short = a.get_short().map(|c| format!("-{c}")).unwrap_or_default();
            let long = a.get_long().map(|l| format!("--{l}")).unwrap_or_default();
            (short, long, a.get_help().map(|h| h.to_string()).unwrap_or_default())
        })
        .collect()
}

fn roff_escape(s: &str) -> String {
    s.replace('\\', "\\e").replace('-', "\\-").replace('\'', "\\(aq")
}

/// A value name in roff: placeholders (upper case) in italics, literal words in bold,
/// alternatives separated by `|`.
fn roff_value(name: &str) -> String {
    name.split('|')
        .map(|v| {
            if v.chars().any(|c| c.is_ascii_lowercase()) {
                format!("\\fB{}\\fP", roff_escape(v))
            } else {
                format!("\\fI{}\\fP", roff_escape(v))
            }
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn roff_synopsis(c: &CommandDoc) -> String {
    let mut parts: Vec<String> = c.options.iter().map(|(o, _)| format!("[\\fB{}\\fP]", roff_escape(o))).collect();
    for (name, required, many) in &c.positionals {
        let v = roff_value(name) + if *many { " ..." } else { "" };
        parts.push(if *required { v } else { format!("[{v}]") });
    }
    let args = if parts.is_empty() { String::new() } else { parts.join(" ") + "\n" };
    format!(".B wgq {}\n{args}.br\n", roff_escape(&c.name))
}

/// The man page's section on `wgq server` and `wgq peer`.
const PROVISIONING: &str = ".SH SERVERS AND CLIENTS\n\\fBwgq server init\\fP writes a server file that stays a plain \
wg\\-quick file: \\fBwg\\-quick up\\fP and \\fBwgq check\\fP read it, and it is the only record of the \
clients. Each client is one [Peer] block whose metadata are comment lines right after its header: \
\\fB# Name =\\fP, \\fB# Created =\\fP, \\fB# Expires =\\fP and \\fB# Note =\\fP. A disabled client keeps its \
block with every line commented out by \\fB#\\- \\fP, so its addresses stay reserved. The defaults of new client \
files are \\fB# ClientEndpoint =\\fP, \\fB# ClientDNS =\\fP, \\fB# ClientAllowedIPs =\\fP, \\fB# ClientKeepalive =\\fP \
and \\fB# ClientMTU =\\fP comments in [Interface].\n.PP\n\\fBwgq peer\\fP edits only the block it is about and \
keeps every other byte (comments, blank lines, order, CRLF line ends); it writes atomically (a 0600 temporary file, \
fsync, rename) under the interface's lock, reading the file again once it holds it, so concurrent edits never pick \
the same address or lose a client. Addresses are the lowest free hosts of the server's Address networks (any prefix \
length, IPv4 and IPv6), counting the server's, every client's AllowedIPs and the disabled clients'. On a running \
interface the change is applied live: one device update with just that client (or its removal) and the routes \
\\fBup\\fP would add for it; other clients keep their sessions. Keys are made in the process and written only to \
0600 files; \\fB\\-\\-pubkey\\fP keeps no private key at all, \\fB\\-\\-no\\-store\\fP prints the client file once. \
A file with SaveConfig = true is refused (\\fB\\-\\-force\\fP edits it all the same). Names follow wg\\-quick's \
interface-name rule: 1 to 15 letters, digits and _ = + . \\-.\n";

/// `man/wgq.8`.
pub fn man_page() -> String {
    let commands = leaves();
    let mut s = String::new();
    s.push_str(".\\\" Generated from src/frontend/cli.rs by `cargo run --example gendocs`; do not edit.\n");
    s.push_str(".TH WGQ 8 \"\" \"wgq\" \"System Manager's Manual\"\n");
    let about = wgq_command().get_about().map(|a| a.to_string()).unwrap_or_default();
    // NAME is lower case by convention: "wgq - set up ...".
    let about = about.chars().next().map(|c| c.to_lowercase().chain(about.chars().skip(1)).collect()).unwrap_or(about);
    s.push_str(&format!(".SH NAME\nwgq \\- {}\n", roff_escape(&about)));
    s.push_str(".SH SYNOPSIS\n");
    for c in &commands {
        s.push_str(&roff_synopsis(c));
    }
    let globals: Vec<String> = global_options()
        .iter()
        .map(|(short, long, _)| format!("[\\fB{}\\fP|\\fB{}\\fP]", roff_escape(short), roff_escape(long)))
        .collect();
    s.push_str(&format!(".B wgq\n{}\n.PP\n", globals.join(" ")));
    s.push_str(
        ".B wg\\-quick\n[ \\fBup\\fP | \\fBdown\\fP | \\fBsave\\fP | \\fBstrip\\fP ] [ \\fICONFIG_FILE\\fP | \\fIINTERFACE\\fP ]\n",
    );
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
         serialises runs on the same interface. \\fBup\\fP records what it added (addresses, routes, DNS, \
         policy rules, firewall); \\fBreload\\fP and \\fBdown\\fP remove only that, and leave routes and \
         addresses that hooks, routing daemons or the administrator added alone.\n.PP\n\
         Run by a user other than root, the commands that change or read the system (all but \
         \\fBcheck\\fP and the key commands) run themselves again through \\fBsudo\\fP(8), as \
         \\fBwg\\-quick\\fP does.\n",
    );
    s.push_str(".SH COMMANDS\n");
    for c in &commands {
        s.push_str(&format!(".TP\n.B {}\n{}.\n", roff_escape(&c.name), roff_escape(&c.about)));
        for (o, a) in &c.options {
            s.push_str(&format!(".RS\n.TP\n.B {}\n{}.\n.RE\n", roff_escape(o), roff_escape(a)));
        }
    }
    s.push_str(PROVISIONING);
    s.push_str(".SH OPTIONS\n");
    for (short, long, help) in global_options() {
        s.push_str(&format!(".TP\n.BR {} \", \" {}\n{}.\n", roff_escape(&short), roff_escape(&long), roff_escape(&help)));
    }
    s.push_str(&format!(
        ".SH RUN AS WG\\-QUICK\nRun through a link named \\fBwg\\-quick\\fP, or as \\fBwgq {}\\fP \\fIARGS\\fP..., \
         wgq accepts exactly \\fBwg\\-quick\\fP's command lines: \\fBhelp\\fP, \\fB\\-h\\fP or \\fB\\-\\-help\\fP \
         alone prints the usage on standard error (status 0); \\fBup\\fP, \\fBdown\\fP, \\fBsave\\fP or \\fBstrip\\fP \
         followed by exactly one \\fICONFIG_FILE\\fP or \\fIINTERFACE\\fP runs that command, as \\fBwgq\\fP does; \
         anything else, wgq's own commands and options included, prints the usage on standard error and exits \
         with status 1. The usage, the \\fBsudo\\fP(8) password prompt and the message of an error that \
         ends the command then name the program \\fBwg\\-quick\\fP, as do the messages of a failed step and \
         warnings.\n",
        roff_escape(WG_QUICK_SUBCOMMAND)
    ));
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
        ".SH EXIT STATUS\n0 on success (also for help and the version); 1 for a usage or configuration error; \
         otherwise the status of the step that failed (a hook's own status, 2 for a refused netlink request).\n",
    );
    s.push_str(
        ".SH FILES\n/etc/wireguard/\\fIINTERFACE\\fP.conf; /etc/wireguard/clients/\\fIINTERFACE\\fP/\\fINAME\\fP.conf \
         (client files of \\fBwgq peer\\fP, mode 0600 in 0700 directories); /etc/sysctl.d/99\\-wgq\\-\\fIINTERFACE\\fP.conf \
         (forwarding of \\fBwgq server init\\fP); /run/wgq/ns\\-\\fICOOKIE\\fP/\\fIINTERFACE\\fP.lock and \
         \\fIINTERFACE\\fP.state, per network namespace (\\fICOOKIE\\fP is the namespace's cookie).\n",
    );
    s.push_str(".SH SEE ALSO\n\\fBwg\\-quick\\fP(8), \\fBwg\\fP(8), \\fBip\\fP(8), \\fBnft\\fP(8)\n");
    s
}

/// The words bash offers for a command's arguments.
fn bash_words(c: &CommandDoc) -> String {
    let opts = c.option_names().join(" ");
    let words = if c.takes_config() {
        format!("{opts} $(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\\.conf$//')")
    } else if c.takes_interface() {
        let all = if c.value_name().split('|').any(|v| v == "all") { " all" } else { "" };
        format!("{opts}{all} $(ls /sys/class/net 2>/dev/null)")
    } else {
        opts
    };
    words.trim().to_string()
}

fn bash_arm(s: &mut String, c: &CommandDoc, tabs: &str) {
    s.push_str(&format!("{tabs}{})\n{tabs}\tCOMPREPLY=( $(compgen -W \"{}\" -- \"$cur\") )\n", c.name, bash_words(c)));
    if c.takes_config() {
        s.push_str(&format!("{tabs}\tCOMPREPLY+=( $(compgen -f -X '!*.conf' -- \"$cur\") )\n"));
    }
    s.push_str(&format!("{tabs}\t;;\n"));
}

/// `completions/wgq.bash`
pub fn bash_completion() -> String {
    let commands = commands();
    let names: Vec<&str> = commands.iter().map(|c| c.name.as_str()).collect();
    let mut s = String::from("# bash completion for wgq. Generated from src/frontend/cli.rs; do not edit.\n_wgq() {\n");
    s.push_str("\tlocal cur=${COMP_WORDS[COMP_CWORD]}\n\tif [[ $COMP_CWORD -eq 1 ]]; then\n");
    s.push_str(&format!("\t\tCOMPREPLY=( $(compgen -W \"{} help\" -- \"$cur\") )\n\t\treturn\n\tfi\n", names.join(" ")));
    s.push_str("\tcase ${COMP_WORDS[1]} in\n");
    for c in &commands {
        if c.subcommands.is_empty() {
            bash_arm(&mut s, c, "\t");
            continue;
        }
        let subs: Vec<&str> = c.subcommands.iter().map(|c| c.name.as_str()).collect();
        s.push_str(&format!(
            "\t{})\n\t\tif [[ $COMP_CWORD -eq 2 ]]; then\n\t\t\tCOMPREPLY=( $(compgen -W \"{}\" -- \"$cur\") )\n\t\t\treturn\n\t\tfi\n\t\tcase ${{COMP_WORDS[2]}} in\n",
            c.name,
            subs.join(" ")
        ));
        for sub in &c.subcommands {
            bash_arm(&mut s, sub, "\t\t");
        }
        s.push_str("\t\tesac\n\t\t;;\n");
    }
    s.push_str("\tesac\n}\ncomplete -F _wgq wgq\n");
    s
}

fn zsh_quote(s: &str) -> String {
    s.replace('\'', "'\\''").replace(':', "\\:")
}

fn zsh_arguments(c: &CommandDoc) -> Vec<String> {
    let mut parts: Vec<String> = c.option_names().iter().map(|o| format!("'{o}'")).collect();
    if c.takes_config() {
        parts.push("'*:config:_files -g \"*.conf\"'".into());
    } else if c.takes_interface() {
        parts.push("'*:interface:_net_interfaces'".into());
    }
    parts
}

/// `completions/_wgq` (zsh)
pub fn zsh_completion() -> String {
    let commands = commands();
    let mut s =
        String::from("#compdef wgq\n# zsh completion for wgq. Generated from src/frontend/cli.rs; do not edit.\n\n_wgq() {\n");
    s.push_str("\tlocal -a commands\n\tcommands=(\n");
    for c in &commands {
        s.push_str(&format!("\t\t'{}:{}'\n", c.name, zsh_quote(&c.about)));
    }
    s.push_str("\t)\n\tif (( CURRENT == 2 )); then\n\t\t_describe 'command' commands\n\t\treturn\n\tfi\n");
    s.push_str("\tcase $words[2] in\n");
    for c in &commands {
        if !c.subcommands.is_empty() {
            s.push_str(&format!("\t{})\n\t\tlocal -a subcommands\n\t\tsubcommands=(\n", c.name));
            for sub in &c.subcommands {
                s.push_str(&format!("\t\t\t'{}:{}'\n", sub.name, zsh_quote(&sub.about)));
            }
            s.push_str(
                "\t\t)\n\t\tif (( CURRENT == 3 )); then\n\t\t\t_describe 'subcommand' subcommands\n\t\t\treturn\n\t\tfi\n",
            );
            s.push_str("\t\tcase $words[3] in\n");
            for sub in &c.subcommands {
                let parts = zsh_arguments(sub);
                if !parts.is_empty() {
                    s.push_str(&format!("\t\t{})\n\t\t\t_arguments {}\n\t\t\t;;\n", sub.name, parts.join(" ")));
                }
            }
            s.push_str("\t\tesac\n\t\t;;\n");
            continue;
        }
        let parts = zsh_arguments(c);
        if !parts.is_empty() {
            s.push_str(&format!("\t{})\n\t\t_arguments {}\n\t\t;;\n", c.name, parts.join(" ")));
        }
    }
    s.push_str("\tesac\n}\n\n_wgq \"$@\"\n");
    s
}

fn fish_args(s: &mut String, c: &CommandDoc, cond: &str) {
    for (o, a) in &c.options {
        s.push_str(&format!("complete -c wgq -n \"{cond}\" -l {} -d '{}'\n", o.trim_start_matches("--"), a.replace('\'', "\\'")));
    }
    if c.takes_config() {
        s.push_str(&format!(
            "complete -c wgq -n \"{cond}\" -F -a \"(path basename /etc/wireguard/*.conf | string replace -r '\\.conf\\$' '')\"\n"
        ));
    } else if c.takes_interface() {
        s.push_str(&format!("complete -c wgq -f -n \"{cond}\" -a \"(__fish_print_interfaces)\"\n"));
    }
}

/// `completions/wgq.fish`
pub fn fish_completion() -> String {
    let commands = commands();
    let names: Vec<&str> = commands.iter().map(|c| c.name.as_str()).collect();
    let mut s = String::from("# fish completion for wgq. Generated from src/frontend/cli.rs; do not edit.\n");
    s.push_str(&format!("set -l wgq_commands {}\n", names.join(" ")));
    for c in &commands {
        s.push_str(&format!(
            "complete -c wgq -f -n \"not __fish_seen_subcommand_from $wgq_commands\" -a {} -d '{}'\n",
            c.name,
            c.about.replace('\'', "\\'")
        ));
        if c.subcommands.is_empty() {
            fish_args(&mut s, c, &format!("__fish_seen_subcommand_from {}", c.name));
            continue;
        }
        let subs: Vec<&str> = c.subcommands.iter().map(|c| c.name.as_str()).collect();
        for sub in &c.subcommands {
            s.push_str(&format!(
                "complete -c wgq -f -n \"__fish_seen_subcommand_from {}; and not __fish_seen_subcommand_from {}\" -a {} -d '{}'\n",
                c.name,
                subs.join(" "),
                sub.name,
                sub.about.replace('\'', "\\'")
            ));
            fish_args(
                &mut s,
                sub,
                &format!("__fish_seen_subcommand_from {}; and __fish_seen_subcommand_from {}", c.name, sub.name),
            );
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
