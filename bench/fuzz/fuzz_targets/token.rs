//! Any string offered as a link token: never a panic; and whatever verifies is exactly what
//! signing those claims again produces (no second spelling of a valid token is accepted).
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use roundtable::domain::tokens::{Purpose, TokenKeys};

const PURPOSES: [Purpose; 6] = [
    Purpose::Confirm,
    Purpose::Rsvp,
    Purpose::Reflect,
    Purpose::Me,
    Purpose::Unsubscribe,
    Purpose::Calendar,
];

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let keys = TokenKeys::new("fuzz-current-key", &["fuzz-previous-key"]);
    let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("valid time");
    for purpose in PURPOSES {
        if let Ok(claims) = keys.verify(token, purpose, now) {
            assert_eq!(claims.purpose, purpose);
            assert!(claims.expires.is_none_or(|t| t > now));
            let again = keys.sign(&claims);
            assert_eq!(keys.verify(&again, purpose, now), Ok(claims));
        }
    }
});
