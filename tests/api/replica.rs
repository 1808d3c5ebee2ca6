//! Reads on a streaming replica: the test makes its own primary (a PostgreSQL cluster that
//! streams its WAL) and a replica of it with `pg_basebackup`, both on loopback, and runs
//! Roundtable with `database.replica_url`. Public pages, calendar feeds and the leadership
//! figures are read from the replica while it keeps up, from the primary while it lags past
//! `database.replica_max_lag_ms`, and nobody sees an error when it stops mid-load.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_with_pool, test_settings, TestApp};
use roundtable::config::DatabaseUrl;
use roundtable::db;

/// Where the server's programs are: `pg_config --bindir`, else the newest under
/// /usr/lib/postgresql.
fn server_programs() -> Result<PathBuf, String> {
    let from_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let mut candidates: Vec<PathBuf> = from_config.into_iter().collect();
    if let Ok(dirs) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut found: Vec<PathBuf> = dirs.flatten().map(|d| d.path().join("bin")).collect();
        found.sort();
        candidates.extend(found.into_iter().rev());
    }
    candidates
        .into_iter()
        .find(|d| d.join("initdb").exists() && d.join("pg_basebackup").exists())
        .ok_or_else(|| "no initdb and pg_basebackup (apt-get install postgresql)".into())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Run one of the server's programs; as root, as the `postgres` user (the server refuses
