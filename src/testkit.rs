//! What tests share: a fresh, migrated database for each test (a copy of a template built
//! once per set of migrations), and small builders that write circles, people, seats,
//! sessions and role slots through `db`, with defaults a test overrides only where it matters.
//! Compiled for the crate's own tests and, with the `testkit` feature, for `tests/`; the
//! service never contains it.

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, SubsecRound, Timelike, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::config::DatabaseUrl;
use crate::db::circles::{self, Circle, NewCircle};
use crate::db::jobs::{self, Job};
use crate::db::members::{self, Member};
use crate::db::memberships::{self, Membership};
use crate::db::readings::{self, NewReading, Reading};
use crate::db::roles::{self, NewRoleKind, RoleKind, SessionRole, SlotWrite, FACILITATOR};
use crate::db::sessions::{self, Session};
use crate::db::{run_migrations, Connection};
use crate::domain::schedule::{End, Frequency, ScheduleRule};
use crate::domain::{
    CircleId, CircleKind, CircleName, CircleStatus, DisplayName, EmailAddress, Facilitation,
    MemberId, MembershipRole, MembershipState, ReadingId, RoleSource, RoleState, Slug, Timezone,
    Visibility,
};
use crate::email::MessageKind;
use crate::jobs::email::wire::Payload;

// --- Databases -------------------------------------------------------------------------------

/// The Postgres server for tests: `ROUNDTABLE_TEST_DATABASE_URL`, `DATABASE_URL`, or the
/// local default. Its path is ignored; tests make their own databases on it.
pub fn server_url() -> DatabaseUrl {
    let url = std::env::var("ROUNDTABLE_TEST_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    DatabaseUrl::new(url).with_database("postgres")
}

/// Test databases are named with this prefix, which `scripts/test` sets per run and drops.
fn db_prefix() -> String {
    std::env::var("ROUNDTABLE_TEST_DB_PREFIX").unwrap_or_else(|_| "rt_test_".into())
}

/// A name for the migrated template that changes whenever a migration does.
fn template_name() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("the crate's migrations")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for dir in entries {
        for file in ["up.sql", "down.sql"] {
            for byte in std::fs::read(dir.join(file)).unwrap_or_default() {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    format!("rt_template_{hash:016x}")
}

/// Build the template once per server and schema (also across test processes).
fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        std::thread::spawn(|| {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(build_template())
        })
        .join()
        .expect("template thread")
    })
}

async fn build_template() -> String {
    let name = template_name();
    let server = server_url();
    let mut conn = AsyncPgConnection::establish(server.expose())
        .await
        .unwrap_or_else(|e| panic!("connecting to {} for tests: {e}", server.redacted()));
    diesel::sql_query("SELECT pg_advisory_lock(7345812)")
        .execute(&mut conn)
        .await
        .unwrap();
    if !database_exists(&mut conn, &name).await {
        let building = format!("{name}_building");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
        diesel::sql_query(format!("CREATE DATABASE {building}"))
            .execute(&mut conn)
            .await
            .unwrap();
        run_migrations(&server.with_database(&building))
            .await
            .expect("migrating the template");
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    diesel::sql_query("SELECT pg_advisory_unlock(7345812)")
        .execute(&mut conn)
        .await
        .unwrap();
    name
}

async fn database_exists(conn: &mut AsyncPgConnection, name: &str) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let found: Found =
        diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(conn)
            .await
            .unwrap();
    found.n > 0
}

/// A new, migrated, empty database for one test.
pub async fn fresh_database() -> DatabaseUrl {
    let template = template();
    let name = format!("{}{}", db_prefix(), uuid::Uuid::new_v4().simple());
    let server = server_url();
    let mut conn = AsyncPgConnection::establish(server.expose()).await.unwrap();
    // Copying a template fails while another copy of it is being made; take turns.
    for attempt in 0.. {
        match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut conn)
            .await
        {
            Ok(_) => break,
            Err(e) if attempt < 100 && e.to_string().contains("being accessed by other users") => {
                tokio::time::sleep(Duration::from_millis(20 + attempt * 5)).await;
            }
            Err(e) => panic!("creating test database {name}: {e}"),
        }
    }
    server.with_database(&name)
}

