//! The man pages and shell completions, generated from wgq's clap command
//! ([`crate::frontend::cli::wgq_command`]) so that they cannot drift from the CLI (a test compares the
//! committed files with these): wgq's own, and those of the `wg-quick` and `wg` names that the
//! wgq-wireguard-tools package installs (wg-quick's commands are the clap command's; wg(8)'s
//! come from the tables below, in wgq's own words). The generators are wgq's own rather
//! than clap_mangen's and clap_complete's: one page for every command (clap_mangen points
//! to a page per subcommand), and completions of the names in /etc/wireguard and of network
//! interfaces, which static clap_complete scripts cannot offer.

use crate::frontend::cli::{WG_QUICK_SUBCOMMAND, wgq_command};
use crate::frontend::wg::{SUBCOMMANDS, WgFirst};

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

    /// The options of this command and of its own subcommands (`web-admin token` offers
    /// those of `add`, `list` and `revoke`), each once.
    fn all_options(&self) -> Vec<(String, String)> {
        let mut v = self.options.clone();
        for s in &self.subcommands {
            for o in s.all_options() {
                if !v.iter().any(|(n, _)| *n == o.0) {
                    v.push(o);
                }
            }
        }
        v
    }

    fn subcommand_names(&self) -> Vec<&str> {
        self.subcommands.iter().map(|s| s.name.as_str()).collect()
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
    fn walk(c: CommandDoc, v: &mut Vec<CommandDoc>) {
        if c.subcommands.is_empty() {
            v.push(c);
        } else {
            let parent = c.name;
            for s in c.subcommands {
                walk(CommandDoc { name: format!("{parent} {}", s.name), ..s }, v);
            }
        }
    }
    let mut v = Vec::new();
    for c in commands() {
        walk(c, &mut v);
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

/// Fills a man page template (`man/src/*.in`: the page's roff with the generated parts left
/// out): each `@@NAME@@` becomes the value of NAME, and lines starting with `.\"#` (notes
/// about the template itself) are dropped.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut s: String = template.split_inclusive('\n').filter(|l| !l.starts_with(".\\\"#")).collect();
    for (name, value) in values {
        s = s.replace(&format!("@@{name}@@"), value);
    }
    s
}

/// `man/wgq.8`: man/src/wgq.8.in filled with what the clap command says.
pub fn man_page() -> String {
    let commands = leaves();
    let about = wgq_command().get_about().map(|a| a.to_string()).unwrap_or_default();
    // NAME is lower case by convention: "wgq - set up ...".
    let about = about.chars().next().map(|c| c.to_lowercase().chain(about.chars().skip(1)).collect()).unwrap_or(about);
    let globals: Vec<String> = global_options()
        .iter()
        .map(|(short, long, _)| format!("[\\fB{}\\fP|\\fB{}\\fP]", roff_escape(short), roff_escape(long)))
        .collect();
    let mut described = String::new();
    for c in &commands {
        described.push_str(&format!(".TP\n.B {}\n{}.\n", roff_escape(&c.name), roff_escape(&c.about)));
        for (o, a) in &c.options {
            described.push_str(&format!(".RS\n.TP\n.B {}\n{}.\n.RE\n", roff_escape(o), roff_escape(a)));
        }
    }
    let options: String = global_options()
        .iter()
        .map(|(short, long, help)| {
            format!(".TP\n.BR {} \", \" {}\n{}.\n", roff_escape(short), roff_escape(long), roff_escape(help))
        })
        .collect();
    fill(
        include_str!("../../man/src/wgq.8.in"),
        &[
            ("ABOUT", roff_escape(&about)),
            ("SYNOPSIS", commands.iter().map(roff_synopsis).collect()),
            ("GLOBAL_OPTIONS", globals.join(" ")),
            ("COMMANDS", described),
            ("OPTIONS", options),
            ("WG_QUICK_SUBCOMMAND", roff_escape(WG_QUICK_SUBCOMMAND)),
        ],
    )
}

/// The words bash offers for a command's arguments.
fn bash_words(c: &CommandDoc) -> String {
    let mut words = c.subcommand_names();
    let all = c.all_options();
    words.extend(all.iter().map(|(o, _)| o.as_str()));
    let opts = words.join(" ");
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
    let mut parts: Vec<String> = c.all_options().iter().map(|(o, _)| format!("'{o}'")).collect();
    if !c.subcommands.is_empty() {
        parts.push(format!("'1:subcommand:({})'", c.subcommand_names().join(" ")));
    }
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
    if !c.subcommands.is_empty() {
        s.push_str(&format!("complete -c wgq -f -n \"{cond}\" -a \"{}\"\n", c.subcommand_names().join(" ")));
    }
    for (o, a) in &c.all_options() {
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

// wg-quick(8) and wg(8): the pages and completions of the names the `wgq-wireguard-tools`
// package links to wgq. Their text is wgq's own. wg-quick's commands are the clap
// command's (their summaries come from it); wg(8)'s are the table below, which follows
// wg(8)'s documented interface.

/// Text with light markup, in roff: `` `literal` `` in bold, `<placeholder>` in italics,
/// the rest escaped. A line that would begin with a roff control character is guarded.
fn roff_text(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(['`', '<']) {
        out.push_str(&roff_escape(&rest[..i]));
        let (close, font) = if rest[i..].starts_with('`') { ('`', 'B') } else { ('>', 'I') };
        let after = &rest[i + 1..];
        match after.find(close) {
            Some(j) => {
                out.push_str(&format!("\\f{font}{}\\fP", roff_escape(&after[..j])));
                rest = &after[j + 1..];
            }
            None => {
                out.push_str(&roff_escape(&rest[i..i + 1]));
                rest = after;
            }
        }
    }
    out.push_str(&roff_escape(rest));
    out.split('\n')
        .map(|l| if l.starts_with('.') || l.starts_with('\'') { format!("\\&{l}") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A synopsis in wg's notation, in roff: `<placeholder>` in italics, words in bold,
/// brackets, braces, bars and commas as they are.
fn roff_usage(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let end_of =
        |from: usize, stop: &dyn Fn(char) -> bool| chars[from..].iter().position(|&c| stop(c)).map_or(chars.len(), |j| from + j);
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '<' {
            let j = end_of(i, &|c| c == '>');
            out.push_str(&format!("\\fI{}\\fP", roff_escape(&chars[i + 1..j].iter().collect::<String>())));
            i = j + 1;
        } else if c.is_ascii_alphabetic() {
            let j = end_of(i, &|c| !(c.is_ascii_alphanumeric() || c == '-'));
            out.push_str(&format!("\\fB{}\\fP", roff_escape(&chars[i..j].iter().collect::<String>())));
            i = j;
        } else {
            out.push_str(&roff_escape(&c.to_string()));
            i += 1;
        }
    }
    out
}

/// `.TP` items: a tag (already roff) and its text (light markup).
fn roff_items(items: impl IntoIterator<Item = (String, String)>) -> String {
    items.into_iter().map(|(tag, text)| format!(".TP\n{tag}\n{}\n", roff_text(&text))).collect()
}

/// The [Interface] keys wg-quick adds to wg(8)'s file, with what they do.
pub const WG_QUICK_KEYS: &[(&str, &str)] = &[
    (
        "Address",
        "An IPv4 or IPv6 address with its prefix length (`10.0.0.2/24`, `fd00::2/64`), or several separated by \
         commas; the key may appear more than once. `up` adds each to the interface.",
    ),
    (
        "DNS",
        "DNS servers to use while the interface is up, separated by commas; the key may appear more than once. \
         Entries that are not IP addresses are search domains. They are given to `resolvconf`(8) for this \
         interface and withdrawn by `down`. Where there is no resolvconf, or only systemd-resolved's own \
         (a link to `resolvectl`), and systemd-resolved runs, `up` sets them on the interface with \
         `resolvectl`(1) instead, with the routing domain `~.` so that these servers answer every query no \
         other link's domain matches (no DNS leak on a full tunnel), and `down` reverts the interface. With \
         neither, `up` fails as wg-quick does, saying what to install.",
    ),
    (
        "MTU",
        "The interface's MTU. Without it, `up` takes the MTU of the links through which the peers' endpoints \
         (or, with none, the default route) are reached, less 80 bytes for WireGuard's own headers.",
    ),
    (
        "Table",
        "Where the routes to the peers' allowed IP prefixes go. `auto`, the default, puts them in the main table, \
         except a default route (a prefix of length 0): that goes to a table of its own, numbered as the \
         interface's firewall mark (set to 51820 unless FwMark says otherwise), with two policy rules that send \
         unmarked traffic there while the main table's more specific routes still apply, and a firewall rule \
         that drops packets for the interface's addresses arriving on other interfaces. `off` adds no routes; a \
         number or a name from `/etc/iproute2/rt_tables` puts them in that table.",
    ),
    (
        "PreUp, PostUp, PreDown, PostDown",
        "A command run by `bash`(1): PreUp once the interface exists and before it is configured, PostUp once it \
         is up, PreDown before it is taken down and PostDown after it is gone. `%i` in the command stands for \
         the interface's name. Each key may appear more than once; the commands run in order. A PreUp or PostUp \
         command that fails makes `up` fail.",
    ),
    (
        "SaveConfig",
        "`true` makes `down` first write the running configuration back to the file, as `save` does. The \
         default is `false`.",
    ),
];

/// The options of `wg set` that apply to the interface: keyword, argument, meaning.
pub const WG_SET_INTERFACE_OPTIONS: &[(&str, &str, &str)] = &[
    ("listen-port", "<port>", "The UDP port the interface receives on; 0 lets the system pick one."),
    (
        "fwmark",
        "<mark>",
        "A 32-bit mark set on the interface's outgoing encrypted packets, for policy routing: decimal, or \
         hexadecimal after `0x`. 0 or `off` removes it.",
    ),
    (
        "private-key",
        "<file>",
        "Reads the interface's private key from <file>, never from the command line, so that it cannot be seen \
         in the list of processes. `/dev/null` or an empty file removes the key.",
    ),
];

/// The options of `wg set` that apply to the peer named before them.
pub const WG_SET_PEER_OPTIONS: &[(&str, &str, &str)] = &[
    ("remove", "", "Deletes the peer."),
    (
        "preshared-key",
        "<file>",
        "Reads a symmetric key for this peer (made by `genpsk`) from <file>; it is mixed into the handshake as a \
         further layer of protection. `/dev/null` or an empty file removes it.",
    ),
    (
        "endpoint",
        "<host>:<port>",
        "Where packets for this peer are sent until it is heard from somewhere else: an IPv4 address, an IPv6 \
         address in brackets or a host name, a colon and a port. A name is resolved once, when the command runs \
         (see WG_ENDPOINT_RESOLUTION_RETRIES).",
    ),
    (
        "persistent-keepalive",
        "<seconds>|off",
        "After this many seconds (1 to 65535) without anything sent to the peer, an empty authenticated packet \
         is sent, which keeps the state of NAT devices and firewalls on the way alive. 0 or `off` turns this off.",
    ),
    (
        "allowed-ips",
        "[+|-]<prefix>[,...]",
        "The IP prefixes (address/length; an address without a length is a single host) that this peer may send \
         from and that are sent to it. A plain list replaces the peer's, and an empty one removes them all; when \
         an item has a `+` or `-` in front, the list is changed instead: those with `-` are removed from it and \
         the others added.",
    ),
];

/// The values `wg show <interface> <field>` prints.
pub const WG_SHOW_FIELDS: &[(&str, &str)] = &[
    ("public-key", "the interface's public key"),
    ("private-key", "the interface's private key"),
    ("listen-port", "the UDP port it receives on"),
    ("fwmark", "its firewall mark, or `off`"),
    ("peers", "the public key of each peer"),
    ("preshared-keys", "each peer's public key and preshared key, or `(none)`"),
    ("endpoints", "each peer's public key and endpoint, or `(none)`"),
    ("allowed-ips", "each peer's public key and allowed IP prefixes, separated by spaces, or `(none)`"),
    ("latest-handshakes", "each peer's public key and the time of its latest handshake in seconds since 1970, 0 for none"),
    ("transfer", "each peer's public key, bytes received and bytes sent"),
    ("persistent-keepalive", "each peer's public key and keepalive interval in seconds, or `off`"),
    (
        "dump",
        "everything: a line for the interface (private key, public key, listen port, fwmark), then one per peer \
         (public key, preshared key, endpoint, allowed IPs separated by commas, latest handshake, bytes received, \
         bytes sent, persistent keepalive)",
    ),
];

/// The keys of wg(8)'s configuration file: section, key, meaning.
pub const WG_CONFIG_KEYS: &[(&str, &str, &str)] = &[
    ("Interface", "PrivateKey", "the interface's private key, in base64 (as `genkey` prints it)"),
    ("Interface", "ListenPort", "the UDP port to receive on; without it the system picks one"),
    ("Interface", "FwMark", "the mark for outgoing encrypted packets; 0 or `off` for none"),
    ("Peer", "PublicKey", "the peer's public key, in base64; required"),
    ("Peer", "PresharedKey", "a symmetric key shared with the peer, in base64 (as `genpsk` prints it)"),
    (
        "Peer",
        "AllowedIPs",
        "the prefixes the peer may send from and that are sent to it, separated by commas; the key may appear \
         more than once",
    ),
    ("Peer", "Endpoint", "the peer's address and port, as for `set`"),
    ("Peer", "PersistentKeepalive", "seconds between keepalive packets, or `off`"),
];

/// The environment wg(8) reads.
pub const WG_ENVIRONMENT: &[(&str, &str)] = &[
    (
        "WG_COLOR_MODE",
        "`always` colours the output of `show` even when standard output is not a terminal, `never` never does; \
         otherwise (`auto`) it is coloured only on a terminal.",
    ),
    (
        "WG_HIDE_KEYS",
        "`never` makes `show` print private and preshared keys instead of `(hidden)`. The field forms, `dump` \
         and `showconf` always print them.",
    ),
    (
        "WG_ENDPOINT_RESOLUTION_RETRIES",
        "How many more times to try resolving an endpoint's host name, waiting a little longer each time, before \
         giving up (default 15); `infinity` tries until it succeeds.",
    ),
];

/// The commands the `wg-quick` name accepts ([`crate::frontend::cli::parse_args`]).
pub const WG_QUICK_COMMANDS: &[&str] = &["up", "down", "save", "strip"];

/// wg-quick's commands as the clap command describes them (its summaries are wgq's).
pub fn wg_quick_commands() -> Vec<CommandDoc> {
    commands().into_iter().filter(|c| WG_QUICK_COMMANDS.contains(&c.name.as_str())).collect()
}

/// What each of wg-quick's commands does, beyond its summary.
fn wg_quick_details(name: &str) -> &'static str {
    match name {
        "up" => {
            "The steps: create the interface (with a userspace implementation when the kernel has no WireGuard, \
             see ENVIRONMENT), run PreUp, give it its keys and peers, add its addresses, set its MTU and bring it \
             up, set its DNS servers, add routes to the peers' allowed IP prefixes (see Table) and run PostUp."
        }
        "down" => {
            "Runs PreDown, saves the configuration when SaveConfig is true, deletes the interface (its addresses \
             and routes go with it), withdraws its DNS servers and the policy and firewall rules `up` added, and \
             runs PostDown."
        }
        "save" => {
            "The keys, port and peers are taken from the device as it runs now (endpoints as last seen), the \
             addresses from the interface, and the other wg-quick keys from the file; the file keeps mode 0600."
        }
        "strip" => "The output suits `wg setconf` and `wg syncconf`, e.g. `wg syncconf wg0 <(wg-quick strip wg0)`.",
        _ => "",
    }
}

/// `man/wg-quick.8`: man/src/wg-quick.8.in filled with its commands and keys.
pub fn wg_quick_man_page() -> String {
    let commands = roff_items(wg_quick_commands().iter().map(|c| {
        (format!(".B {}", roff_escape(&c.name)), format!("{}. {}", c.about, wg_quick_details(&c.name)).trim_end().to_string())
    }));
    let keys = roff_items(WG_QUICK_KEYS.iter().map(|(k, t)| (format!(".B {}", roff_escape(k)), t.to_string())));
    fill(include_str!("../../man/src/wg-quick.8.in"), &[("COMMANDS", commands), ("KEYS", keys)])
}

/// `man/wg.8`: man/src/wg.8.in filled with the tables of wg(8)'s subcommands, `show`
/// fields, configuration keys and environment.
pub fn wg_man_page() -> String {
    let mut synopsis = String::new();
    for c in SUBCOMMANDS {
        synopsis.push_str(&format!(".B wg {}\n", c.name));
        if !c.args.is_empty() {
            synopsis.push_str(&format!("{}\n", roff_usage(c.args)));
        }
        synopsis.push_str(".br\n");
    }
    let mut commands = String::new();
    for c in SUBCOMMANDS {
        let tag = if c.args.is_empty() { format!(".B {}", c.name) } else { format!("\\fB{}\\fP {}", c.name, roff_usage(c.args)) };
        commands.push_str(&roff_items([(tag, c.description.to_string())]));
        if c.name == "set" {
            commands.push_str(".RS\n");
            for (k, a, t) in WG_SET_INTERFACE_OPTIONS.iter().chain(WG_SET_PEER_OPTIONS) {
                let tag = format!("\\fB{}\\fP {}", roff_escape(k), roff_usage(a)).trim_end().to_string();
                commands.push_str(&roff_items([(tag, t.to_string())]));
            }
            commands.push_str(".RE\n");
        }
    }
    let fields = roff_items(WG_SHOW_FIELDS.iter().map(|(f, t)| (format!(".B {}", roff_escape(f)), format!("{t}."))));
    let keys = roff_items(
        WG_CONFIG_KEYS.iter().map(|(sec, k, t)| (format!(".BR {} \" (in [{sec}])\"", roff_escape(k)), format!("{t}."))),
    );
    let environment = roff_items(WG_ENVIRONMENT.iter().map(|(v, t)| (format!(".B {v}"), t.to_string())));
    fill(
        include_str!("../../man/src/wg.8.in"),
        &[
            ("SYNOPSIS", synopsis),
            ("COMMANDS", commands),
            ("SHOW_FIELDS", fields),
            ("CONFIG_KEYS", keys),
            ("ENVIRONMENT", environment),
        ],
    )
}

/// The shell words that list configuration names in /etc/wireguard.
const BASH_CONFIG_NAMES: &str = "$(cd /etc/wireguard 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\\.conf$//')";

/// `completions/wg-quick.bash`
pub fn wg_quick_bash_completion() -> String {
    let names: Vec<String> = wg_quick_commands().into_iter().map(|c| c.name).collect();
    let mut s =
        String::from("# bash completion for wg-quick (wgq). Generated from src/frontend/docs.rs; do not edit.\n_wg_quick() {\n");
    s.push_str("\tlocal cur=${COMP_WORDS[COMP_CWORD]}\n\tif [[ $COMP_CWORD -eq 1 ]]; then\n");
    s.push_str(&format!("\t\tCOMPREPLY=( $(compgen -W \"{} help\" -- \"$cur\") )\n", names.join(" ")));
    s.push_str(&format!(
        "\telif [[ $COMP_CWORD -eq 2 ]]; then\n\t\tcase ${{COMP_WORDS[1]}} in\n\t\t{})\n\
         \t\t\tCOMPREPLY=( $(compgen -W \"{BASH_CONFIG_NAMES}\" -- \"$cur\") )\n\
         \t\t\tCOMPREPLY+=( $(compgen -f -X '!*.conf' -- \"$cur\") )\n\t\t\t;;\n\t\tesac\n\tfi\n",
        names.join("|")
    ));
    s.push_str("}\ncomplete -F _wg_quick wg-quick\n");
    s
}

/// `completions/_wg-quick` (zsh)
pub fn wg_quick_zsh_completion() -> String {
    let mut s = String::from(
        "#compdef wg-quick\n# zsh completion for wg-quick (wgq). Generated from src/frontend/docs.rs; do not edit.\n\n\
         _wg_quick() {\n\tlocal -a commands\n\tcommands=(\n",
    );
    for c in wg_quick_commands() {
        s.push_str(&format!("\t\t'{}:{}'\n", c.name, c.about.replace('\'', "'\\''").replace(':', "\\:")));
    }
    s.push_str(
        "\t)\n\tif (( CURRENT == 2 )); then\n\t\t_describe 'command' commands\n\telif (( CURRENT == 3 )); then\n\
         \t\tlocal -a names\n\t\tnames=( /etc/wireguard/*.conf(N:t:r) )\n\
         \t\t_alternative 'names:interface:compadd -a names' 'files:config:_files -g \"*.conf\"'\n\tfi\n}\n\n\
         _wg_quick \"$@\"\n",
    );
    s
}

/// `completions/wg-quick.fish`
pub fn wg_quick_fish_completion() -> String {
    let commands = wg_quick_commands();
    let names: Vec<&str> = commands.iter().map(|c| c.name.as_str()).collect();
    let mut s = String::from("# fish completion for wg-quick (wgq). Generated from src/frontend/docs.rs; do not edit.\n");
    s.push_str(&format!("set -l wg_quick_commands {}\n", names.join(" ")));
    for c in &commands {
        s.push_str(&format!(
            "complete -c wg-quick -f -n \"not __fish_seen_subcommand_from $wg_quick_commands\" -a {} -d '{}'\n",
            c.name,
            c.about.replace('\'', "\\'")
        ));
    }
    s.push_str(
        "complete -c wg-quick -n \"__fish_seen_subcommand_from $wg_quick_commands\" -F -a \"(path basename /etc/wireguard/*.conf | string replace -r '\\.conf\\$' '')\"\n",
    );
    s
}

/// The shell words that list WireGuard interfaces: kernel ones and userspace sockets.
const BASH_WG_INTERFACES: &str = "$(grep -lx DEVTYPE=wireguard /sys/class/net/*/uevent 2>/dev/null | cut -d/ -f5; cd /var/run/wireguard 2>/dev/null && ls *.sock 2>/dev/null | sed 's/\\.sock$//')";

fn wg_set_keywords() -> Vec<&'static str> {
    let mut v: Vec<&str> = WG_SET_INTERFACE_OPTIONS.iter().chain(WG_SET_PEER_OPTIONS).map(|(k, _, _)| *k).collect();
    v.push("peer");
    v
}

/// `completions/wg.bash`
pub fn wg_bash_completion() -> String {
    let names: Vec<&str> = SUBCOMMANDS.iter().map(|c| c.name).collect();
    let fields: Vec<&str> = WG_SHOW_FIELDS.iter().map(|(f, _)| *f).collect();
    let files: Vec<&str> = SUBCOMMANDS.iter().filter(|c| c.file).map(|c| c.name).collect();
    let interface_only: Vec<&str> = SUBCOMMANDS.iter().filter(|c| c.first == WgFirst::Interface).map(|c| c.name).collect();
    let mut s = String::from("# bash completion for wg (wgq). Generated from src/frontend/docs.rs; do not edit.\n_wg() {\n");
    s.push_str("\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n");
    s.push_str(&format!(
        "\tif [[ $COMP_CWORD -eq 1 ]]; then\n\t\tCOMPREPLY=( $(compgen -W \"{} help --help --version\" -- \"$cur\") )\n\t\treturn\n\tfi\n",
        names.join(" ")
    ));
    s.push_str("\tcase ${COMP_WORDS[1]} in\n");
    s.push_str(&format!(
        "\tshow)\n\t\tif [[ $COMP_CWORD -eq 2 ]]; then\n\t\t\tCOMPREPLY=( $(compgen -W \"all interfaces {BASH_WG_INTERFACES}\" -- \"$cur\") )\n\
         \t\telif [[ $COMP_CWORD -eq 3 && $prev != interfaces ]]; then\n\t\t\tCOMPREPLY=( $(compgen -W \"{}\" -- \"$cur\") )\n\t\tfi\n\t\t;;\n",
        fields.join(" ")
    ));
    s.push_str(&format!(
        "\t{})\n\t\tif [[ $COMP_CWORD -eq 2 ]]; then\n\t\t\tCOMPREPLY=( $(compgen -W \"{BASH_WG_INTERFACES}\" -- \"$cur\") )\n",
        interface_only.join("|")
    ));
    s.push_str(&format!(
        "\t\telif [[ $COMP_CWORD -eq 3 && ${{COMP_WORDS[1]}} == @({}) ]]; then\n\t\t\tCOMPREPLY=( $(compgen -f -- \"$cur\") )\n",
        files.join("|")
    ));
    s.push_str(&format!(
        "\t\telif [[ ${{COMP_WORDS[1]}} == set ]]; then\n\t\t\tcase $prev in\n\t\t\tprivate-key|preshared-key) COMPREPLY=( $(compgen -f -- \"$cur\") ) ;;\n\
         \t\t\tpeer|listen-port|fwmark|endpoint|persistent-keepalive|allowed-ips) ;;\n\
         \t\t\t*) COMPREPLY=( $(compgen -W \"{}\" -- \"$cur\") ) ;;\n\t\t\tesac\n\t\tfi\n\t\t;;\n",
        wg_set_keywords().join(" ")
    ));
    s.push_str("\tesac\n}\ncomplete -F _wg wg\n");
    s
}

/// `completions/_wg` (zsh)
pub fn wg_zsh_completion() -> String {
    let mut s = String::from(
        "#compdef wg\n# zsh completion for wg (wgq). Generated from src/frontend/docs.rs; do not edit.\n\n_wg() {\n\
         \tlocal -a commands interfaces\n\tcommands=(\n",
    );
    for c in SUBCOMMANDS {
        s.push_str(&format!("\t\t'{}:{}'\n", c.name, c.about.replace('\'', "'\\''").replace(':', "\\:")));
    }
    s.push_str(
        "\t)\n\tinterfaces=( /sys/class/net/*(Ne{'grep -qx DEVTYPE=wireguard $REPLY/uevent 2>/dev/null'}:t) /var/run/wireguard/*.sock(N:t:r) )\n",
    );
    s.push_str("\tif (( CURRENT == 2 )); then\n\t\t_describe 'command' commands\n\t\treturn\n\tfi\n\tcase $words[2] in\n");
    let fields: Vec<&str> = WG_SHOW_FIELDS.iter().map(|(f, _)| *f).collect();
    s.push_str(&format!(
        "\tshow)\n\t\tif (( CURRENT == 3 )); then\n\t\t\tcompadd all interfaces -a interfaces\n\t\telif (( CURRENT == 4 )); then\n\t\t\tcompadd {}\n\t\tfi\n\t\t;;\n",
        fields.join(" ")
    ));
    let files: Vec<&str> = SUBCOMMANDS.iter().filter(|c| c.file).map(|c| c.name).collect();
    s.push_str(&format!(
        "\t{})\n\t\tif (( CURRENT == 3 )); then\n\t\t\tcompadd -a interfaces\n\t\telif (( CURRENT == 4 )); then\n\t\t\t_files\n\t\tfi\n\t\t;;\n",
        files.join("|")
    ));
    s.push_str("\tshowconf)\n\t\t(( CURRENT == 3 )) && compadd -a interfaces\n\t\t;;\n");
    s.push_str(&format!(
        "\tset)\n\t\tif (( CURRENT == 3 )); then\n\t\t\tcompadd -a interfaces\n\t\telse\n\t\t\tcase $words[CURRENT-1] in\n\
         \t\t\tprivate-key|preshared-key) _files ;;\n\t\t\tpeer|listen-port|fwmark|endpoint|persistent-keepalive|allowed-ips) ;;\n\
         \t\t\t*) compadd {} ;;\n\t\t\tesac\n\t\tfi\n\t\t;;\n",
        wg_set_keywords().join(" ")
    ));
    s.push_str("\tesac\n}\n\n_wg \"$@\"\n");
    s
}

/// `completions/wg.fish`
pub fn wg_fish_completion() -> String {
    let names: Vec<&str> = SUBCOMMANDS.iter().map(|c| c.name).collect();
    let mut s = String::from("# fish completion for wg (wgq). Generated from src/frontend/docs.rs; do not edit.\n");
    s.push_str(&format!("set -l wg_commands {}\n", names.join(" ")));
    s.push_str(
        "function __wgq_wg_interfaces\n\tfor f in /sys/class/net/*/uevent\n\t\tgrep -qx DEVTYPE=wireguard $f 2>/dev/null; and basename (dirname $f)\n\tend\n\
         \tfor f in /var/run/wireguard/*.sock\n\t\tbasename $f .sock\n\tend\nend\n",
    );
    for c in SUBCOMMANDS {
        s.push_str(&format!(
            "complete -c wg -f -n \"not __fish_seen_subcommand_from $wg_commands\" -a {} -d '{}'\n",
            c.name,
            c.about.replace('\'', "\\'")
        ));
    }
    let with_interface: Vec<&str> = SUBCOMMANDS.iter().filter(|c| c.first != WgFirst::Nothing).map(|c| c.name).collect();
    s.push_str(&format!(
        "complete -c wg -f -n \"__fish_seen_subcommand_from {}; and test (count (commandline -opc)) -eq 2\" -a \"(__wgq_wg_interfaces)\"\n",
        with_interface.join(" ")
    ));
    s.push_str(
        "complete -c wg -f -n \"__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 2\" -a \"all interfaces\"\n",
    );
    for (f, t) in WG_SHOW_FIELDS {
        s.push_str(&format!(
            "complete -c wg -f -n \"__fish_seen_subcommand_from show; and test (count (commandline -opc)) -eq 3\" -a {f} -d '{}'\n",
            t.replace('`', "").replace('\'', "\\'")
        ));
    }
    for k in wg_set_keywords() {
        s.push_str(&format!(
            "complete -c wg -f -n \"__fish_seen_subcommand_from set; and test (count (commandline -opc)) -ge 3\" -a {k}\n"
        ));
    }
    s
}

/// Every generated file with its path in the repository. The `wgq` package installs the
/// `wgq` ones; the `wgq-wireguard-tools` package those named after `wg` and `wg-quick`.
pub fn generated_files() -> Vec<(&'static str, String)> {
    vec![
        ("man/wgq.8", man_page()),
        ("completions/wgq.bash", bash_completion()),
        ("completions/_wgq", zsh_completion()),
        ("completions/wgq.fish", fish_completion()),
        ("man/wg-quick.8", wg_quick_man_page()),
        ("completions/wg-quick.bash", wg_quick_bash_completion()),
        ("completions/_wg-quick", wg_quick_zsh_completion()),
        ("completions/wg-quick.fish", wg_quick_fish_completion()),
        ("man/wg.8", wg_man_page()),
        ("completions/wg.bash", wg_bash_completion()),
        ("completions/_wg", wg_zsh_completion()),
        ("completions/wg.fish", wg_fish_completion()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_every_part_and_drops_template_notes() {
        let t = ".\\\"# a note\n.TH X\n@@A@@.SH B\n@@B@@ and @@B@@\n";
        assert_eq!(fill(t, &[("A", "one\n".into()), ("B", "two".into())]), ".TH X\none\n.SH B\ntwo and two\n");
    }

    #[test]
    fn every_part_of_the_templates_is_filled() {
        for (path, text) in generated_files() {
            assert!(!text.contains("@@"), "{path} has a part the generator did not fill");
            assert!(!text.contains(".\\\"#"), "{path} has a template note");
        }
    }
}
