//! Circles that grow circles: when a circle's waitlist is long enough, a sibling is proposed
//! (same kind, readings and dates), a member who has led the circle often enough is asked to
//! lead it ([`Seasoned`]), and the people waiting move to it. These are the rules;
//! `actions::growing` applies them.

/// Times someone must have led a circle before they are asked to lead its sibling.
pub const MIN_LED: u32 = 2;
/// When nobody who takes part has led the circle [`MIN_LED`] times: the sessions someone who
/// led it once must have come to.
pub const MIN_ATTENDED_LED_ONCE: u32 = 3;

/// Who may be asked to lead a circle's sibling. Leading it twice shows someone is ready; but in
/// a small circle's fair rotation (six members, six sessions) everyone leads once, and nobody
/// twice, so when nobody who takes part has led it twice, someone who led it once and came to
/// at least [`MIN_ATTENDED_LED_ONCE`] of its sessions may lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seasoned {
    /// Led the circle at least [`MIN_LED`] times.
    LedTwice,
    /// Led it once, and came to at least [`MIN_ATTENDED_LED_ONCE`] of its sessions.
    LedOnceAndCame,
}

impl Seasoned {
    /// The rule for a circle whose people (those who take part in leading) have led it and come
    /// to it so often, as (led, attended): led twice when anyone has, else led once and came.
    pub fn of(people: impl IntoIterator<Item = (u32, u32)>) -> Self {
        if people.into_iter().any(|(led, _)| led >= MIN_LED) {
            Self::LedTwice
        } else {
            Self::LedOnceAndCame
        }
    }

    /// Whether someone who led the circle `led` times and came to `attended` of its sessions
    /// may be asked.
    pub fn admits(self, led: u32, attended: u32) -> bool {
        match self {
            Self::LedTwice => led >= MIN_LED,
            Self::LedOnceAndCame => led >= 1 && attended >= MIN_ATTENDED_LED_ONCE,
        }
    }

    /// What such a person did, after "who has": "led it at least twice".
    pub fn words(self) -> &'static str {
        match self {
            Self::LedTwice => "led it at least twice",
            Self::LedOnceAndCame => "led it once and come to at least three of its sessions",
        }
    }
}

/// The fewest people a sibling starts with when the threshold is the circle's default: one
/// person and a lead are a conversation, not a circle.
pub const MIN_DEFAULT_THRESHOLD: u32 = 2;

/// How many people must wait before a sibling is proposed: the circle's own setting (0 turns
/// proposals off), else a third of its capacity rounded up, and at least
/// [`MIN_DEFAULT_THRESHOLD`]. A third is a number a full circle's waitlist can reach: a circle
/// of six grows when two wait (at half its capacity, three, it waited on in silence). A circle
/// without a capacity never has a waitlist, so never grows by itself.
pub fn threshold(capacity: Option<i32>, setting: Option<i32>) -> Option<u32> {
    match (setting, capacity) {
        (Some(0), _) => None,
        (Some(n), _) if n > 0 => Some(n as u32),
        (_, Some(cap)) if cap > 0 => Some((cap as u32).div_ceil(3).max(MIN_DEFAULT_THRESHOLD)),
        _ => None,
    }
}

/// People waiting for a seat hear where they stand at most this often, the "you are on the
/// waitlist" email included: three weeks is the longest they wait without a word, and a weekly
/// circle's waitlist hears every third session, not every session.
pub const TELL_WAITING_EVERY: chrono::Duration = chrono::Duration::days(21);

/// Which [`TELL_WAITING_EVERY`] window (counted from 1970) `at` falls in: a standing letter's
/// stamp, so that two runs in one window queue, and send, one letter. Two letters at least
/// that far apart never share a window.
pub fn tell_window(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp().div_euclid(TELL_WAITING_EVERY.num_seconds())
}

/// Whether `waiting` people reach the threshold.
pub fn reached(waiting: i64, threshold: Option<u32>) -> bool {
    threshold.is_some_and(|t| waiting >= i64::from(t))
}

