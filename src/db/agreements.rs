//! Agreements, their versions and consent rounds.
