//! Roundtable: book clubs and learning circles where leadership is shared.

pub mod actions;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod email;
pub mod error;
pub mod exports;
pub mod http;
pub mod imports;
pub mod jobs;
pub mod links;
pub mod metrics;
pub mod pagination;
pub mod secrets;
pub mod seed;
pub mod startup;
pub mod telemetry;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod views;
pub mod worker;
