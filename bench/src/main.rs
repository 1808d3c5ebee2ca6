//! Roundtable's queue and mail benchmarks. Not part of `cargo test`: run `bench/run`.
//!
//! `roundtable-bench queue` drains no-op jobs and reports jobs/s; `roundtable-bench mail`
//! sends session invitations with calendar parts to an SMTP sink and reports messages/s.
//! `roundtable-bench queue-latency` enqueues no-op jobs at a steady rate while a worker runs
//! and reports how long jobs waited. Each prints one JSON line of results at the end, for
//! bench/run to collect.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use roundtable::config::{DatabaseUrl, EmailSettings, EmailTransport, Profile, Secret, Settings};
use roundtable::email::Mailer;
use roundtable::jobs::JobContext;
use roundtable::worker::{self, WorkerConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.windows(2)
        .find(|w| w[0] == name)
        .map(|w| w[1].clone())
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).cloned().unwrap_or_default();
    let server = DatabaseUrl::new(
        std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
    );
    if what == "sink" {
        return sink(
            &arg(&args, "--listen", "127.0.0.1:25251"),
            &arg(&args, "--log", "sink.log"),
        )
        .await;
    }
    let db = fresh_database(&server, "roundtable_bench").await?;
    let mut settings = Settings::from_figment(
        Settings::figment(Profile::Test, std::path::Path::new("config"))
            .merge(("database.url", db.expose()))
            .merge(("database.pool_size", 24)),
        Profile::Test,
    )?;
    settings.worker.concurrency = arg(&args, "--concurrency", "32").parse()?;
    match what.as_str() {
        "queue" => queue(&settings, arg(&args, "--jobs", "100000").parse()?).await,
        "queue-latency" => {
            queue_latency(
                &settings,
                arg(&args, "--rate", "2000").parse()?,
                arg(&args, "--seconds", "10").parse()?,
            )
            .await
        }
        "mail" => {
            let smtp = match arg(&args, "--smtp", "").as_str() {
                "" => start_sink().await?,
                url => url.to_string(),
            };
            mail(&mut settings, arg(&args, "--messages", "10000").parse()?, &smtp).await
        }
        "rota" => {
            rota(
                &settings,
                arg(&args, "--circles", "1000").parse()?,
                arg(&args, "--members", "12").parse()?,
                arg(&args, "--sessions", "12").parse()?,
                arg(&args, "--concurrency", "8").parse()?,
            )
            .await
        }
        "leadership" => {
            leadership(
                &settings,
                arg(&args, "--circles", "1000").parse()?,
                arg(&args, "--members", "10").parse()?,
                arg(&args, "--weeks", "52").parse()?,
                arg(&args, "--requests", "20").parse()?,
            )
            .await
        }
        _ => anyhow::bail!(
            "usage: roundtable-bench queue [--jobs N] | queue-latency [--rate N] [--seconds N] | mail [--messages N] [--smtp URL] [--concurrency N] | rota [--circles N] [--members N] [--sessions N] [--concurrency N] | leadership [--circles N] [--members N] [--weeks N] [--requests N] | sink --listen ADDR --log FILE"
        ),
    }
}

async fn fresh_database(server: &DatabaseUrl, name: &str) -> anyhow::Result<DatabaseUrl> {
    let mut conn = AsyncPgConnection::establish(server.with_database("postgres").expose()).await?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    let url = server.with_database(name);
    roundtable::db::run_migrations(&url).await?;
    Ok(url)
}

async fn count(conn: &mut AsyncPgConnection, sql: &str) -> anyhow::Result<i64> {
    let c: Count = diesel::sql_query(sql).get_result(conn).await?;
    Ok(c.n)
}