/// An empty database that has not been migrated.
pub async fn empty_database() -> DatabaseUrl {
    let name = format!("{}{}", db_prefix(), uuid::Uuid::new_v4().simple());
    let server = server_url();
    let mut conn = AsyncPgConnection::establish(server.expose()).await.unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    server.with_database(&name)
}

/// A connection to the database at `url`.
pub async fn connect(url: &DatabaseUrl) -> Connection {
    AsyncPgConnection::establish(url.expose())
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", url.redacted()))
}

/// A connection to a fresh database of its own: where a test of an action starts.
pub async fn fresh_connection() -> Connection {
    connect(&fresh_database().await).await
}

/// Now, to the microsecond as Postgres keeps it: an instant to compare with stored ones.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

// --- Circles ---------------------------------------------------------------------------------

/// A circle to create: "Braiding Sweetgrass", an open book club in New York with no seat
/// limit, led by fixed facilitators, with the timings a new circle gets from the API.
pub fn circle() -> CircleBuilder {
    CircleBuilder(NewCircle {
        id: CircleId::new(),
        slug: Slug::parse("circle").expect("a valid slug"),
        name: String::new(),
        description: String::new(),
        kind: CircleKind::BookClub,
        visibility: Visibility::Open,
        capacity: None,
        timezone: Timezone::parse("America/New_York").expect("a known zone"),
        location: None,
        status: CircleStatus::Open,
        facilitation: Facilitation::Fixed,
        reminder_offset_minutes: 1440,
        reflection_delay_minutes: 60,
        invite_lead_days: 7,
        planning_horizon: 12,
        role_ask_days: 10,
        role_answer_hours: 72,
        feedback_min_answers: 3,
        feedback_roles: vec![crate::db::roles::FACILITATOR.to_string()],
        consent_quorum_percent: 50,
        consent_round_days: 7,
        grow_threshold: None,
    })
    .named("Braiding Sweetgrass")
}

/// A circle to create; each method overrides one default of [`circle`].
pub struct CircleBuilder(NewCircle);

impl CircleBuilder {
    pub fn named(mut self, name: &str) -> Self {
        let name = CircleName::parse(name).expect("a valid circle name");
        self.0.slug = Slug::from_name(&name);
        self.0.name = name.as_str().to_string();
        self
    }

    /// Meeting in the IANA zone `zone`, e.g. `Europe/London`.
    pub fn timezone(mut self, zone: &str) -> Self {
        self.0.timezone = Timezone::parse(zone).expect("a known zone");
        self
    }

    /// At most `seats` members (facilitators take none).
    pub fn capacity(mut self, seats: i32) -> Self {
        self.0.capacity = Some(seats);
        self
    }

    /// Led by its members in turn: the rota plans its roles.
    pub fn rotating(mut self) -> Self {
        self.0.facilitation = Facilitation::Rotating;
        self
    }

    pub fn status(mut self, status: CircleStatus) -> Self {
        self.0.status = status;
        self
    }

    /// Any other setting, e.g. `.with(|c| c.role_answer_hours = 1)`.
    pub fn with(mut self, change: impl FnOnce(&mut NewCircle)) -> Self {
        change(&mut self.0);
        self
    }

    /// The circle, with its facilitator role asked of anyone (these tests' members have all
    /// come before; the default minimum of one session is the integration tests' to check).
    pub async fn create(self, conn: &mut Connection) -> Circle {
        let slug = self.0.slug.clone();
        let circle = circles::create(conn, self.0, &slug, false)
            .await
            .unwrap()
            .expect("a free slug");
        let anyone = roles::RoleKindChanges {
            min_attended: Some(0),
            ..Default::default()
        };
        roles::update_kind(conn, circle.id, roles::FACILITATOR, anyone)
            .await
            .unwrap();
        circle
    }
}

/// A role kind of `circle` besides the facilitator's, one slot, rotating.
pub async fn role(conn: &mut Connection, circle: &Circle, key: &str, name: &str) -> RoleKind {
    let position = roles::next_position(conn, circle.id).await.unwrap();
    let new = NewRoleKind {
        circle_id: circle.id,
        key: key.into(),
        name: name.into(),
        guide: String::new(),
        slots: 1,
        rotates: true,
        min_attended: 0,
        position,
    };
    roles::add_kind(conn, &new)
        .await
        .unwrap()
        .expect("a new role key")
}

