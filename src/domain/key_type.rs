//! The catalogue of API key types. It is data: the default ships in
//! `src/key_types.toml`, and a deployer may point `--key-types` at their own file.

use serde::Deserialize;

use crate::domain::api_key::is_valid_type_code;

pub const DEFAULT_CATALOGUE: &str = include_str!("../key_types.toml");

/// How a client presents a key of this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
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
}
