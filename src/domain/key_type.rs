//! The catalogue of API key types. It is data: the default ships in
//! `src/key_types.toml`, and a deployer may point `--key-types` at their own file.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;

use crate::domain::api_key::is_valid_type_code;

pub const DEFAULT_CATALOGUE: &str = include_str!("../key_types.toml");

/// How a client presents a key of this type. Each scheme accepts its own form
/// of credential and no other: a bearer key only whole, a Basic key only as
/// key and secret, an HMAC key only as a signature over the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Scheme {
    /// One token, sent as `Authorization: Bearer` or `X-API-Key`.
    Bearer,
    /// A key/secret pair sent with HTTP Basic authentication.
    Basic,
    /// A key/secret pair whose secret signs each request (HMAC-SHA-256).
    Hmac,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Bearer => "bearer",
            Scheme::Basic => "basic",
            Scheme::Hmac => "hmac",
        }
    }

    /// Reads the stored form (`api_keys.scheme`).
    pub fn parse(text: &str) -> Option<Scheme> {
        [Scheme::Bearer, Scheme::Basic, Scheme::Hmac]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// The one way a key of this scheme may be presented, for a refusal's reason.
    /// It names the form only, so it says nothing about whether a key exists.
    pub fn expected_form(self) -> &'static str {
        match self {
            Scheme::Bearer => {
                "keys of this type are presented whole: Authorization: Bearer, X-API-Key, or {\"key\"} alone"
            }
            Scheme::Basic => {
                "keys of this type are presented as key and secret: HTTP Basic, or {\"key\", \"secret\"}"
            }
            Scheme::Hmac => {
                "keys of this type must sign each request: Authorization: LK-HMAC-SHA256, or {\"signature\"}"
            }
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Scheme::Bearer => "API key",
            Scheme::Basic => "Key and secret (Basic authentication)",
            Scheme::Hmac => "Key and secret (HMAC signature)",
        }
    }

    pub fn is_pair(self) -> bool {
        self != Scheme::Bearer
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyType {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub scheme: Scheme,
    /// Most keys of this type that may be active at once; `None` means no limit.
    #[serde(default)]
    pub max_active: Option<u32>,
    /// From this instant (UTC) every key of the type is refused as disabled.
    #[serde(default, deserialize_with = "instant")]
    pub disabled_from: Option<NaiveDateTime>,
    /// Longest a key of this type may last, in days from its creation; `None`
    /// means no limit ("Never" allowed). See `domain::expiry`.
    #[serde(default, deserialize_with = "crate::domain::expiry::days")]
    pub max_lifetime_days: Option<u32>,
    /// The expiry preselected when generating, in days; `None` means "Never"
    /// (or the longest allowed, where there is a maximum).
    #[serde(default, deserialize_with = "crate::domain::expiry::days")]
    pub default_lifetime_days: Option<u32>,
    /// Where the Generate API Key form lists the type (a product area);
    /// types without one are listed last.
    #[serde(default)]
    pub group: Option<String>,
}

/// Accepts a TOML date-time or date (`2025-10-15T00:00:00Z`, `2025-10-15`), or the same as a string.
fn instant<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<NaiveDateTime>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Toml(toml::value::Datetime),
        Text(String),
    }
    let text = match Raw::deserialize(de)? {
        Raw::Toml(dt) => dt.to_string(),
        Raw::Text(s) => s,
    };
    chrono::DateTime::parse_from_rfc3339(&text)
        .map(|dt| dt.naive_utc())
        .or_else(|_| {
            NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight"))
        })
        .map(Some)
        .map_err(|_| {
            serde::de::Error::custom(format!(
                "“{text}” is not a date-time such as 2025-10-15T00:00:00Z"
            ))
        })
}

#[derive(Debug, Clone)]
pub struct Catalogue {
    types: Vec<KeyType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    #[serde(rename = "type")]
    types: Vec<KeyType>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("the key type catalogue is not valid TOML: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("key type code “{0}” must be 2 to 12 lower-case letters or digits")]
    BadCode(String),
    #[error("key type code “{0}” appears more than once")]
    Duplicate(String),
    #[error("key type “{0}” needs a name of 1 to 80 characters")]
    BadName(String),
    #[error("key type “{0}” has a limit of 0 active keys; omit max_active for no limit")]
    ZeroLimit(String),
    #[error("the key type catalogue lists no types")]
    Empty,
    #[error("key type “{code}”: {problem}")]
    BadLifetime { code: String, problem: String },
    #[error("key type “{0}” has an empty group; omit group to list it with the ungrouped types")]
    BadGroup(String),
}

impl KeyType {
    pub fn is_disabled(&self, now: NaiveDateTime) -> bool {
        self.disabled_from.is_some_and(|from| from <= now)
    }
}

impl Catalogue {
    pub fn parse(text: &str) -> Result<Self, CatalogueError> {
        let file: CatalogueFile = toml::from_str(text)?;
        if file.types.is_empty() {
            return Err(CatalogueError::Empty);
        }
        for (i, t) in file.types.iter().enumerate() {
            if !is_valid_type_code(&t.code) {
                return Err(CatalogueError::BadCode(t.code.clone()));
            }
            if file.types[..i].iter().any(|o| o.code == t.code) {
                return Err(CatalogueError::Duplicate(t.code.clone()));
            }
            if t.name.trim().is_empty() || t.name.chars().count() > 80 {
                return Err(CatalogueError::BadName(t.code.clone()));
            }
            if t.max_active == Some(0) {
                return Err(CatalogueError::ZeroLimit(t.code.clone()));
            }
            t.check_lifetimes()
                .map_err(|problem| CatalogueError::BadLifetime {
                    code: t.code.clone(),
                    problem,
                })?;
            if t.group.as_deref().is_some_and(|g| g.trim().is_empty()) {
                return Err(CatalogueError::BadGroup(t.code.clone()));
            }
        }
        Ok(Catalogue { types: file.types })
    }