/// to run as root).
fn run(bin: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    let path = bin.join(program);
    let output = if is_root() {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&path)
            .args(args)
            .output()
    } else {
        Command::new(&path).args(args).output()
    }
    .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A cluster of the test's own, stopped and removed when dropped.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    fn options(&self) -> String {
        format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c wal_level=replica \
             -c max_wal_senders=4 -c hot_standby=on -c wal_receiver_status_interval=1",
            self.port,
            self.dir.display()
        )
    }

    /// Start the server; another port is tried when one is taken meanwhile (ports are picked
    /// free, but another test may bind one before the server does). A failure says what the
    /// server's log said.
    fn start(&mut self) -> Result<(), String> {
        let log = self.dir.join("server.log");
        let mut failures = Vec::new();
        for _ in 0..3 {
            let started = run(
                &self.bin,
                "pg_ctl",
                &[
                    "-D",
                    &self.dir.to_string_lossy(),
                    "-o",
                    &self.options(),
                    "-l",
                    &log.to_string_lossy(),
                    "-w",
                    "-t",
                    "120",
                    "start",
                ],
            );
            match started {
                Ok(()) => return Ok(()),
                Err(why) => {
                    let said = std::fs::read_to_string(&log).unwrap_or_default();
                    let tail: Vec<&str> = said.lines().rev().take(8).collect();
                    failures.push(format!("{why}\nlog: {}", tail.join("\n")));
                    self.port = free_port();
                }
            }
        }
        Err(failures.join("\n---\n"))
    }

    fn stop(&self) -> Result<(), String> {
        run(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                &self.dir.to_string_lossy(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        )
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A fresh directory the server's user owns.
    fn directory(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rt-{name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a directory for the cluster");
        // The server refuses a data directory others may read.
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .expect("a private directory");
        if is_root() {
            let _ = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&dir)
                .status();
        }
        dir
    }

    /// A primary that streams its WAL to replicas on loopback (initdb's trust rules let
    /// 127.0.0.1 replicate).
    fn primary(bin: &Path) -> Result<Self, String> {
        let dir = Self::directory("primary");
        run(
            bin,
            "initdb",
            &[
                "-D",
                &dir.to_string_lossy(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-N",
            ],
        )?;
        let mut cluster = Self {
            bin: bin.to_path_buf(),
            dir,
            port: free_port(),
        };
        cluster.start()?;
        Ok(cluster)
    }

    /// A streaming replica of `primary`, made with `pg_basebackup`.
    fn replica_of(primary: &Cluster) -> Result<Self, String> {
        let dir = Self::directory("replica");
        run(
            &primary.bin,
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
                "-D",
                &dir.to_string_lossy(),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
        )?;
        let mut cluster = Self {
            bin: primary.bin.clone(),
            dir,
            port: free_port(),
        };
        cluster.start()?;
        Ok(cluster)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A primary and its replica, or `None` (with a note) where the server's programs are
/// missing; in CI that fails.
fn clusters_or_skip() -> Option<(Cluster, Cluster)> {
    let made = server_programs().and_then(|bin| {
        let primary = Cluster::primary(&bin)?;
        let replica = Cluster::replica_of(&primary)?;
        Ok((primary, replica))
    });
    match made {
        Ok(pair) => Some(pair),
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping the replica test: {why}");
            None
        }
        Err(why) => panic!("the replica test needs PostgreSQL's server programs in CI: {why}"),
    }
}

/// Roundtable on `database` of the primary, reading from the replica within `max_lag_ms`.
async fn app_on(primary: &Cluster, replica: &Cluster, max_lag_ms: u64) -> TestApp {
    let url = DatabaseUrl::new(primary.url("roundtable"));
    let mut settings = test_settings(&url);
    settings.database.replica_url = Some(DatabaseUrl::new(replica.url("roundtable")));
    settings.database.replica_max_lag_ms = max_lag_ms;
    let pool = db::build_pool(&settings.database).unwrap();
    spawn_with_pool(settings, pool, url).await
}

/// The replica figures `/metrics` shows: (usable, served by the replica, by the primary).
async fn replica_figures(app: &TestApp) -> (bool, u64, u64) {
    let res = app.browser(Method::GET, "/metrics", None).await;
    let text = res.text();
    let figure = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<i64>().ok())
            .unwrap_or_else(|| panic!("{name} in /metrics:\n{text}"))
            .max(0) as u64
    };
    (
        figure("roundtable_replica_usable ") == 1,
        figure("roundtable_replica_reads_total{served=\"replica\"}"),
        figure("roundtable_replica_reads_total{served=\"primary\"}"),
    )
}

/// Wait (at most 30 s) until the app's reads go to the replica (`true`) or the primary.
async fn until_usable(app: &TestApp, usable: bool) {
    for _ in 0..300 {
        if replica_figures(app).await.0 == usable {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the replica never became {}",
        if usable { "usable" } else { "unusable" }
    );
}

async fn on_replica(replica: &Cluster, sql: &str) {
    let mut conn = AsyncPgConnection::establish(&replica.url("postgres"))
        .await
        .expect("connecting to the replica");
    diesel::sql_query(sql).execute(&mut conn).await.unwrap();
}

async fn public_page(app: &TestApp, slug: &str) -> String {
    let page = app
        .browser(Method::GET, &format!("/c/{slug}"), None)
        .await
        .expect(200);
    page.as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_and_leadership_read_from_a_streaming_replica_and_fall_back_to_the_primary() {
    let Some((primary, replica)) = tokio::task::spawn_blocking(clusters_or_skip).await.unwrap()
    else {
        return;
    };
    let url = DatabaseUrl::new(primary.url("roundtable"));
    db::create_database_if_missing(&url).await.unwrap();
    db::run_migrations(&url).await.unwrap();
    // One app that tolerates a minute of lag, one that tolerates a fifth of a second.
    let patient = app_on(&primary, &replica, 60_000).await;
    let strict = app_on(&primary, &replica, 200).await;
    let circle = patient
        .create_circle(json!({ "name": "Slow Reading", "timezone": "UTC" }))
        .await;
    let id = circle["id"].as_str().unwrap().to_string();
    let slug = circle["slug"].as_str().unwrap().to_string();
    // Ada's calendar feed holds the circle's next session.
    patient.add_member(&id, "ada@example.org").await.expect(201);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    patient
        .schedule(
            &id,
            json!({ "freq": "weekly", "first_date": tomorrow.to_string(), "local_time": "19:00",
                    "duration_minutes": 90, "count": 1 }),
        )
        .await;
    let holder = patient.holder("ada@example.org").await;
    let feed = patient.path_of(&patient.links().calendar(holder));
    until_usable(&patient, true).await;
    until_usable(&strict, true).await;

    // Keeping up, the replica serves the public page, the calendar feed and the leadership
    // figures.
    let (_, before, _) = replica_figures(&patient).await;
    assert!(public_page(&patient, &slug).await.contains("Slow Reading"));
    let calendar = patient.browser(Method::GET, &feed, None).await.expect(200);
    assert!(
        calendar.as_str().unwrap().contains("SUMMARY:Slow Reading"),
        "{calendar}"
    );
    patient.get("/api/v1/leadership").await.expect(200);
    let (_, after, _) = replica_figures(&patient).await;
    assert_eq!(after, before + 3, "the three reads were the replica's");

    // The replica stops replaying; the circle is renamed on the primary.
    on_replica(&replica, "SELECT pg_wal_replay_pause()").await;
    patient
        .patch(
            &format!("/api/v1/circles/{id}"),
            &json!({ "name": "Quick Reading" }),
        )
        .await
        .expect(200);
    // The patient app still reads the replica: the old name, a moment old, within its
    // minute. The strict one notices the lag and reads the primary: the new name.
    let page = public_page(&patient, &slug).await;
    assert!(
        page.contains("Slow Reading") && !page.contains("Quick Reading"),
        "{page}"
    );
    until_usable(&strict, false).await;
    let (_, _, on_primary) = replica_figures(&strict).await;
    let page = public_page(&strict, &slug).await;
    assert!(page.contains("Quick Reading"), "{page}");
    assert_eq!(
        replica_figures(&strict).await.2,
        on_primary + 1,
        "read from the primary"
    );
    // A circle the replica has not seen yet is found on the primary, not a 404.
    let newer = patient
        .create_circle(json!({ "name": "Newer Circle", "timezone": "UTC" }))
        .await;
    let page = public_page(&patient, newer["slug"].as_str().unwrap()).await;
    assert!(page.contains("Newer Circle"), "{page}");

    // Replaying again, the strict app goes back to the replica.
    on_replica(&replica, "SELECT pg_wal_replay_resume()").await;
    until_usable(&strict, true).await;
    let page = public_page(&strict, &slug).await;
    assert!(page.contains("Quick Reading"), "{page}");

    // The replica stops in the middle of a load of public pages, calendar feeds and leadership
    // figures: every request still gets its answer.
    let (_, replica_at_start, primary_at_start) = replica_figures(&patient).await;
    let patient = Arc::new(patient);
    let done = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for n in 0..4 {
        let (app, done, slug, feed) = (patient.clone(), done.clone(), slug.clone(), feed.clone());
        load.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            for i in 0..120 {
                let res = match (i + n) % 3 {
                    0 => app.get("/api/v1/leadership").await,
                    1 => app.browser(Method::GET, &feed, None).await,
                    _ => app.browser(Method::GET, &format!("/c/{slug}"), None).await,
                };
                if res.status != 200 {
                    failures.push(format!("{}: {}", res.status, res.text()));
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            failures
        }));
    }
    while AtomicUsize::load(&done, Ordering::Relaxed) < 120 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (_, served_before_stop, _) = replica_figures(&patient).await;
    tokio::task::block_in_place(|| replica.stop()).expect("stopping the replica");
    let mut failures = Vec::new();
    for task in load {
        failures.extend(task.await.unwrap());
    }
    assert!(
        failures.is_empty(),
        "requests failed when the replica stopped: {failures:?}"
    );
    let (usable, _, on_primary) = replica_figures(&patient).await;
    assert!(
        served_before_stop > replica_at_start,
        "the replica served part of the load"
    );
    assert!(
        !usable && on_primary > primary_at_start,
        "the rest went to the primary"
    );
}
