//! Webhooks: the events endpoints subscribe to, which audit actions raise
//! them, the JSON body sent, the endpoint URL and signing-secret rules, the
//! Standard Webhooks signature and the retry schedule.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{Duration, NaiveDateTime, SecondsFormat};
use serde::Serialize;

use crate::domain::crypto::hmac_sha256;
use crate::domain::token::random_bytes;

/// What an endpoint can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    KeyCreated,
    KeyUpdated,
    KeyDisabled,
    KeyRolled,
    KeyDeleted,
    KeyExpiring,
    KeyLeaked,
}

impl EventType {
    /// In the order the form offers them.
    pub const ALL: [EventType; 7] = [
        EventType::KeyCreated,
        EventType::KeyUpdated,
        EventType::KeyDisabled,
        EventType::KeyRolled,
        EventType::KeyDeleted,
        EventType::KeyExpiring,
        EventType::KeyLeaked,
    ];

    /// The `type` of the JSON body, and what is stored.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::KeyCreated => "key.created",
            EventType::KeyUpdated => "key.updated",
            EventType::KeyDisabled => "key.disabled",
            EventType::KeyRolled => "key.rolled",
            EventType::KeyDeleted => "key.deleted",
            EventType::KeyExpiring => "key.expiring",
            EventType::KeyLeaked => "key.leaked",
        }
    }

    /// What a person reads next to the checkbox.
    pub fn label(self) -> &'static str {
        match self {
            EventType::KeyCreated => "A key is generated",
            EventType::KeyUpdated => "A key's settings change, or it is enabled again",
            EventType::KeyDisabled => "A key is disabled",
            EventType::KeyRolled => "A key is rolled (a new secret replaces the old one)",
            EventType::KeyDeleted => "A key is deleted",
            EventType::KeyExpiring => "A key expires within 14 days, and again within 1 day",
            EventType::KeyLeaked => "A key is reported leaked",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// Which recorded audit actions raise which event. Matched by the action's
/// text, so an action added elsewhere needs only its row here.
pub const FROM_AUDIT: &[(&str, EventType)] = &[
    ("key.created", EventType::KeyCreated),
    ("key.updated", EventType::KeyUpdated),
    ("key.rate_limit_changed", EventType::KeyUpdated),
    ("key.enabled", EventType::KeyUpdated),
    ("key.disabled", EventType::KeyDisabled),
    ("key.rolled", EventType::KeyRolled),
    ("key.deleted", EventType::KeyDeleted),
    ("key.leaked", EventType::KeyLeaked),
];

/// The event an audit action raises, if any.
pub fn for_audit_action(action: &str) -> Option<EventType> {
    FROM_AUDIT
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, event)| *event)
}

/// Reminders are sent when a key's expiry comes within this many days, once
/// per key and threshold. Largest first.
pub const EXPIRY_THRESHOLDS: [u32; 2] = [14, 1];

/// What an event says about its key: public facts only. There is no field
/// for a key, a secret, a hash or sealed material, so none can be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyEventData {
    /// The public identifier (the Key ID).
    pub key_id: String,
    /// `lk_<type>_<id>`: the visible start of the key.
    pub key_prefix: String,
    pub type_code: String,
    pub name: String,
    /// Who made the change; `null` for the console's own events.
    pub actor_email: Option<String>,
    /// The audit log's words for the change.
    pub detail: String,
    /// key.expiring only: when the key stops working (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// key.expiring only: the threshold reached, 14 or 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}

impl KeyEventData {
    pub fn new(key_id: &str, type_code: &str, name: &str) -> Self {
        KeyEventData {
            key_id: key_id.to_owned(),
            key_prefix: format!("lk_{type_code}_{key_id}"),
            type_code: type_code.to_owned(),
            name: name.to_owned(),
            actor_email: None,
            detail: String::new(),
            expires_at: None,
            days: None,
        }
    }
}

/// One event, as enqueued for every endpoint subscribed to its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub event_type: EventType,
    /// When it happened (UTC).
    pub timestamp: NaiveDateTime,
    pub data: KeyEventData,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    event_type: &'static str,
    timestamp: String,
    data: &'a KeyEventData,
}

impl WebhookEvent {
    /// A key.expiring reminder: the key reaches `days` before `expires_at`.
    pub fn expiring(
        timestamp: NaiveDateTime,
        mut data: KeyEventData,
        expires_at: NaiveDateTime,
        days: u32,
    ) -> Self {
        let when = rfc3339(expires_at);
        data.detail = format!(
            "expires at {when}, within {days} day{}",
            if days == 1 { "" } else { "s" }
        );
        data.expires_at = Some(when);
        data.days = Some(days);
        WebhookEvent {
            event_type: EventType::KeyExpiring,
            timestamp,
            data,
        }
    }

