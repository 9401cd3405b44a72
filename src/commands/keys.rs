//! `wgq genkey`, `genpsk` and `pubkey`: keys in base64 on standard output.

use super::{AppError, io};
use crate::key::SecretKey;

/// `wgq genkey`: a new private key.
pub(crate) fn genkey() -> Result<i32, AppError> {
    let k = SecretKey::generate_private().map_err(|e| io("Unable to generate a key", e))?;
    println!("{}", k.to_base64());
    Ok(0)
}

/// `wgq genpsk`: a new preshared key.
pub(crate) fn genpsk() -> Result<i32, AppError> {
    let k = SecretKey::generate_preshared().map_err(|e| io("Unable to generate a key", e))?;
    println!("{}", k.to_base64());
    Ok(0)
}

/// `wgq pubkey`: the public key of the private key on the first line of standard input.
pub(crate) fn pubkey() -> Result<i32, AppError> {
    let mut s = String::new();
    let read = std::io::stdin().read_line(&mut s);
    let k = SecretKey::from_base64(s.trim_end_matches(['\n', '\r']));
    // The line held the private key.
    // SAFETY: zeros are valid UTF-8, so the String stays valid.
    crate::key::wipe(unsafe { s.as_bytes_mut() });
    read.map_err(|e| io("Unable to read private key", e))?;
    let k = k.map_err(|_| AppError::Other("Key is not the correct length or format".into()))?;
    println!("{}", k.public_key().to_base64());
    Ok(0)
}
