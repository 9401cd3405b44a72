//! The parser. (Being written: see issue 2.)

use super::{Config, ParseErrors};
use std::path::Path;

/// Parses a whole config file. Reports every error of the file, not only the first.
pub fn parse(_text: &[u8], _path: &Path) -> Result<Config, ParseErrors> {
    unimplemented!("config parser")
}
