//! Any Authorization and Date header to the HMAC signature parser: no panic.
#![no_main]

use latchkey::domain::hmac_signature;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (authorization, date) = text.split_once('\n').unwrap_or((text, ""));
    let _ = hmac_signature::is_hmac(authorization);
    let _ = hmac_signature::parse(authorization);
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
        .unwrap()
        .naive_utc();
    let _ = hmac_signature::check_date(Some(date), now);
});
