//! `wgq web-admin`: the web page's credentials in its state directory: the password hash
//! (`hash-password`), API tokens (`token add|list|revoke`).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use crate::commands::AppError;
use crate::web::auth::{self, StateDir};

#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum WebAdminCmd {
    /// Read a password (terminal or standard input) and print its argon2id PHC string (for PASSWORD_HASH)
    HashPassword {
        /// Also store it in the state directory (wgq web reads it when PASSWORD_HASH is unset)
        #[arg(long)]
        save: bool,
        #[command(flatten)]
        state: StateArg,
    },
    /// API tokens for scripts (Authorization: Bearer TOKEN): add, list, revoke
    Token {
        #[command(subcommand)]
        command: TokenCmd,
    },
    /// A second factor at login (TOTP, as authenticator apps make): enable, disable
    Totp {
        #[command(subcommand)]
        command: TotpCmd,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum TotpCmd {
    /// Make a new secret and print it (and its QR code) for an authenticator app
    Enable {
        #[command(flatten)]
        state: StateArg,
    },
    /// Log in with the password alone again
    Disable {
        #[command(flatten)]
        state: StateArg,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum TokenCmd {
    /// Make a token and print it once (only its hash is kept)
    Add {
        /// The token's name: 1-32 letters, digits, _ . -
        #[arg(value_name = "NAME")]
        name: String,
        /// It may read, not change
        #[arg(long)]
        read_only: bool,
        #[command(flatten)]
        state: StateArg,
    },
    /// The tokens' names, scopes and dates
    List {
        #[command(flatten)]
        state: StateArg,
    },
    /// Remove a token: it stops working at once
    Revoke {
        #[arg(value_name = "NAME")]
        name: String,
        #[command(flatten)]
        state: StateArg,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct StateArg {
    /// The web page's state directory (default /var/lib/wgq/web)
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

impl StateArg {
    fn open(&self) -> Result<StateDir, AppError> {
        let dir = self.state_dir.clone().unwrap_or_else(|| PathBuf::from(crate::web::DEFAULT_STATE_DIR));
        StateDir::open(&dir).map_err(|source| AppError::Io { context: format!("state directory {}", dir.display()), source })
    }
}

/// Turns the terminal's echo off while it lives.
struct NoEcho(Option<libc::termios>);

impl NoEcho {
    fn new() -> NoEcho {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a zeroed termios they fill.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return NoEcho(None);
            }
            let old = t;
            t.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &t);
            NoEcho(Some(old))
        }
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        if let Some(t) = self.0 {
            // SAFETY: restores the settings read in new().
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
        }
    }
}

fn read_line(prompt: Option<&str>) -> Result<String, AppError> {
    let _echo = prompt.map(|p| {
        eprint!("{p}");
        let _ = std::io::stderr().flush();
        NoEcho::new()
    });
    let mut s = String::new();
    std::io::Read::take(std::io::stdin().lock(), 4096)
        .read_line(&mut s)
        .map_err(|source| AppError::Io { context: "Unable to read the password".into(), source })?;
    if prompt.is_some() {
        eprintln!();
    }
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

fn now() -> String {
    crate::config::peers::format_time(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0),
    )
}

pub fn run(cmd: &WebAdminCmd) -> Result<i32, AppError> {
    match cmd {
        WebAdminCmd::HashPassword { save, state } => {
            let pw = if std::io::stdin().is_terminal() {
                let a = read_line(Some("Password: "))?;
                let b = read_line(Some("Again: "))?;
                if a != b {
                    return Err(AppError::Other("the passwords differ".into()));
                }
                a
            } else {
                read_line(None)?
            };
            if pw.is_empty() {
                return Err(AppError::Other("an empty password is refused".into()));
            }
            let h = auth::hash_password(&pw).map_err(AppError::Other)?;
            if *save {
                let st = state.open()?;
                st.set_password(&h).map_err(|source| AppError::Io { context: "Unable to store the password".into(), source })?;
                eprintln!("wgq: stored in {}/password", st.dir.display());
            }
            println!("{h}");
        }
        WebAdminCmd::Token { command: TokenCmd::Add { name, read_only, state } } => {
            let secret = state.open()?.add_token(name, *read_only, &now()).map_err(AppError::Other)?;
            eprintln!("wgq: token {name} ({}): shown once, keep it", if *read_only { "read-only" } else { "read-write" });
            println!("{secret}");
        }
        WebAdminCmd::Token { command: TokenCmd::List { state } } => {
            let st = state.open()?;
            let all = st.tokens().map_err(|source| AppError::Io { context: "Unable to read the tokens".into(), source })?;
            for t in all {
                println!("{}\t{}\t{}", t.name, if t.read_only { "read-only" } else { "read-write" }, t.created);
            }
        }
        WebAdminCmd::Totp { command: TotpCmd::Enable { state } } => {
            let secret = state
                .open()?
                .enable_totp()
                .map_err(|source| AppError::Io { context: "Unable to store the secret".into(), source })?;
            let uri = format!("otpauth://totp/wgq?secret={secret}&issuer=wgq&algorithm=SHA1&digits=6&period=30");
            if std::io::stdout().is_terminal() {
                print!("{}", super::qr::terminal(uri.as_bytes()).map_err(|e| AppError::Other(e.to_string()))?);
            }
            println!("{uri}");
            eprintln!("wgq: TOTP on: logins need the password and a code; the password header no longer works (tokens do)");
        }
        WebAdminCmd::Totp { command: TotpCmd::Disable { state } } => {
            let was = state
                .open()?
                .disable_totp()
                .map_err(|source| AppError::Io { context: "Unable to remove the secret".into(), source })?;
            eprintln!("wgq: TOTP {}", if was { "off" } else { "was not on" });
        }
        WebAdminCmd::Token { command: TokenCmd::Revoke { name, state } } => {
            if !state.open()?.revoke_token(name).map_err(AppError::Other)? {
                return Err(AppError::Other(format!("no token named {}", crate::config::values::shown(name))));
            }
            eprintln!("wgq: token {name} revoked");
        }
    }
    Ok(0)
}
