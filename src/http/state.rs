//! `AppState`: what every handler may reach, built once by `startup.rs`.

use std::sync::Arc;

use super::rate_limit::RateLimiter;
use crate::config::Settings;
use crate::db::replica::Reads;
use crate::db::Pool;
use crate::links::Links;
use crate::metrics::Metrics;

/// What every handler may reach.
#[derive(Clone)]
pub struct AppState {
    /// Writes, and reads that must see them.
    pub pool: Pool,
    /// Reads that may be a moment old: the replica's when one is configured and keeping up.
    pub reads: Reads,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub links: Links,
    pub limiter: Arc<RateLimiter>,
}
