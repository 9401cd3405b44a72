//! The man pages and shell completions, generated from wgq's clap command
//! ([`crate::frontend::cli::wgq_command`]) so that they cannot drift from the CLI (a test compares the
//! committed files with these): wgq's own, and those of the `wg-quick` and `wg` names that the
//! wgq-wireguard-tools package installs (wg-quick's commands are the clap command's; wg(8)'s
//! come from the tables below, in wgq's own words). The generators are wgq's own rather
//! than clap_mangen's and clap_complete's: one page for every command (clap_mangen points
//! to a page per subcommand), and completions of the names in /etc/wireguard and of network
//! interfaces, which static clap_complete scripts cannot offer.

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

/// The man page's section on `wgq server` and `wgq peer`.
const PROVISIONING: &str = ".SH SERVERS AND CLIENTS\n\\fBwgq server init\\fP writes a server file that stays a plain \
wg\\-quick file: \\fBwg\\-quick up\\fP and \\fBwgq check\\fP read it, and it is the only record of the \
clients. Each client is one [Peer] block whose metadata are comment lines right after its header: \
\\fB# Name =\\fP, \\fB# DisplayName =\\fP (a name for people, any printable text up to 64 characters, shown by \\fBwgq web\\fP), \\fB# Created =\\fP, \\fB# Expires =\\fP and \\fB# Note =\\fP. A disabled client keeps its \
block with every line commented out by \\fB#\\- \\fP, so its addresses stay reserved. The defaults of new client \
files are \\fB# ClientEndpoint =\\fP, \\fB# ClientDNS =\\fP, \\fB# ClientAllowedIPs =\\fP, \\fB# ClientKeepalive =\\fP \
and \\fB# ClientMTU =\\fP comments in [Interface].\n.PP\n\\fBwgq peer\\fP edits only the block it is about and \
keeps every other byte (comments, blank lines, order, CRLF line ends); it writes atomically (a 0600 temporary file, \
fsync, rename) under the file's lock, reading the file again once it holds it, so concurrent edits (from any \
network namespace or container that shares the file) never pick the same address or lose a client. A server or \
client file that is a symbolic link stays one: the file it points to is replaced. Addresses are the lowest free hosts of the server's Address networks (any prefix \
length, IPv4 and IPv6), counting the server's, every client's AllowedIPs and the disabled clients'. On a running \
interface the change is applied live: one device update with just that client (or its removal) and the routes \
\\fBup\\fP would add for it; other clients keep their sessions. Keys are made in the process and written only to \
0600 files; \\fB\\-\\-pubkey\\fP keeps no private key at all, \\fB\\-\\-no\\-store\\fP prints the client file once. \
A file with SaveConfig = true is refused (\\fB\\-\\-force\\fP edits it all the same). Names follow wg\\-quick's \
interface-name rule: 1 to 15 letters, digits and _ = + . \\-. \\fBwgq peer set \\-\\-ip\\fP gives a client other \
addresses (one of each family, free, inside the server's Address networks): its block's AllowedIPs and its \
client file's Address change together. Every option value is parsed and written from its parsed form; a value \
that does not parse is refused, naming the option, before anything is written.\n";

