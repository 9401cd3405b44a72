//! WireGuard keys: 32 bytes, written as 44 characters of canonical base64.
//!
//! [`Key`] is a public key: plain data. [`SecretKey`] is a private or preshared key: never
//! copied implicitly, compared in constant time, wiped when dropped. Neither prints its
//! bytes through `Debug`; `to_base64` is called explicitly where the text is really wanted
//! (showconf, save, genkey).

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

/// A hasher for maps keyed by [`Key`]: public keys are uniformly random, so mixing their
/// words is as good a hash as SipHash for a fraction of the work (a 20,000-peer listing
/// builds and probes such a map on its critical path). It starts from a random seed per
/// process and folds every bit into the low ones, so keys cannot be chosen offline to
/// collide (a client may pick its own public key: `peer add --pubkey`).
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        let h = self.0;
        h ^ (h >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            let h = (self.0 ^ u64::from_le_bytes(w)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            self.0 = h ^ (h >> 32);
        }
    }
}

/// Builds [`KeyHasher`]s from this process's seed.
#[derive(Clone, Copy)]
pub struct KeyHashSeed(u64);

impl Default for KeyHashSeed {
    fn default() -> KeyHashSeed {
        static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        KeyHashSeed(*SEED.get_or_init(|| {
            let mut b = [0u8; 8];
            // Without randomness, std's own random hasher state gives one.
            if getrandom::fill(&mut b).is_err() {
                use std::hash::BuildHasher as _;
                return std::collections::hash_map::RandomState::new().hash_one(0u64);
            }
            u64::from_le_bytes(b)
        }))
    }
}

impl std::hash::BuildHasher for KeyHashSeed {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.0)
    }
}

/// A map from public keys, hashed with [`KeyHasher`].
pub type KeyMap<V> = std::collections::HashMap<Key, V, KeyHashSeed>;

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

    /// The same text, appended to `out`.
    pub fn push_base64(&self, out: &mut String) {
        STANDARD.encode_string(self.0, out)
    }

    /// True for the all-zero key, which WireGuard treats as "no key".
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// The public key of this private key (`wg pubkey`).
    pub fn public_key(&self) -> Key {
        Key(x25519_dalek::x25519(self.0, x25519_dalek::X25519_BASEPOINT_BYTES))
    }
}

