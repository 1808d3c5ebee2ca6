//! Six weeks of a real circle, lived with the clock moved in the test (every stored instant
//! and date moves back, as if the time passed): a rotating circle of six with a facilitator,
//! a timekeeper and a discussion lead, two people waiting, a book pasted before any session,
//! a decline, a swap, and a consent round with an objection and a revision. The clock jumps
//! to whatever is due next (at most six hours at a time), so every letter goes when it would.
//! It checks the rota's fairness, the attendance link, the timekeeper's timer, the reading
//! split, feedback's reach, what people waiting hear, and how many letters each person gets
//! a week, and prints the letters per member per week.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app_with, TestApp};
use roundtable::actions::{rota, swaps};
use roundtable::db::roles;
use roundtable::db::sessions;
use roundtable::domain::{CircleId, FeedbackMode, MemberId, RoleState, SessionId};

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    data_type: String,
}

/// Let `step` pass: every stored instant moves that far back (dates by whole days, when a
/// whole day has passed since they last moved), one statement per table so rules between
/// columns (an end after its start) hold throughout. The leadership totals follow the
/// sessions they count by themselves.
pub(crate) async fn travel(app: &TestApp, step: Duration, days_before: i64, days_after: i64) {
    let mut conn = app.conn().await;
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text \
         FROM information_schema.columns c \
         JOIN information_schema.tables t USING (table_schema, table_name) \
         WHERE c.table_schema = 'public' AND c.table_name NOT LIKE '\\_\\_diesel%' \
           AND t.table_type = 'BASE TABLE' AND c.table_name <> 'leadership_days' \
           AND c.data_type IN ('timestamp with time zone', 'date')",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let seconds = step.num_seconds();
    let whole_days = days_after - days_before;
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in columns {
        let moved = if c.data_type == "date" {
            if whole_days == 0 {
                continue;
            }
            format!("\"{0}\" = \"{0}\" - {whole_days}", c.column_name)
        } else {
            format!(
                "\"{0}\" = \"{0}\" - interval '{seconds} seconds'",
                c.column_name
            )
        };
        tables.entry(c.table_name).or_default().push(moved);
    }
    for (table, sets) in tables {
        diesel::sql_query(format!("UPDATE \"{table}\" SET {}", sets.join(", ")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("moving {table}: {e}"));
    }
}

/// How long until the next queued job is due: at least a minute, at most six hours.
async fn until_next_job(app: &TestApp) -> Duration {
    #[derive(QueryableByName)]
    struct Next {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
        at: Option<DateTime<Utc>>,
    }
    let next: Next = diesel::sql_query("SELECT min(run_at) AS at FROM jobs WHERE state = 'queued'")
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    let cap = Duration::hours(6);
    next.at
        .map_or(cap, |at| at - Utc::now() + Duration::seconds(1))
        .clamp(Duration::minutes(1), cap)
}

/// Who holds `role` in each session, in order, for a failure to tell.
async fn held_rows(conn: &mut diesel_async::AsyncPgConnection, role: &str) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        line: String,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT concat_ws(' ', to_char(s.starts_at, 'MM-DD'), r.state, m.display_name) AS line \
         FROM session_roles r JOIN sessions s ON s.id = r.session_id \
         LEFT JOIN members m ON m.id = r.member_id WHERE r.role_key = $1 ORDER BY s.starts_at",
    )
    .bind::<diesel::sql_types::Text, _>(role)
    .load(conn)
    .await
    .unwrap();
    rows.into_iter().map(|r| r.line).collect()
}

/// The day a session at `at` falls on in London, `shift` days on, as letters name it.
fn day_label(at: DateTime<Utc>, shift: i64) -> String {
    (at + Duration::days(shift))
        .with_timezone(&chrono_tz::Europe::London)
        .format("%A %-d %B")
        .to_string()
}

