//! Where to send someone after they sign in: only a path on this console,
//! never another site (no open redirect).

/// The longest return path kept, in bytes.
const MAX_LEN: usize = 2000;

/// `raw` if it is a same-origin absolute path: one leading `/` (not `//`,
/// which browsers read as another host), no backslash (some browsers read
/// `/\` as `//`), no control characters. A scheme cannot appear before the
/// leading `/`, so `https:` and `javascript:` are refused too.
pub fn safe(raw: &str) -> Option<&str> {
    let ok = raw.len() <= MAX_LEN
        && raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && !raw.chars().any(char::is_control);
    ok.then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::safe;

    #[test]
    fn only_paths_on_this_console_are_accepted() {
        #[rustfmt::skip]
        let table: &[(&str, bool)] = &[
            ("/settings/integrations", true),
            ("/settings/integrations/keys/abc?tab=requests", true),
            ("/audit?action=auth.login&from=2026-11-01", true),
            ("/", true),
            ("//evil.example", false),
            ("/\\evil.example", false),
            ("\\\\evil.example", false),
            ("https://evil.example", false),
            ("javascript:alert(1)", false),
            ("%2F%2Fevil.example", false),
            ("/%0d%0aSet-Cookie:x", true),
            ("/\r\nSet-Cookie: x", false),
            ("/\tevil", false),
            ("evil.example", false),
            ("", false),
        ];
        for (raw, accepted) in table {
            assert_eq!(safe(raw).is_some(), *accepted, "{raw:?}");
        }
        assert!(safe(&format!("/{}", "a".repeat(2000))).is_none());
    }
}