/// Start a worker and wait until `target` jobs are done.
async fn run_worker_until(
    settings: &Settings,
    ctx: JobContext,
    target: i64,
) -> anyhow::Result<Duration> {
    let mut conn = AsyncPgConnection::establish(settings.database.url.expose()).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let handle = tokio::spawn(worker::run(
        Arc::new(ctx),
        WorkerConfig::from(&settings.worker),
        Some(settings.database.url.clone()),
        stopped,
    ));
    // Poll cheaply (index lookups, not counts over the whole table), so the measurement
    // does not compete with the worker for the database. The rota sweep the worker starts
    // always waits for its next run: it is not work.
    loop {
        let pending = count(
            &mut conn,
            "SELECT count(*) AS n FROM (SELECT 1 FROM jobs WHERE state IN ('queued', 'running') AND kind <> 'rota_sweep' LIMIT 1) t",
        )
        .await?;
        let dead = count(
            &mut conn,
            "SELECT count(*) AS n FROM (SELECT 1 FROM jobs WHERE state = 'dead' LIMIT 1) t",
        )
        .await?;
        anyhow::ensure!(dead == 0, "a job died");
        if pending == 0 {
            let done = count(
                &mut conn,
                "SELECT count(*) AS n FROM jobs WHERE state = 'done' AND kind <> 'rota_sweep'",
            )
            .await?;
            if done >= target {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    stop.send(true)?;
    handle.await?;
    Ok(elapsed)
}

async fn queue(settings: &Settings, jobs: i64) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(settings.database.url.expose()).await?;
    diesel::sql_query(format!(
        "INSERT INTO jobs (id, kind, payload) SELECT gen_random_uuid(), 'noop', '{{}}' FROM generate_series(1, {jobs})"
    ))
    .execute(&mut conn)
    .await?;
    diesel::sql_query("ANALYZE jobs").execute(&mut conn).await?;
    let pool = roundtable::db::build_pool(&settings.database)?;
    let (mailer, _) = Mailer::memory();
    let ctx = JobContext::new(settings, pool, Arc::new(mailer))?;
    let elapsed = run_worker_until(settings, ctx, jobs).await?;
    let (p50, p99) = start_latency(&mut conn).await?;
    let rate = jobs as f64 / elapsed.as_secs_f64();
    println!(
        "queue: {jobs} no-op jobs in {:.2} s = {rate:.0} jobs/s (concurrency {}); enqueue-to-finish p50 {p50:.0} ms, p99 {p99:.0} ms (all enqueued at once)",
        elapsed.as_secs_f64(),
        settings.worker.concurrency
    );
    println!(
        "{}",
        serde_json::json!({ "bench": "queue", "jobs": jobs, "seconds": elapsed.as_secs_f64(), "jobs_per_second": rate,
                             "concurrency": settings.worker.concurrency, "peak_rss_mb": peak_rss_mb() })
    );
    Ok(())
}

/// Jobs arrive at `rate` per second (a batch every 10 ms, as a busy service enqueues them)
/// while a worker runs; the wait is from enqueue to done. A no-op job is done as soon as it
/// starts, so this bounds enqueue-to-start from above (completions are written in batches).
async fn queue_latency(settings: &Settings, rate: i64, seconds: i64) -> anyhow::Result<()> {
    let pool = roundtable::db::build_pool(&settings.database)?;
    let (mailer, _) = Mailer::memory();
    let ctx = JobContext::new(settings, pool, Arc::new(mailer))?;
    let total = rate * seconds;
    let producer = {
        let url = settings.database.url.clone();
        tokio::spawn(async move {
            let mut conn = AsyncPgConnection::establish(url.expose()).await?;
            let per_tick = (rate / 100).max(1);
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut sent = 0;
            while sent < total {
                tick.tick().await;
                let n = per_tick.min(total - sent);
                // clock_timestamp(): the moment of this insert, not of the transaction start.
                diesel::sql_query(format!(
                    "INSERT INTO jobs (id, kind, payload, created_at) SELECT gen_random_uuid(), 'noop', '{{}}', clock_timestamp() FROM generate_series(1, {n})"
                ))
                .execute(&mut conn)
                .await?;
                sent += n;
            }
            anyhow::Ok(())
        })
    };
    let elapsed = run_worker_until(settings, ctx, total).await?;
    producer.await??;
    let mut conn = AsyncPgConnection::establish(settings.database.url.expose()).await?;
    let (p50, p99) = start_latency(&mut conn).await?;
    println!(
        "queue-latency: {total} no-op jobs enqueued at {rate}/s over {:.1} s; enqueue-to-done p50 {p50:.1} ms, p99 {p99:.1} ms",
        elapsed.as_secs_f64()
    );
    println!(
        "{}",
        serde_json::json!({ "bench": "queue-latency", "rate": rate, "jobs": total,
                             "enqueue_to_done_p50_ms": p50, "enqueue_to_done_p99_ms": p99 })
    );
    Ok(())
}

async fn start_latency(conn: &mut AsyncPgConnection) -> anyhow::Result<(f64, f64)> {
    #[derive(diesel::QueryableByName)]
    struct Pct {
        #[diesel(sql_type = diesel::sql_types::Double)]
        p50: f64,
        #[diesel(sql_type = diesel::sql_types::Double)]
        p99: f64,
    }
    let p: Pct = diesel::sql_query(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99 \
         FROM (SELECT extract(epoch FROM finished_at - created_at) * 1000 AS ms FROM jobs WHERE state = 'done' AND kind <> 'rota_sweep') t",
    )
    .get_result(conn)
    .await?;
    Ok((p.p50, p.p99))
}

/// Plan the rota of `circles` rotating circles of `members` each over `sessions` weekly
/// sessions (starting a month out, so nobody is asked yet), `concurrency` circles at a time,
/// and report circles planned per second. A second pass re-plans the same circles, where
/// nothing changes (what every RSVP "no", join or departure costs).
async fn rota(
    settings: &Settings,
    circles: i64,
    members: i64,
    sessions: i64,
    concurrency: usize,
) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(settings.database.url.expose()).await?;
    for sql in [
        format!("INSERT INTO circles (id, slug, name, timezone, facilitation) \
                 SELECT gen_random_uuid(), 'rota-' || c, 'Rota ' || c, 'Europe/London', 'rotating' FROM generate_series(1, {circles}) c"),
        format!("INSERT INTO members (id, email, display_name) \
                 SELECT gen_random_uuid(), 'm' || i || '@example.org', 'Member ' || i FROM generate_series(1, {circles} * {members}) i"),
        format!("INSERT INTO memberships (circle_id, member_id, state) \
                 SELECT c.id, m.id, 'active' FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM circles) c \
                 JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM members) m ON m.n / {members} = c.n"),
        format!("INSERT INTO sessions (id, circle_id, starts_at, ends_at, local_date, local_time, timezone, duration_minutes) \
                 SELECT gen_random_uuid(), c.id, now() + (30 + 7 * k) * interval '1 day', now() + (30 + 7 * k) * interval '1 day' + interval '90 minutes', \
                        (now() + (30 + 7 * k) * interval '1 day')::date, '19:00', 'Europe/London', 90 \
                 FROM circles c, generate_series(0, {sessions} - 1) k"),
        "ANALYZE".to_string(),
    ] {
        diesel::sql_query(sql).execute(&mut conn).await?;
    }
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let ids: Vec<Id> = diesel::sql_query("SELECT id FROM circles ORDER BY id")
        .load(&mut conn)
        .await?;
    let ids: Arc<Vec<uuid::Uuid>> = Arc::new(ids.into_iter().map(|i| i.id).collect());
    let pool = roundtable::db::build_pool(&settings.database)?;
    let mut figures = Vec::new();
    for pass in ["first plan", "re-plan, nothing changed"] {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (pool, ids, next) = (pool.clone(), ids.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let mut conn = pool.get().await?;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(id) = ids.get(i) else {
                        return anyhow::Ok(());
                    };
                    roundtable::actions::rota::replan(
                        &mut conn,
                        roundtable::domain::CircleId(*id),
                        chrono::Utc::now(),
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                }
            }));
        }
        for t in tasks {
            t.await??;
        }
        let elapsed = started.elapsed();
        let rate = circles as f64 / elapsed.as_secs_f64();
        println!(
            "rota ({pass}): {circles} circles of {members} members, {sessions} sessions each, in {:.2} s = {rate:.0} circles/s (concurrency {concurrency})",
            elapsed.as_secs_f64()
        );
        figures.push(rate);
    }
    let proposed = count(
        &mut conn,
        "SELECT count(*) AS n FROM session_roles WHERE state = 'proposed' AND role_key = 'facilitator'",
    )
    .await?;
    anyhow::ensure!(
        proposed == circles * sessions,
        "{proposed} facilitator proposals for {} sessions",
        circles * sessions
    );
    println!(
        "{{\"bench\":\"rota\",\"circles\":{circles},\"members\":{members},\"sessions\":{sessions},\"concurrency\":{concurrency},\"circles_per_second\":{:.0},\"replan_circles_per_second\":{:.0}}}",
        figures[0], figures[1]
    );
    Ok(())
}

