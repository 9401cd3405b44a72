//! The process wgq runs as: the termination signals it watches for, and the child
//! processes it starts (hooks, helpers, the userspace implementation) with bounds.

pub mod child;
pub mod files;
pub mod glibc;
pub mod signals;
