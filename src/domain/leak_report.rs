//! Leak reports from secret scanners: what GitHub's secret scanning and
//! GitLab's secret detection send, which tokens can be matched to a key, and
//! what the scanner is told back.
//!
//! A scanner can only be matched with a whole key: `lk_<type>_<id>_<secret><checksum>`,
//! which is also how a key/secret pair reads when its halves are joined with
//! `_`. A pair written `<key>:<secret>` (as in a Basic credential) is joined
//! the same way. The key half alone is an identifier, not a secret, and the
//! secret half alone cannot be tied to a key without it: both are answered
//! as false positives and change nothing.

use std::borrow::Cow;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::domain::api_key;
use crate::domain::crypto::sha256_hex;

/// Largest report body read.
pub const MAX_REPORT_BYTES: usize = 1024 * 1024;
/// Most tokens one report may carry.
pub const MAX_TOKENS: usize = 1_000;
/// Longest "found at" kept (characters); longer addresses are cut.
pub const MAX_PLACE_CHARS: usize = 2_048;

/// A whole key, for scanners' rules (GitHub's partner pattern, a gitleaks rule).
pub const KEY_PATTERN: &str = r"\blk_[a-z0-9]{2,12}_[A-Za-z0-9]{12}_[A-Za-z0-9]{38}\b";
/// Well-formed (its checksum is right) but never issued.
pub const EXAMPLE_KEY: &str = "lk_ucd_EXAMPLE00000_ThisIsAnExampleKeyNotARealOne0003VK2l5";

/// The token types the GitLab revocation API accepts: the finding identifier
/// of a gitleaks rule with id `latchkey_api_key` (`gitleaks_rule_id_` + id),
/// and the plain name.
pub const GITLAB_TYPES: [&str; 2] = ["gitleaks_rule_id_latchkey_api_key", "latchkey_api_key"];
pub const TYPE_NAME: &str = "Latchkey API key";
pub const TYPE_DESCRIPTION: &str = "An API key issued by Latchkey: lk_, a type code, a 12-character key ID, \
     then 32 secret and 6 checksum characters. Key/secret pairs are matched only whole \
     (key ID and secret joined with _).";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scanner {
    GitHub,
    GitLab,
}

impl Scanner {
    pub fn name(self) -> &'static str {
        match self {
            Scanner::GitHub => "GitHub secret scanning",
            Scanner::GitLab => "GitLab secret detection",
        }
    }
}

/// One match in a GitHub report.
#[derive(Debug, Deserialize)]
pub struct GithubMatch {
    pub token: String,
    #[serde(rename = "type")]
    pub token_type: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub source: String,
}

/// One token in a GitLab revocation request.
#[derive(Debug, Deserialize)]
pub struct GitlabToken {
    #[serde(rename = "type")]
    pub token_type: String,
    pub token: String,
    #[serde(default)]
    pub location: String,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the body is not a JSON array of reported tokens: {0}")]
    Malformed(String),
    #[error("a report may carry at most {MAX_TOKENS} tokens")]
    TooMany,
    #[error("the token type “{0}” is not one this service revokes; see revocable_token_types")]
    UnsupportedType(String),
}

fn parse_list<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, ReportError> {
    let items: Vec<T> =
        serde_json::from_slice(body).map_err(|e| ReportError::Malformed(e.to_string()))?;
    if items.len() > MAX_TOKENS {
        return Err(ReportError::TooMany);
    }
    Ok(items)
}

pub fn parse_github(body: &[u8]) -> Result<Vec<GithubMatch>, ReportError> {
    parse_list(body)
}

/// A GitLab request, refused whole if any token's type is not one of ours.
pub fn parse_gitlab(body: &[u8]) -> Result<Vec<GitlabToken>, ReportError> {
    let tokens: Vec<GitlabToken> = parse_list(body)?;
    if let Some(other) = tokens
        .iter()
        .find(|t| !GITLAB_TYPES.contains(&t.token_type.as_str()))
    {
        let shown: String = other.token_type.chars().take(64).collect();
        return Err(ReportError::UnsupportedType(shown));
    }
    Ok(tokens)
}

