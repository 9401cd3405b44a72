//! PreUp/PostUp/PreDown/PostDown hooks: `%i` expansion and running them under bash with
//! errexit and pipefail, as wg-quick does (reference §6).

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Replaces every `%i` with the interface name (no escape: `%%i` gives `%wg0`).
pub fn expand(hook: &str, ifname: &str) -> String {
    hook.replace("%i", ifname)
}

/// What a hook sees in its environment besides the caller's.
#[derive(Debug, Clone, Default)]
pub struct HookEnv {
    pub interface: String,
    pub config_file: PathBuf,
}

/// A hook failed or was interrupted.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("hook failed with status {0}")]
    Failed(i32),
    #[error("hook interrupted by signal {0}")]
    Interrupted(i32),
    #[error("unable to run bash")]
    Spawn(#[source] std::io::Error),
}

impl HookError {
    /// The exit status to end with: the hook's own.
    pub fn status(&self) -> i32 {
        match self {
            HookError::Failed(s) => *s,
            HookError::Interrupted(s) => 128 + s,
            HookError::Spawn(e) if e.kind() == std::io::ErrorKind::NotFound => 127,
            HookError::Spawn(_) => 126,
        }
    }
}

/// The bash script for a hook: errexit, pipefail and extglob, then the hook text.
pub fn script(expanded: &str) -> String {
    format!("set -e -o pipefail\nshopt -s extglob\n{expanded}\n")
}

/// Runs one expanded hook with `bash -c`, inheriting stdin/stdout/stderr, in a process
/// group of its own. If a termination signal arrives meanwhile, the whole group gets
/// SIGTERM and the hook counts as interrupted.
pub fn run(expanded: &str, env: &HookEnv) -> Result<(), HookError> {
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(script(expanded))
        .arg("wgq-hook")
        .env("LC_ALL", "C")
        .env("INTERFACE", &env.interface)
        .env("CONFIG_FILE", &env.config_file)
        .process_group(0)
        .spawn()
        .map_err(HookError::Spawn)?;
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                return match (st.code(), st.signal()) {
                    (Some(0), _) => Ok(()),
                    (Some(c), _) => Err(HookError::Failed(c)),
                    (None, Some(s)) => Err(HookError::Failed(128 + s)),
                    (None, None) => Err(HookError::Failed(1)),
                };
            }
            Ok(None) => {}
            Err(e) => return Err(HookError::Spawn(e)),
        }
        if let Some(sig) = crate::signals::peek() {
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGTERM);
            let _ = child.wait();
            // Give stragglers of the group (background children) the same fate.
            std::thread::sleep(Duration::from_millis(20));
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            return Err(HookError::Interrupted(sig));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion() {
        assert_eq!(expand("echo %i%i %%i", "wg0"), "echo wg0wg0 %wg0");
    }

    #[test]
    fn errexit_and_pipefail() {
        let env = HookEnv { interface: "wgq0".into(), config_file: "/x/wgq0.conf".into() };
        assert!(matches!(run("false; echo after >&2", &env), Err(HookError::Failed(1))));
        assert!(matches!(run("false | true", &env), Err(HookError::Failed(1))));
        assert!(matches!(run("exit 5", &env), Err(HookError::Failed(5))));
        assert!(run("false || true", &env).is_ok());
        assert!(run("[ \"$INTERFACE\" = wgq0 ] && [ \"$CONFIG_FILE\" = /x/wgq0.conf ]", &env).is_ok());
        assert!(run("x=abc; [[ $x == @(abc|def) ]]", &env).is_ok(), "extglob");
        assert!(run("echo \"a#b\" | grep -q 'a#b' # comment", &env).is_ok());
    }
}
