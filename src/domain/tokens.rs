//! Signed links in email: who may do what to which object until when, without logging in.
//!
//! A token is base64url of `format(1) | key id(1) | purpose(1) | member(16) | object(16) |
//! expires(8, unix seconds, 0 = never) | member token version(4) | HMAC-SHA256 tag(16)`.
//! The tag covers every byte before it and is checked in constant time. Revoking every
//! long-lived link of a member is a matter of bumping their token version.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const FORMAT: u8 = 1;
const BODY_LEN: usize = 1 + 1 + 1 + 16 + 16 + 8 + 4;
const TAG_LEN: usize = 16;

/// What a link lets its holder do. A token for one purpose is refused for every other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Confirm,
    Rsvp,
    Reflect,
    Me,
    Unsubscribe,
    Calendar,
    /// Answer an ask to hold a role (the object is the role slot).
    Role,
    /// Take over a role someone asked to swap (the object is the swap).
    Swap,
    /// Leave a handoff note for the next lead (the object is the session led).
    Handoff,
    /// Answer feedback about whoever held a role (the object is the feedback request).
    Feedback,
    /// Answer a consent round on an agreement, or revise it after an objection (the object is
    /// the round).
    Consent,
    /// The timekeeper's agenda page for a session (the object is the session).
    Agenda,
    /// Answer an ask to lead a sibling circle (the object is the proposal).
    Grow,
    /// Mark who came to a session one led (the object is the session).
    Attendance,
}

impl Purpose {
    fn code(self) -> u8 {
        match self {
            Self::Confirm => 1,
            Self::Rsvp => 2,
            Self::Reflect => 3,
            Self::Me => 4,
            Self::Unsubscribe => 5,
            Self::Calendar => 6,
            Self::Role => 7,
            Self::Swap => 8,
            Self::Handoff => 9,
            Self::Feedback => 10,
            Self::Consent => 11,
            Self::Agenda => 12,
            Self::Grow => 13,
            Self::Attendance => 14,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::Confirm,
            2 => Self::Rsvp,
            3 => Self::Reflect,
            4 => Self::Me,
            5 => Self::Unsubscribe,
            6 => Self::Calendar,
            7 => Self::Role,
            8 => Self::Swap,
            9 => Self::Handoff,
            10 => Self::Feedback,
            11 => Self::Consent,
            12 => Self::Agenda,
            13 => Self::Grow,
            14 => Self::Attendance,
            _ => return None,
        })
    }
}

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    pub purpose: Purpose,
    pub member: Uuid,
    /// The circle, session or other object the link is about (nil when none).
    pub object: Uuid,
    pub expires: Option<DateTime<Utc>>,
    pub token_version: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("this link is incomplete or damaged")]
    Malformed,
    #[error("this link was not issued by us or has been altered")]
    BadSignature,
    #[error("this link is meant for something else")]
    WrongPurpose,
    #[error("this link has expired")]
    Expired,
}

/// The signing keys: the current one signs, older ones still verify during a rotation.
#[derive(Clone)]
pub struct TokenKeys {
    keys: Vec<(u8, Vec<u8>)>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenKeys({} keys, [redacted])", self.keys.len())
    }
}

impl TokenKeys {
    /// `current` signs new tokens; `previous` keys are accepted until they are removed.
    pub fn new(current: &str, previous: &[&str]) -> Self {
        let keys = std::iter::once(current)
            .chain(previous.iter().copied())
            .map(|material| {
                let key = Sha256::digest(material.as_bytes()).to_vec();
                // The key id is a fingerprint of the key, so configuration needs no extra field.
                let id = Sha256::digest(&key)[0];
                (id, key)
            })
            .collect();
        Self { keys }
    }