/// The whole key a reported token may be: itself, or a `<key>:<secret>`
/// pair joined. Whether it is a key at all is the verifier's question.
pub fn candidate(token: &str) -> Cow<'_, str> {
    let token = token.trim();
    match token.split_once(':') {
        Some((key, secret)) if api_key::parse_key_id(key).is_ok() => {
            Cow::Owned(format!("{key}_{secret}"))
        }
        _ => Cow::Borrowed(token),
    }
}

/// Where a leak was found, as stored and shown: the scanner's address (cut
/// to a bounded length, without control characters), or failing that the
/// scanner's own words.
pub fn place(address: &str, otherwise: &str) -> String {
    let address = address.trim();
    let text = if address.is_empty() {
        otherwise
    } else {
        address
    };
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_PLACE_CHARS)
        .collect()
}

/// The audit trail's words for a first report.
pub fn audit_detail(scanner: Scanner, place: &str, switched_off: bool) -> String {
    let outcome = if switched_off {
        "switched off"
    } else {
        "flagged, still working"
    };
    format!("reported by {} at {place}; {outcome}", scanner.name())
}

/// The token's SHA-256, hex: what GitHub's feedback and the logs may name.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    TruePositive,
    FalsePositive,
}

/// GitHub's optional feedback for one reported token.
#[derive(Debug, Serialize)]
pub struct Feedback {
    pub token_hash: String,
    pub token_type: String,
    pub label: Label,
}

