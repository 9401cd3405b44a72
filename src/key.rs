//! WireGuard keys: 32 bytes, written as 44 characters of canonical base64.
//!
//! `Key` never prints its bytes through `Debug`; use [`Key::to_base64`] explicitly
//! where the text is really wanted (showconf, save, genkey).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A Curve25519 key (private, public or preshared).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Key(pub [u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

/// Why a key string was refused; the message matches wg(8).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Key is not the correct length or format")]
pub struct KeyFormatError;

impl Key {
    /// Parses a key exactly as wg(8) does: 44 characters, `=` last, canonical padding bits.
    pub fn from_base64(s: &str) -> Result<Key, KeyFormatError> {
        let b = s.as_bytes();
        if b.len() != 44 || b[43] != b'=' {
            return Err(KeyFormatError);
        }
        // The 43rd character carries 2 padding bits that must be zero.
        if !b"AEIMQUYcgkosw048".contains(&b[42]) {
            return Err(KeyFormatError);
        }
        let mut out = [0u8; 32];
        match STANDARD.decode_slice(b, &mut out) {
            Ok(32) => Ok(Key(out)),
            _ => Err(KeyFormatError),
        }
    }

    /// Canonical 44-character base64 text.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// True for the all-zero key, which WireGuard treats as "no key".
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// A new random private key, clamped like `wg genkey`.
    pub fn generate_private() -> std::io::Result<Key> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| std::io::Error::other(e.to_string()))?;
        k[0] &= 248;
        k[31] = (k[31] & 127) | 64;
        Ok(Key(k))
    }

    /// A new random preshared key (`wg genpsk`): 32 random bytes, not clamped.
    pub fn generate_preshared() -> std::io::Result<Key> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Key(k))
    }

    /// The public key of this private key (`wg pubkey`).
    pub fn public_key(&self) -> Key {
        Key(x25519_dalek::x25519(self.0, x25519_dalek::X25519_BASEPOINT_BYTES))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_canonical_padding() {
        let k = Key([7u8; 32]);
        let s = k.to_base64();
        assert_eq!(s.len(), 44);
        assert_eq!(Key::from_base64(&s).unwrap(), k);
        // Flip the padding bits of the 43rd character: wg rejects it.
        let mut bad = s.clone().into_bytes();
        bad[42] = b'x';
        assert!(Key::from_base64(std::str::from_utf8(&bad).unwrap()).is_err());
        assert!(Key::from_base64(&s[..43]).is_err());
        assert!(Key::from_base64(&format!("{s}=")).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let k = Key([1u8; 32]);
        assert_eq!(format!("{k:?}"), "Key(<redacted>)");
    }

    #[test]
    fn rfc7748_public_key() {
        // RFC 7748 section 6.1, Alice's keys.
        let sk = hex32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let pk = hex32("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        assert_eq!(Key(sk).public_key(), Key(pk));
    }

    #[test]
    fn generated_private_keys_are_clamped() {
        let k = Key::generate_private().unwrap();
        assert_eq!(k.0[0] & 7, 0);
        assert_eq!(k.0[31] & 128, 0);
        assert_eq!(k.0[31] & 64, 64);
    }

    fn hex32(s: &str) -> [u8; 32] {
        let mut o = [0u8; 32];
        for i in 0..32 {
            o[i] = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        o
    }
}