/// A private or preshared key. Not `Copy`: every copy is explicit (`clone`) and each one is
/// overwritten with zeros when dropped, so key material does not linger in memory. The
/// all-zero key means "no key" to WireGuard (it removes a key when set).
#[derive(Clone, Default)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    pub fn from_bytes(b: [u8; 32]) -> SecretKey {
        SecretKey(b)
    }

    /// Parses like [`Key::from_base64`] (wg's rules); the decoded copy is wiped.
    pub fn from_base64(s: &str) -> Result<SecretKey, KeyFormatError> {
        let mut k = Key::from_base64(s)?;
        let out = SecretKey(k.0);
        wipe(&mut k.0);
        Ok(out)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Canonical base64 text (for showconf, save, genkey: where the key is the output).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The same text, appended to `out` (`wg show dump`, where the key is the output).
    pub fn push_base64(&self, out: &mut String) {
        STANDARD.encode_string(self.0, out)
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().fold(0u8, |a, b| a | b) == 0
    }

    /// A new random private key, clamped like `wg genkey`.
    pub fn generate_private() -> std::io::Result<SecretKey> {
        let mut k = SecretKey::generate_preshared()?;
        k.0[0] &= 248;
        k.0[31] = (k.0[31] & 127) | 64;
        Ok(k)
    }

    /// A new random preshared key (`wg genpsk`): 32 random bytes, not clamped.
    pub fn generate_preshared() -> std::io::Result<SecretKey> {
        let mut k = SecretKey([0u8; 32]);
        getrandom::fill(&mut k.0).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(k)
    }

    /// The public key of this private key (`wg pubkey`).
    pub fn public_key(&self) -> Key {
        let mut scalar = self.0;
        let k = Key(x25519_dalek::x25519(scalar, x25519_dalek::X25519_BASEPOINT_BYTES));
        wipe(&mut scalar);
        k
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

impl PartialEq for SecretKey {
    /// In constant time.
    fn eq(&self, other: &SecretKey) -> bool {
        self.0.iter().zip(other.0.iter()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
    }
}

impl Eq for SecretKey {}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Overwrites `b` with zeros in a way the compiler may not remove.
pub fn wipe(b: &mut [u8]) {
    for x in b.iter_mut() {
        // SAFETY: a valid, aligned, exclusive reference to a byte.
        unsafe { std::ptr::write_volatile(x, 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

/// The shortest run that [`hide_keys`] treats as key material (a key is 43 base64
/// characters and `=`; no IP address, port or usual host name label comes close).
const KEY_LIKE_RUN: usize = 40;

/// `msg` with every run of 40 or more base64 characters (base64url's `-` and `_` counted
/// too, so a key with such a typo is caught), and its `=` padding, replaced by
/// `(key not shown)`: no message ever repeats what may be a private or preshared key — a
/// key under the wrong section, a typo in its key name (`PrivteKey = …`), a key pasted
/// into another value. The config parser and wg(8)'s messages both go through it.
pub fn hide_keys(msg: &str) -> String {
    let b64 = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
    let bytes = msg.as_bytes();
    let mut out = String::with_capacity(msg.len());
    let mut i = 0;
    while i < bytes.len() {
        if b64(bytes[i]) {
            let st = i;
            while i < bytes.len() && b64(bytes[i]) {
                i += 1;
            }
            if i - st >= KEY_LIKE_RUN {
                while i < bytes.len() && bytes[i] == b'=' {
                    i += 1;
                }
                out.push_str("(key not shown)");
            } else {
                out.push_str(&msg[st..i]);
            }
        } else {
            let st = i;
            while i < bytes.len() && !b64(bytes[i]) {
                i += 1;
            }
            out.push_str(&msg[st..i]);
        }
    }
    out
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
        assert_eq!(SecretKey(sk).public_key(), Key(pk));
    }

    #[test]
    fn key_maps_find_every_key_and_only_those() {
        // Keys differing in one byte anywhere, and random ones: all distinct entries.
        let mut keys: Vec<Key> = (0..32)
            .map(|i| {
                let mut k = [0u8; 32];
                k[i] = 1;
                Key(k)
            })
            .collect();
        keys.extend((0..2000).map(|_| SecretKey::generate_private().unwrap().public_key()));
        let m: KeyMap<usize> = keys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
        assert_eq!(m.len(), keys.len());
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(m.get(k), Some(&i));
        }
        assert_eq!(m.get(&Key([0; 32])), None);
        assert_eq!(m.get(&Key([2; 32])), None);
    }

    #[test]
    fn generated_private_keys_are_clamped() {
        let k = SecretKey::generate_private().unwrap();
        assert_eq!(k.0[0] & 7, 0);
        assert_eq!(k.0[31] & 128, 0);
        assert_eq!(k.0[31] & 64, 64);
    }

    #[test]
    fn secret_keys_are_wiped_and_redacted() {
        let mut k = SecretKey::from_base64("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=").unwrap();
        assert_eq!(format!("{k:?}"), "SecretKey(<redacted>)");
        assert_eq!(k.public_key().to_base64(), "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=");
        assert_eq!(k.clone(), k);
        assert!(!k.is_zero() && SecretKey::default().is_zero());
        // What Drop does, observed in place.
        wipe(&mut k.0);
        assert!(k.is_zero());
    }

    fn hex32(s: &str) -> [u8; 32] {
        let mut o = [0u8; 32];
        for i in 0..32 {
            o[i] = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        o
    }
}
