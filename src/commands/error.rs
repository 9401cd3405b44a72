//! How a command fails: every layer's error, and the exit status it ends with.

use crate::config::{ParseErrors, locate};
use crate::plan;
use crate::plan::exec::ExecError;
use crate::system::SystemError;

/// A command failed. `status` is the exit status to end with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Locate(#[from] locate::LocateError),
    #[error("{}", .0)]
    Parse(ParseErrors),
    #[error("Unable to read `{path}'")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{0}' already exists")]
    AlreadyExists(String),
    #[error("`{0}' is not a WireGuard interface")]
    NotWireGuard(String),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    Reload(#[from] plan::ReloadError),
    #[error(transparent)]
    System(#[from] SystemError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Lock(#[from] crate::system::runstate::LockError),
    #[error(transparent)]
    Provision(#[from] crate::provision::ProvisionError),
    #[error("{0}")]
    Other(String),
    /// An error printed where it happened (`wgq run` prints a failed `up`'s before it
    /// brings the others down): only its status is left.
    #[error("{0}")]
    Reported(Box<AppError>),
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl AppError {
    /// True when the message was already printed where it happened (before the rollback
    /// trace), so the binary only sets the exit status.
    pub fn already_reported(&self) -> bool {
        match self {
            AppError::Provision(e) => e.already_reported(),
            AppError::Reported(_) => true,
            e => matches!(e, AppError::Exec(ExecError::Failed(_))),
        }
    }

    pub fn status(&self) -> i32 {
        match self {
            AppError::Exec(e) => e.status(),
            AppError::System(e) => e.status(),
            AppError::Provision(e) => e.status(),
            AppError::Reported(e) => e.status(),
            _ => 1,
        }
    }
}
