//! Any input to the key parser: no panic, and anything accepted re-parses to the same parts.
#![no_main]

use latchkey::domain::api_key;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(parsed) = api_key::parse(text) {
            assert!(text.starts_with("lk_"));
            assert_eq!(parsed.secret.len(), api_key::SECRET_LEN);
            assert!(api_key::is_public_id(parsed.public_id));
        }
        let _ = api_key::parse_key_id(text);
        let _ = api_key::PublicId::parse(text);
    }
});
