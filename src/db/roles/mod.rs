//! Roles: the kinds a circle's sessions need (the facilitator and micro-roles), who holds each
//! slot of each session, the append-only log of changes of holder, and members' rotation
//! preferences (`kinds`, `slots`, `log`, `prefs`); what the planner reads (`ledger`), and a
//! discussion lead's questions (`questions`), and the kinds and preferences of several circles
//! at once (`turns`, a member's page). Everything is re-exported here.

mod kinds;
mod ledger;
mod log;
mod prefs;
mod questions;
mod slots;
mod turns;

pub use self::kinds::*;
pub use self::ledger::*;
pub use self::log::*;
pub use self::prefs::*;
pub use self::questions::*;
pub use self::slots::*;
pub use self::turns::*;
