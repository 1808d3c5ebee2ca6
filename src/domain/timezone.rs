//! IANA time zones, the frame in which a circle's sessions are scheduled.

use super::Invalid;
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timezone(Tz);

impl Timezone {
    /// Accepts IANA names such as `Europe/London` or `America/Sao_Paulo`.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim();
        s.parse::<Tz>().map(Self).map_err(|_| {
            Invalid::new(
                "timezone",
                format!("`{s}` is not an IANA time zone such as Europe/London"),
            )
        })
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_parse_and_others_do_not() {
        assert_eq!(
            Timezone::parse("Australia/Lord_Howe").unwrap().name(),
            "Australia/Lord_Howe"
        );
        assert!(Timezone::parse("UTC").is_ok());
        for bad in ["", "Mars/Olympus", "GMT+25", "europe/london "] {
            assert!(Timezone::parse(bad).is_err(), "{bad}");
        }
    }
}