/// The man page's section on `wgq reresolve` and its timer.
const WEB: &str = ".SH WEB PAGE\n\\fBwgq web\\fP serves a web page and its API for server interfaces (every server file of \
the config directory, or those named), by default on \\fB127.0.0.1:51821\\fP. The server files stay the only \
database of clients: every change the page makes goes through the same edits as \\fBwgq peer\\fP (the file's \
lock, only that block changed, that peer changed on the running interface), and what \\fBwgq peer\\fP changes \
shows in the page within a second. It speaks wg\\-easy 14's API (\\fB/api/session\\fP, \
\\fB/api/wireguard/client\\fP and its sub\\-routes, \\fB/cnf/\\fP\\fILINK\\fP, the settings routes, \
\\fB/metrics\\fP) for the interface \\fBwg0\\fP when it is served, else the first, and its own \
\\fB/api/v1/interfaces/\\fP\\fIINTERFACE\\fP\\fB/clients\\fP for all of them. A client's id is its public key in \
URL\\-safe base64.\n.PP\nPlain HTTP is served only on a loopback address unless \\fB\\-\\-insecure\\fP is given \
(behind a TLS reverse proxy; \\fB\\-\\-trusted\\-proxy\\fP names the proxies whose X\\-Forwarded\\-For and \
X\\-Forwarded\\-Proto are believed). Without a password hash only loopback is served, with a warning. The \
password hash is \\fBPASSWORD_HASH\\fP (an argon2id PHC string, or bcrypt as wg\\-easy makes them; costs above \
64 MiB, 16 passes, 4 lanes or bcrypt cost 14 are refused) or the one \\fBwgq web\\-admin hash\\-password \
\\-\\-save\\fP stored. \\fBwgq web\\-admin totp enable\\fP adds a second factor (a TOTP code at login; the \
password header is then refused). Scripts may send \\fBAuthorization:\\fP \\fIPASSWORD\\fP, or a token of \\fBwgq web\\-admin \
token add\\fP as \\fBAuthorization: Bearer\\fP \\fITOKEN\\fP (a read\\-only token may not change anything). Logins are \
throttled per client address (5 a minute) and in all (30 a minute); a session ends after 24 hours unused, and \
at \\fBMAX_AGE\\fP minutes when remember me was ticked. A state change whose Origin or Sec\\-Fetch\\-Site \
names another site is refused. Every change is logged on standard error as an \\fBaudit:\\fP line naming \
who, what and which client. wg\\-easy 14's variables apply where no option is given: \\fBPORT\\fP, \\fBWEBUI_HOST\\fP, \
\\fBPASSWORD_HASH\\fP, \\fBMAX_AGE\\fP, \\fBLANG\\fP, \\fBUI_TRAFFIC_STATS\\fP, \\fBUI_CHART_TYPE\\fP, \
\\fBUI_ENABLE_SORT_CLIENTS\\fP, \\fBWG_ENABLE_ONE_TIME_LINKS\\fP, \\fBWG_ENABLE_EXPIRES_TIME\\fP, \
\\fBENABLE_PROMETHEUS_METRICS\\fP and \\fBPROMETHEUS_METRICS_PASSWORD\\fP. The state directory \
(\\fB/var/lib/wgq/web\\fP, mode 0700) holds the password hash, the tokens and the one\\-time links, the last two \
stored hashed.\n";

const RERESOLVE: &str = ".SH DYNAMIC DNS\n\\fBwg\\fP(8) resolves an Endpoint host name once. \\fBwgq reresolve\\fP \
\\fIINTERFACE\\fP looks up again the peers of the file whose Endpoint is a host name, that exist on the running \
device and that are stale (no handshake for \\fB\\-\\-stale\\-after\\fP seconds, 135 by default, or never), \
and changes a peer's endpoint only when its address really changed; with several addresses for the name and \
a stale peer it moves on to the next one, skipping addresses the device has no route to. Each change is one device update carrying only that peer's endpoint \
(update\\-only: a peer removed meanwhile is not created again) and one \\fB[#] wg set\\fP trace line. \
Names are looked up in /etc/hosts, then with wgq's own DNS client (A and AAAA over UDP, TCP when an answer is truncated, at most 5 seconds per \
name, all names at once); when the device has a fwmark (a full tunnel), the queries carry it, so they leave \
outside the tunnel, and go to the name servers the host had before \\fBup\\fP set DNS= (recorded in the \
state file), else to those of /etc/resolv.conf (systemd\\-resolved's upstream servers when it lists only \
its stub). A failed lookup is reported with the file and line of its Endpoint and does not stop the others; \
the exit status is then 1. It also works for interfaces that \\fBwg\\-quick\\fP brought up. \
\\fBsystemctl enable \\-\\-now wgq\\-reresolve@\\fP\\fIINTERFACE\\fP\\fB.timer\\fP runs it every 30 seconds \
while \\fBwgq@\\fP\\fIINTERFACE\\fP\\fB.service\\fP runs, and stops with it.\n";

