//! Reads that may be a moment old (public pages, calendar feeds, the leadership figures) go to
//! a streaming replica when one is configured (`database.replica_url`) and keeping up; the
//! primary serves them otherwise. Writes, and reads that must see what the same person just
//! wrote, never come here: they take `AppState::pool`.
//!
//! How far behind the replica is, is measured rather than asked of it: every quarter second a
//! watcher notes the primary's WAL position the first time it sees it, and the replica's
//! replayed position. The replica's lag is the age of the oldest position it has not replayed
//! (none: no lag), so an idle primary is no lag and a replica cut off from its primary (which
//! cannot know it is behind) lags by as long as the primary has been writing without it.
//! Past `database.replica_max_lag_ms`, or when the replica does not answer, reads go to the
//! primary until it catches up. A read that fails on the replica (it stopped mid-read) is
//! read again on the primary, so people see no error.

use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use diesel::QueryableByName;

use super::{Connection, Pool, PoolError};
use crate::config::DatabaseSettings;

/// How often the watcher compares the replica with the primary.
const CHECK_EVERY: Duration = Duration::from_millis(250);
/// How long one comparison may take before the replica counts as not answering.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);
/// Positions kept while the replica has not replayed them (an hour of busy quarter seconds):
/// past that the oldest go, and the lag reads as at least the age of those kept.
const MAX_PENDING: usize = 14_400;

/// What a read's failure on the replica means for the same read on the primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnReplica {
    /// The answer stands (a refusal that does not depend on the data's age).
    Answer,
    /// The replica may simply not have it yet (not found): ask the primary.
    AskPrimary,
    /// The replica failed (it stopped, timed out): ask the primary and stop reading from the
    /// replica until the watcher sees it answer again.
    Distrust,
}

/// Errors of reads that may go to the replica say what their failure means there.
pub trait ReadFailure {
    fn on_replica(&self) -> OnReplica;
}

tokio::task_local! {
    /// Set while a read runs on the replica.
    static ON_REPLICA: ();
}

/// Whether the current read runs on the replica: its failure is then read again on the
/// primary, so whatever turns it into an answer need not report it as the request failing.
pub fn reading_on_replica() -> bool {
    ON_REPLICA.try_with(|_| ()).is_ok()
}

/// Where reads go: the replica when it is usable, the primary otherwise.
#[derive(Clone)]
pub struct Reads {
    primary: Pool,
    replica: Option<Arc<Replica>>,
}

struct Replica {
    pool: Pool,
    usable: AtomicBool,
    lag_ms: AtomicU64,
    on_replica: AtomicU64,
    on_primary: AtomicU64,
}

impl Reads {
    /// Every read on the primary.
    pub fn primary_only(primary: Pool) -> Self {
        Self {
            primary,
            replica: None,
        }
    }

    /// Reads for these settings: with `replica_url` set, a pool for the replica and a watcher
    /// of its lag (a task on the current Tokio runtime, which ends when the last copy of
    /// these `Reads` is dropped).
    pub fn new(settings: &DatabaseSettings, primary: Pool) -> anyhow::Result<Self> {
        let Some(url) = &settings.replica_url else {
            return Ok(Self::primary_only(primary));
        };
        let pool = super::build_pool_at(url, settings, None)?;
        let replica = Arc::new(Replica {
            pool,
            // Not until the watcher has seen it keep up.
            usable: AtomicBool::new(false),
            lag_ms: AtomicU64::new(u64::MAX),
            on_replica: AtomicU64::new(0),
            on_primary: AtomicU64::new(0),
        });
        let max_lag = Duration::from_millis(settings.replica_max_lag_ms);
        tokio::spawn(watch(primary.clone(), Arc::downgrade(&replica), max_lag));
        tracing::info!(replica = %url.redacted(), max_lag_ms = settings.replica_max_lag_ms, "reads that may be a moment old go to the replica");
        Ok(Self {
            primary,
            replica: Some(replica),
        })
    }

