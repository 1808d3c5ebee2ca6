//! Email addresses as people type them into a signup form.

use super::Invalid;

/// A syntactically plausible address: one `@`, a local part without spaces, a dotted
/// domain of letters, digits and hyphens. Deliverability is proven by the opt-in email.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim();
        let fail = |m: &str| Err(Invalid::new("email", m));
        if s.is_empty() {
            return fail("is required");
        }
        if s.len() > 254 {
            return fail("is longer than 254 characters");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return fail("must contain an @, like name@example.org");
        };
        if local.is_empty() || local.len() > 64 {
            return fail("needs 1 to 64 characters before the @");
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return fail("has misplaced dots before the @");
        }
        let local_ok = local.chars().all(|c| {
            c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii()
        });
        if !local_ok || local.chars().any(char::is_control) {
            return fail("has characters that are not allowed before the @");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return fail("needs a domain with a dot after the @, like example.org");
        }
        for label in &labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii());
            if !ok || label.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return fail("has a domain that is not valid");
            }
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_addresses_parse_and_are_trimmed() {
        for ok in [
            "ada@example.org",
            "A.Lovelace+circles@Example.co.uk",
            " x@y.io ",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(EmailAddress::parse(" x@y.io ").unwrap().as_str(), "x@y.io");
    }

    #[test]
    fn broken_addresses_are_refused() {
        for bad in [
            "",
            "   ",
            "plain",
            "@example.org",
            "ada@",
            "ada@localhost",
            "ada@@example.org",
            "a da@example.org",
            "ada@exa mple.org",
            "ada@-example.org",
            "ada@example..org",
            ".ada@example.org",
            "ada.@example.org",
            "ada@example.org\n",
        ] {
            // A trailing newline is trimmed, so that one is fine; all others must fail.
            let parsed = EmailAddress::parse(bad);
            if bad == "ada@example.org\n" {
                assert!(parsed.is_ok());
            } else {
                assert!(parsed.is_err(), "{bad:?} should be refused");
            }
        }
        let long = format!("{}@example.org", "a".repeat(65));
        assert!(EmailAddress::parse(&long).is_err());
    }

    proptest! {
        #[test]
        fn generated_valid_addresses_parse(
            local in "[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]",
            domain in "[a-z0-9]{1,10}(\\.[a-z0-9]{1,10}){1,3}",
        ) {
            prop_assume!(!local.contains(".."));
            let input = format!("{local}@{domain}");
            let parsed = EmailAddress::parse(&input).unwrap();
            prop_assert_eq!(parsed.as_str(), input.as_str());
        }

        #[test]
        fn strings_without_an_at_never_parse(s in "[^@]{0,80}") {
            prop_assert!(EmailAddress::parse(&s).is_err());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,300}") {
            let _ = EmailAddress::parse(&s);
        }
    }
}