/// The sibling's name: the family's first circle's name with the next Roman numeral ("Small
/// Room II" for the second circle of the family, "Small Room III" for the third), kept within
/// 120 characters.
pub fn sibling_name(family_name: &str, family_size: usize) -> String {
    let numeral = roman(family_size + 1);
    let room = 120 - numeral.len() - 1;
    let base: String = family_name.trim().chars().take(room).collect();
    format!("{} {numeral}", base.trim_end())
}

/// `n` in Roman numerals (1 to 3999); larger numbers in digits.
pub fn roman(n: usize) -> String {
    if n == 0 || n > 3999 {
        return n.to_string();
    }
    const PARTS: [(usize, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut left = n;
    let mut out = String::new();
    for (value, text) in PARTS {
        while left >= value {
            out.push_str(text);
            left -= value;
        }
    }
    out
}

/// When the sibling meets, as its lead chooses on accepting: the first circle's dates moved
/// by `days` (0 to 6) and, when given, at another time of day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shift {
    pub days: u32,
    pub time: Option<chrono::NaiveTime>,
}

impl Shift {
    /// From the accept form: `days` "0"–"6" (empty: 0), `time` "HH:MM" (empty: the same).
    pub fn parse(days: &str, time: &str) -> Result<Self, super::Invalid> {
        let days = match days.trim() {
            "" => 0,
            d => d
                .parse::<u32>()
                .ok()
                .filter(|d| *d <= 6)
                .ok_or_else(|| super::Invalid::new("days", "must be 0 to 6 days later"))?,
        };
        let time = match time.trim() {
            "" => None,
            t => Some(super::parse_hhmm(t, "time")?),
        };
        Ok(Self { days, time })
    }

    /// A session's local date and time in the sibling.
    pub fn apply(
        self,
        date: chrono::NaiveDate,
        time: chrono::NaiveTime,
    ) -> (chrono::NaiveDate, chrono::NaiveTime) {
        (
            date + chrono::Days::new(u64::from(self.days)),
            self.time.unwrap_or(time),
        )
    }
}

/// The next person to ask: the first of `order` who has not passed and still may lead.
pub fn next_to_ask<T: PartialEq + Copy>(
    order: &[T],
    passed: &[T],
    may_lead: impl Fn(T) -> bool,
) -> Option<T> {
    order
        .iter()
        .copied()
        .find(|m| !passed.contains(m) && may_lead(*m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_threshold_is_a_third_of_the_capacity_unless_the_circle_says_otherwise() {
        assert_eq!(threshold(Some(10), None), Some(4));
        assert_eq!(threshold(Some(7), None), Some(3));
        assert_eq!(
            threshold(Some(6), None),
            Some(2),
            "two waiting grow a circle of six"
        );
        assert_eq!(threshold(Some(4), None), Some(2));
        assert_eq!(threshold(Some(1), None), Some(2), "never a sibling of one");
        assert_eq!(threshold(Some(30), None), Some(10));
        assert_eq!(threshold(None, None), None);
        assert_eq!(threshold(Some(10), Some(0)), None, "0 turns it off");
        assert_eq!(threshold(Some(10), Some(3)), Some(3));
        assert_eq!(
            threshold(Some(6), Some(1)),
            Some(1),
            "the organiser's setting wins"
        );
        assert_eq!(threshold(Some(6), Some(5)), Some(5));
        assert!(reached(5, Some(5)));
        assert!(!reached(4, Some(5)));
        assert!(!reached(100, None));
    }

    #[test]
    fn who_led_twice_may_lead_and_when_nobody_did_who_led_once_and_came_three_times() {
        // A fair rotation of six: everyone led once; some came more often than others.
        let six = [(1, 2), (1, 3), (1, 6), (1, 0), (0, 6), (1, 3)];
        let rule = Seasoned::of(six);
        assert_eq!(rule, Seasoned::LedOnceAndCame);
        let may: Vec<bool> = six.iter().map(|&(l, a)| rule.admits(l, a)).collect();
        assert_eq!(may, [false, true, true, false, false, true]);

        // Once someone led twice, only those who did may.
        let later = [(2, 1), (1, 6), (3, 9)];
        let rule = Seasoned::of(later);
        assert_eq!(rule, Seasoned::LedTwice);
        let may: Vec<bool> = later.iter().map(|&(l, a)| rule.admits(l, a)).collect();
        assert_eq!(may, [true, false, true]);

        assert_eq!(Seasoned::of([]), Seasoned::LedOnceAndCame);
        assert!(
            !Seasoned::LedOnceAndCame.admits(0, 12),
            "coming is not leading"
        );
        assert_eq!(
            MIN_ATTENDED_LED_ONCE,
            3,
            "the words say three: {}",
            Seasoned::LedOnceAndCame.words()
        );
    }

    #[test]
    fn a_standing_letter_is_stamped_with_its_three_week_window() {
        let at: chrono::DateTime<chrono::Utc> = "2027-03-04T19:00:00Z".parse().unwrap();
        assert_eq!(
            tell_window(at),
            tell_window(at + chrono::Duration::minutes(5))
        );
        assert_ne!(tell_window(at), tell_window(at + TELL_WAITING_EVERY));
        let start = chrono::DateTime::from_timestamp(tell_window(at) * 21 * 86_400, 0).unwrap();
        assert_eq!(tell_window(start), tell_window(at));
        assert_eq!(
            tell_window(start - chrono::Duration::seconds(1)),
            tell_window(at) - 1
        );
    }

    #[test]
    fn siblings_are_numbered_within_the_family() {
        assert_eq!(sibling_name("Small Room", 1), "Small Room II");
        assert_eq!(sibling_name("Small Room", 2), "Small Room III");
        assert_eq!(sibling_name("  Small Room ", 8), "Small Room IX");
        assert_eq!(roman(1994), "MCMXCIV");
    }

    #[test]
    fn the_next_to_ask_skips_who_passed_and_who_can_no_longer_lead() {
        let order = [1, 2, 3, 4];
        assert_eq!(next_to_ask(&order, &[], |_| true), Some(1));
        assert_eq!(next_to_ask(&order, &[1], |_| true), Some(2));
        assert_eq!(next_to_ask(&order, &[1], |m| m != 2), Some(3));
        assert_eq!(next_to_ask(&order, &[1, 2, 3, 4], |_| true), None);
    }

    #[test]
    fn the_lead_may_move_the_siblings_evening() {
        let same = Shift::parse("", "").unwrap();
        assert_eq!(same, Shift::default());
        let later = Shift::parse("1", "19:30").unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(2027, 3, 4).unwrap();
        let time = chrono::NaiveTime::from_hms_opt(18, 0, 0).unwrap();
        assert_eq!(
            later.apply(date, time),
            (
                chrono::NaiveDate::from_ymd_opt(2027, 3, 5).unwrap(),
                chrono::NaiveTime::from_hms_opt(19, 30, 0).unwrap()
            )
        );
        assert_eq!(same.apply(date, time), (date, time));
        assert!(Shift::parse("7", "").is_err());
        assert!(Shift::parse("-1", "").is_err());
        assert!(Shift::parse("0", "25:00").is_err());
    }

    proptest! {
        #[test]
        fn a_sibling_name_is_a_valid_circle_name(name in "\\PC{1,130}", size in 1usize..60) {
            let name = name.trim().to_string();
            prop_assume!(!name.is_empty());
            let sibling = sibling_name(&name, size);
            prop_assert!(sibling.chars().count() <= 120);
            prop_assert!(crate::domain::CircleName::parse(&sibling).is_ok());
            prop_assert!(sibling.ends_with(&roman(size + 1)));
        }
    }
}