    pub fn default_catalogue() -> Self {
        Self::parse(DEFAULT_CATALOGUE).expect("the shipped catalogue is valid")
    }

    pub fn get(&self, code: &str) -> Option<&KeyType> {
        self.types.iter().find(|t| t.code == code)
    }

    pub fn all(&self) -> &[KeyType] {
        &self.types
    }

    /// The codes of the types switched off at `now` (their keys are refused).
    pub fn disabled_codes(&self, now: NaiveDateTime) -> Vec<String> {
        self.types
            .iter()
            .filter(|t| t.is_disabled(now))
            .map(|t| t.code.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_has_the_documented_types_and_limits() {
        let catalogue = Catalogue::default_catalogue();
        for name in [
            "Transactional SMS",
            "OTP for SMS",
            "Transactional WhatsApp",
            "Conversational WhatsApp",
            "OTP for WhatsApp",
            "Transactional Email",
            "Campaign Analytics > Email",
            "Campaign Analytics > OnSite",
            "Email Content",
            "Email Template",
            "Unsubscribe & Resubscribe",
            "UCD (Unified Customer Database)",
            "Product Catalog",
            "Web Push",
            "Mobile App",
        ] {
            assert!(
                catalogue.all().iter().any(|t| t.name == name),
                "{name} missing"
            );
        }
        assert_eq!(catalogue.get("ucd").unwrap().max_active, Some(5));
        assert_eq!(catalogue.get("mobile").unwrap().max_active, Some(2));
        assert_eq!(catalogue.get("webpush").unwrap().max_active, None);
        assert_eq!(catalogue.get("hubbasic").unwrap().scheme, Scheme::Basic);
        assert_eq!(catalogue.get("hubhmac").unwrap().scheme, Scheme::Hmac);
        // Expiry policy: (code, group, max_lifetime_days, default_lifetime_days).
        #[rustfmt::skip]
        let policy: &[(&str, &str, Option<u32>, Option<u32>)] = &[
            ("tsms", "Messaging", None, None),
            ("otpsms", "Messaging", Some(90), Some(30)),
            ("otpwa", "Messaging", Some(90), Some(30)),
            ("temail", "Email", None, None),
            ("econtent", "Email", None, Some(365)),
            ("caemail", "Analytics", Some(365), Some(90)),
            ("caonsite", "Analytics", Some(365), Some(90)),
            ("ucd", "Customer data", None, None),
            ("catalog", "Customer data", None, Some(365)),
            ("webpush", "Apps and web", None, None),
            ("mobile", "Apps and web", None, None),
            ("hubbasic", "Messaging Hub REST API", Some(730), Some(365)),
            ("hubhmac", "Messaging Hub REST API", Some(730), Some(365)),
        ];
        for (code, group, max, default) in policy {
            let t = catalogue.get(code).unwrap();
            assert_eq!(t.group.as_deref(), Some(*group), "{code}");
            assert_eq!(t.max_lifetime_days, *max, "{code}");
            assert_eq!(t.default_lifetime_days, *default, "{code}");
        }
        assert!(
            catalogue.all().iter().all(|t| !t.description.is_empty()),
            "every shipped type says what it is for"
        );
    }

    #[test]
    fn schemes_read_back_from_their_stored_form() {
        assert_eq!(Scheme::parse("bearer"), Some(Scheme::Bearer));
        assert_eq!(Scheme::parse("basic"), Some(Scheme::Basic));
        assert_eq!(Scheme::parse("hmac"), Some(Scheme::Hmac));
        assert_eq!(Scheme::parse("HMAC"), None);
        assert_eq!(Scheme::parse(""), None);
        assert_eq!(std::mem::size_of::<Scheme>(), 1);
    }

    #[test]
    fn each_scheme_names_the_one_form_it_accepts() {
        assert!(Scheme::Bearer.expected_form().contains("Bearer"));
        assert!(Scheme::Basic.expected_form().contains("HTTP Basic"));
        assert!(Scheme::Hmac.expected_form().contains("LK-HMAC-SHA256"));
    }

    #[test]
    fn a_type_can_carry_a_disable_date() {
        let text = "[[type]]\ncode = \"webpush\"\nname = \"Web Push\"\nscheme = \"bearer\"\ndisabled_from = 2025-10-15T00:00:00Z\n";
        let catalogue = Catalogue::parse(text).unwrap();
        assert_eq!(
            catalogue
                .get("webpush")
                .unwrap()
                .disabled_from
                .unwrap()
                .to_string(),
            "2025-10-15 00:00:00"
        );
        let as_date = text.replace("2025-10-15T00:00:00Z", "\"2025-10-15\"");
        assert!(
            Catalogue::parse(&as_date)
                .unwrap()
                .get("webpush")
                .unwrap()
                .disabled_from
                .is_some()
        );
        let garbage = text.replace("2025-10-15T00:00:00Z", "\"soon\"");
        assert!(Catalogue::parse(&garbage).is_err());
    }

    #[test]
    fn a_deployer_catalogue_is_validated() {
        let ok = "[[type]]\ncode = \"crm\"\nname = \"CRM\"\nscheme = \"bearer\"\nmax_active = 3\n";
        assert_eq!(
            Catalogue::parse(ok).unwrap().get("crm").unwrap().max_active,
            Some(3)
        );
        let dup = format!("{ok}{ok}");
        assert!(matches!(
            Catalogue::parse(&dup),
            Err(CatalogueError::Duplicate(_))
        ));
        let bad_code = ok.replace("crm", "CRM_1");
        assert!(matches!(
            Catalogue::parse(&bad_code),
            Err(CatalogueError::BadCode(_))
        ));
        let bad_scheme = ok.replace("bearer", "magic");
        assert!(matches!(
            Catalogue::parse(&bad_scheme),
            Err(CatalogueError::Syntax(_))
        ));
        let zero = ok.replace("= 3", "= 0");
        assert!(matches!(
            Catalogue::parse(&zero),
            Err(CatalogueError::ZeroLimit(_))
        ));
        assert!(matches!(
            Catalogue::parse("type = []"),
            Err(CatalogueError::Empty)
        ));
    }

    #[test]
    fn schemes_have_their_stored_names_and_labels() {
        let expected = [
            (Scheme::Bearer, "bearer", "API key", false),
            (
                Scheme::Basic,
                "basic",
                "Key and secret (Basic authentication)",
                true,
            ),
            (
                Scheme::Hmac,
                "hmac",
                "Key and secret (HMAC signature)",
                true,
            ),
        ];
        for (scheme, stored, label, pair) in expected {
            assert_eq!(scheme.as_str(), stored);
            assert_eq!(scheme.label(), label);
            assert_eq!(scheme.is_pair(), pair, "{stored}");
        }
    }

    #[test]
    fn a_type_is_disabled_from_its_instant_on() {
        let text = "[[type]]\ncode = \"webpush\"\nname = \"Web Push\"\nscheme = \"bearer\"\ndisabled_from = 2025-10-15T00:00:00Z\n";
        let catalogue = Catalogue::parse(text).unwrap();
        let web_push = catalogue.get("webpush").unwrap();
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        assert!(!web_push.is_disabled(at("2025-10-14 23:59:59")));
        assert!(web_push.is_disabled(at("2025-10-15 00:00:00")));
        assert!(web_push.is_disabled(at("2026-01-01 00:00:00")));
        let ucd = Catalogue::default_catalogue();
        assert!(
            !ucd.get("ucd")
                .unwrap()
                .is_disabled(at("2099-01-01 00:00:00"))
        );
    }

    #[test]
    fn type_names_need_1_to_80_characters() {
        let with_name = |name: &str| {
            format!("[[type]]\ncode = \"crm\"\nname = \"{name}\"\nscheme = \"bearer\"\n")
        };
        for empty in ["", "   ", "\\t"] {
            assert!(
                matches!(Catalogue::parse(&with_name(empty)), Err(CatalogueError::BadName(code)) if code == "crm"),
                "name {empty:?}"
            );
        }
        let longest = "é".repeat(80);
        assert_eq!(
            Catalogue::parse(&with_name(&longest))
                .unwrap()
                .get("crm")
                .unwrap()
                .name,
            longest
        );
        assert!(matches!(
            Catalogue::parse(&with_name(&"é".repeat(81))),
            Err(CatalogueError::BadName(_))
        ));
        assert_eq!(Catalogue::parse(&with_name("X")).unwrap().all().len(), 1);
    }

    #[test]
    fn type_codes_of_2_to_12_characters_are_accepted() {
        let with_code = |code: &str| {
            format!("[[type]]\ncode = \"{code}\"\nname = \"Some API\"\nscheme = \"bearer\"\n")
        };
        for code in ["ab", "abcdefghijk", "abcdefghijkl", "0123456789ab"] {
            assert!(Catalogue::parse(&with_code(code)).is_ok(), "{code}");
        }
        for code in ["", "a", "abcdefghijklm", "a-b", "Ab"] {
            assert!(
                matches!(
                    Catalogue::parse(&with_code(code)),
                    Err(CatalogueError::BadCode(_))
                ),
                "{code:?}"
            );
        }
    }
}
