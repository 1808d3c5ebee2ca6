//! Reading plans: a reading's chapters split over the sessions that read it (sessions whose
//! reading is set to it), so the largest session's page count is as small as possible
//! (`domain::reading_plan`). Scheduling, cancelling or re-pointing a session re-flows only
//! the segments of sessions that have not started; started ones keep what they read. A reading
//! whose chapters were pasted before any session existed is split over the next sessions
//! scheduled.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::db::readings::{self, SegmentRow};
use crate::db::Connection;
use crate::domain::reading_plan::{self as rules, Chapter, Segment};
use crate::domain::{CircleId, Invalid, ReadingId, SessionId};
use crate::error::{AppError, AppResult};

/// A reading's stored chapters (none when they cannot be read).
pub fn parse(json: serde_json::Value) -> Vec<Chapter> {
    serde_json::from_value(json).unwrap_or_default()
}

/// Store a reading's chapters and plan it again.
pub async fn set_chapters(
    conn: &mut Connection,
    reading: ReadingId,
    chapters: Vec<Chapter>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let json = serde_json::to_value(&chapters).map_err(|e| AppError::Internal(e.into()))?;
        readings::set_chapters(conn, reading, &json).await?;
        // A reading with chapters is read by the coming sessions that have no reading yet.
        if let Some((circle, _)) = readings::chapters(conn, reading).await? {
            readings::give_to_coming_sessions(conn, circle, reading, now).await?;
        }
        replan_in(conn, reading, now).await
    })
    .await
}

/// Plan `reading` again, in the caller's transaction: segments of started sessions stay;
/// the pages after the last of them are split over the sessions still to come.
pub async fn replan_in(
    conn: &mut Connection,
    reading: ReadingId,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some((circle, json)) = readings::chapters(conn, reading).await? else {
        return Ok(());
    };
    let chapters = parse(json);
    let planned = readings::sessions_with_segments(conn, reading).await?;
    let read_through = planned
        .iter()
        .filter(|(_, starts, _, _)| *starts <= now)
        .map(|(_, _, _, last)| *last)
        .max()
        .unwrap_or(0);
    let started: Vec<SessionId> = planned
        .iter()
        .filter(|(_, starts, _, _)| *starts <= now)
        .map(|(id, _, _, _)| *id)
        .collect();
    // Every unstarted segment is rewritten: those of cancelled or re-pointed sessions go.
    let mut rewrite: Vec<SessionId> = planned
        .iter()
        .filter(|(id, _, _, _)| !started.contains(id))
        .map(|(id, _, _, _)| *id)
        .collect();
    let coming: Vec<SessionId> = readings::sessions_reading(conn, reading)
        .await?
        .into_iter()
        .filter(|(id, starts)| *starts > now && !started.contains(id))
        .map(|(id, _)| id)
        .collect();
    rewrite.extend(coming.iter().copied());
    let rest = rules::remaining(&chapters, read_through);
    let plan = rules::split(&rest, coming.len());
    let rows: Vec<_> = coming
        .iter()
        .zip(plan)
        .filter_map(|(session, segment)| segment.map(|s| (*session, s)))
        .map(|(session, s)| {
            (
                session,
                0,
                s.first_page,
                s.last_page,
                rules::label(&chapters, s),
            )
        })
        .collect();
    readings::replace_segments(conn, circle, reading, &rewrite, &rows).await?;
    Ok(())
}

/// Sessions a schedule just created. A reading that waits for sessions (it has chapters and
/// no session reads it, because they were pasted before any session existed) becomes that of
/// every coming session without a reading, as when chapters are pasted; with several waiting,
/// the first in the list does. Otherwise the new sessions continue the reading the circle is on
/// (`sessions_added`).
pub async fn sessions_scheduled(
    conn: &mut Connection,
    circle: CircleId,
    added: &[crate::db::sessions::Session],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let waiting = readings::unread(conn, circle)
        .await?
        .into_iter()
        .find_map(|(reading, has_chapters)| has_chapters.then_some(reading));
    if let Some(reading) = waiting {
        if readings::give_to_coming_sessions(conn, circle, reading, now).await? > 0 {
            return circle_changed(conn, circle, now).await;
        }
    }
    sessions_added(conn, circle, added, now).await
}