/// For an ask whose subject names the session's day: how many confirmed turns of the role
/// asked for `member` held in sessions before that one.
async fn earlier_turns(
    conn: &mut diesel_async::AsyncPgConnection,
    member: MemberId,
    subject: &str,
) -> Option<i64> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
        days: Vec<String>,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        earlier: i64,
    }
    // The letter named the day as it was when it went; `travel` has moved every stored
    // instant since by part of a day, so the session is found by its day then, now or the
    // day either side (the circle meets weekly: only one session can match).
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT ARRAY(SELECT trim(to_char((s.starts_at + d * interval '1 day') AT TIME ZONE 'Europe/London', \
                                        'FMDay FMDD FMMonth')) FROM unnest(ARRAY[0, -1, 1]) d) AS days, \
                (SELECT count(*) FROM session_roles e JOIN sessions es ON es.id = e.session_id \
                 WHERE e.member_id = r.member_id AND e.role_key = r.role_key \
                   AND e.state = 'confirmed' AND es.starts_at < s.starts_at) AS earlier \
         FROM session_roles r JOIN sessions s ON s.id = r.session_id \
         WHERE r.member_id = $1 AND r.state IN ('asked', 'confirmed')",
    )
    .bind::<diesel::sql_types::Uuid, _>(member.0)
    .load(conn)
    .await
    .unwrap();
    // Today's day first, then the day either side.
    (0..3).find_map(|i| {
        rows.iter()
            .find(|r| subject.contains(&format!(" {}?", r.days[i])))
            .map(|r| r.earlier)
    })
}

#[derive(QueryableByName, Debug, Clone)]
struct Letter {
    #[diesel(sql_type = diesel::sql_types::Text)]
    who: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kinds: String,
    /// Minutes since the circle was made.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    minute: i64,
}

/// Asks made because someone else turned the turn down (a re-plan), as (who, minute since
/// the circle was made).
async fn asks_after_a_decline(app: &TestApp, circle: CircleId) -> Vec<(String, i64)> {
    #[derive(QueryableByName)]
    struct Reask {
        #[diesel(sql_type = diesel::sql_types::Text)]
        who: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        minute: i64,
    }
    let rows: Vec<Reask> = diesel::sql_query(
        "SELECT m.email AS who, (extract(epoch FROM a.at - c.created_at) / 60)::bigint AS minute \
         FROM role_events a JOIN members m ON m.id = a.member_id JOIN circles c ON c.id = a.circle_id \
         WHERE a.circle_id = $1 AND a.kind = 'asked' AND EXISTS ( \
           SELECT 1 FROM role_events d WHERE d.session_id = a.session_id AND d.role_key = a.role_key \
             AND d.slot = a.slot AND d.kind IN ('declined', 'timed_out') AND d.at <= a.at \
             AND d.member_id IS DISTINCT FROM a.member_id)",
    )
    .bind::<diesel::sql_types::Uuid, _>(circle.0)
    .load(&mut app.conn().await)
    .await
    .unwrap();
    rows.into_iter().map(|r| (r.who, r.minute)).collect()
}

/// Every letter sent, one row per message (a letter carrying an invitation is one), with
/// what it was and when, in minutes since the circle was made. The notice that a swap was
/// taken is `swap_taken`: to whoever asked for the swap it answers what they did.
async fn letters(app: &TestApp, circle: CircleId) -> Vec<Letter> {
    diesel::sql_query(
        "SELECT min(d.recipient) AS who, \
                string_agg(CASE WHEN d.kind = 'role_notice' AND j.payload->>'notice' = 'swap_taken' \
                                THEN 'swap_taken' ELSE d.kind END, '+' ORDER BY d.kind) AS kinds, \
                (extract(epoch FROM min(d.sent_at) - c.created_at) / 60)::bigint AS minute \
         FROM deliveries d JOIN circles c ON c.id = $1 LEFT JOIN jobs j ON j.id = d.job_id \
         GROUP BY d.job_id, c.created_at ORDER BY minute",
    )
    .bind::<diesel::sql_types::Uuid, _>(circle.0)
    .load(&mut app.conn().await)
    .await
    .unwrap()
}

/// Letters that may follow another at once: replies to something the person did, and
/// cancellations (`MessageKind::may_follow_closely`).
const REPLIES: [&str; 8] = [
    "confirmation",
    "login_link",
    "personal_link",
    "welcome",
    "waitlisted",
    "promoted",
    "role_confirmed",
    "session_cancelled",
];

