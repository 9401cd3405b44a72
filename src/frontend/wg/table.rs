//! wg(8)'s subcommands: the one table that the dispatcher ([`super::main`]), the usage
//! ([`super::usage`]), the man page and the completions (`frontend::docs`) all read.

use std::ffi::OsString;

use super::{Io, genkey_main, pubkey_main, set_main, setconf_main, show_main, showconf_main};

/// What the first argument of a wg(8) command names (for the completions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WgFirst {
    Nothing,
    Interface,
    /// `show`: an interface, `all` or `interfaces`.
    Show,
}

/// One subcommand of wg(8): its name; its line in wg's usage (wireguard-tools' wording, which
/// wg prints); what runs it; and for the man page its arguments in wg's notation
/// (`<placeholder>`, `[optional]`, `{ one | other }`), a summary, and a description in light
/// markup.
pub struct Subcommand {
    pub name: &'static str,
    pub help: &'static str,
    /// Runs it with (stdout and stderr, argv[0], the arguments from the subcommand's name on)
    /// and returns the exit status.
    pub(super) run: fn(&mut Io, &str, &[OsString]) -> u8,
    pub args: &'static str,
    pub about: &'static str,
    pub description: &'static str,
    pub first: WgFirst,
    /// Whether a configuration file follows the interface.
    pub file: bool,
}

/// wg(8)'s nine subcommands, in the order wg lists them.
pub const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "show",
        help: "Shows the current configuration and device information",
        run: show_main,
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
    Subcommand {
        name: "showconf",
        help: "Shows the current configuration of a given WireGuard interface, for use with `setconf'",
        run: showconf_main,
        args: "<interface>",
        about: "Print the interface's configuration as a configuration file",
        description: "Prints the interface's current settings and peers in the format of CONFIGURATION FILE below, \
                      private key included, so that `setconf` or `syncconf` can read it back.",
        first: WgFirst::Interface,
        file: false,
    },
    Subcommand {
        name: "set",
        help: "Change the current configuration, add peers, remove peers, or change peers",
        run: set_main,
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
    Subcommand {
        name: "setconf",
        help: "Applies a configuration file to a WireGuard interface",
        run: setconf_main,
        args: "<interface> <file>",
        about: "Replace the interface's configuration with a configuration file",
        description: "Makes the interface exactly what <file> describes: peers the file does not list are removed, \
                      and a PrivateKey, ListenPort or FwMark it omits is cleared (the port becomes one the system \
                      picks). Every peer is set anew.",
        first: WgFirst::Interface,
        file: true,
    },
    Subcommand {
        name: "addconf",
        help: "Appends a configuration file to a WireGuard interface",
        run: setconf_main,
        args: "<interface> <file>",
        about: "Add a configuration file's settings and peers to the interface",
        description: "Applies what <file> sets and leaves alone what it does not mention: peers it lists are added \
                      or updated, other peers stay.",
        first: WgFirst::Interface,
        file: true,
    },
    Subcommand {
        name: "syncconf",
        help: "Synchronizes a configuration file to a WireGuard interface",
        run: setconf_main,
        args: "<interface> <file>",
        about: "Bring the interface to a configuration file, changing only what differs",
        description: "Ends in the same state as `setconf`, but only peers that are missing from <file> are removed \
                      and only what differs is changed, so that peers the file leaves as they are keep their \
                      sessions.",
        first: WgFirst::Interface,
        file: true,
    },
    Subcommand {
        name: "genkey",
        help: "Generates a new private key and writes it to stdout",
        run: genkey_main,
        args: "",
        about: "Print a new random private key",
        description: "Prints a new private key, from the kernel's random source, in base64. Save it in a file \
                      that only its owner can read: run `umask 077` first.",
        first: WgFirst::Nothing,
        file: false,
    },
    Subcommand {
        name: "genpsk",
        help: "Generates a new preshared key and writes it to stdout",
        run: genkey_main,
        args: "",
        about: "Print a new random preshared key",
        description: "Prints a new random preshared key in base64, for the PresharedKey of both ends of a peer \
                      relationship.",
        first: WgFirst::Nothing,
        file: false,
    },
    Subcommand {
        name: "pubkey",
        help: "Reads a private key from stdin and writes a public key to stdout",
        run: pubkey_main,
        args: "",
        about: "Print the public key of a private key read on standard input",
        description: "Reads a base64 private key on standard input and prints its public key, which is what the \
                      other side lists as this host's PublicKey.",
        first: WgFirst::Nothing,
        file: false,
    },
];