/// New sessions without a reading continue the reading the circle is on (the one with
/// chapters its latest session reads), and the plan re-flows over them. A sibling's sessions
/// come this way and not through `sessions_scheduled`: its copies of readings the first circle
/// already finished are read by none of its sessions, and must not start again.
pub async fn sessions_added(
    conn: &mut Connection,
    circle: CircleId,
    added: &[crate::db::sessions::Session],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let ids: Vec<SessionId> = added.iter().map(|s| s.id).collect();
    if let Some(reading) = readings::current_planned(conn, circle, &ids).await? {
        let bare: Vec<SessionId> = added
            .iter()
            .filter(|s| s.reading_id.is_none())
            .map(|s| s.id)
            .collect();
        readings::set_session_reading(conn, &bare, reading).await?;
    }
    circle_changed(conn, circle, now).await
}

/// Plan every reading of `circle` that has chapters again (its sessions changed).
pub async fn circle_changed(
    conn: &mut Connection,
    circle: CircleId,
    now: DateTime<Utc>,
) -> AppResult<()> {
    for (reading, _) in readings::with_chapters(conn, circle).await? {
        replan_in(conn, reading, now).await?;
    }
    Ok(())
}

/// A segment as the organiser sets it.
#[derive(Debug, Clone)]
pub struct Boundary {
    pub session_id: SessionId,
    pub reading_id: ReadingId,
    pub first_page: i32,
    pub last_page: i32,
}

/// Replace a circle's plan with the segments given (the organiser moved a boundary). For
/// each reading they must cover its pages in session order with no gap or overlap, name only
/// sessions that read it, and leave the segments of started sessions as they are.
pub async fn set_plan(
    conn: &mut Connection,
    circle: CircleId,
    segments: Vec<Boundary>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let mut readings_in: Vec<ReadingId> = segments.iter().map(|s| s.reading_id).collect();
        readings_in.sort();
        readings_in.dedup();
        for reading in readings_in {
            let Some((owner, json)) = readings::chapters(conn, reading).await? else {
                return Err(AppError::invalid("reading_id", "names no reading of this circle"));
            };
            if owner != circle {
                return Err(AppError::invalid("reading_id", "names no reading of this circle"));
            }
            let chapters = parse(json);
            let (Some(first), Some(last)) = (chapters.first(), chapters.last()) else {
                return Err(AppError::invalid("reading_id", "this reading has no chapters yet"));
            };
            let sessions = readings::sessions_reading(conn, reading).await?;
            let mut mine: Vec<(DateTime<Utc>, &Boundary)> = Vec::new();
            for s in segments.iter().filter(|s| s.reading_id == reading) {
                let Some((_, starts)) = sessions.iter().find(|(id, _)| *id == s.session_id) else {
                    return Err(AppError::invalid("session_id", "names no scheduled session that reads this reading"));
                };
                mine.push((*starts, s));
            }
            mine.sort_by_key(|(starts, _)| *starts);
            let mut next = first.first_page;
            for (_, s) in &mine {
                if s.last_page > 100_000 {
                    return Err(AppError::invalid("to", "a book ends by page 100000"));
                }
                if s.first_page != next || s.last_page < s.first_page {
                    return Err(AppError::from(Invalid::new(
                        "from",
                        format!("segments must follow on without gaps or overlaps: one should start on page {next}"),
                    )));
                }
                next = s.last_page.saturating_add(1);
            }
            if next != last.last_page.saturating_add(1) {
                return Err(AppError::from(Invalid::new(
                    "to",
                    format!("the last segment must end on page {}", last.last_page),
                )));
            }
            let planned = readings::sessions_with_segments(conn, reading).await?;
            for (id, starts, a, b) in &planned {
                if *starts <= now {
                    let kept = mine.iter().any(|(_, s)| s.session_id == *id && s.first_page == *a && s.last_page == *b);
                    if !kept {
                        return Err(AppError::Conflict(
                            "a session that has started keeps its segment".into(),
                        ));
                    }
                }
            }
            let mut rewrite: Vec<SessionId> = planned.iter().map(|(id, _, _, _)| *id).collect();
            rewrite.extend(mine.iter().map(|(_, s)| s.session_id));
            let rows: Vec<_> = mine
                .iter()
                .map(|(_, s)| {
                    let seg = Segment { first_page: s.first_page, last_page: s.last_page };
                    (s.session_id, 0, s.first_page, s.last_page, rules::label(&chapters, seg))
                })
                .collect();
            readings::replace_segments(conn, circle, reading, &rewrite, &rows).await?;
        }
        Ok(())
    })
    .await
}

