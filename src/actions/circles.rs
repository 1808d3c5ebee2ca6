//! A circle's settings: parsed once from the bodies the API and the dashboard fill
//! (`domain::circles`) into a valid new row or changes, changed (more seats let the waitlist
//! in), and archived. The seat lock every change of seats takes is `membership::lock_seats`.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::membership::{lock_seats, promote_waitlist};

use crate::db::circles::{self, Circle, CircleChanges, NewCircle};
use crate::db::roles::FACILITATOR;
use crate::domain::circles::{
    description, feedback_roles, lead_days, location, minutes, CircleCreate, CirclePatch,
    ANSWER_HOURS, ASK_DAYS, FEEDBACK_K, GROW, HORIZON, QUORUM, ROUND_DAYS,
};
use crate::domain::{
    Capacity, CircleId, CircleKind, CircleName, CircleStatus, Facilitation, Invalid, Problems,
    Slug, Timezone, Visibility,
};
use crate::error::{AppError, AppResult};

/// Archive a circle: the same change as setting its status to archived in the dashboard's
/// form (`update_circle`), so both front ends archive alike.
pub async fn archive(conn: &mut AsyncPgConnection, id: CircleId) -> AppResult<Circle> {
    let changes = CircleChanges {
        status: Some(CircleStatus::Archived),
        ..Default::default()
    };
    update_circle(conn, id, changes).await
}

/// Change a circle's settings; more seats (or no limit) let people in from the waitlist
/// (never into an archived circle), and a new invitation lead moves the invitations not yet
/// sent.
pub async fn update_circle(
    conn: &mut AsyncPgConnection,
    circle_id: CircleId,
    changes: CircleChanges,
) -> AppResult<Circle> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let before = lock_seats(conn, circle_id).await?;
        let circle = circles::update(conn, circle_id, changes)
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::Conflict(_) => AppError::Conflict("that slug is taken".into()),
                other => other,
            })?;
        if circle.status != CircleStatus::Archived {
            promote_waitlist(conn, &circle).await?;
        }
        if circle.invite_lead_days != before.invite_lead_days {
            crate::jobs::session_events::invitation_lead_changed(conn, &circle).await?;
        }
        let now = Utc::now();
        if circle.facilitation == Facilitation::Fixed
            && before.facilitation == Facilitation::Rotating
        {
            crate::db::roles::drop_unconfirmed(conn, circle.id, now).await?;
        }
        super::rota::plan_in(conn, &circle, now).await?;
        Ok(circle)
    })
    .await
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
        let feedback_for = p.check(feedback_roles(
            input
                .feedback_roles
                .unwrap_or_else(|| vec![FACILITATOR.to_string()]),
        ));
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
            Some(feedback_for),
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
            feedback_for,
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
            feedback_roles: feedback_for,
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
            feedback_roles: p
                .check(input.feedback_roles.map(feedback_roles).transpose())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::membership;
    use crate::domain::{DisplayName, EmailAddress, MembershipRole};
    use crate::testkit as kit;

    #[tokio::test]
    async fn archiving_a_circle_closes_it_to_newcomers() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().capacity(8).create(conn).await;
        let email = EmailAddress::parse("ada@example.org").unwrap();
        let name = DisplayName::parse("Ada").unwrap();

        let archived = archive(conn, circle.id).await.unwrap();

        assert_eq!(archived.status, CircleStatus::Archived);
        let stored = circles::find(conn, circle.id).await.unwrap().unwrap();
        assert_eq!(stored.status, CircleStatus::Archived);
        assert_eq!((stored.name, stored.capacity), (circle.name, Some(8)));
        let added =
            membership::add_vouched(conn, circle.id, &email, &name, MembershipRole::Member).await;
        assert!(matches!(added, Err(AppError::Conflict(_))));
        let signed_up = membership::sign_up(conn, circle.id, &email, &name, None, 1000).await;
        assert!(matches!(signed_up, Err(AppError::NotFound(_))));
        assert!(kit::queued(conn).await.is_empty());
    }

    #[tokio::test]
    async fn a_missing_circle_has_no_seats_to_lock() {
        let conn = &mut kit::fresh_connection().await;

        let locked = lock_seats(conn, CircleId::new()).await;

        assert!(matches!(locked, Err(AppError::NotFound("circle"))));
    }
}