impl Feedback {
    pub fn new(reported: &GithubMatch, is_key: bool) -> Self {
        Feedback {
            token_hash: token_hash(&reported.token),
            token_type: reported.token_type.clone(),
            label: if is_key {
                Label::TruePositive
            } else {
                Label::FalsePositive
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_are_as_documented() {
        assert_eq!(
            (MAX_REPORT_BYTES, MAX_TOKENS, MAX_PLACE_CHARS),
            (1_048_576, 1_000, 2_048)
        );
    }
    use regex::Regex;

    #[test]
    fn the_pattern_finds_whole_keys_in_text_and_nothing_shorter() {
        let pattern = Regex::new(KEY_PATTERN).unwrap();
        let generated = api_key::NewApiKey::generate("hubbasic");
        for key in [EXAMPLE_KEY.to_owned(), generated.token()] {
            let text = format!("export TOKEN=\"{key}\"\n");
            assert_eq!(pattern.find(&text).map(|m| m.as_str()), Some(key.as_str()));
        }
        for not_a_key in [
            "lk_ucd_EXAMPLE00000",
            "lk_ucd_EXAMPLE00000_ThisIsAnExampleKeyNotARealOne0003VK2l",
            "lk_ucd_EXAMPLE00000_ThisIsAnExampleKeyNotARealOne0003VK2l5x",
            "xlk_ucd_EXAMPLE00000_ThisIsAnExampleKeyNotARealOne0003VK2l5",
            "lk_UCD_EXAMPLE00000_ThisIsAnExampleKeyNotARealOne0003VK2l5",
            "lk_u_EXAMPLE00000_ThisIsAnExampleKeyNotARealOne0003VK2l5",
        ] {
            assert!(!pattern.is_match(not_a_key), "{not_a_key}");
        }
        assert!(
            api_key::parse(EXAMPLE_KEY).is_ok(),
            "the example is well formed"
        );
    }

    #[test]
    fn pairs_written_with_a_colon_are_joined_and_anything_else_is_left_alone() {
        assert_eq!(
            candidate(" lk_hubbasic_AbCdEfGh1234:SECRETpart\n"),
            "lk_hubbasic_AbCdEfGh1234_SECRETpart"
        );
        assert_eq!(candidate(EXAMPLE_KEY), EXAMPLE_KEY);
        assert_eq!(candidate("user:password"), "user:password");
        assert_eq!(candidate("lk_ucd_short:secret"), "lk_ucd_short:secret");
    }

    #[test]
    fn github_reports_are_read_with_their_limits() {
        let one = br#"[{"token":"t","type":"latchkey_api_key","url":"https://github.com/o/r/blob/1/a","source":"content","extra":1}]"#;
        let read = parse_github(one).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].url, "https://github.com/o/r/blob/1/a");
        assert_eq!(read[0].source, "content");
        assert_eq!(
            parse_github(br#"[{"token":"t","type":"x"}]"#).unwrap()[0].url,
            ""
        );
        assert_eq!(parse_github(b"[]").unwrap().len(), 0);
        for bad in [&b"{}"[..], b"[{\"type\":\"x\"}]", b"[1]", b"not json", b""] {
            assert!(
                matches!(parse_github(bad), Err(ReportError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let item = r#"{"token":"t","type":"x"}"#;
        let at_limit = format!("[{}]", vec![item; MAX_TOKENS].join(","));
        assert_eq!(parse_github(at_limit.as_bytes()).unwrap().len(), 1000);
        let over = format!("[{}]", vec![item; MAX_TOKENS + 1].join(","));
        assert_eq!(
            parse_github(over.as_bytes()).unwrap_err(),
            ReportError::TooMany
        );
    }

    #[test]
    fn gitlab_requests_with_any_foreign_type_are_refused_whole() {
        let ours = br#"[{"type":"gitleaks_rule_id_latchkey_api_key","token":"t","location":"https://gitlab.example/a"},
                        {"type":"latchkey_api_key","token":"u"}]"#;
        let read = parse_gitlab(ours).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].location, "");
        let mixed = br#"[{"type":"latchkey_api_key","token":"t"},{"type":"gitleaks_rule_id_gitlab_personal_access_token","token":"glpat-x"}]"#;
        assert_eq!(
            parse_gitlab(mixed).unwrap_err(),
            ReportError::UnsupportedType("gitleaks_rule_id_gitlab_personal_access_token".into())
        );
        assert!(matches!(
            parse_gitlab(br#"[{"token":"t"}]"#),
            Err(ReportError::Malformed(_))
        ));
    }

    #[test]
    fn places_are_bounded_and_fall_back_to_the_scanners_words() {
        assert_eq!(place(" https://x.test/a ", "GitHub"), "https://x.test/a");
        assert_eq!(place("", "GitHub (content)"), "GitHub (content)");
        assert_eq!(place("https://x.test/\n\u{7}a", "-"), "https://x.test/a");
        let long = format!("https://x.test/{}", "é".repeat(3000));
        assert_eq!(place(&long, "-").chars().count(), 2048);
    }

    #[test]
    fn feedback_names_the_token_only_by_its_sha256() {
        let reported = GithubMatch {
            token: "abc".into(),
            token_type: "latchkey_api_key".into(),
            url: String::new(),
            source: String::new(),
        };
        let json = serde_json::to_value(Feedback::new(&reported, true)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "token_hash": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "token_type": "latchkey_api_key",
                "label": "true_positive",
            })
        );
        let json = serde_json::to_value(Feedback::new(&reported, false)).unwrap();
        assert_eq!(json["label"], "false_positive");
    }

    #[test]
    fn the_audit_says_who_reported_where_and_what_was_done() {
        assert_eq!(
            audit_detail(Scanner::GitHub, "https://github.com/o/r/blob/1/a", true),
            "reported by GitHub secret scanning at https://github.com/o/r/blob/1/a; switched off"
        );
        assert_eq!(
            audit_detail(Scanner::GitLab, "https://gitlab.example/a", false),
            "reported by GitLab secret detection at https://gitlab.example/a; flagged, still working"
        );
    }
}
