//! Read models more than one front end shows (or a front end and the jobs): each gathers what
//! a page, a response or a letter needs from `db` and shapes it. Views only read; they return
//! `diesel::QueryResult` (or `AppResult` where an export can fail), and import neither
//! `http`, `jobs` nor `actions`.

pub mod agenda;
pub mod agreements;
pub mod growing;
pub mod handoff;
pub mod leadership;
pub mod rota;
