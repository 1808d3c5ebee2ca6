//! Integration tests: the real application against a real Postgres database per test.

mod helpers;
mod smtp;

mod bad_input;
mod browser;
mod circles;
mod cli;
mod dashboard;
mod email;
mod experience;
mod growing;
mod insiders;
mod leadership;
mod learning;
mod members;
mod operations;
mod public;
mod reading;
mod replica;
mod rota;
mod schema;
mod scripts;
mod sessions;
mod six_weeks;
mod trust;
