//! A circle's settings as the API and the dashboard take them: the bodies that create and
//! change a circle, and the bounds of every whole-number setting. Turning a body into a new
//! row or changes is `actions::circles` (it names `db` rows, which `domain` does not).

use serde::Deserialize;

use crate::domain::{double_option, CircleKind, CircleStatus, Facilitation, Invalid, Visibility};

/// Longest accepted email lead time or delay: two weeks.
pub const MAX_OFFSET_MINUTES: i64 = 20_160;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CircleCreate {
    pub name: String,
    /// Derived from the name when absent.
    pub slug: Option<String>,
    pub description: Option<String>,
    pub kind: Option<CircleKind>,
    pub visibility: Option<Visibility>,
    /// Defaults to `open`.
    pub status: Option<CircleStatus>,
    /// Seats for members; absent means no limit.
    pub capacity: Option<i64>,
    /// IANA zone in which sessions are scheduled, e.g. `Europe/London`.
    pub timezone: String,
    pub location: Option<String>,
    pub facilitation: Option<Facilitation>,
    /// How long before a session the reminder goes out (default 1440).
    pub reminder_offset_minutes: Option<i64>,
    /// How long after a session the reflection prompt goes out (default 60).
    pub reflection_delay_minutes: Option<i64>,
    /// Days before each session its invitation goes out (default 7; 0 sends every
    /// invitation as soon as the session is scheduled). A new member always gets the next
    /// session's invitation at once.
    pub invite_lead_days: Option<i64>,
    /// How many coming sessions a rotating circle plans its roles for (default 12).
    pub planning_horizon: Option<i64>,
    /// Days before a session its proposed role holders are asked (default 10).
    pub role_ask_days: Option<i64>,
    /// Hours an ask waits before it counts as a decline (default 72).
    pub role_answer_hours: Option<i64>,
    /// Answers needed before feedback reaches whoever led (default 3).
    pub feedback_min_answers: Option<i64>,
    /// The roles whose holders are asked about in feedback, by key (default
    /// `["facilitator"]`; at most 20; empty asks about nobody). Only holders who came are.
    pub feedback_roles: Option<Vec<String>>,
    /// Share of active members, in per cent, a consent round needs to answer (default 50).
    pub consent_quorum_percent: Option<i64>,
    /// Days a consent round stays open (default 7).
    pub consent_round_days: Option<i64>,
    /// People waiting before a sibling circle is proposed (absent: a third of the
    /// capacity rounded up, at least 2; 0: never by itself).
    pub grow_threshold: Option<i64>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CirclePatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub kind: Option<CircleKind>,
    pub visibility: Option<Visibility>,
    pub status: Option<CircleStatus>,
    /// `null` removes the limit.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub capacity: Option<Option<i64>>,
    pub timezone: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    pub facilitation: Option<Facilitation>,
    pub reminder_offset_minutes: Option<i64>,
    pub reflection_delay_minutes: Option<i64>,
    pub invite_lead_days: Option<i64>,
    pub planning_horizon: Option<i64>,
    pub role_ask_days: Option<i64>,
    pub role_answer_hours: Option<i64>,
    pub feedback_min_answers: Option<i64>,
    /// The roles whose holders are asked about in feedback, by key.
    pub feedback_roles: Option<Vec<String>>,
    pub consent_quorum_percent: Option<i64>,
    pub consent_round_days: Option<i64>,
    /// `null` goes back to the default (a third of the capacity, at least
    /// 2); 0 turns proposals off.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub grow_threshold: Option<Option<i64>>,
}

/// The most roles feedback can be asked about.
pub const MAX_FEEDBACK_ROLES: usize = 20;

/// The roles feedback is asked about: role keys, at most 20, each once.
pub fn feedback_roles(keys: Vec<String>) -> Result<Vec<String>, Invalid> {
    if keys.len() > MAX_FEEDBACK_ROLES {
        return Err(Invalid::new(
            "feedback_roles",
            format!("must name at most {MAX_FEEDBACK_ROLES} roles"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(keys.len());
    for k in keys {
        let key = super::roles::key(&k).map_err(|e| Invalid::new("feedback_roles", e.message))?;
        if !out.contains(&key) {
            out.push(key);
        }
    }
    Ok(out)
}

pub(crate) fn minutes(value: i64, field: &'static str) -> Result<i32, Invalid> {
    if (0..=MAX_OFFSET_MINUTES).contains(&value) {
        Ok(value as i32)
    } else {
        Err(Invalid::new(
            field,
            format!("must be between 0 and {MAX_OFFSET_MINUTES} minutes (two weeks)"),
        ))
    }
}

/// Longest accepted invitation lead: a year.
pub const MAX_LEAD_DAYS: i64 = 365;

pub(crate) fn lead_days(value: i64) -> Result<i32, Invalid> {
    if (0..=MAX_LEAD_DAYS).contains(&value) {
        Ok(value as i32)
    } else {
        Err(Invalid::new(
            "invite_lead_days",
            format!("must be between 0 and {MAX_LEAD_DAYS} days"),
        ))
    }
}

/// A whole-number setting with its accepted range and unit, for messages.
pub struct Bounded {
    pub field: &'static str,
    pub min: i64,
    pub max: i64,
    pub unit: &'static str,
}

impl Bounded {
    pub fn check(&self, value: i64) -> Result<i32, Invalid> {
        if (self.min..=self.max).contains(&value) {
            Ok(value as i32)
        } else {
            Err(Invalid::new(
                self.field,
                format!(
                    "must be between {} and {} {}",
                    self.min, self.max, self.unit
                ),
            ))
        }
    }
}

pub const HORIZON: Bounded = Bounded {
    field: "planning_horizon",
    min: 1,
    max: 52,
    unit: "sessions",
};
pub const ASK_DAYS: Bounded = Bounded {
    field: "role_ask_days",
    min: 0,
    max: 60,
    unit: "days",
};
pub const ANSWER_HOURS: Bounded = Bounded {
    field: "role_answer_hours",
    min: 1,
    max: 720,
    unit: "hours",
};
pub const FEEDBACK_K: Bounded = Bounded {
    field: "feedback_min_answers",
    // Fewer answers could be told apart (domain::feedback::MIN_ANSWERS_FLOOR).
    min: crate::domain::feedback::MIN_ANSWERS_FLOOR,
    max: 50,
    unit: "answers",
};
pub const QUORUM: Bounded = Bounded {
    field: "consent_quorum_percent",
    min: 1,
    max: 100,
    unit: "per cent",
};
pub const GROW: Bounded = Bounded {
    field: "grow_threshold",
    min: 0,
    max: 10_000,
    unit: "people",
};
pub const ROUND_DAYS: Bounded = Bounded {
    field: "consent_round_days",
    min: 2,
    max: 30,
    unit: "days",
};

pub(crate) fn description(text: String) -> Result<String, Invalid> {
    let text = crate::domain::text::lines("description", &text)?;
    if text.chars().count() > 10_000 {
        return Err(Invalid::new(
            "description",
            "must be at most 10000 characters",
        ));
    }
    Ok(text)
}

pub(crate) fn location(text: Option<String>) -> Result<Option<String>, Invalid> {
    crate::domain::SessionEdit::location(text)
}
