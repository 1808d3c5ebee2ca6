//! Six weeks of a real circle, lived day by day with the clock moved in the test (every stored
//! instant and date moves back, as if the days passed): a rotating circle of six with a
//! facilitator, a timekeeper and a discussion lead, two people waiting, declines and a swap.
//! It checks the rota's fairness, feedback's reach and what people waiting hear as the weeks
//! go, and prints how many emails each member got each week.

use std::collections::{BTreeMap, HashSet};

use chrono::{Duration, Utc};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::helpers::{spawn_app, TestApp};
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

/// Let `days` pass: every stored instant and date moves that far back, one statement per
/// table so rules between columns (an end after its start) hold throughout.
async fn travel(app: &TestApp, days: i64) {
    let mut conn = app.conn().await;
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_\\_diesel%' \
           AND data_type IN ('timestamp with time zone', 'date')",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in columns {
        let moved = if c.data_type == "date" {
            format!("\"{0}\" = \"{0}\" - {days}", c.column_name)
        } else {
            format!("\"{0}\" = \"{0}\" - interval '{days} days'", c.column_name)
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

#[tokio::test]
async fn six_weeks_of_a_rotating_circle_of_six() {
    let app = spawn_app().await;
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
    let names = ["ada", "bo", "cy", "di", "ed", "flo", "gus", "hal"];
    let mut members = Vec::new();
    for name in names {
        let m = app
            .add_member(&id, &format!("{name}@example.org"))
            .await
            .expect(201);
        members.push(MemberId(m["member_id"].as_str().unwrap().parse().unwrap()));
    }
    let first = (Utc::now() + Duration::days(3)).date_naive();
    app.schedule(
        &id,
        json!({ "freq": "weekly", "first_date": first.to_string(), "local_time": "19:00",
                "duration_minutes": 90, "count": 6 }),
    )
    .await;
    let seated: HashSet<MemberId> = members[..6].iter().copied().collect();

    let mut per_week: BTreeMap<String, [usize; 7]> = BTreeMap::new();
    let mut seen = 0;
    let mut declined_once = false;
    let mut swapped_once = false;
    let mut first_turn_by: BTreeMap<MemberId, i64> = BTreeMap::new();
    let mut conn = app.conn().await;
    for day in 0..45i64 {
        app.run_pending_jobs().await;
        let now = Utc::now();
        // The clock's daily work: the rota's asks and the growing check.
        rota::sweep(&mut conn, now).await.unwrap();
        roundtable::actions::growing::sweep(&mut conn, now)
            .await
            .unwrap();
        let ids: Vec<SessionId> = sessions::upcoming(&mut conn, circle_id, now, 12)
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect();
        // Whoever is asked answers the same day: one decline, one swap, the rest accept.
        for row in roles::for_sessions(&mut conn, &ids).await.unwrap() {
            let Some(member) = row.member_id else {
                continue;
            };
            first_turn_by.entry(member).or_insert(day);
            match row.state {
                RoleState::Asked if !declined_once => {
                    declined_once = true;
                    rota::decline(&mut conn, row.id, member, now).await.unwrap();
                }
                RoleState::Asked => {
                    rota::accept(&mut conn, row.id, member, FeedbackMode::Anonymous, now)
                        .await
                        .unwrap();
                }
                RoleState::Confirmed if !swapped_once && day >= 7 => {
                    swapped_once = true;
                    swaps::ask(&mut conn, row.id, member, now).await.unwrap();
                }
                _ => {}
            }
        }
        // Someone offered a swap takes it.
        use diesel::{ExpressionMethods, QueryDsl};
        use roundtable::db::schema::{swap_offers, swap_requests};
        let open: Vec<(uuid::Uuid, uuid::Uuid)> = swap_offers::table
            .inner_join(swap_requests::table)
            .filter(swap_requests::status.eq("open"))
            .select((swap_offers::swap_id, swap_offers::member_id))
            .load(&mut conn)
            .await
            .unwrap();
        if let Some((swap, taker)) = <[_]>::first(&open) {
            let _ = swaps::take(
                &mut conn,
                roundtable::domain::SwapId(*swap),
                MemberId(*taker),
                now,
            )
            .await
            .unwrap();
        }
        // After each session, an organiser marks everyone present.
        use roundtable::db::schema::sessions as session_rows;
        let ended: Vec<uuid::Uuid> = session_rows::table
            .filter(session_rows::circle_id.eq(circle_id))
            .filter(session_rows::ends_at.le(now))
            .filter(session_rows::ends_at.gt(now - Duration::days(1)))
            .select(session_rows::id)
            .load(&mut conn)
            .await
            .unwrap();
        for s in ended {
            let marks: Vec<_> = members[..6]
                .iter()
                .map(|m| json!({ "member_id": m.0, "attended": true }))
                .collect();
            app.put(
                &format!("/api/v1/sessions/{s}/attendance"),
                &json!({ "attendance": marks }),
            )
            .await
            .expect(200);
        }
        app.run_pending_jobs().await;
        let mails = app.sent_emails();
        for m in &mails[seen..] {
            let week = (day / 7) as usize;
            per_week.entry(m.to.clone()).or_insert([0; 7])[week.min(6)] += 1;
        }
        seen = mails.len();
        travel(&app, 1).await;
    }

    println!("emails per member per week (six weeks and a few days after):");
    for (to, weeks) in &per_week {
        println!("  {to:<24} {weeks:?} total {}", weeks.iter().sum::<usize>());
    }
    // Everyone seated had a turn within the first two weeks of asking.
    for m in &seated {
        assert!(
            first_turn_by.get(m).is_some_and(|d| *d <= 14),
            "{m:?} waited too long for a first turn: {first_turn_by:?}"
        );
    }
    // Feedback was asked only about facilitators.
    #[derive(QueryableByName)]
    struct Key {
        #[diesel(sql_type = diesel::sql_types::Text)]
        role_key: String,
    }
    let keys: Vec<Key> = diesel::sql_query("SELECT DISTINCT role_key FROM feedback_requests")
        .load(&mut conn)
        .await
        .unwrap();
    assert!(
        keys.iter().all(|k| k.role_key == "facilitator"),
        "feedback only about facilitators"
    );
    assert!(
        declined_once && swapped_once,
        "a decline and a swap happened"
    );
}