/// A reading at the end of `circle`'s list.
pub async fn reading(conn: &mut Connection, circle: &Circle, title: &str) -> Reading {
    let new = NewReading {
        title: title.into(),
        author: None,
        url: None,
        isbn: None,
        notes: None,
    };
    readings::create(conn, circle.id, new).await.unwrap()
}

// --- People and seats ------------------------------------------------------------------------

/// A person called `name` (a single word), at `<name>@example.org`.
pub async fn member(conn: &mut Connection, name: &str) -> Member {
    let email = EmailAddress::parse(&format!("{}@example.org", name.to_lowercase()))
        .expect("a valid address");
    let name = DisplayName::parse(name).expect("a valid name");
    members::find_or_create(conn, &email, &name, None)
        .await
        .unwrap()
}

/// A person who organises the whole service.
pub async fn organiser(conn: &mut Connection, name: &str) -> Member {
    let person = member(conn, name).await;
    members::set_organiser(conn, person.id, true).await.unwrap();
    members::find(conn, person.id).await.unwrap().unwrap()
}

/// `member` in `circle` with `role` and `state`; someone waitlisted goes to the end of the line.
pub async fn join(
    conn: &mut Connection,
    circle: &Circle,
    member: MemberId,
    role: MembershipRole,
    state: MembershipState,
) -> Membership {
    let position = match state {
        MembershipState::Waitlisted => Some(
            memberships::last_waitlist_position(conn, circle.id)
                .await
                .unwrap()
                .unwrap_or(0)
                + 1,
        ),
        _ => None,
    };
    memberships::upsert(conn, circle.id, member, role, state, position)
        .await
        .unwrap()
}

/// A new person with a seat in `circle`.
pub async fn seated(conn: &mut Connection, circle: &Circle, name: &str) -> Member {
    let person = member(conn, name).await;
    let (role, state) = (MembershipRole::Member, MembershipState::Active);
    join(conn, circle, person.id, role, state).await;
    person
}

/// A new person at the end of `circle`'s waitlist.
pub async fn waiting(conn: &mut Connection, circle: &Circle, name: &str) -> Member {
    let person = member(conn, name).await;
    let (role, state) = (MembershipRole::Member, MembershipState::Waitlisted);
    join(conn, circle, person.id, role, state).await;
    person
}

/// A new person who facilitates `circle`.
pub async fn facilitator(conn: &mut Connection, circle: &Circle, name: &str) -> Member {
    let person = member(conn, name).await;
    let (role, state) = (MembershipRole::Facilitator, MembershipState::Active);
    join(conn, circle, person.id, role, state).await;
    person
}

// --- Sessions and roles ----------------------------------------------------------------------

/// A session to create: a week from today at 19:00 in the circle's zone, for 90 minutes.
pub fn session() -> SessionBuilder {
    SessionBuilder {
        starts: Starts::OnDay(7),
        reading: None,
    }
}

/// A session to create; each method overrides one default of [`session`].
pub struct SessionBuilder {
    starts: Starts,
    reading: Option<ReadingId>,
}

enum Starts {
    /// At 19:00 local time on the day this many days from today (negative: days ago).
    OnDay(i64),
    /// Half an hour ago.
    UnderWay,
}

impl SessionBuilder {
    /// On the day `days` from today, at 19:00 in the circle's zone (negative: days ago).
    pub fn in_days(mut self, days: i64) -> Self {
        self.starts = Starts::OnDay(days);
        self
    }

    /// Yesterday's: it has started, and ended.
    pub fn started(self) -> Self {
        self.in_days(-1)
    }

    /// Started half an hour ago and ends in an hour, so people who joined today were
    /// members before it ended.
    pub fn under_way(mut self) -> Self {
        self.starts = Starts::UnderWay;
        self
    }

    pub fn reading(mut self, reading: ReadingId) -> Self {
        self.reading = Some(reading);
        self
    }