    /// The JSON body: `{"type", "timestamp", "data"}`.
    pub fn payload(&self) -> String {
        serde_json::to_string(&Body {
            event_type: self.event_type.as_str(),
            timestamp: rfc3339(self.timestamp),
            data: &self.data,
        })
        .expect("an event serialises")
    }
}

fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Most endpoints the console keeps: each event is one outbox row per
/// subscribed endpoint, so this bounds the rows one change can write.
pub const MAX_ENDPOINTS: i64 = 20;

/// Longest endpoint URL accepted, in characters.
pub const MAX_URL_LEN: usize = 2000;
const TOO_LONG: &str = "The URL is at most 2,000 characters.";

/// Reads an endpoint URL as typed: http or https, a host, no user name or
/// password, no fragment. Returns it normalised (as it is stored and compared).
pub fn parse_endpoint_url(typed: &str) -> Result<String, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err("Enter the URL that should receive the events.".into());
    }
    if typed.chars().count() > MAX_URL_LEN {
        return Err(TOO_LONG.into());
    }
    let lower = typed.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err("The URL must start with http:// or https://.".into());
    }
    if typed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("The URL must not contain spaces or control characters.".into());
    }
    let url = url::Url::parse(typed)
        .map_err(|e| format!("That is not a URL the console can send to ({e})."))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("The URL must name a host, such as https://hooks.example.com/latchkey.".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("The URL must not contain a user name or password.".into());
    }
    if url.fragment().is_some() {
        return Err("The URL must not have a #fragment: it is never sent.".into());
    }
    let normalised = url.to_string();
    if normalised.chars().count() > MAX_URL_LEN {
        return Err(TOO_LONG.into());
    }
    Ok(normalised)
}

/// `scheme://host[:port]` of a stored endpoint URL: what the audit log says
/// of it, since a path or query may carry the receiver's own token.
pub fn origin_of(url: &str) -> String {
    url::Url::parse(url).map_or_else(
        |_| "an unreadable URL".to_owned(),
        |u| u.origin().ascii_serialization(),
    )
}

/// Reads the checked events: at least one, each known, none twice.
pub fn parse_events<'a>(
    checked: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<EventType>, String> {
    let mut events = Vec::new();
    for text in checked {
        let event = EventType::parse(text)
            .ok_or_else(|| format!("“{}” is not an event the console sends.", cut(text)))?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err("Choose at least one event.".into());
    }
    events.sort_by_key(|e| EventType::ALL.iter().position(|a| a == e));
    Ok(events)
}

/// Echoed input, cut short so a message stays readable.
fn cut(text: &str) -> String {
    const SHOWN: usize = 40;
    if text.chars().count() <= SHOWN {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(SHOWN).collect::<String>())
    }
}

/// Random bytes in a signing secret.
pub const SECRET_BYTES: usize = 32;
const SECRET_PREFIX: &str = "whsec_";

/// An endpoint's signing secret: the HMAC key, shown to people once as
/// `whsec_<base64>` (the Standard Webhooks form).
pub struct SigningSecret(Vec<u8>);

impl SigningSecret {
    /// Fresh bytes from the operating system's generator.
    pub fn generate() -> Self {
        SigningSecret(random_bytes::<SECRET_BYTES>().to_vec())
    }

    /// The bytes as stored (sealed) and read back.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        SigningSecret(bytes)
    }

    /// Reads `whsec_<base64>`.
    pub fn parse(text: &str) -> Option<Self> {
        let encoded = text.strip_prefix(SECRET_PREFIX)?;
        BASE64.decode(encoded).ok().map(SigningSecret)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// `whsec_<base64>`, for the one page that shows it.
    pub fn reveal(&self) -> String {
        format!("{SECRET_PREFIX}{}", BASE64.encode(&self.0))
    }

    /// The `webhook-signature` header: `v1,<base64 HMAC-SHA-256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, webhook_id: &str, timestamp: i64, body: &str) -> String {
        let signed = format!("{webhook_id}.{timestamp}.{body}");
        format!(
            "v1,{}",
            BASE64.encode(hmac_sha256(&self.0, signed.as_bytes()))
        )
    }
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

/// A `webhook-id`: `msg_` and 128 random bits, hex.
pub fn new_webhook_id() -> String {
    format!("msg_{}", hex::encode(random_bytes::<16>()))
}

