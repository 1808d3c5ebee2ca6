//! Roundtable's use cases, one home for each whatever the front end (JSON API, dashboard,
//! public pages, CLI, the worker): each opens its own transaction, takes the locks it needs,
//! writes through `db`, queues the mail it causes, and returns `AppResult`. Handlers parse
//! the input into domain types, call one action, and render.

pub mod active_member;
pub mod agenda;
pub mod agreements;
pub mod attendance;
pub mod circles;
pub mod feedback;
pub mod growing;
pub mod handoffs;
pub mod links;
pub mod membership;
pub mod people;
pub mod questions;
pub mod reading_plan;
pub mod readings;
pub mod roles;
pub mod rota;
pub mod rsvps;
pub mod scheduling;
pub mod swaps;