    /// Keyed fingerprints of (`label`, `parts`), one per key, the current key's first: they let
    /// Roundtable recognise something it saw before (who gave a held answer) without storing
    /// it, and nobody without the key can compute or reverse them.
    pub fn fingerprints(&self, label: &str, parts: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut body =
            Vec::with_capacity(label.len() + 1 + parts.iter().map(|p| p.len()).sum::<usize>());
        body.extend_from_slice(label.as_bytes());
        body.push(0);
        for part in parts {
            body.extend_from_slice(part);
        }
        self.keys.iter().map(|(_, key)| mac(key, &body)).collect()
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let (kid, key) = &self.keys[0];
        let mut bytes = Vec::with_capacity(BODY_LEN + TAG_LEN);
        bytes.push(FORMAT);
        bytes.push(*kid);
        bytes.push(claims.purpose.code());
        bytes.extend_from_slice(claims.member.as_bytes());
        bytes.extend_from_slice(claims.object.as_bytes());
        bytes.extend_from_slice(&claims.expires.map_or(0, |t| t.timestamp()).to_be_bytes());
        bytes.extend_from_slice(&claims.token_version.to_be_bytes());
        let tag = mac(key, &bytes);
        bytes.extend_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Check a token for `purpose` at `now`. Signature first, so a forged token learns nothing.
    pub fn verify(
        &self,
        token: &str,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<Claims, TokenError> {
        if token.len() > 200 {
            return Err(TokenError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| TokenError::Malformed)?;
        if bytes.len() != BODY_LEN + TAG_LEN || bytes[0] != FORMAT {
            return Err(TokenError::Malformed);
        }
        let (body, tag) = bytes.split_at(BODY_LEN);
        let kid = body[1];
        let valid = self
            .keys
            .iter()
            .filter(|(id, _)| *id == kid)
            .any(|(_, key)| verify_mac(key, body, tag));
        if !valid {
            return Err(TokenError::BadSignature);
        }
        let found = Purpose::from_code(body[2]).ok_or(TokenError::Malformed)?;
        if found != purpose {
            return Err(TokenError::WrongPurpose);
        }
        let member = Uuid::from_slice(&body[3..19]).map_err(|_| TokenError::Malformed)?;
        let object = Uuid::from_slice(&body[19..35]).map_err(|_| TokenError::Malformed)?;
        let mut secs = [0u8; 8];
        secs.copy_from_slice(&body[35..43]);
        let secs = i64::from_be_bytes(secs);
        let expires = if secs == 0 {
            None
        } else {
            Some(DateTime::from_timestamp(secs, 0).ok_or(TokenError::Malformed)?)
        };
        if expires.is_some_and(|t| t <= now) {
            return Err(TokenError::Expired);
        }
        let mut version = [0u8; 4];
        version.copy_from_slice(&body[43..47]);
        Ok(Claims {
            purpose,
            member,
            object,
            expires,
            token_version: u32::from_be_bytes(version),
        })
    }
}

fn mac(key: &[u8], body: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

fn verify_mac(key: &[u8], body: &[u8], tag: &[u8]) -> bool {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(body);
    m.verify_truncated_left(tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn keys() -> TokenKeys {
        TokenKeys::new("a-long-enough-key-for-tests-0123456789", &[])
    }

    fn claims(purpose: Purpose, expires: Option<DateTime<Utc>>) -> Claims {
        Claims {
            purpose,
            member: Uuid::now_v7(),
            object: Uuid::now_v7(),
            expires,
            token_version: 3,
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let now = Utc::now();
        let c = claims(Purpose::Rsvp, Some(now + Duration::days(2)));
        let token = keys().sign(&c);
        let back = keys().verify(&token, Purpose::Rsvp, now).unwrap();
        assert_eq!(back.member, c.member);
        assert_eq!(back.object, c.object);
        assert_eq!(back.token_version, 3);
        assert_eq!(
            back.expires.unwrap().timestamp(),
            c.expires.unwrap().timestamp()
        );
        assert_eq!(
            keys().verify(&token, Purpose::Unsubscribe, now),
            Err(TokenError::WrongPurpose)
        );
        assert_eq!(
            keys().verify(&token, Purpose::Rsvp, now + Duration::days(3)),
            Err(TokenError::Expired)
        );
        let other = TokenKeys::new("another-key-entirely-0123456789abcdef", &[]);
        assert_eq!(
            other.verify(&token, Purpose::Rsvp, now),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            keys().verify("short", Purpose::Rsvp, now),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            keys().verify("!!!", Purpose::Rsvp, now),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn never_expiring_tokens_stay_valid() {
        let token = keys().sign(&claims(Purpose::Calendar, None));
        let far = Utc::now() + Duration::days(3650);
        assert!(keys()
            .verify(&token, Purpose::Calendar, far)
            .unwrap()
            .expires
            .is_none());
    }

    #[test]
    fn rotated_keys_still_verify_old_tokens() {
        let old = TokenKeys::new("the-old-key-0123456789abcdefghijklmn", &[]);
        let token = old.sign(&claims(Purpose::Me, None));
        let rotated = TokenKeys::new(
            "the-new-key-0123456789abcdefghijklmn",
            &["the-old-key-0123456789abcdefghijklmn"],
        );
        assert!(rotated.verify(&token, Purpose::Me, Utc::now()).is_ok());
        let new_token = rotated.sign(&claims(Purpose::Me, None));
        assert_eq!(
            old.verify(&new_token, Purpose::Me, Utc::now()),
            Err(TokenError::BadSignature)
        );
    }

    proptest! {
        #[test]
        fn any_single_byte_change_is_rejected(pos in 0usize..(BODY_LEN + TAG_LEN), bit in 0u8..8) {
            let now = Utc::now();
            let token = keys().sign(&claims(Purpose::Rsvp, Some(now + Duration::days(1))));
            let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
            bytes[pos] ^= 1 << bit;
            let tampered = URL_SAFE_NO_PAD.encode(&bytes);
            prop_assert!(keys().verify(&tampered, Purpose::Rsvp, now).is_err());
        }

        #[test]
        fn claims_round_trip(member in any::<u128>(), object in any::<u128>(), version in any::<u32>(), secs in 1i64..4_000_000_000) {
            let c = Claims {
                purpose: Purpose::Reflect,
                member: Uuid::from_u128(member),
                object: Uuid::from_u128(object),
                expires: DateTime::from_timestamp(secs, 0),
                token_version: version,
            };
            let token = keys().sign(&c);
            let at = DateTime::from_timestamp(secs - 1, 0).unwrap();
            prop_assert_eq!(keys().verify(&token, Purpose::Reflect, at).unwrap(), c);
        }

        #[test]
        fn garbage_never_panics(s in "\\PC{0,200}") {
            let _ = keys().verify(&s, Purpose::Rsvp, Utc::now());
        }
    }
}