async fn mail(settings: &mut Settings, messages: i64, smtp: &str) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(settings.database.url.expose()).await?;
    for sql in [
        "INSERT INTO circles (id, slug, name, timezone, location) VALUES ('00000000-0000-7000-8000-00000000000c', 'bench', 'Bench Circle', 'Europe/London', 'Room 4')".to_string(),
        format!("WITH m AS (INSERT INTO members (id, email, display_name) SELECT gen_random_uuid(), 'reader' || i || '@example.org', 'Reader ' || i FROM generate_series(1, {messages}) i RETURNING id) \
                 INSERT INTO memberships (circle_id, member_id, state) SELECT '00000000-0000-7000-8000-00000000000c', id, 'active' FROM m"),
        "INSERT INTO sessions (id, circle_id, starts_at, ends_at, local_date, local_time, timezone, duration_minutes, location) \
         VALUES ('00000000-0000-7000-8000-00000000005e', '00000000-0000-7000-8000-00000000000c', now() + interval '30 days', now() + interval '30 days 90 minutes', \
                 (now() + interval '30 days')::date, '19:00', 'Europe/London', 90, 'Room 4')".to_string(),
        "INSERT INTO jobs (id, kind, payload, dedupe_key) VALUES (gen_random_uuid(), 'session_fanout', \
         '{\"session_id\": \"00000000-0000-7000-8000-00000000005e\", \"message\": \"invitation\", \"sequence\": 0}', 'bench-fanout')".to_string(),
    ] {
        diesel::sql_query(sql).execute(&mut conn).await?;
    }
    let email = EmailSettings {
        transport: EmailTransport::Smtp,
        smtp_url: Some(Secret::new(smtp)),
        ..settings.email.clone()
    };
    let pool = roundtable::db::build_pool(&settings.database)?;
    let mailer = Mailer::from_settings(&email, settings.worker.concurrency)?;
    let ctx = JobContext::new(settings, pool, Arc::new(mailer))?;
    let elapsed = run_worker_until(settings, ctx, messages + 1).await?;
    let sent = count(&mut conn, "SELECT count(*) AS n FROM deliveries").await?;
    anyhow::ensure!(sent == messages, "{sent} deliveries for {messages} members");
    let rate = messages as f64 / elapsed.as_secs_f64();
    println!(
        "mail: {messages} invitations with calendar parts in {:.2} s = {rate:.0} messages/s (concurrency {}, SMTP {smtp}); peak RSS {:.0} MB",
        elapsed.as_secs_f64(),
        settings.worker.concurrency,
        peak_rss_mb()
    );
    println!(
        "{}",
        serde_json::json!({ "bench": "mail", "messages": messages, "seconds": elapsed.as_secs_f64(), "messages_per_second": rate,
                             "concurrency": settings.worker.concurrency, "peak_rss_mb": peak_rss_mb() })
    );
    Ok(())
}

