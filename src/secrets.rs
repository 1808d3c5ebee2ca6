//! Secrets handed to people: API tokens and one-time login links. Only SHA-256 hashes of
//! them are stored, and comparisons of secret material are constant-time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// `bytes` of randomness from the operating system, as base64url text.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A new API token (shown once) and the hash to store.
pub fn new_api_token() -> (String, Vec<u8>) {
    let token = format!("rt_{}", random_token(32));
    let hash = hash_token(&token);
    (token, hash)
}

/// Equality that takes the same time wherever the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_tokens_are_unique_and_hash_stably() {
        let (a, ha) = new_api_token();
        let (b, hb) = new_api_token();
        assert_ne!(a, b);
        assert!(a.starts_with("rt_") && a.len() > 40);
        assert_eq!(hash_token(&a), ha);
        assert_ne!(ha, hb);
        assert!(constant_time_eq(&ha, &hash_token(&a)));
        assert!(!constant_time_eq(&ha, &hb));
        assert!(!constant_time_eq(&ha, &ha[..31]));
    }
}