/// The man page's section on the kill switch of `wgq up`.
const KILL_SWITCH: &str = ".SH KILL SWITCH\n\\fBwgq up \\-\\-kill\\-switch\\fP (full tunnels only: a peer with \
0.0.0.0/0 or ::/0 in AllowedIPs and Table = auto) adds one nftables table, \\fBinet wgq\\-killswitch\\-\\fP\\fIINTERFACE\\fP, \
whose output chain rejects every packet that does not leave through the tunnel, for both IP versions: a full tunnel \
of one family rejects the other family instead of letting it out beside the tunnel. Allowed are loopback, the \
tunnel interface, packets with the tunnel's fwmark (its own encrypted UDP to the endpoints), local destinations, \
DHCPv4 (UDP 68 to 67) and DHCPv6 (UDP 546 to 547) client traffic and IPv6 router and neighbour discovery (ICMPv6 \
133 to 136); \\fB\\-\\-allow\\-lan\\fP adds 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, fc00::/7 and \
fe80::/10. The rest is rejected, TCP with a reset and everything else with ICMP administratively prohibited, so \
programs fail at once rather than time out. Routes that would lead around the tunnel (a more specific route in the \
main table, the tunnel's device gone) are rejected too. Without \\fBnft\\fP, the same rules go into an \
iptables and an ip6tables chain \\fBwgq\\-ks\\-\\fP\\fIINTERFACE\\fP of the filter table, jumped to from OUTPUT. The \
table is loaded as one nft transaction (loading it again replaces it whole) right after the fwmark is set, before \
the link goes up; a failed \\fBup\\fP removes it (unless it was there before), \\fBdown\\fP removes it last.\n.PP\n\\fB\\-\\-kill\\-switch=strict\\fP keeps the table after \\fBdown\\fP, after a crash \
and after a failed \\fBup\\fP, so that nothing leaves while the tunnel is down; the next \\fBup\\fP reaches its \
endpoint through it (its packets carry the fwmark), and looks a host name in Endpoint up with its own resolver \
from sockets carrying that fwmark, to the host\\(aqs name servers (as \\fBreresolve\\fP does). \\fBwgq down \\-\\-kill\\-switch=off\\fP \\fIINTERFACE\\fP removes it, also when the interface is gone. What \
\\fBup\\fP installed is recorded in \\fB/run/wgq\\fP, so \\fBdown\\fP removes exactly that whatever its flags; \
\\fBreload\\fP keeps it.\n.PP\nA tunnel that vanished without \\fBdown\\fP (its userspace daemon crashed, its link was \
deleted) leaves its policy rules, its firewall rules, a \\fBresolvconf\\fP registration and its kill switch \
behind: \\fBdown\\fP then says so (\\fIINTERFACE\\fP \\fBis gone; removing what up recorded: ...\\fP) and removes what its \
record names (a strict switch stays, as after \\fBdown\\fP of a running tunnel); \\fBdown \\-\\-kill\\-switch=off\\fP \
removes the switch too, from nftables and from iptables when both hold one. No hook runs then.\n.PP\n\
A kill switch lets out the host\\(aqs other wgq tunnels (those with a record in \\fB/run/wgq\\fP): their devices, \
their fwmarks and their listen ports (their encrypted packets), kept in the sets \\fBtunnels\\fP, \\fBmarks\\fP and \
\\fBports\\fP of its table (iptables: rules with the comment \\fBwgq tunnel\\fP \\fIINTERFACE\\fP) that the other \
tunnels\\(aq \\fBup\\fP, \\fBreload\\fP (a new listen port or fwmark) and \\fBdown\\fP change, whichever came first (each then makes every switch let out exactly the tunnels running, under a lock in \\fB/run/wgq\\fP, so that two at once end right). Every kill switch is a full\\-tunnel one (it \
rejects what does not leave through its own tunnel), so a host has one: \\fBup \\-\\-kill\\-switch\\fP while the \
switch of another interface is in place (running, or left by a strict one) is refused before anything is \
changed, with an error naming that interface.\n.PP\nThe file is not changed and stays a wg\\-quick file. For boot, \\fBwgq@.service\\fP passes \
\\fBWGQ_UP_FLAGS\\fP and \\fBWGQ_DOWN_FLAGS\\fP to \\fBup\\fP and \\fBdown\\fP: \\fBsystemctl edit wgq@\\fP\\fIINTERFACE\\fP \
with \\fB[Service]\\fP and \\fBEnvironment=WGQ_UP_FLAGS=\\-\\-kill\\-switch\\fP.\n";

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
         PreDown, PostDown and SaveConfig, which behave as in \\fBwg\\-quick\\fP(8). DNS servers go to \
         \\fBresolvconf\\fP(8) when a real one (not systemd-resolved's link to \\fBresolvectl\\fP) is \
         installed; otherwise, when systemd-resolved runs, to the interface itself through \
         \\fBresolvectl\\fP(1), with the routing domain \\fB~.\\fP, reverted by \\fBdown\\fP.\n.PP\n\
         The whole file is validated before anything is changed, and every error is reported with its \
         line. Each change is printed as a \\fB[#]\\fP trace line written as the \\fBip\\fP, \\fBwg\\fP or \
         \\fBnft\\fP command that would do the same. If any step fails, or SIGINT, SIGTERM or SIGHUP \
         arrives, every change made so far is undone in reverse order. A lock beside the file \
         (\\fB.\\fP\\fIINTERFACE\\fP\\fB.conf.lock\\fP, beside the target of a symbolic link), shared by \
         every network namespace and container that sees the file, and one in \\fB/run/wgq\\fP per namespace \
         serialise runs and \\fBwgq peer\\fP edits of the same file and interface; a run waits for a lock \
         another holds, up to 30 s (\\fBWGQ_LOCK_WAIT\\fP), and names the holder. \\fBup\\fP records what it added (addresses, routes, DNS, \
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
    s.push_str(RERESOLVE);
    s.push_str(WEB);
    s.push_str(KILL_SWITCH);
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
         (default 15; \\fBinfinity\\fP for no limit).\n.TP\n\
         .B WGQ_LOCK_WAIT\nHow many seconds a command waits for the locks of its file and interface while \
         another process holds them (default 30, at most 3600; 0 fails at once).\n",
    );
    s.push_str(
        ".SH EXIT STATUS\n0 on success (also for help and the version); 1 for a usage or configuration error; \
         otherwise the status of the step that failed (a hook's own status, 2 for a refused netlink request).\n",
    );
    s.push_str(
        ".SH FILES\n/etc/wireguard/\\fIINTERFACE\\fP.conf; /etc/wireguard/clients/\\fIINTERFACE\\fP/\\fINAME\\fP.conf \
         (client files of \\fBwgq peer\\fP, mode 0600 in 0700 directories); /etc/sysctl.d/99\\-wgq\\-\\fIINTERFACE\\fP.conf \
         (forwarding of \\fBwgq server init\\fP); .\\fIINTERFACE\\fP.conf.lock beside each file (its lock, \
         never removed); /run/wgq/ns\\-\\fICOOKIE\\fP/\\fIINTERFACE\\fP.lock and \
         \\fIINTERFACE\\fP.state, per network namespace (\\fICOOKIE\\fP is the namespace's cookie).\n",
    );
    s.push_str(".SH SEE ALSO\n\\fBwg\\-quick\\fP(8), \\fBwg\\fP(8), \\fBip\\fP(8), \\fBnft\\fP(8)\n");
    s
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