/// Peak resident memory of this process (worker, and the built-in sink when used).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A minimal SMTP sink on loopback that accepts and discards everything.
async fn start_sink() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read);
                let mut line = String::new();
                let _ = write.write_all(b"220 sink\r\n").await;
                let mut in_data = false;
                loop {
                    line.clear();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let reply: &[u8] = if in_data {
                        if line != ".\r\n" {
                            continue;
                        }
                        in_data = false;
                        b"250 ok\r\n"
                    } else {
                        let upper = line.to_ascii_uppercase();
                        if upper.starts_with("EHLO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("DATA") {
                            in_data = true;
                            b"354 go\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 ok\r\n"
                        }
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(format!("smtp://127.0.0.1:{port}"))
}

/// An SMTP sink for fault-injection runs: accepts every message and appends
/// `<recipient> <Message-ID>` to `log`, flushed per message, until killed.
async fn sink(listen: &str, log: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let file = std::sync::Arc::new(std::sync::Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?,
    ));
    eprintln!("sink listening on {listen}, logging to {log}");
    loop {
        let (stream, _) = listener.accept().await?;
        let file = file.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read);
            let mut line = String::new();
            let (mut rcpt, mut message_id, mut in_data) = (String::new(), String::new(), false);
            let _ = write.write_all(b"220 sink\r\n").await;
            loop {
                line.clear();
                match lines.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        if let Ok(mut f) = file.lock() {
                            let _ = writeln!(f, "{rcpt} {message_id}");
                            let _ = f.flush();
                        }
                        message_id.clear();
                        if write.write_all(b"250 ok\r\n").await.is_err() {
                            return;
                        }
                    } else if message_id.is_empty()
                        && line.to_ascii_lowercase().starts_with("message-id:")
                    {
                        message_id = line[11..].trim().to_string();
                    }
                    continue;
                }
                let upper = line.to_ascii_uppercase();
                let reply: &[u8] = if upper.starts_with("EHLO") {
                    b"250-sink\r\n250 8BITMIME\r\n"
                } else if upper.starts_with("RCPT TO:") {
                    rcpt = line[8..].trim().to_string();
                    b"250 ok\r\n"
                } else if upper.starts_with("DATA") {
                    in_data = true;
                    b"354 go\r\n"
                } else if upper.starts_with("QUIT") {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                } else {
                    b"250 ok\r\n"
                };
                if write.write_all(reply).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// The organisation's leadership figures for `circles` circles of `members` each, with
