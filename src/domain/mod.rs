//! Product rules in plain Rust: no web framework and no SQL in here.

pub mod api_key;
pub mod crypto;
pub mod ip_allowlist;
pub mod key_request;
pub mod key_type;
pub mod password;
pub mod role;
pub mod token;
