//! Latchkey: a self-hosted, server-rendered console for issuing and managing API keys.
//!
//! - `domain`: the product's rules in plain Rust (key format, hashing, IP allowlists,
//!   key types and limits, roles and permissions).
//! - `db`: every query, one file per table.
//! - `web`: the route table, thin handlers, sessions and error pages.
//! - `startup`: wiring it together for `serve`; `cli`: the other subcommands; `seed`:
//!   development data (`latchkey dev seed`); `delivery`: the webhook worker;
//!   `http_client`: outgoing HTTPS (webhooks, GitHub's scanning keys).

pub mod cli;
pub mod config;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod http_client;
pub mod secrets;
pub mod seed;
pub mod startup;
pub mod verifier;
pub mod web;