/// The circle's plan, with segments over 1.5× the median flagged.
pub async fn plan_of(
    conn: &mut Connection,
    circle: CircleId,
) -> AppResult<(Vec<SegmentRow>, Vec<usize>)> {
    let rows = readings::segments(conn, circle).await?;
    let segs: Vec<Option<Segment>> = rows
        .iter()
        .map(|r| {
            Some(Segment {
                first_page: r.first_page,
                last_page: r.last_page,
            })
        })
        .collect();
    let uneven = rules::uneven(&segs);
    Ok((rows, uneven))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit as kit;

    /// Four chapters of 25 pages: pages 1 to 100.
    fn chapters() -> Vec<Chapter> {
        (0..4)
            .map(|i| Chapter {
                number: i + 1,
                title: format!("Part {}", i + 1),
                first_page: i * 25 + 1,
                last_page: i * 25 + 25,
            })
            .collect()
    }

    fn boundary(session: SessionId, reading: ReadingId, pages: (i32, i32)) -> Boundary {
        Boundary {
            session_id: session,
            reading_id: reading,
            first_page: pages.0,
            last_page: pages.1,
        }
    }

    #[tokio::test]
    async fn a_reading_s_pages_are_shared_out_over_the_sessions_that_read_it() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let book = kit::reading(conn, &circle, "Braiding Sweetgrass").await;
        let sessions = kit::session()
            .reading(book.id)
            .weekly(conn, &circle, 2)
            .await;

        set_chapters(conn, book.id, chapters(), Utc::now())
            .await
            .unwrap();

        let (plan, uneven) = plan_of(conn, circle.id).await.unwrap();
        let pages: Vec<_> = plan
            .iter()
            .map(|s| (s.session_id, s.first_page, s.last_page))
            .collect();
        assert_eq!(pages, [(sessions[0].id, 1, 50), (sessions[1].id, 51, 100)]);
        assert!(uneven.is_empty());
    }

    #[tokio::test]
    async fn a_reading_pasted_before_any_session_is_split_over_the_sessions_scheduled_later() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let book = kit::reading(conn, &circle, "Braiding Sweetgrass").await;
        let later = kit::reading(conn, &circle, "Gathering Moss").await;
        set_chapters(conn, book.id, chapters(), Utc::now())
            .await
            .unwrap();
        set_chapters(conn, later.id, chapters(), Utc::now())
            .await
            .unwrap();
        assert_eq!(
            readings::unread(conn, circle.id).await.unwrap(),
            [(book.id, true), (later.id, true)],
            "nothing reads either yet"
        );

        let sessions = kit::session().weekly(conn, &circle, 4).await;
        sessions_scheduled(conn, circle.id, &sessions, Utc::now())
            .await
            .unwrap();

        let (plan, _) = plan_of(conn, circle.id).await.unwrap();
        let pages: Vec<_> = plan
            .iter()
            .map(|s| (s.session_id, s.reading_id, s.first_page, s.last_page))
            .collect();
        let expected: Vec<_> = sessions
            .iter()
            .zip([(1, 25), (26, 50), (51, 75), (76, 100)])
            .map(|(s, (a, b))| (s.id, book.id, a, b))
            .collect();
        assert_eq!(pages, expected, "the first in the list, over every session");
        assert_eq!(
            readings::unread(conn, circle.id).await.unwrap(),
            [(later.id, true)],
            "the second still waits"
        );
    }

    #[tokio::test]
    async fn new_sessions_read_a_waiting_reading_rather_than_continue_the_current_one() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let current = kit::reading(conn, &circle, "Braiding Sweetgrass").await;
        let on = kit::session()
            .reading(current.id)
            .weekly(conn, &circle, 2)
            .await;
        set_chapters(conn, current.id, chapters(), Utc::now())
            .await
            .unwrap();
        let next = kit::reading(conn, &circle, "Gathering Moss").await;
        set_chapters(conn, next.id, chapters(), Utc::now())
            .await
            .unwrap();
        let added = kit::session().in_days(21).weekly(conn, &circle, 2).await;

        sessions_scheduled(conn, circle.id, &added, Utc::now())
            .await
            .unwrap();

        let (plan, _) = plan_of(conn, circle.id).await.unwrap();
        let pages: Vec<_> = plan
            .iter()
            .map(|s| (s.session_id, s.reading_id, s.first_page, s.last_page))
            .collect();
        assert_eq!(
            pages,
            [
                (on[0].id, current.id, 1, 50),
                (on[1].id, current.id, 51, 100),
                (added[0].id, next.id, 1, 50),
                (added[1].id, next.id, 51, 100),
            ]
        );
        assert!(readings::unread(conn, circle.id).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_sibling_s_new_sessions_do_not_start_a_reading_none_of_them_reads() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let finished = kit::reading(conn, &circle, "Braiding Sweetgrass").await;
        set_chapters(conn, finished.id, chapters(), Utc::now())
            .await
            .unwrap();
        let sessions = kit::session().weekly(conn, &circle, 2).await;

        sessions_added(conn, circle.id, &sessions, Utc::now())
            .await
            .unwrap();

        let (plan, _) = plan_of(conn, circle.id).await.unwrap();
        assert!(plan.is_empty(), "{plan:?}");
        assert_eq!(
            readings::unread(conn, circle.id).await.unwrap(),
            [(finished.id, true)]
        );
    }

    #[tokio::test]
    async fn a_plan_with_a_gap_is_refused_and_the_old_one_stays() {
        let conn = &mut kit::fresh_connection().await;
        let circle = kit::circle().create(conn).await;
        let book = kit::reading(conn, &circle, "Braiding Sweetgrass").await;
        let s = kit::session()
            .reading(book.id)
            .weekly(conn, &circle, 2)
            .await;
        set_chapters(conn, book.id, chapters(), Utc::now())
            .await
            .unwrap();
        let gap = vec![
            boundary(s[0].id, book.id, (1, 40)),
            boundary(s[1].id, book.id, (42, 100)),
        ];
        let moved = vec![
            boundary(s[0].id, book.id, (1, 30)),
            boundary(s[1].id, book.id, (31, 100)),
        ];

        let refused = set_plan(conn, circle.id, gap, Utc::now()).await;
        assert!(matches!(refused, Err(AppError::Invalid { ref field, .. }) if field == "from"));
        let (plan, _) = plan_of(conn, circle.id).await.unwrap();
        assert_eq!((plan[0].last_page, plan[1].first_page), (50, 51));

        set_plan(conn, circle.id, moved, Utc::now()).await.unwrap();
        let (plan, _) = plan_of(conn, circle.id).await.unwrap();
        assert_eq!((plan[0].last_page, plan[1].first_page), (30, 31));
    }
}