/// `weeks` of weekly sessions behind them, each led by a rotating member with a note-taker
/// beside them: how many statements one answer takes (counted on the connection) and how many
/// answers per second one connection gives, for the 90-day and the 365-day window.
async fn leadership(
    settings: &Settings,
    circles: i64,
    members: i64,
    weeks: i64,
    requests: u32,
) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(settings.database.url.expose()).await?;
    let seeded = Instant::now();
    for sql in [
        format!("INSERT INTO circles (id, slug, name, timezone) \
                 SELECT gen_random_uuid(), 'lead-' || c, 'Circle ' || c, 'Europe/London' FROM generate_series(1, {circles}) c"),
        format!("INSERT INTO members (id, email, display_name) \
                 SELECT gen_random_uuid(), 'm' || i || '@example.org', 'Member ' || i FROM generate_series(1, {circles} * {members}) i"),
        format!("INSERT INTO memberships (circle_id, member_id, state, joined_at) \
                 SELECT c.id, m.id, 'active', now() - (m.n % 400) * interval '1 day' \
                 FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM circles) c \
                 JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM members) m ON m.n / {members} = c.n"),
        format!("INSERT INTO sessions (id, circle_id, starts_at, ends_at, local_date, local_time, timezone, duration_minutes) \
                 SELECT gen_random_uuid(), c.id, now() - (7 * k + 1) * interval '1 day', now() - (7 * k + 1) * interval '1 day' + interval '90 minutes', \
                        (now() - (7 * k + 1) * interval '1 day')::date, '19:00', 'Europe/London', 90 \
                 FROM circles c, generate_series(0, {weeks} - 1) k"),
        "INSERT INTO role_kinds (circle_id, key, name) SELECT id, 'note_taker', 'Note-taker' FROM circles".to_string(),
        // Seeding writes the roles in bulk with the database's triggers off (a per-row recount
        // of the leadership totals would dominate), then rebuilds the totals once, timed below.
        "SET session_replication_role = replica".to_string(),
        // Each session's lead and note-taker: members taken in turn (leads skew to the first
        // few members of each circle, as in real circles).
        format!("INSERT INTO session_roles (id, session_id, circle_id, role_key, slot, member_id, state) \
                 SELECT gen_random_uuid(), s.id, s.circle_id, r.key, 1, ms.member_id, 'confirmed' \
                 FROM (SELECT id, circle_id, row_number() OVER (PARTITION BY circle_id ORDER BY starts_at) AS k FROM sessions) s \
                 CROSS JOIN (VALUES ('facilitator', 0), ('note_taker', 1)) r(key, shift) \
                 JOIN (SELECT circle_id, member_id, row_number() OVER (PARTITION BY circle_id ORDER BY member_id) - 1 AS n FROM memberships) ms \
                   ON ms.circle_id = s.circle_id AND ms.n = ((s.k + r.shift) % ({members} / 2 + 1 + r.shift))"),
        "SET session_replication_role = origin".to_string(),
    ] {
        diesel::sql_query(sql).execute(&mut conn).await?;
    }
    let rebuilding = Instant::now();
    let rebuilt = roundtable::db::leadership::rebuild(&mut conn).await?;
    let rebuild_seconds = rebuilding.elapsed().as_secs_f64();
    roundtable::db::dashboard::recount_members(&mut conn).await?;
    // As autovacuum leaves a settled database: statistics, and pages marked all-visible so
    // indexes can answer alone.
    diesel::sql_query("VACUUM ANALYZE")
        .execute(&mut conn)
        .await?;
    let roles = count(&mut conn, "SELECT count(*) AS n FROM session_roles").await?;
    let sessions = count(&mut conn, "SELECT count(*) AS n FROM sessions").await?;
    println!(
        "leadership: seeded {circles} circles, {} members, {sessions} sessions and {roles} roles in {:.1} s; \
         `leadership rebuild` made {} rows of totals in {rebuild_seconds:.1} s; load average {}",
        circles * members,
        seeded.elapsed().as_secs_f64(),
        rebuilt.rows,
        load_average()
    );
    let statements = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = statements.clone();
    diesel_async::AsyncConnection::set_instrumentation(
        &mut conn,
        move |event: diesel::connection::InstrumentationEvent<'_>| {
            if matches!(
                event,
                diesel::connection::InstrumentationEvent::StartQuery { .. }
            ) {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        },
    );
    let mut line = Vec::new();
    for window in [90i64, 365] {
        // One answer first, to count its statements.
        statements.store(0, std::sync::atomic::Ordering::Relaxed);
        let s = roundtable::views::leadership::spread_over(&mut conn, window)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let per_answer =
            std::sync::atomic::AtomicU64::load(&statements, std::sync::atomic::Ordering::Relaxed);
        let started = Instant::now();
        for _ in 0..requests {
            roundtable::views::leadership::spread_over(&mut conn, window)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let rate = f64::from(requests) / elapsed;
        println!(
            "leadership ({window} days): spread {:?}, top 20% share {:?}, newcomers in a role {:?}, {} circles; {per_answer} statements per answer; {requests} answers in {elapsed:.2} s = {rate:.1} answers/s on one connection, {:.0} ms each",
            s.spread, s.top20_share, s.newcomer_role_share, s.circles.len(), 1000.0 / rate
        );
        line.push(format!(
            "\"window_{window}_statements\":{per_answer},\"window_{window}_answers_per_second\":{rate:.1}"
        ));
    }
    // The dashboard's Leadership page: the organisation's figures with one page of 25
    // circles, lowest spread first, and the ten circles of "what to do next".
    for window in [90i64, 365] {
        let listing = roundtable::views::leadership::Listing {
            filter: Default::default(),
            order: roundtable::views::leadership::CircleOrder::Spread,
            limit: Some(25),
            offset: 0,
        };
        statements.store(0, std::sync::atomic::Ordering::Relaxed);
        let started = Instant::now();
        for _ in 0..requests {
            roundtable::views::leadership::spread_listing(
                &mut conn,
                window,
                chrono::Utc::now(),
                &listing,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let per_answer =
            std::sync::atomic::AtomicU64::load(&statements, std::sync::atomic::Ordering::Relaxed)
                / u64::from(requests.max(1));
        let rate = f64::from(requests) / elapsed;
        println!(
            "leadership page table ({window} days, 25 circles shown): {per_answer} statements; {rate:.1} answers/s, {:.0} ms each",
            1000.0 / rate
        );
        line.push(format!(
            "\"page_{window}_statements\":{per_answer},\"page_{window}_answers_per_second\":{rate:.1}"
        ));
    }
    // The dashboard's chart of spread month by month: twelve 30-day windows, once as twelve
    // answers of three statements each, once as the series of two statements it now uses.
    let ends = roundtable::http::dashboard::chart_ends(chrono::Utc::now());
    let mut by_answers = Vec::new();
    statements.store(0, std::sync::atomic::Ordering::Relaxed);
    let started = Instant::now();
    for _ in 0..requests {
        by_answers.clear();
        for to in &ends {
            let s = roundtable::views::leadership::spread_until(&mut conn, 30, *to)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            by_answers.push(s.spread);
        }
    }
    let old_rate = f64::from(requests) / started.elapsed().as_secs_f64();
    let old_statements =
        std::sync::atomic::AtomicU64::load(&statements, std::sync::atomic::Ordering::Relaxed)
            / u64::from(requests.max(1));
    statements.store(0, std::sync::atomic::Ordering::Relaxed);
    let started = Instant::now();
    let mut series = Vec::new();
    for _ in 0..requests {
        series = roundtable::views::leadership::spread_series(&mut conn, &ends, 30)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let new_rate = f64::from(requests) / started.elapsed().as_secs_f64();
    let new_statements =
        std::sync::atomic::AtomicU64::load(&statements, std::sync::atomic::Ordering::Relaxed)
            / u64::from(requests.max(1));
    let same = series.iter().map(|(_, v)| *v).collect::<Vec<_>>() == by_answers;
    println!(
        "leadership chart (12 points of 30 days): as twelve answers {old_statements} statements, {old_rate:.2} charts/s; as one series {new_statements} statements, {new_rate:.2} charts/s ({:.1}x); same figures: {same}",
        new_rate / old_rate
    );
    line.push(format!(
        "\"chart_statements_before\":{old_statements},\"chart_statements_after\":{new_statements},\"chart_per_second_before\":{old_rate:.2},\"chart_per_second_after\":{new_rate:.2},\"chart_same_figures\":{same}"
    ));
    println!(
        "{{\"bench\":\"leadership\",\"circles\":{circles},\"members\":{},\"sessions\":{sessions},\"roles\":{roles},\"rebuild_seconds\":{rebuild_seconds:.1},{}}}",
        circles * members,
        line.join(",")
    );
    Ok(())
}

/// The machine's load average over the last minute, five and fifteen (Linux), for reading the
/// figures beside it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}