/// What the first argument of a wg(8) command names (for the completions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WgFirst {
    Nothing,
    Interface,
    /// `show`: an interface, `all` or `interfaces`.
    Show,
}

/// One command of wg(8): its name, its arguments in wg's notation (`<placeholder>`,
/// `[optional]`, `{ one | other }`), a summary, and a description in light markup.
pub struct WgCommandDoc {
    pub name: &'static str,
    pub args: &'static str,
    pub about: &'static str,
    pub description: &'static str,
    pub first: WgFirst,
    /// Whether a configuration file follows the interface.
    pub file: bool,
}

/// wg(8)'s nine commands, in the order wg lists them.
pub const WG_COMMANDS: &[WgCommandDoc] = &[
    WgCommandDoc {
        name: "show",
        args: "[ <interface> | all | interfaces ] [<field>]",
        about: "Print interfaces and their peers",
        description: "Without an argument, or with `all`, prints every WireGuard interface with its peers; with \
                      <interface>, only that one; `interfaces` prints only the names of the WireGuard interfaces, \
                      separated by spaces. Peers are listed with the most recent handshake first, and private and \
                      preshared keys appear as `(hidden)` (see WG_HIDE_KEYS). Given a <field> (see SHOW FIELDS), \
                      only that item is printed, one value per line and tab-separated, for scripts; with `all`, \
                      each line then begins with the interface's name.",
        first: WgFirst::Show,
        file: false,
    },
    WgCommandDoc {
        name: "showconf",
        args: "<interface>",
        about: "Print the interface's configuration as a configuration file",
        description: "Prints the interface's current settings and peers in the format of CONFIGURATION FILE below, \
                      private key included, so that `setconf` or `syncconf` can read it back.",
        first: WgFirst::Interface,
        file: false,
    },
    WgCommandDoc {
        name: "set",
        args: "<interface> [listen-port <port>] [fwmark <mark>] [private-key <file>] [peer <public-key> [remove] \
               [preshared-key <file>] [endpoint <host>:<port>] [persistent-keepalive <seconds>|off] \
               [allowed-ips [+|-]<prefix>[,[+|-]<prefix>]...] ]...",
        about: "Change settings of the interface, and add, change or remove peers",
        description: "Changes what the command line names and leaves every other setting as it is. The options \
                      before the first `peer` apply to the interface; `peer` <public-key> picks the peer with that \
                      key, adding it when the interface has none, and the options after it, up to the next \
                      `peer`, apply to that peer:",
        first: WgFirst::Interface,
        file: false,
    },
    WgCommandDoc {
        name: "setconf",
        args: "<interface> <file>",
        about: "Replace the interface's configuration with a configuration file",
        description: "Makes the interface exactly what <file> describes: peers the file does not list are removed, \
                      and a PrivateKey, ListenPort or FwMark it omits is cleared (the port becomes one the system \
                      picks). Every peer is set anew.",
        first: WgFirst::Interface,
        file: true,
    },
    WgCommandDoc {
        name: "addconf",
        args: "<interface> <file>",
        about: "Add a configuration file's settings and peers to the interface",
        description: "Applies what <file> sets and leaves alone what it does not mention: peers it lists are added \
                      or updated, other peers stay.",
        first: WgFirst::Interface,
        file: true,
    },
    WgCommandDoc {
        name: "syncconf",
        args: "<interface> <file>",
        about: "Bring the interface to a configuration file, changing only what differs",
        description: "Ends in the same state as `setconf`, but only peers that are missing from <file> are removed \
                      and only what differs is changed, so that peers the file leaves as they are keep their \
                      sessions.",
        first: WgFirst::Interface,
        file: true,
    },
    WgCommandDoc {
        name: "genkey",
        args: "",
        about: "Print a new random private key",
        description: "Prints a new private key, from the kernel's random source, in base64. Save it in a file \
                      that only its owner can read: run `umask 077` first.",
        first: WgFirst::Nothing,
        file: false,
    },
    WgCommandDoc {
        name: "genpsk",
        args: "",
        about: "Print a new random preshared key",
        description: "Prints a new random preshared key in base64, for the PresharedKey of both ends of a peer \
                      relationship.",
        first: WgFirst::Nothing,
        file: false,
    },
    WgCommandDoc {
        name: "pubkey",
        args: "",
        about: "Print the public key of a private key read on standard input",
        description: "Reads a base64 private key on standard input and prints its public key, which is what the \
                      other side lists as this host's PublicKey.",
        first: WgFirst::Nothing,
        file: false,
    },
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

/// `man/wg-quick.8`.
pub fn wg_quick_man_page() -> String {
    let mut s = String::new();
    s.push_str(
        ".\\\" Generated from src/frontend/cli.rs and src/frontend/docs.rs by `cargo run --example gendocs`; do not edit.\n",
    );
    s.push_str(".TH WG\\-QUICK 8 \"\" \"wgq\" \"System Manager's Manual\"\n");
    s.push_str(".SH NAME\nwg\\-quick \\- bring a WireGuard interface up or down from its configuration file (wgq)\n");
    s.push_str(".SH SYNOPSIS\n.B wg\\-quick\n[ \\fBup\\fP | \\fBdown\\fP | \\fBsave\\fP | \\fBstrip\\fP ] [ \\fICONFIG_FILE\\fP | \\fIINTERFACE\\fP ]\n.br\n.B wg\\-quick\n[ \\fBhelp\\fP | \\fB\\-h\\fP | \\fB\\-\\-help\\fP ]\n");
    s.push_str(".SH DESCRIPTION\n");
    s.push_str(&roff_text(
        "`wg-quick` sets up a WireGuard interface from one file, with its addresses, routes and DNS servers as well \
         as its keys and peers, and takes it down again. This is the wg-quick that wgq provides: the \
         `wgq-wireguard-tools` package makes `/usr/bin/wg-quick` a link to `wgq`(8), which, run under this name, \
         accepts exactly wg-quick's command lines, prints the same `[#]` lines, and is what the \
         `wg-quick@.service` unit runs. Where it behaves differently from the wg-quick of wireguard-tools, \
         `wgq`(8) and `/usr/share/doc/wgq/compatibility.md` say how and why; `wgq`(8) also describes what the \
         `wgq` name adds (`check`, `reload`, `--dry-run`, `show --json`).",
    ));
    s.push_str("\n.PP\n");
    s.push_str(&roff_text(
        "<CONFIG_FILE> is the path of a file whose name is the interface's name followed by `.conf`, such as \
         `/etc/wireguard/wg0.conf` or `./wg0.conf`. Any other argument is an <INTERFACE> name, whose file is \
         `/etc/wireguard/`<INTERFACE>`.conf`. An interface name has 1 to 15 characters among letters, digits \
         and `_=+.-`.",
    ));
    s.push_str("\n.PP\n");
    s.push_str(&roff_text(
        "Before changing anything the whole file is checked, and every error is reported with its line. If a step \
         fails, or SIGINT, SIGTERM or SIGHUP arrives, everything done so far is undone. Run by a user other than \
         root, wg-quick runs itself again through `sudo`(8).",
    ));
    s.push_str("\n.SH COMMANDS\n");
    s.push_str(&roff_items(wg_quick_commands().iter().map(|c| {
        (format!(".B {}", roff_escape(&c.name)), format!("{}. {}", c.about, wg_quick_details(&c.name)).trim_end().to_string())
    })));
    s.push_str(&roff_items([(
        ".BR help \", \" \\-h \", \" \\-\\-help".to_string(),
        "Prints the usage on standard error.".to_string(),
    )]));
    s.push_str(".SH CONFIGURATION\n");
    s.push_str(&roff_text(
        "The file has the format of `wg`(8) (see CONFIGURATION FILE there), and its [Interface] section may also \
         hold the keys below, which wg-quick handles itself and `strip` removes:",
    ));
    s.push('\n');
    s.push_str(&roff_items(WG_QUICK_KEYS.iter().map(|(k, t)| (format!(".B {}", roff_escape(k)), t.to_string()))));
    s.push_str(".SH EXAMPLE\n");
    s.push_str(&roff_text(
        "A client whose traffic all goes through the tunnel (`/etc/wireguard/wg0.conf`, mode 0600); \
         `wg-quick up wg0` brings it up:",
    ));
    s.push_str(
        "\n.PP\n.nf\n.RS\n[Interface]\nPrivateKey = kK/jNqCJWfvo9pdlKF+vhMXJj+Dl49YcrAfyY42faGM=\n\
         Address = 10.8.0.2/24, fd08::2/64\nDNS = 10.8.0.1\n\n[Peer]\n\
         PublicKey = mpaA5SlOKgQcxkxOd+fJdjq0dBL5BJLnrQaV/D6pnjc=\nEndpoint = vpn.example.net:51820\n\
         AllowedIPs = 0.0.0.0/0, ::/0\n.RE\n.fi\n",
    );
    s.push_str(".SH ENVIRONMENT\n");
    s.push_str(&roff_items([
        (
            ".B WG_QUICK_USERSPACE_IMPLEMENTATION".to_string(),
            "The program that provides the interface when the kernel has no WireGuard support (default \
             `wireguard-go`)."
                .to_string(),
        ),
        (
            ".B WG_ENDPOINT_RESOLUTION_RETRIES".to_string(),
            "How many more times to try resolving an Endpoint host name before `up` fails (default 15; \
             `infinity` for no limit; the systemd unit sets `infinity`)."
                .to_string(),
        ),
        (
            ".B WGQ_LOCK_WAIT".to_string(),
            "How many seconds `up`, `down`, `save` and `reload` wait for the lock of the file and the \
             interface while another process holds it (default 30, at most 3600)."
                .to_string(),
        ),
    ]));
    s.push_str(".SH FILES\n");
    s.push_str(&roff_items([
        (
            ".BI /etc/wireguard/ INTERFACE .conf".to_string(),
            "The configuration. It holds the private key: keep it readable by root only.".to_string(),
        ),
        (
            ".B /lib/systemd/system/wg\\-quick@.service".to_string(),
            "`systemctl enable --now wg-quick@wg0` brings `wg0` up now and at boot; `systemctl reload \
             wg-quick@wg0` runs `wgq reload wg0`, which brings the running interface to its file without \
             recreating it. All instances are part of `wg-quick.target`."
                .to_string(),
        ),
        (
            ".BI /run/wgq/ns\\- COOKIE /".to_string(),
            "The lock of each interface and the record of what `up` added, per network namespace.".to_string(),
        ),
        (
            ".BI /etc/wireguard/. INTERFACE .conf.lock".to_string(),
            "The lock of the file, shared by every network namespace and container that sees it (beside the \
             target when the file is a symbolic link)."
                .to_string(),
        ),
        (".BI /var/run/wireguard/ INTERFACE .sock".to_string(), "The control socket of a userspace implementation.".to_string()),
    ]));
    s.push_str(".SH EXIT STATUS\n");
    s.push_str(&roff_text(
        "0 on success and for help; 1 for a usage error or an error in the file; otherwise the status of the step \
         that failed (a hook's own status, 2 for a request the kernel refused).",
    ));
    s.push_str("\n.SH SEE ALSO\n\\fBwg\\fP(8), \\fBwgq\\fP(8), \\fBip\\fP(8), \\fBresolvconf\\fP(8), \\fBresolvectl\\fP(1), \\fBsystemctl\\fP(1)\n");
    s
}

/// `man/wg.8`.
pub fn wg_man_page() -> String {
    let mut s = String::new();
    s.push_str(".\\\" Generated from src/frontend/docs.rs by `cargo run --example gendocs`; do not edit.\n");
    s.push_str(".TH WG 8 \"\" \"wgq\" \"System Manager's Manual\"\n");
    s.push_str(".SH NAME\nwg \\- show and change the keys, port and peers of WireGuard interfaces (wgq)\n");
    s.push_str(".SH SYNOPSIS\n.B wg\n[\\fICOMMAND\\fP [\\fIARGUMENTS\\fP ...]]\n.br\n");
    for c in WG_COMMANDS {
        s.push_str(&format!(".B wg {}\n", c.name));
        if !c.args.is_empty() {
            s.push_str(&format!("{}\n", roff_usage(c.args)));
        }
        s.push_str(".br\n");
    }
    s.push_str(
        ".B wg\n[ \\fBhelp\\fP | \\fB\\-h\\fP | \\fB\\-\\-help\\fP | \\fBversion\\fP | \\fB\\-v\\fP | \\fB\\-\\-version\\fP ]\n",
    );
    s.push_str(".SH DESCRIPTION\n");
    s.push_str(&roff_text(
        "`wg` reads and changes what the WireGuard protocol itself needs of an interface: its private key, \
         listening port and firewall mark, and its peers. Addresses, routes and DNS are not its business; \
         `wg-quick`(8) and `wgq`(8) handle those. This is the wg that wgq provides: the `wgq-wireguard-tools` \
         package makes `/usr/bin/wg` a link to `wgq`(8), which, run under this name, takes wg's commands, \
         arguments and configuration files and prints the same output. Kernel interfaces are reached over \
         generic netlink, interfaces of a userspace implementation (such as `wireguard-go`) through their \
         control socket in `/var/run/wireguard/`.",
    ));
    s.push_str("\n.PP\n");
    s.push_str(&roff_text(
        "Without a command, wg does what `wg show` does. `--help` after a command prints that command's usage. \
         Private, public and preshared keys are 32 bytes written in base64, 44 characters ending in `=`. Reading \
         or changing an interface needs the CAP_NET_ADMIN capability; `genkey`, `genpsk` and `pubkey` need \
         nothing.",
    ));
    s.push_str("\n.SH COMMANDS\n");
    for c in WG_COMMANDS {
        let tag = if c.args.is_empty() { format!(".B {}", c.name) } else { format!("\\fB{}\\fP {}", c.name, roff_usage(c.args)) };
        s.push_str(&roff_items([(tag, c.description.to_string())]));
        if c.name == "set" {
            s.push_str(".RS\n");
            for (k, a, t) in WG_SET_INTERFACE_OPTIONS.iter().chain(WG_SET_PEER_OPTIONS) {
                let tag = format!("\\fB{}\\fP {}", roff_escape(k), roff_usage(a)).trim_end().to_string();
                s.push_str(&roff_items([(tag, t.to_string())]));
            }
            s.push_str(".RE\n");
        }
    }
    s.push_str(".SH SHOW FIELDS\n");
    s.push_str(&roff_text("What `wg show` <interface> <field> prints, one line per item, values separated by tabs:"));
    s.push('\n');
    s.push_str(&roff_items(WG_SHOW_FIELDS.iter().map(|(f, t)| (format!(".B {}", roff_escape(f)), format!("{t}.")))));
    s.push_str(".SH CONFIGURATION FILE\n");
    s.push_str(&roff_text(
        "The files of `setconf`, `addconf` and `syncconf`, and the output of `showconf`, have one [Interface] \
         section and any number of [Peer] sections, one for each peer. Each line in a section is `Key = Value`; \
         key names are case-insensitive, white space does not matter, and a `#` starts a comment that runs to the \
         end of the line. The keys:",
    ));
    s.push('\n');
    s.push_str(&roff_items(
        WG_CONFIG_KEYS.iter().map(|(sec, k, t)| (format!(".BR {} \" (in [{sec}])\"", roff_escape(k)), format!("{t}."))),
    ));
    s.push_str(".PP\n");
    s.push_str(&roff_text(
        "`wg-quick`(8)'s files add keys of their own to [Interface]; `wg-quick strip` prints a file without them.",
    ));
    s.push_str("\n.SH EXAMPLE\n");
    s.push_str(&roff_text("A server with one peer, applied with `wg setconf wg0 server.conf`:"));
    s.push_str(
        "\n.PP\n.nf\n.RS\n[Interface]\nPrivateKey = kK/jNqCJWfvo9pdlKF+vhMXJj+Dl49YcrAfyY42faGM=\nListenPort = 51820\n\n\
         [Peer]\n# a laptop\nPublicKey = mpaA5SlOKgQcxkxOd+fJdjq0dBL5BJLnrQaV/D6pnjc=\n\
         PresharedKey = suqmB0IyTQP64lSLOeDrMt7fG3+lDsA7poDKM34zopg=\nAllowedIPs = 10.8.0.2/32, fd08::2/128\n\
         PersistentKeepalive = 25\n.RE\n.fi\n.PP\n",
    );
    s.push_str(&roff_text("The same peer added with `set`, its preshared key read from a file:"));
    s.push_str(
        "\n.PP\n.nf\n.RS\nwg set wg0 peer mpaA5SlOKgQcxkxOd+fJdjq0dBL5BJLnrQaV/D6pnjc= \\e\n    \
         preshared\\-key ./laptop.psk allowed\\-ips 10.8.0.2/32,fd08::2/128\n.RE\n.fi\n",
    );
    s.push_str(".SH ENVIRONMENT\n");
    s.push_str(&roff_items(WG_ENVIRONMENT.iter().map(|(v, t)| (format!(".B {v}"), t.to_string()))));
    s.push_str(".SH EXIT STATUS\n");
    s.push_str(&roff_text(
        "0 on success and for help and the version; 1 when the command line is wrong or the command fails, with \
         the reason on standard error.",
    ));
    s.push_str("\n.SH SEE ALSO\n\\fBwg\\-quick\\fP(8), \\fBwgq\\fP(8), \\fBip\\fP(8)\n");
    s
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
    let names: Vec<&str> = WG_COMMANDS.iter().map(|c| c.name).collect();
    let fields: Vec<&str> = WG_SHOW_FIELDS.iter().map(|(f, _)| *f).collect();
    let files: Vec<&str> = WG_COMMANDS.iter().filter(|c| c.file).map(|c| c.name).collect();
    let interface_only: Vec<&str> = WG_COMMANDS.iter().filter(|c| c.first == WgFirst::Interface).map(|c| c.name).collect();
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
    for c in WG_COMMANDS {
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
    let files: Vec<&str> = WG_COMMANDS.iter().filter(|c| c.file).map(|c| c.name).collect();
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
    let names: Vec<&str> = WG_COMMANDS.iter().map(|c| c.name).collect();
    let mut s = String::from("# fish completion for wg (wgq). Generated from src/frontend/docs.rs; do not edit.\n");
    s.push_str(&format!("set -l wg_commands {}\n", names.join(" ")));
    s.push_str(
        "function __wgq_wg_interfaces\n\tfor f in /sys/class/net/*/uevent\n\t\tgrep -qx DEVTYPE=wireguard $f 2>/dev/null; and basename (dirname $f)\n\tend\n\
         \tfor f in /var/run/wireguard/*.sock\n\t\tbasename $f .sock\n\tend\nend\n",
    );
    for c in WG_COMMANDS {
        s.push_str(&format!(
            "complete -c wg -f -n \"not __fish_seen_subcommand_from $wg_commands\" -a {} -d '{}'\n",
            c.name,
            c.about.replace('\'', "\\'")
        ));
    }
    let with_interface: Vec<&str> = WG_COMMANDS.iter().filter(|c| c.first != WgFirst::Nothing).map(|c| c.name).collect();
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