/// The wait before the next attempt after `failed` failed attempts (5 s,
/// 30 s, 2 min, 10 min, 1 h, 6 h, 12 h, 24 h); `None` means give up. Nine
/// attempts in all, over about 43 hours.
pub fn retry_after(failed: u32) -> Option<Duration> {
    const SCHEDULE: [i64; 8] = [5, 30, 120, 600, 3_600, 21_600, 43_200, 86_400];
    let index = usize::try_from(failed).ok()?.checked_sub(1)?;
    SCHEDULE.get(index).map(|s| Duration::seconds(*s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_reads_as_written_next_to_its_checkbox() {
        let table = [
            (EventType::KeyCreated, "key.created", "A key is generated"),
            (
                EventType::KeyUpdated,
                "key.updated",
                "A key's settings change, or it is enabled again",
            ),
            (EventType::KeyDisabled, "key.disabled", "A key is disabled"),
            (
                EventType::KeyRolled,
                "key.rolled",
                "A key is rolled (a new secret replaces the old one)",
            ),
            (EventType::KeyDeleted, "key.deleted", "A key is deleted"),
            (
                EventType::KeyExpiring,
                "key.expiring",
                "A key expires within 14 days, and again within 1 day",
            ),
            (
                EventType::KeyLeaked,
                "key.leaked",
                "A key is reported leaked",
            ),
        ];
        assert_eq!(table.len(), EventType::ALL.len());
        for (event, code, label) in table {
            assert_eq!((event.as_str(), event.label()), (code, label));
        }
    }

    #[test]
    fn the_signature_matches_the_standard_webhooks_known_answer() {
        // The Standard Webhooks specification's example, checked with
        // `openssl dgst -sha256 -mac HMAC`.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_fresh_and_read_back_from_their_shown_form() {
        let a = SigningSecret::generate();
        let shown = a.reveal();
        assert!(shown.starts_with("whsec_"));
        // 32 bytes: 44 base64 characters.
        assert_eq!(shown.len(), 6 + 44);
        assert_eq!(SigningSecret::parse(&shown).unwrap().bytes(), a.bytes());
        assert_ne!(SigningSecret::generate().bytes(), a.bytes());
        assert!(SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_none());
        assert!(SigningSecret::parse("whsec_***").is_none());
        assert_eq!(format!("{a:?}"), "SigningSecret(…)");
    }

    #[test]
    fn audit_actions_raise_the_written_events() {
        let expected = [
            ("key.created", Some("key.created")),
            ("key.updated", Some("key.updated")),
            ("key.rate_limit_changed", Some("key.updated")),
            ("key.enabled", Some("key.updated")),
            ("key.disabled", Some("key.disabled")),
            ("key.rolled", Some("key.rolled")),
            ("key.deleted", Some("key.deleted")),
            ("key.leaked", Some("key.leaked")),
            ("auth.login", None),
            ("user.created", None),
            ("webhook.created", None),
            ("key.expiring", None),
        ];
        for (action, event) in expected {
            assert_eq!(
                for_audit_action(action).map(EventType::as_str),
                event,
                "{action}"
            );
        }
    }

    #[test]
    fn event_types_read_back_from_their_names() {
        let names = [
            "key.created",
            "key.updated",
            "key.disabled",
            "key.rolled",
            "key.deleted",
            "key.expiring",
            "key.leaked",
        ];
        let shown: Vec<_> = EventType::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(shown, names);
        for name in names {
            assert_eq!(EventType::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(EventType::parse("key.Created"), None);
        assert_eq!(EventType::parse(""), None);
    }

    #[test]
    fn the_body_holds_the_type_time_and_public_key_facts() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
            .unwrap()
            .and_hms_micro_opt(9, 30, 5, 123_456)
            .unwrap();
        let mut data = KeyEventData::new("4fQ9xY2mK8pR", "ucd", "Checkout");
        data.actor_email = Some("ada@example.com".into());
        data.detail = "Checkout (ucd)".into();
        let event = WebhookEvent {
            event_type: EventType::KeyRolled,
            timestamp: at,
            data: data.clone(),
        };
        assert_eq!(
            event.payload(),
            r#"{"type":"key.rolled","timestamp":"2026-11-28T09:30:05Z","data":{"key_id":"4fQ9xY2mK8pR","key_prefix":"lk_ucd_4fQ9xY2mK8pR","type_code":"ucd","name":"Checkout","actor_email":"ada@example.com","detail":"Checkout (ucd)"}}"#
        );
        let mut quiet = data;
        quiet.actor_email = None;
        let expires = at + Duration::days(14);
        let reminder = WebhookEvent::expiring(at, quiet, expires, 14);
        assert_eq!(
            reminder.payload(),
            r#"{"type":"key.expiring","timestamp":"2026-11-28T09:30:05Z","data":{"key_id":"4fQ9xY2mK8pR","key_prefix":"lk_ucd_4fQ9xY2mK8pR","type_code":"ucd","name":"Checkout","actor_email":null,"detail":"expires at 2026-12-12T09:30:05Z, within 14 days","expires_at":"2026-12-12T09:30:05Z","days":14}}"#
        );
        let one = WebhookEvent::expiring(at, KeyEventData::new("a", "b", "c"), expires, 1);
        assert_eq!(
            one.data.detail,
            "expires at 2026-12-12T09:30:05Z, within 1 day"
        );
    }

    #[test]
    fn endpoint_urls_are_http_or_https_with_a_host() {
        let accepted = [
            (
                "https://hooks.example.com/latchkey",
                "https://hooks.example.com/latchkey",
            ),
            ("  http://127.0.0.1:9000  ", "http://127.0.0.1:9000/"),
            ("HTTPS://Example.COM/a?b=c", "https://example.com/a?b=c"),
            ("https://[::1]:8443/hook", "https://[::1]:8443/hook"),
        ];
        for (typed, stored) in accepted {
            assert_eq!(parse_endpoint_url(typed).as_deref(), Ok(stored), "{typed}");
        }
        let refused = [
            ("", "Enter the URL that should receive the events."),
            ("   ", "Enter the URL that should receive the events."),
            (
                "ftp://example.com/x",
                "The URL must start with http:// or https://.",
            ),
            (
                "javascript:alert(1)",
                "The URL must start with http:// or https://.",
            ),
            (
                "example.com/hook",
                "The URL must start with http:// or https://.",
            ),
            (
                "http:example.com",
                "The URL must start with http:// or https://.",
            ),
            (
                "https://exa mple.com/",
                "The URL must not contain spaces or control characters.",
            ),
            (
                "https://user:pw@example.com/",
                "The URL must not contain a user name or password.",
            ),
            (
                "https://example.com/#top",
                "The URL must not have a #fragment: it is never sent.",
            ),
            (
                "https://",
                "That is not a URL the console can send to (empty host).",
            ),
            (
                "https://example.com:99999/",
                "That is not a URL the console can send to (invalid port number).",
            ),
            (
                "https://user@example.com/hook",
                "The URL must not contain a user name or password.",
            ),
            (
                "https://:secret@example.com/hook",
                "The URL must not contain a user name or password.",
            ),
        ];
        for (typed, message) in refused {
            assert_eq!(
                parse_endpoint_url(typed),
                Err(message.to_owned()),
                "{typed}"
            );
        }
        let longest = format!("https://example.com/{}", "a".repeat(2000 - 20));
        assert_eq!(longest.len(), 2000);
        assert!(parse_endpoint_url(&longest).is_ok());
        assert_eq!(
            parse_endpoint_url(&format!("{longest}a")),
            Err("The URL is at most 2,000 characters.".to_owned())
        );
    }

    #[test]
    fn the_origin_leaves_out_the_path_and_query() {
        let cases = [
            (
                "https://hooks.example.com/t/s3cr3t?k=v",
                "https://hooks.example.com",
            ),
            ("http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
            ("https://example.com:443/x", "https://example.com"),
            ("not a url", "an unreadable URL"),
        ];
        for (url, origin) in cases {
            assert_eq!(origin_of(url), origin, "{url}");
        }
    }

    #[test]
    fn events_are_checked_from_the_list() {
        assert_eq!(
            parse_events(["key.deleted", "key.created", "key.deleted"]),
            Ok(vec![EventType::KeyCreated, EventType::KeyDeleted])
        );
        assert_eq!(
            parse_events([]),
            Err("Choose at least one event.".to_owned())
        );
        assert_eq!(
            parse_events(["key.created", "key.exploded"]),
            Err("“key.exploded” is not an event the console sends.".to_owned())
        );
        let long = "k".repeat(41);
        assert_eq!(
            parse_events([long.as_str()]),
            Err(format!(
                "“{}…” is not an event the console sends.",
                "k".repeat(40)
            ))
        );
    }

    #[test]
    fn retries_back_off_then_give_up() {
        let expected = [
            (0, None),
            (1, Some(5)),
            (2, Some(30)),
            (3, Some(120)),
            (4, Some(600)),
            (5, Some(3_600)),
            (6, Some(21_600)),
            (7, Some(43_200)),
            (8, Some(86_400)),
            (9, None),
            (u32::MAX, None),
        ];
        for (failed, wait) in expected {
            assert_eq!(
                retry_after(failed).map(|d| d.num_seconds()),
                wait,
                "{failed}"
            );
        }
    }

    #[test]
    fn webhook_ids_are_fresh() {
        let a = new_webhook_id();
        assert_eq!(a.len(), 4 + 32);
        assert!(a.starts_with("msg_"));
        assert_ne!(a, new_webhook_id());
    }
}