    /// Run `read` on the replica when it is usable, else (or when it fails there in a way
    /// the primary may not) on the primary.
    pub async fn read<T, E>(
        &self,
        read: impl AsyncFn(&mut Connection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: ReadFailure + From<PoolError>,
    {
        if let Some(replica) = self
            .replica
            .as_ref()
            .filter(|r| r.usable.load(Ordering::Relaxed))
        {
            match replica.pool.get().await {
                Ok(mut conn) => match ON_REPLICA.scope((), read(&mut conn)).await {
                    Ok(answer) => {
                        replica.on_replica.fetch_add(1, Ordering::Relaxed);
                        return Ok(answer);
                    }
                    Err(e) => match e.on_replica() {
                        OnReplica::Answer => {
                            replica.on_replica.fetch_add(1, Ordering::Relaxed);
                            return Err(e);
                        }
                        OnReplica::AskPrimary => {}
                        OnReplica::Distrust => {
                            tracing::debug!(
                                "a read failed on the replica; reading it from the primary"
                            );
                            replica.distrust();
                        }
                    },
                },
                Err(e) => {
                    tracing::warn!(error = %e, "the replica gave no connection; reading from the primary");
                    replica.distrust();
                }
            }
            replica.on_primary.fetch_add(1, Ordering::Relaxed);
        } else if let Some(replica) = &self.replica {
            replica.on_primary.fetch_add(1, Ordering::Relaxed);
        }
        let mut conn = self.primary.get().await?;
        read(&mut conn).await
    }

    /// Prometheus lines about the replica (nothing without one).
    pub fn metrics(&self) -> String {
        let mut out = String::new();
        let Some(r) = &self.replica else {
            return out;
        };
        out.push_str("# HELP roundtable_replica_usable Whether reads go to the replica (1) or the primary (0).\n");
        out.push_str("# TYPE roundtable_replica_usable gauge\n");
        let _ = writeln!(
            out,
            "roundtable_replica_usable {}",
            u8::from(r.usable.load(Ordering::Relaxed))
        );
        out.push_str("# HELP roundtable_replica_lag_ms How far the replica was behind at the last check (-1: not answering).\n");
        out.push_str("# TYPE roundtable_replica_lag_ms gauge\n");
        let lag = r.lag_ms.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "roundtable_replica_lag_ms {}",
            if lag == u64::MAX { -1 } else { lag as i64 }
        );
        out.push_str("# HELP roundtable_replica_reads_total Reads that may be a moment old, by where they were served.\n");
        out.push_str("# TYPE roundtable_replica_reads_total counter\n");
        let _ = writeln!(
            out,
            "roundtable_replica_reads_total{{served=\"replica\"}} {}",
            r.on_replica.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "roundtable_replica_reads_total{{served=\"primary\"}} {}",
            r.on_primary.load(Ordering::Relaxed)
        );
        out
    }
}

impl Replica {
    fn distrust(&self) {
        if self.usable.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                "the replica failed a read; reads go to the primary until it answers again"
            );
        }
    }
}

#[derive(QueryableByName)]
struct Position {
    /// Bytes of WAL from the start: written (primary) or replayed (replica).
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    lsn: Option<i64>,
}

/// The primary's WAL position now.
async fn written(pool: &Pool) -> anyhow::Result<i64> {
    use diesel_async::RunQueryDsl;
    let mut conn = pool.get().await?;
    let p: Position =
        diesel::sql_query("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS lsn")
            .get_result(&mut conn)
            .await?;
    p.lsn
        .ok_or_else(|| anyhow::anyhow!("the primary gave no WAL position"))
}

/// What the replica has replayed; `None` when it is not a standby (it is then as current as
/// it can be).
async fn replayed(conn: &mut Connection) -> anyhow::Result<Option<i64>> {
    use diesel_async::RunQueryDsl;
    let p: Position = diesel::sql_query(
        "SELECT CASE WHEN pg_is_in_recovery() \
                THEN (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint END AS lsn",
    )
    .get_result(conn)
    .await?;
    Ok(p.lsn)
}

/// Compare the replica with the primary every `CHECK_EVERY` until the replica is dropped.
async fn watch(primary: Pool, replica: Weak<Replica>, max_lag: Duration) {
    let mut pending: VecDeque<(Instant, i64)> = VecDeque::new();
    let mut ticks = tokio::time::interval(CHECK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut was_usable = false;
    loop {
        ticks.tick().await;
        let Some(replica) = replica.upgrade() else {
            return;
        };
        let now = Instant::now();
        // The primary being down leaves the positions seen so far to judge by.
        if let Ok(Ok(lsn)) = tokio::time::timeout(CHECK_TIMEOUT, written(&primary)).await {
            if pending.back().is_none_or(|(_, last)| *last < lsn) {
                pending.push_back((now, lsn));
                if pending.len() > MAX_PENDING {
                    pending.pop_front();
                }
            }
        }
        let position = tokio::time::timeout(CHECK_TIMEOUT, async {
            let mut conn = replica.pool.get().await?;
            replayed(&mut conn).await
        })
        .await;
        let lag = match position {
            Ok(Ok(Some(replayed))) => {
                while pending.front().is_some_and(|(_, lsn)| *lsn <= replayed) {
                    pending.pop_front();
                }
                Some(
                    pending
                        .front()
                        .map_or(Duration::ZERO, |(seen, _)| now - *seen),
                )
            }
            Ok(Ok(None)) => {
                pending.clear();
                Some(Duration::ZERO)
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "the replica did not answer its check");
                None
            }
            Err(_) => None,
        };
        let usable = lag.is_some_and(|lag| lag <= max_lag);
        replica.lag_ms.store(
            lag.map_or(u64::MAX, |l| l.as_millis() as u64),
            Ordering::Relaxed,
        );
        replica.usable.store(usable, Ordering::Relaxed);
        if usable != was_usable {
            match lag {
                Some(lag) if usable => {
                    tracing::info!(lag_ms = lag.as_millis() as u64, "reads go to the replica")
                }
                Some(lag) => tracing::warn!(
                    lag_ms = lag.as_millis() as u64,
                    "the replica is behind; reads go to the primary"
                ),
                None => tracing::warn!("the replica does not answer; reads go to the primary"),
            }
            was_usable = usable;
        }
    }
}
