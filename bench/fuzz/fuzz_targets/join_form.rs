//! Any body posted to a circle's signup form, decoded as the server decodes it: never a panic,
//! and what passes the checks is a usable name and address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roundtable::http::public::circles::JoinForm;

fuzz_target!(|data: &[u8]| {
    let Ok(form) = serde_urlencoded::from_bytes::<JoinForm>(data) else {
        return;
    };
    match form.check() {
        Ok(signup) => {
            let email = signup.email.as_str();
            assert!(email.contains('@'), "{email:?}");
            assert!(!email.chars().any(char::is_whitespace), "{email:?}");
            assert!(!signup.name.as_str().trim().is_empty());
            assert!(!signup.name.as_str().chars().any(char::is_control));
            assert_eq!(signup.from_bot, !form.website.trim().is_empty());
        }
        Err(errors) => assert!(errors.display_name.is_some() || errors.email.is_some()),
    }
});