/// Letters about a role the reader holds, is asked for or could take.
const ABOUT_A_ROLE: [&str; 8] = [
    "role_ask",
    "role_confirmed",
    "role_notice",
    "swap_taken",
    "swap_offer",
    "questions_ask",
    "facilitator_digest",
    "grow_ask",
];

#[tokio::test]
async fn six_weeks_of_a_rotating_circle_of_six() {
    let app = spawn_app_with(|s| s.email.letter_gap_minutes = 60).await;
    let circle = app
        .create_circle(json!({
            "name": "Thursday Readers", "timezone": "Europe/London",
            "facilitation": "rotating", "capacity": 6
        }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    let circle_id = CircleId(id.parse().unwrap());
    for name in ["Timekeeper", "Discussion lead"] {
        app.post(
            &format!("/api/v1/circles/{id}/roles"),
            &json!({ "name": name }),
        )
        .await
        .expect(201);
    }
    // Six people who met before: the first week's asks are part of what this test lives
    // through (a new circle's first weeks are `rota::a_new_circle_of_seven…`).
    app.anyone_may_take_roles(&id).await;
    let names = ["ada", "bo", "cy", "di", "ed", "flo", "gus", "hal"];
    let mut members = Vec::new();
    for name in names {
        let m = app
            .add_member(&id, &format!("{name}@example.org"))
            .await
            .expect(201);
        members.push(MemberId(m["member_id"].as_str().unwrap().parse().unwrap()));
    }
    let name_of: HashMap<MemberId, &str> = members.iter().copied().zip(names).collect();
    // A book whose contents were pasted before any session existed (item 10).
    let reading = app
        .post(
            &format!("/api/v1/circles/{id}/readings"),
            &json!({ "title": "Braiding Sweetgrass" }),
        )
        .await
        .expect(201);
    let rid = reading["id"].as_str().unwrap().to_string();
    let chapters: Vec<_> = (0..6)
        .map(|i| {
            json!({ "number": i + 1, "title": format!("Chapter {}", i + 1),
                         "first_page": 1 + 30 * i, "last_page": 30 * (i + 1) })
        })
        .collect();
    app.put(
        &format!("/api/v1/readings/{rid}/chapters"),
        &json!({ "chapters": chapters }),
    )
    .await
    .expect(200);
    // The first session at 19:00 London time, two to three days from now whatever the time of
    // day the test starts: the first week's asks then cover the first two sessions in one
    // letter, as a real circle's first week does. The weeks counted below run from three days
    // after one session to three days after the next (the first from the start), so each
    // session's ask (ten days ahead), reminder and prompt fall in the same week of the count.
    let at_seven = |day: chrono::NaiveDate| {
        chrono::TimeZone::from_local_datetime(
            &chrono_tz::Europe::London,
            &day.and_hms_opt(19, 0, 0).expect("a time"),
        )
        .earliest()
        .expect("19:00 exists")
        .with_timezone(&Utc)
    };
    let now = Utc::now();
    let mut first = (now + Duration::days(3)).date_naive();
    while at_seven(first) > now + Duration::days(3) {
        first -= Duration::days(1);
    }
    while at_seven(first) <= now + Duration::days(2) {
        first += Duration::days(1);
    }
    let first_at = at_seven(first);
    let created: DateTime<Utc> = circle["created_at"].as_str().unwrap().parse().unwrap();
    let first_week_ends = (first_at + Duration::days(3) - created).num_minutes();
    let week_of = |minute: i64| -> usize {
        if minute < first_week_ends {
            0
        } else {
            (1 + ((minute - first_week_ends) / (7 * 24 * 60)) as usize).min(6)
        }
    };
    let scheduled = app
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                    "duration_minutes": 90, "count": 6 }),
        )
        .await;
    let session_ids: Vec<SessionId> = scheduled
        .iter()
        .map(|s| SessionId(s["id"].as_str().unwrap().parse().unwrap()))
        .collect();
    let mut conn = app.conn().await;
    for s in &session_ids {
        assert!(
            roundtable::db::readings::segment_of(&mut conn, *s)
                .await
                .unwrap()
                .is_some(),
            "every session reads its part of the book pasted before it was scheduled"
        );
    }
    let seated: HashSet<MemberId> = members[..6].iter().copied().collect();

    let mut elapsed = Duration::zero();
    let mut seen = 0;
    let mut declined_once = false;
    let mut swapped_once = false;
    let mut proposed = false;
    let mut revised = false;
    let mut answered: HashSet<(String, String)> = HashSet::new();
    let mut marked: HashSet<String> = HashSet::new();
    let mut first_turn_by: BTreeMap<MemberId, i64> = BTreeMap::new();
    let mut said_no: Option<(MemberId, SessionId)> = None;
    // (member, role) turns given away: a decline, a swap asked for, a "no" for the session.
    let mut gave_away: HashSet<(MemberId, String)> = HashSet::new();
    // What happened, for a failure to tell.
    let mut events: Vec<String> = Vec::new();
    // (name, session) of the role asks people have in their inbox.
    let mut asks_read: HashSet<(String, SessionId)> = HashSet::new();
    // Who asked for the swap: the notice that someone took it answers them.
    let mut swap_asker: Option<String> = None;
    let mut whys_checked = 0;
    while elapsed < Duration::days(45) {
        let day = elapsed.num_days();
        app.run_pending_jobs().await;
        let now = Utc::now();
        // The clock's work: the rota's asks and the growing check.
        rota::sweep(&mut conn, now).await.unwrap();
        roundtable::actions::growing::sweep(&mut conn, now)
            .await
            .unwrap();
        let coming = sessions::upcoming(&mut conn, circle_id, now, 12)
            .await
            .unwrap();
        let ids: Vec<SessionId> = coming.iter().map(|s| s.id).collect();
        let day_of: HashMap<SessionId, String> = coming
            .iter()
            .map(|s| (s.id, day_label(s.starts_at, 0)))
            .collect();
        // A letter named its session's day as it was when it went; the clock has moved every
        // stored instant since by part of a day, so its session is the one named that day now
        // or, failing that, the day either side (weekly sessions: only one can match).
        let session_named = |subject: &str| -> Option<SessionId> {
            [0, -1, 1].into_iter().find_map(|shift| {
                coming
                    .iter()
                    .find(|s| subject.contains(&format!(" {}?", day_label(s.starts_at, shift))))
                    .map(|s| s.id)
            })
        };
        // Whoever is asked answers from the ask in their inbox: one decline, one swap, the
        // rest accept.
        for row in roles::for_sessions(&mut conn, &ids).await.unwrap() {
            let Some(member) = row.member_id else {
                continue;
            };
            first_turn_by.entry(member).or_insert(day);
            let letter = (name_of[&member].to_string(), row.session_id);
            if row.state == RoleState::Asked && !asks_read.contains(&letter) {
                continue;
            }
            match row.state {
                RoleState::Asked if !declined_once => {
                    declined_once = true;
                    gave_away.insert((member, row.role_key.clone()));
                    events.push(format!(
                        "day {day}: {} declined {} on {}",
                        name_of[&member], row.role_key, day_of[&row.session_id]
                    ));
                    rota::decline(&mut conn, row.id, member, now).await.unwrap();
                }
                RoleState::Asked => {
                    rota::accept(&mut conn, row.id, member, FeedbackMode::Anonymous, now)
                        .await
                        .unwrap();
                }
                RoleState::Confirmed if !swapped_once && day >= 7 => {
                    swapped_once = true;
                    swap_asker = Some(format!("{}@example.org", name_of[&member]));
                    gave_away.insert((member, row.role_key.clone()));
                    events.push(format!(
                        "day {day}: {} asked to swap {} on {}",
                        name_of[&member], row.role_key, day_of[&row.session_id]
                    ));
                    swaps::ask(&mut conn, row.id, member, now).await.unwrap();
                }
                _ => {}
            }
        }
        // Someone offered a swap takes it: whoever leads that role later offers to switch
        // (their later turn then goes back to the rota), else the first offered.
        use diesel::{ExpressionMethods, QueryDsl};
        use roundtable::db::schema::{session_roles, swap_offers, swap_requests};
        let open: Vec<(uuid::Uuid, uuid::Uuid, String)> = swap_offers::table
            .inner_join(swap_requests::table.inner_join(session_roles::table))
            .filter(swap_requests::status.eq("open"))
            .select((
                swap_offers::swap_id,
                swap_offers::member_id,
                session_roles::role_key,
            ))
            .load(&mut conn)
            .await
            .unwrap();
        let later: Vec<(uuid::Uuid, String)> = roles::for_sessions(&mut conn, &ids)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|r| r.member_id.map(|m| (m.0, r.role_key)))
            .collect();
        let taker = open
            .iter()
            .find(|(_, m, key)| later.contains(&(*m, key.clone())))
            .or(<[_]>::first(&open))
            .map(|(swap, m, _)| (*swap, *m));
        if let Some((swap, taker)) = taker.as_ref() {
            events.push(format!(
                "day {day}: {} took the swap",
                name_of[&MemberId(*taker)]
            ));
            let _ = swaps::take(
                &mut conn,
                roundtable::domain::SwapId(*swap),
                MemberId(*taker),
                now,
            )
            .await
            .unwrap();
        }
        // In week two someone proposed for a later turn answers "no" for that session.
        if said_no.is_none() && day >= 8 {
            let rows = roles::for_sessions(&mut conn, &ids).await.unwrap();
            if let Some(row) = rows
                .iter()
                .find(|r| r.state == RoleState::Proposed && r.member_id.is_some())
            {
                let member = row.member_id.unwrap();
                app.put(
                    &format!("/api/v1/sessions/{}/rsvps/{}", row.session_id, member),
                    &json!({ "response": "no" }),
                )
                .await
                .expect(200);
                said_no = Some((member, row.session_id));
                events.push(format!(
                    "day {day}: {} said no to {} (proposed {})",
                    name_of[&member], day_of[&row.session_id], row.role_key
                ));
                // Whoever can't come that day may lose a turn of any role to the re-plan.
                for key in ["facilitator", "timekeeper", "discussion_lead"] {
                    gave_away.insert((member, key.to_string()));
                }
            }
        }
        // In week two Ada proposes an agreement from her page.
        if !proposed && day >= 9 {
            proposed = true;
            let holder = app.holder("ada@example.org").await;
            let me = app.path_of(&app.links().me(holder, now));
            let res = app
                .browser(
                    Method::POST,
                    &format!("{me}/circles/{id}/agreements"),
                    Some(&[("title", "Phones away"), ("body", "Phones stay in bags.")]),
                )
                .await;
            assert_eq!(res.status.as_u16(), 200, "{}", res.text());
        }
        // People act on their new letters: consent rounds are answered (Bo objects to the
        // first), Ada revises after the objection, whoever led marks who came.
        let mails = app.sent_emails();
        for mail in &mails[seen..] {
            let who = mail.to.clone();
            // Item 3: a why that says the reader hasn't held the role is true: they held no
            // turn of it before the session they are asked for.
            let address = who.rsplit('<').next().unwrap_or(&who);
            let name = address.split('@').next().unwrap_or_default().to_string();
            if mail.subject.starts_with("Would you ") {
                if let Some(session) = session_named(&mail.subject) {
                    asks_read.insert((name.clone(), session));
                }
            }
            if mail.subject.starts_with("Would you ") && mail.text.contains("Why you: You haven't")
            {
                let member = members[names.iter().position(|n| *n == name).unwrap()];
                let earlier = earlier_turns(&mut conn, member, &mail.subject).await;
                assert_eq!(earlier, Some(0), "{name}: {}\n{}", mail.subject, mail.text);
                whys_checked += 1;
            }
            // A round's letter comes alone or rides with the reader's session letter.
            if mail.subject.starts_with("Consent round: Phones away")
                || mail
                    .text
                    .contains("Also in this letter: Consent round: Phones away")
            {
                let link = app.link_in(mail, "/consent/");
                if answered.insert((who.clone(), link.clone())) {
                    let objects = who.contains("bo@") && !revised;
                    let (stance, reason) = if objects {
                        ("objection", "Some of us are on call for work")
                    } else {
                        ("consent", "")
                    };
                    let answer = [("action", "answer"), ("stance", stance), ("reason", reason)];
                    let res = app.browser(Method::POST, &link, Some(&answer)).await;
                    assert_eq!(res.status.as_u16(), 200, "{}", res.text());
                }
            } else if mail.subject.starts_with("Objection: Phones away") && !revised {
                revised = true;
                let res = app
                    .browser(
                        Method::POST,
                        &app.link_in(mail, "/consent/"),
                        Some(&[
                            ("action", "revise"),
                            ("body", "Phones stay in bags, except for people on call."),
                            ("note", "For those on call"),
                        ]),
                    )
                    .await;
                assert_eq!(res.status.as_u16(), 200, "{}", res.text());
            }
            if mail.text.contains("/attendance/") {
                // Item 6: whoever led marks who came, from their reflection prompt.
                let link = app.link_in(mail, "/attendance/");
                if marked.insert(link.clone()) {
                    app.browser(Method::GET, &link, None).await.expect(200);
                    let fields: Vec<String> = members[..6]
                        .iter()
                        .map(|m| format!("came_{}", m.0))
                        .collect();
                    let form: Vec<(&str, &str)> =
                        fields.iter().map(|f| (f.as_str(), "yes")).collect();
                    let res = app.browser(Method::POST, &link, Some(&form)).await;
                    assert_eq!(res.status.as_u16(), 200, "{}", res.text());
                }
            }
        }
        seen = mails.len();
        app.run_pending_jobs().await;
        let step = until_next_job(&app).await;
        travel(&app, step, elapsed.num_days(), (elapsed + step).num_days()).await;
        elapsed += step;
    }

    assert!(whys_checked > 0, "some asks said why");
    // Everyone answered every ask from its letter: none ran out of time (a timed-out ask
    // would be a decline this test did not make).
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let timed_out: Count =
        diesel::sql_query("SELECT count(*) AS n FROM role_events WHERE kind = 'timed_out'")
            .get_result(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        timed_out.n,
        0,
        "asks ran out of time\n{}",
        events.join("\n")
    );
    // A "no" for a session keeps its answerer out of that session's roles.
    let (no_member, no_session) = said_no.expect("someone said no");
    let theirs = roles::for_sessions(&mut conn, &[no_session]).await.unwrap();
    assert!(
        theirs
            .iter()
            .all(|r| r.member_id != Some(no_member) || r.state != RoleState::Confirmed),
        "{} said no and holds no role that day",
        name_of[&no_member]
    );

    // Who held what.
    #[derive(QueryableByName)]
    struct Held {
        #[diesel(sql_type = diesel::sql_types::Text)]
        role_key: String,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        member_id: uuid::Uuid,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        session_id: uuid::Uuid,
        /// The session's place in the circle's order.
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let held: Vec<Held> = diesel::sql_query(
        "SELECT r.role_key, r.member_id, r.session_id, \
                dense_rank() OVER (ORDER BY s.starts_at) AS n \
         FROM session_roles r JOIN sessions s ON s.id = r.session_id \
         WHERE r.state = 'confirmed' AND r.member_id IS NOT NULL",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let mut turns: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for h in &held {
        let who = name_of[&MemberId(h.member_id)];
        *turns
            .entry(h.role_key.as_str())
            .or_default()
            .entry(who)
            .or_default() += 1;
    }
    println!("turns per role: {turns:?}");
    // Item 1: nobody held a second turn of a role in a session where someone seated who
    // never held it could have: that someone held another role that day, could not come
    // ("no"), or gave that role away (a decline, a swap).
    for second in &held {
        let holder = MemberId(second.member_id);
        let earlier = held.iter().any(|h| {
            h.member_id == second.member_id && h.role_key == second.role_key && h.n < second.n
        });
        if !earlier {
            continue;
        }
        for m in &seated {
            let never = !held
                .iter()
                .any(|h| h.member_id == m.0 && h.role_key == second.role_key);
            if !never {
                continue;
            }
            let busy = held
                .iter()
                .any(|h| h.member_id == m.0 && h.session_id == second.session_id);
            let away = (*m, SessionId(second.session_id)) == (no_member, no_session);
            let gave = gave_away.contains(&(*m, second.role_key.clone()));
            assert!(
                busy || away || gave,
                "{} held {} a second time (session {}) while {} never did and was free\n{}\n{}",
                name_of[&holder],
                second.role_key,
                second.n,
                name_of[m],
                events.join("\n"),
                held_rows(&mut conn, &second.role_key).await.join("\n")
            );
        }
    }
    // Item 2: everyone seated had a turn within the first two weeks of asking.
    for m in &seated {
        assert!(
            first_turn_by.get(m).is_some_and(|d| *d <= 14),
            "{m:?} waited too long for a first turn: {first_turn_by:?}"
        );
    }
    // Item 7: feedback was asked only about facilitators.
    #[derive(QueryableByName)]
    struct Key {
        #[diesel(sql_type = diesel::sql_types::Text)]
        role_key: String,
    }
    let keys: Vec<Key> = diesel::sql_query("SELECT DISTINCT role_key FROM feedback_requests")
        .load(&mut conn)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "feedback was asked");
    assert!(
        keys.iter().all(|k| k.role_key == "facilitator"),
        "feedback only about facilitators"
    );
    assert!(
        declined_once && swapped_once && revised,
        "a decline, a swap and a revised agreement happened"
    );
    // Item 6: whoever led marked who came from their emailed link, after every session.
    assert_eq!(
        marked.len(),
        6,
        "one attendance link per session, each used"
    );
    // Item 9: whoever kept time had a timer link before every session.
    let mails = app.sent_emails();
    let timers = mails
        .iter()
        .filter(|m| m.text.contains("/agenda/") && m.text.contains("You're keeping time"))
        .count();
    assert_eq!(timers, 6, "a timer for the timekeeper of each session");

    // Item 4: letters per member per week, and never two within an hour unless a reply.
    // Letters of the consent round are counted apart: the circle chose to hold one.
    let all = letters(&app, circle_id).await;
    let mut per_week: BTreeMap<String, [usize; 7]> = BTreeMap::new();
    let mut agreement_letters: BTreeMap<String, [usize; 7]> = BTreeMap::new();
    let mut role_weeks: BTreeSet<(String, usize)> = BTreeSet::new();
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut too_close = Vec::new();
    for l in &all {
        let week = week_of(l.minute);
        // Letters that answer what the reader did are not their week's mail: the welcome,
        // and Ada's letters about the agreement she proposed (her round, the objection to
        // revise, her revised round).
        let answers_them = l.kinds.split('+').all(|k| REPLIES.contains(&k))
            || (l.kinds == "swap_taken" && swap_asker.as_ref() == Some(&l.who))
            || l.kinds.split('+').any(|k| k == "welcome")
            || (l.who.starts_with("ada") && l.kinds.split('+').all(|k| k.starts_with("consent_")));
        // A letter of the round alone (the revised round goes when the first round closes,
        // at the end of its last day, whatever letters went that week) is counted with the
        // agreement's letters below, which are held to three.
        let the_rounds_own = l.kinds.split('+').all(|k| k.starts_with("consent_"));
        if !answers_them && !the_rounds_own {
            per_week.entry(l.who.clone()).or_insert([0; 7])[week] += 1;
        }
        let agreed = l
            .kinds
            .split('+')
            .filter(|k| k.starts_with("consent_"))
            .count();
        agreement_letters.entry(l.who.clone()).or_insert([0; 7])[week] += agreed;
        if l.kinds.split('+').any(|k| ABOUT_A_ROLE.contains(&k)) {
            role_weeks.insert((l.who.clone(), week));
        }
        let reply = l.kinds.split('+').all(|k| REPLIES.contains(&k));
        if let Some(before) = last.get(&l.who) {
            if l.minute - before < 60 && !reply {
                too_close.push(l.clone());
            }
        }
        last.insert(l.who.clone(), l.minute);
    }
    println!(
        "letters per person per week, six weeks and a few days after \
         (not counting replies, the welcome and Ada's letters about her own proposal; * a week with a role; \
         + agreement letters among them, alone or riding; total: every letter):"
    );
    for (to, weeks) in &per_week {
        let agreed = agreement_letters.get(to).copied().unwrap_or([0; 7]);
        let marks: Vec<String> = weeks
            .iter()
            .zip(agreed)
            .enumerate()
            .map(|(w, (n, c))| {
                let r = if role_weeks.contains(&(to.clone(), w)) {
                    "*"
                } else {
                    ""
                };
                match c {
                    0 => format!("{n}{r}"),
                    c => format!("{n}{r}+{c}"),
                }
            })
            .collect();
        println!(
            "  {to:<24} [{}] total {}",
            marks.join(", "),
            all.iter().filter(|l| &l.who == to).count()
        );
    }
    assert!(
        too_close.is_empty(),
        "two letters within an hour: {too_close:?}"
    );
    // Someone asked in place of a person who turned the turn down is asked when it happens:
    // that ask may be one letter more in its week, and only that.
    let reasked: BTreeSet<(String, usize)> = asks_after_a_decline(&app, circle_id)
        .await
        .into_iter()
        .map(|(who, minute)| (who, week_of(minute)))
        .collect();
    println!("asked in place of someone who declined (who, week): {reasked:?}");
    for (to, weeks) in &per_week {
        if to.contains("organiser") {
            continue;
        }
        // Every week, the first too: its asks for everyone's first turns come in one letter.
        for (w, &n) in weeks.iter().enumerate() {
            let limit = if role_weeks.contains(&(to.clone(), w)) {
                3
            } else {
                2
            } + usize::from(reasked.contains(&(to.clone(), w)));
            let theirs: Vec<(i64, &str)> = all
                .iter()
                .filter(|l| &l.who == to)
                .map(|l| (l.minute / 60, l.kinds.as_str()))
                .collect();
            assert!(
                n <= limit,
                "{to} got {n} letters in week {w} (limit {limit}): {weeks:?}; \
                 (hour, letter): {theirs:?}"
            );
        }
    }
    // The round, its objection and the revision: everyone but Ada reads three agreement
    // letters (the round, the revised round telling the objection's outcome, the outcome),
    // not four, most of them inside their session letters; Ada also hears of the objection
    // at once, to revise.
    for (to, weeks) in &agreement_letters {
        if !to.starts_with(|c: char| "abcdef".contains(c)) || to.starts_with("organiser") {
            continue;
        }
        let n: usize = weeks.iter().sum();
        let expected = if to.starts_with("ada") { 4 } else { 3 };
        assert_eq!(n, expected, "{to}: {weeks:?}");
    }
    // Item 12, and item 4 for it: the circle grows a sibling, and each "would you lead it"
    // rides with its reader's next reminder or reflection prompt while the circle still meets.
    let grow_asks: Vec<&Letter> = all
        .iter()
        .filter(|l| l.kinds.split('+').any(|k| k == "grow_ask"))
        .collect();
    assert!(!grow_asks.is_empty(), "someone was asked to lead a sibling");
    for l in &grow_asks {
        assert!(
            l.kinds.contains("reminder")
                || l.kinds.contains("reflection_prompt")
                || l.minute > 35 * 24 * 60,
            "an ask to lead a sibling came alone: {grow_asks:?}"
        );
    }
    // Item 12: people waiting heard where they stand in week three, and nothing else.
    for who in ["gus@example.org", "hal@example.org"] {
        let kinds: Vec<&str> = all
            .iter()
            .filter(|l| l.who == who)
            .map(|l| l.kinds.as_str())
            .collect();
        assert!(kinds.contains(&"waitlist_standing"), "{who}: {kinds:?}");
    }
}
