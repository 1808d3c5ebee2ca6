//! A circle's settings as the API and the dashboard take them: the bodies that create and
//! change a circle, each parsed once into a valid row or changes, and the bounds of every
//! whole-number setting.

use serde::Deserialize;

use crate::db::circles::{CircleChanges, NewCircle};
use crate::domain::{
    double_option, Capacity, CircleId, CircleKind, CircleName, CircleStatus, Facilitation, Invalid,
    Problems, Slug, Timezone, Visibility,
};

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
    /// Share of active members, in per cent, a consent round needs to answer (default 50).
    pub consent_quorum_percent: Option<i64>,
    /// Days a consent round stays open (default 7).
    pub consent_round_days: Option<i64>,
    /// People waiting before a sibling circle is proposed (absent: half the capacity; 0:
    /// never by itself).
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
    pub consent_quorum_percent: Option<i64>,
    pub consent_round_days: Option<i64>,
    /// `null` goes back to the default (half the capacity); 0 turns proposals off.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub grow_threshold: Option<Option<i64>>,
}

impl CircleCreate {
    /// A valid new circle, its slug, and whether the slug was chosen (not derived).
    pub fn parse(self) -> Result<(NewCircle, Slug, bool), Invalid> {
        self.parse_all().map_err(first)
    }

    /// As [`parse`](Self::parse), with every problem of the input rather than the first.
    pub fn parse_all(self) -> Result<(NewCircle, Slug, bool), Vec<Invalid>> {
        let input = self;
        let mut p = Problems::default();
        let name = p.check(CircleName::parse(&input.name));
        let explicit = input.slug.is_some();
        let slug = match &input.slug {
            Some(s) => p.check(Slug::parse(s)),
            None => name.as_ref().map(Slug::from_name),
        };
        let timezone = p.check(Timezone::parse(&input.timezone));
        let capacity = p.check(input.capacity.map(Capacity::parse).transpose());
        let description = p.check(description(input.description.unwrap_or_default()));
        let location = p.check(location(input.location));
        let reminder = p.check(minutes(
            input.reminder_offset_minutes.unwrap_or(1440),
            "reminder_offset_minutes",
        ));
        let reflection = p.check(minutes(
            input.reflection_delay_minutes.unwrap_or(60),
            "reflection_delay_minutes",
        ));
        let lead = p.check(lead_days(input.invite_lead_days.unwrap_or(7)));
        let horizon = p.check(HORIZON.check(input.planning_horizon.unwrap_or(12)));
        let ask = p.check(ASK_DAYS.check(input.role_ask_days.unwrap_or(10)));
        let answer = p.check(ANSWER_HOURS.check(input.role_answer_hours.unwrap_or(72)));
        let feedback_k = p.check(FEEDBACK_K.check(input.feedback_min_answers.unwrap_or(3)));
        let quorum = p.check(QUORUM.check(input.consent_quorum_percent.unwrap_or(50)));
        let round_days = p.check(ROUND_DAYS.check(input.consent_round_days.unwrap_or(7)));
        let grow = p.check(input.grow_threshold.map(|v| GROW.check(v)).transpose());
        let (
            Some(name),
            Some(slug),
            Some(timezone),
            Some(capacity),
            Some(description),
            Some(location),
            Some(reminder),
            Some(reflection),
            Some(lead),
            Some(horizon),
            Some(ask),
            Some(answer),
            Some(feedback_k),
            Some(quorum),
            Some(round_days),
            Some(grow),
        ) = (
            name,
            slug,
            timezone,
            capacity,
            description,
            location,
            reminder,
            reflection,
            lead,
            horizon,
            ask,
            answer,
            feedback_k,
            quorum,
            round_days,
            grow,
        )
        else {
            return Err(p.0);
        };
        let new = NewCircle {
            id: CircleId::new(),
            slug: slug.clone(),
            name: name.as_str().to_string(),
            description,
            kind: input.kind.unwrap_or(CircleKind::BookClub),
            visibility: input.visibility.unwrap_or(Visibility::Open),
            capacity: capacity.map(Capacity::get),
            timezone,
            location,
            status: input.status.unwrap_or(CircleStatus::Open),
            facilitation: input.facilitation.unwrap_or(Facilitation::Fixed),
            reminder_offset_minutes: reminder,
            reflection_delay_minutes: reflection,
            invite_lead_days: lead,
            planning_horizon: horizon,
            role_ask_days: ask,
            role_answer_hours: answer,
            feedback_min_answers: feedback_k,
            consent_quorum_percent: quorum,
            consent_round_days: round_days,
            grow_threshold: grow,
        };
        Ok((new, slug, explicit))
    }
}

