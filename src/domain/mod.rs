//! Product rules in plain Rust: no web framework and no SQL in here.

pub mod api_key;
pub mod client_ip;
pub mod crypto;
pub mod cursor;
pub mod expiry;
pub mod hmac_signature;
pub mod ip_allowlist;
pub mod key_edit;
pub mod key_request;
pub mod key_search;
pub mod key_state;
pub mod key_type;
pub mod leak_report;
pub mod origin;
pub mod password;
pub mod rate_limit;
pub mod request_log;
pub mod role;
pub mod scanner_keys;
pub mod session_policy;
pub mod throttle;
pub mod token;
pub mod user_access;
pub mod verdict;
pub mod webhook;
