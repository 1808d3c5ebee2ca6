//! People: one row per address, however many circles they join.

use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{deliveries, jobs, members, memberships, reflections, rsvps};
use crate::domain::{DisplayName, EmailAddress, MemberId};

#[diesel::declare_sql_function]
extern "SQL" {
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = members, check_for_backend(diesel::pg::Pg))]
pub struct Member {
    pub id: MemberId,
    pub email: String,
    pub display_name: String,
    pub timezone: Option<String>,
    #[diesel(column_name = organizer)]
    #[serde(rename = "organizer")]
    pub organiser: bool,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub reminders_enabled: bool,
    pub reflection_prompts_enabled: bool,
    #[serde(skip)]
    pub token_version: i32,
    pub created_at: DateTime<Utc>,
    /// The version personal-page links must carry; mailing a new one retires older links.
    #[serde(skip)]
    pub me_token_version: i32,
    /// The version the calendar feed's link must carry; the member can reset it alone.
    #[serde(skip)]
    pub calendar_token_version: i32,
    /// Whether their reflection prompt carries feedback forms about whoever led.
    pub feedback_requests_enabled: bool,
    /// Whether they are reminded a day before a consent round they haven't answered closes.
    pub consent_reminders_enabled: bool,
}

#[derive(diesel::Insertable)]
#[diesel(table_name = members)]
struct NewMember<'a> {
    id: MemberId,
    email: &'a str,
    display_name: &'a str,
    timezone: Option<&'a str>,
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    id: MemberId,
) -> diesel::QueryResult<Option<Member>> {
    members::table
        .find(id)
        .select(Member::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_by_email(
    conn: &mut AsyncPgConnection,
    email: &EmailAddress,
) -> diesel::QueryResult<Option<Member>> {
    members::table
        .filter(lower(members::email).eq(email.as_str().to_lowercase()))
        .select(Member::as_select())
        .first(conn)
        .await
        .optional()
}

/// The member with this address, created with the given name when there is none yet.
/// Safe under concurrency: a racing insert of the same address yields the same row.
pub async fn find_or_create(
    conn: &mut AsyncPgConnection,
    email: &EmailAddress,
    display_name: &DisplayName,
    timezone: Option<&str>,
) -> diesel::QueryResult<Member> {
    let inserted = diesel::insert_into(members::table)
        .values(NewMember {
            id: MemberId::new(),
            email: email.as_str(),
            display_name: display_name.as_str(),
            timezone,
        })
        .on_conflict_do_nothing()
        .returning(Member::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    match inserted {
        Some(member) => Ok(member),
        None => find_by_email(conn, email)
            .await?
            .ok_or(diesel::result::Error::NotFound),
    }
}

pub async fn set_organiser(
    conn: &mut AsyncPgConnection,
    id: MemberId,
    organiser: bool,
) -> diesel::QueryResult<()> {
    diesel::update(members::table.find(id))
        .set(members::organizer.eq(organiser))
        .execute(conn)
        .await
        .map(drop)
}

/// Stop this member's email (the unsubscribe link), keeping the first time they asked.
pub async fn unsubscribe(conn: &mut AsyncPgConnection, id: MemberId) -> diesel::QueryResult<()> {
    diesel::update(members::table)
        .filter(members::id.eq(id))
        .filter(members::unsubscribed_at.is_null())
        .set(members::unsubscribed_at.eq(Some(chrono::Utc::now())))
        .execute(conn)
        .await
        .map(drop)
}

/// Display names for a set of members, in one query.
pub async fn display_names(
    conn: &mut AsyncPgConnection,
    ids: &[MemberId],
) -> diesel::QueryResult<Vec<(MemberId, String)>> {
    members::table
        .filter(members::id.eq_any(ids))
        .select((members::id, members::display_name))
        .load(conn)
        .await
}

/// Retire every personal-page link issued so far; the answer is the version new links carry.
pub async fn retire_personal_links(
    conn: &mut AsyncPgConnection,
    id: MemberId,
) -> diesel::QueryResult<i32> {
    diesel::update(members::table.find(id))
        .set(members::me_token_version.eq(members::me_token_version + 1))
        .returning(members::me_token_version)
        .get_result(conn)
        .await
}

/// Retire every link in the member's email so far (all but unsubscribe and the calendar
/// feed), personal-page links included.
pub async fn retire_links(conn: &mut AsyncPgConnection, id: MemberId) -> diesel::QueryResult<()> {
    diesel::update(members::table.find(id))
        .set((
            members::token_version.eq(members::token_version + 1),
            members::me_token_version.eq(members::me_token_version + 1),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Give the member's calendar feed a new address; the old one stops working.
pub async fn reset_calendar_link(
    conn: &mut AsyncPgConnection,
    id: MemberId,
) -> diesel::QueryResult<i32> {
    diesel::update(members::table.find(id))
        .set(members::calendar_token_version.eq(members::calendar_token_version + 1))
        .returning(members::calendar_token_version)
        .get_result(conn)
        .await
}

pub async fn mark_verified(conn: &mut AsyncPgConnection, id: MemberId) -> diesel::QueryResult<()> {
    diesel::update(
        members::table
            .find(id)
            .filter(members::email_verified_at.is_null()),
    )
    .set(members::email_verified_at.eq(Some(chrono::Utc::now())))
    .execute(conn)
    .await
    .map(drop)
}

/// Email preferences; unsubscribing stops everything but mail the member asks for.
/// The mail a member may turn off beside reminders and reflection prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quiet {
    pub feedback_requests: bool,
    pub consent_reminders: bool,
}

/// Claim a letter's turn for `member`: record now as their last letter, and `key` as the
/// letter that took it, unless `waits` and another letter went less than `gap` ago, in which
/// case nothing changes and that time comes back. The same letter tried again (its sending
/// failed) keeps the turn. The update re-reads the row it locks, so two letters at once
/// cannot both take the turn.
pub async fn take_letter_turn(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    gap: chrono::Duration,
    waits: bool,
    key: &str,
) -> diesel::QueryResult<Option<DateTime<Utc>>> {
    let now = Utc::now();
    let turn = (
        members::last_letter_at.eq(Some(now)),
        members::last_letter_key.eq(Some(key)),
    );
    let took = if waits {
        diesel::update(
            members::table.find(member).filter(
                members::last_letter_at
                    .is_null()
                    .or(members::last_letter_at.le(now - gap))
                    .or(members::last_letter_key.eq(key)),
            ),
        )
        .set(turn)
        .execute(conn)
        .await?
    } else {
        diesel::update(members::table.find(member))
            .set(turn)
            .execute(conn)
            .await?
    };
    if took == 1 {
        return Ok(None);
    }
    members::table
        .find(member)
        .select(members::last_letter_at)
        .first::<Option<DateTime<Utc>>>(conn)
        .await
        .optional()
        .map(Option::flatten)
}

pub async fn set_preferences(
    conn: &mut AsyncPgConnection,
    id: MemberId,
    reminders: bool,
    reflection_prompts: bool,
    quiet: Quiet,
    subscribed: bool,
) -> diesel::QueryResult<()> {
    let current = find(conn, id)
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    let unsubscribed_at = match (subscribed, current.unsubscribed_at) {
        (true, _) => None,
        (false, Some(at)) => Some(at),
        (false, None) => Some(chrono::Utc::now()),
    };
    diesel::update(members::table.find(id))
        .set((
            members::reminders_enabled.eq(reminders),
            members::reflection_prompts_enabled.eq(reflection_prompts),
            members::feedback_requests_enabled.eq(quiet.feedback_requests),
            members::consent_reminders_enabled.eq(quiet.consent_reminders),
            members::unsubscribed_at.eq(unsubscribed_at),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Everything stored about a member, for their own download.
pub async fn export(
    conn: &mut AsyncPgConnection,
    member: &Member,
) -> diesel::QueryResult<serde_json::Value> {
    use diesel::sql_types::{Jsonb, Uuid as SqlUuid};
    #[derive(diesel::QueryableByName)]
    struct Doc {
        #[diesel(sql_type = Jsonb)]
        doc: serde_json::Value,
    }
    let doc: Doc = diesel::sql_query(
        "SELECT jsonb_build_object( \
           'memberships', (SELECT coalesce(jsonb_agg(jsonb_build_object('circle', c.name, 'slug', c.slug, 'role', m.role, \
                             'state', m.state, 'waitlist_position', m.waitlist_position, 'joined_at', m.joined_at) ORDER BY m.joined_at), '[]') \
                           FROM memberships m JOIN circles c ON c.id = m.circle_id WHERE m.member_id = $1), \
           'rsvps', (SELECT coalesce(jsonb_agg(jsonb_build_object('circle', c.name, 'session_starts_at', s.starts_at, \
                       'response', r.response, 'responded_at', r.responded_at, 'attended', r.attended) ORDER BY s.starts_at), '[]') \
                     FROM rsvps r JOIN sessions s ON s.id = r.session_id JOIN circles c ON c.id = s.circle_id WHERE r.member_id = $1), \
           'reflections', (SELECT coalesce(jsonb_agg(jsonb_build_object('circle', c.name, 'session_starts_at', s.starts_at, \
                       'body', f.body, 'visibility', f.visibility, 'created_at', f.created_at, 'updated_at', f.updated_at) ORDER BY f.created_at), '[]') \
                     FROM reflections f JOIN sessions s ON s.id = f.session_id JOIN circles c ON c.id = s.circle_id WHERE f.member_id = $1), \
           'emails_sent', (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', d.kind, 'sent_at', d.sent_at, 'message_id', d.message_id) ORDER BY d.sent_at), '[]') \
                     FROM deliveries d WHERE d.member_id = $1) \
         ) AS doc",
    )
    .bind::<SqlUuid, _>(member.id.0)
    .get_result(conn)
    .await?;
    let mut out = serde_json::json!({ "member": member });
    if let (Some(out), Some(doc)) = (out.as_object_mut(), doc.doc.as_object()) {
        out.extend(doc.clone());
    }
    Ok(out)
}

/// The circles in which the member holds a membership they have not left.
pub async fn circles_held(
    conn: &mut AsyncPgConnection,
    id: MemberId,
) -> diesel::QueryResult<Vec<crate::domain::CircleId>> {
    use crate::domain::MembershipState;
    memberships::table
        .filter(memberships::member_id.eq(id))
        .filter(memberships::state.ne(MembershipState::Left))
        .select(memberships::circle_id)
        // In one order for everyone: erasing two people who share circles locks those
        // circles in the same order, so neither waits on the other.
        .order(memberships::circle_id)
        .load(conn)
        .await
}

/// Delete the member's rows: every job about them (and link requests for their address),
/// answers, reflections and the member (memberships go with it); delivery records lose the
/// address. Seats are the caller's to give up first (`actions::people::erase`).
pub async fn delete_rows(conn: &mut AsyncPgConnection, id: MemberId) -> diesel::QueryResult<()> {
    use diesel::PgAnyJsonExpressionMethods;
    diesel::delete(
        jobs::table.filter(
            jobs::payload
                .retrieve_as_text("member_id")
                .eq(id.to_string()),
        ),
    )
    .execute(conn)
    .await?;
    // Link requests name the person by the address they typed.
    if let Some(member) = find(conn, id).await? {
        diesel::delete(
            jobs::table.filter(
                jobs::payload
                    .retrieve_as_text("address")
                    .eq(member.email.to_lowercase()),
            ),
        )
        .execute(conn)
        .await?;
    }
    diesel::update(deliveries::table.filter(deliveries::member_id.eq(id)))
        .set((
            deliveries::recipient.eq(None::<String>),
            deliveries::dedupe_key.eq(None::<String>),
            deliveries::member_id.eq(None::<MemberId>),
        ))
        .execute(conn)
        .await?;
    diesel::delete(rsvps::table.filter(rsvps::member_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(reflections::table.filter(reflections::member_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(members::table.find(id))
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the member organises, or facilitates at least one circle.
pub async fn is_staff(conn: &mut AsyncPgConnection, id: MemberId) -> diesel::QueryResult<bool> {
    use crate::domain::{MembershipRole, MembershipState};
    let organiser: bool = members::table
        .find(id)
        .select(members::organizer)
        .first(conn)
        .await
        .optional()?
        .unwrap_or(false);
    if organiser {
        return Ok(true);
    }
    diesel::select(diesel::dsl::exists(
        memberships::table
            .filter(memberships::member_id.eq(id))
            .filter(memberships::role.eq(MembershipRole::Facilitator))
            .filter(memberships::state.eq(MembershipState::Active)),
    ))
    .get_result(conn)
    .await
}

/// Everyone who may run the service.
pub async fn organisers(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<MemberId>> {
    members::table
        .filter(members::organizer.eq(true))
        .select(members::id)
        .order(members::id)
        .load(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit as kit;

    #[tokio::test]
    async fn one_letter_takes_the_turn_the_next_waits_and_a_reply_never_does() {
        let conn = &mut kit::fresh_connection().await;
        let ada = kit::member(conn, "Ada").await;
        let hour = chrono::Duration::hours(1);
        assert_eq!(
            take_letter_turn(conn, ada.id, hour, true, "a")
                .await
                .unwrap(),
            None
        );
        let last = take_letter_turn(conn, ada.id, hour, true, "b")
            .await
            .unwrap()
            .expect("the second letter within the hour waits");
        assert!(last <= Utc::now() && last > Utc::now() - chrono::Duration::minutes(1));
        // A reply goes now, and moves the turn on.
        assert_eq!(
            take_letter_turn(conn, ada.id, hour, false, "reply")
                .await
                .unwrap(),
            None
        );
        let after_reply = take_letter_turn(conn, ada.id, hour, true, "c")
            .await
            .unwrap();
        assert!(after_reply.is_some_and(|t| t >= last));
        // An hour later (simulated) the turn is free again.
        diesel::sql_query("UPDATE members SET last_letter_at = now() - interval '61 minutes'")
            .execute(conn)
            .await
            .unwrap();
        assert_eq!(
            take_letter_turn(conn, ada.id, hour, true, "d")
                .await
                .unwrap(),
            None
        );
        // The letter that took the turn, tried again after its sending failed, keeps it;
        // another still waits.
        assert_eq!(
            take_letter_turn(conn, ada.id, hour, true, "d")
                .await
                .unwrap(),
            None
        );
        assert!(take_letter_turn(conn, ada.id, hour, true, "e")
            .await
            .unwrap()
            .is_some());
    }
}