    pub async fn create(self, conn: &mut Connection, circle: &Circle) -> Session {
        self.weekly(conn, circle, 1).await.remove(0)
    }

    /// `count` sessions a week apart, the first as set.
    pub async fn weekly(self, conn: &mut Connection, circle: &Circle, count: u32) -> Vec<Session> {
        let zone = circle.timezone.tz();
        let (first, time) = match self.starts {
            Starts::OnDay(days) => {
                let today = Utc::now().with_timezone(&zone).date_naive();
                let day = today + chrono::Duration::days(days);
                (day, NaiveTime::from_hms_opt(19, 0, 0).unwrap())
            }
            Starts::UnderWay => {
                let start = (Utc::now() - chrono::Duration::minutes(30)).with_timezone(&zone);
                let time = NaiveTime::from_hms_opt(start.hour(), start.minute(), 0).unwrap();
                (start.date_naive(), time)
            }
        };
        let weekly = Frequency::Weekly { interval_weeks: 1 };
        let rule = ScheduleRule::new(weekly, first, time, 90, End::Count(count))
            .expect("a valid schedule");
        let created = sessions::create_from_schedule(conn, circle.id, circle.timezone, &rule, None)
            .await
            .unwrap();
        let Some(reading) = self.reading else {
            return created;
        };
        let ids: Vec<_> = created.iter().map(|s| s.id).collect();
        readings::set_session_reading(conn, &ids, reading)
            .await
            .unwrap();
        let mut read = Vec::with_capacity(ids.len());
        for id in ids {
            read.push(sessions::find(conn, id).await.unwrap().unwrap());
        }
        read
    }
}

/// Slot 1 of `session`'s role `key`, held by `holder` (or nobody) in `state`, as the rota
/// writes it; a confirmed facilitator is also the session's facilitator.
pub async fn slot(
    conn: &mut Connection,
    session: &Session,
    key: &str,
    holder: Option<MemberId>,
    state: RoleState,
) -> SessionRole {
    nth_slot(conn, session, key, 1, holder, state).await
}

/// Slot `n` of `session`'s role `key`, as [`slot`] writes slot 1.
pub async fn nth_slot(
    conn: &mut Connection,
    session: &Session,
    key: &str,
    n: i32,
    holder: Option<MemberId>,
    state: RoleState,
) -> SessionRole {
    let now = Utc::now();
    let row = roles::write_slot(
        conn,
        &SlotWrite {
            session_id: session.id,
            circle_id: session.circle_id,
            role_key: key.into(),
            slot: n,
            member_id: holder,
            state,
            source: RoleSource::Rotation,
            why: "Set by a test.".into(),
            seed: None,
            asked_at: matches!(state, RoleState::Asked | RoleState::Confirmed).then_some(now),
            answered_at: matches!(state, RoleState::Confirmed | RoleState::Declined).then_some(now),
        },
    )
    .await
    .unwrap();
    if key == FACILITATOR && state == RoleState::Confirmed {
        sessions::set_facilitator(conn, session.id, holder)
            .await
            .unwrap();
    }
    row
}

// --- What an action queued -------------------------------------------------------------------

/// Every job in the queue, oldest first.
pub async fn queued(conn: &mut Connection) -> Vec<Job> {
    jobs::list(conn, None, None, 10_000).await.unwrap()
}

/// The jobs of `kind` in the queue, oldest first.
pub async fn queued_of(conn: &mut Connection, kind: &str) -> Vec<Job> {
    let mut all = queued(conn).await;
    all.retain(|j| j.kind == kind);
    all
}

/// Every email in the queue, oldest first, as the queue stores it: which message, to whom,
/// about what.
pub async fn emails(conn: &mut Connection) -> Vec<Payload> {
    queued_of(conn, crate::jobs::email::KIND)
        .await
        .into_iter()
        .map(|j| serde_json::from_value(j.payload).expect("an email job's payload"))
        .collect()
}

/// Who is to receive `message`, in the order the emails were queued.
pub async fn emailed(conn: &mut Connection, message: MessageKind) -> Vec<MemberId> {
    emails(conn)
        .await
        .into_iter()
        .filter(|e| e.message == message)
        .map(|e| e.member_id)
        .collect()
}