/// The first of a non-empty list of problems (the API reports one at a time).
fn first(mut problems: Vec<Invalid>) -> Invalid {
    problems.remove(0)
}

impl CirclePatch {
    pub fn parse(self) -> Result<CircleChanges, Invalid> {
        self.parse_all().map_err(first)
    }

    /// As [`parse`](Self::parse), with every problem of the input rather than the first.
    pub fn parse_all(self) -> Result<CircleChanges, Vec<Invalid>> {
        let input = self;
        let mut p = Problems::default();
        let changes = CircleChanges {
            slug: p
                .check(input.slug.as_deref().map(Slug::parse).transpose())
                .flatten(),
            name: p
                .check(input.name.as_deref().map(CircleName::parse).transpose())
                .flatten()
                .map(|n| n.as_str().to_string()),
            description: p
                .check(input.description.map(description).transpose())
                .flatten(),
            kind: input.kind,
            visibility: input.visibility,
            capacity: p
                .check(
                    input
                        .capacity
                        .map(|c| {
                            c.map(Capacity::parse)
                                .transpose()
                                .map(|c| c.map(Capacity::get))
                        })
                        .transpose(),
                )
                .flatten(),
            timezone: p
                .check(input.timezone.as_deref().map(Timezone::parse).transpose())
                .flatten(),
            location: p.check(input.location.map(location).transpose()).flatten(),
            status: input.status,
            facilitation: input.facilitation,
            reminder_offset_minutes: p
                .check(
                    input
                        .reminder_offset_minutes
                        .map(|m| minutes(m, "reminder_offset_minutes"))
                        .transpose(),
                )
                .flatten(),
            reflection_delay_minutes: p
                .check(
                    input
                        .reflection_delay_minutes
                        .map(|m| minutes(m, "reflection_delay_minutes"))
                        .transpose(),
                )
                .flatten(),
            invite_lead_days: p
                .check(input.invite_lead_days.map(lead_days).transpose())
                .flatten(),
            planning_horizon: p
                .check(input.planning_horizon.map(|v| HORIZON.check(v)).transpose())
                .flatten(),
            role_ask_days: p
                .check(input.role_ask_days.map(|v| ASK_DAYS.check(v)).transpose())
                .flatten(),
            role_answer_hours: p
                .check(
                    input
                        .role_answer_hours
                        .map(|v| ANSWER_HOURS.check(v))
                        .transpose(),
                )
                .flatten(),
            feedback_min_answers: p
                .check(
                    input
                        .feedback_min_answers
                        .map(|v| FEEDBACK_K.check(v))
                        .transpose(),
                )
                .flatten(),
            consent_quorum_percent: p
                .check(
                    input
                        .consent_quorum_percent
                        .map(|v| QUORUM.check(v))
                        .transpose(),
                )
                .flatten(),
            consent_round_days: p
                .check(
                    input
                        .consent_round_days
                        .map(|v| ROUND_DAYS.check(v))
                        .transpose(),
                )
                .flatten(),
            grow_threshold: p
                .check(
                    input
                        .grow_threshold
                        .map(|v| v.map(|v| GROW.check(v)).transpose())
                        .transpose(),
                )
                .flatten(),
            updated_at: None,
        };
        if p.0.is_empty() {
            Ok(changes)
        } else {
            Err(p.0)
        }
    }
}

fn minutes(value: i64, field: &'static str) -> Result<i32, Invalid> {
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

fn lead_days(value: i64) -> Result<i32, Invalid> {
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

fn description(text: String) -> Result<String, Invalid> {
    let text = crate::domain::text::lines("description", &text)?;
    if text.chars().count() > 10_000 {
        return Err(Invalid::new(
            "description",
            "must be at most 10000 characters",
        ));
    }
    Ok(text)
}

fn location(text: Option<String>) -> Result<Option<String>, Invalid> {
    crate::domain::SessionEdit::location(text)
}
