//! The shape of an API key.
//!
//! A bearer key reads `lk_<type code>_<public id>_<secret><checksum>`, for example
//! `lk_ucd_4fQ9xY2mK8pR_<32 secret characters><6 checksum characters>`.
//! The fixed `lk_` prefix and the fixed lengths let secret scanners match it
//! (`lk_[a-z0-9]{2,12}_[A-Za-z0-9]{12}_[A-Za-z0-9]{38}`); the CRC32 checksum lets
//! a mistyped or truncated key be refused without a database read.
//!
//! Key/secret pairs (Basic and HMAC schemes) split the same string in two:
//! the key is `lk_<code>_<public id>` and the secret `<secret><checksum>`.

use crate::domain::token::{encode_base62_fixed, is_base62, random_base62};

pub const PREFIX: &str = "lk";
pub const PUBLIC_ID_LEN: usize = 12;
/// 32 base62 characters carry about 190 bits from the operating system.
pub const SECRET_LEN: usize = 32;
pub const CHECKSUM_LEN: usize = 6;
pub const MAX_CODE_LEN: usize = 12;
/// Longest possible well-formed key; anything longer is refused before parsing.
pub const MAX_KEY_LEN: usize =
    PREFIX.len() + 1 + MAX_CODE_LEN + 1 + PUBLIC_ID_LEN + 1 + SECRET_LEN + CHECKSUM_LEN;

/// A freshly generated key. Its secret lives only as long as the response that shows it.
pub struct NewApiKey {
    pub type_code: String,
    pub public_id: String,
    pub secret: String,
    checksum: String,
}

impl NewApiKey {
    pub fn generate(type_code: &str) -> Self {
        debug_assert!(is_valid_type_code(type_code));
        let public_id = random_base62(PUBLIC_ID_LEN);
        let secret = random_base62(SECRET_LEN);
        let checksum = checksum(type_code, &public_id, &secret);
        NewApiKey {
            type_code: type_code.to_owned(),
            public_id,
            secret,
            checksum,
        }
    }

    /// The whole bearer token.
    pub fn token(&self) -> String {
        format!("{}_{}{}", self.key_id(), self.secret, self.checksum)
    }

    /// The non-secret half of a key/secret pair.
    pub fn key_id(&self) -> String {
        format!("{PREFIX}_{}_{}", self.type_code, self.public_id)
    }

    /// The secret half of a key/secret pair.
    pub fn pair_secret(&self) -> String {
        format!("{}{}", self.secret, self.checksum)
    }

    /// The last four characters of the token, kept for the masked display.
    pub fn last_four(&self) -> String {
        self.checksum[CHECKSUM_LEN - 4..].to_owned()
    }
}

/// A presented key whose shape and checksum are right. Whether it exists is another matter.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedKey<'a> {
    pub type_code: &'a str,
    pub public_id: &'a str,
    pub secret: &'a str,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error("the key does not have the expected shape")]
    Shape,
    #[error("the key's checksum does not match; it was probably mistyped or truncated")]
    Checksum,
}

/// Parses a bearer token. Runs in time linear in the input and never allocates.
pub fn parse(token: &str) -> Result<ParsedKey<'_>, KeyFormatError> {
    if token.len() > MAX_KEY_LEN || !token.is_ascii() {
        return Err(KeyFormatError::Shape);
    }
    let rest = token
        .strip_prefix(PREFIX)
        .and_then(|r| r.strip_prefix('_'))
        .ok_or(KeyFormatError::Shape)?;
    let (type_code, rest) = rest.split_once('_').ok_or(KeyFormatError::Shape)?;
    let (public_id, tail) = rest.split_once('_').ok_or(KeyFormatError::Shape)?;
    if !is_valid_type_code(type_code)
        || public_id.len() != PUBLIC_ID_LEN
        || tail.len() != SECRET_LEN + CHECKSUM_LEN
        || !is_base62(public_id)
        || !is_base62(tail)
    {
        return Err(KeyFormatError::Shape);
    }
    let (secret, sum) = tail.split_at(SECRET_LEN);
    if checksum(type_code, public_id, secret) != sum {
        return Err(KeyFormatError::Checksum);
    }
    Ok(ParsedKey {
        type_code,
        public_id,
        secret,
    })
}

/// The non-secret half of a key/secret pair: `lk_<code>_<public id>`.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedKeyId<'a> {
    pub type_code: &'a str,
    pub public_id: &'a str,
}

pub fn parse_key_id(key_id: &str) -> Result<ParsedKeyId<'_>, KeyFormatError> {
    let rest = key_id
        .strip_prefix(PREFIX)
        .and_then(|r| r.strip_prefix('_'))
        .ok_or(KeyFormatError::Shape)?;
    let (type_code, public_id) = rest.split_once('_').ok_or(KeyFormatError::Shape)?;
    if is_valid_type_code(type_code) && is_public_id(public_id) {
        Ok(ParsedKeyId {
            type_code,
            public_id,
        })
    } else {
        Err(KeyFormatError::Shape)
    }
}

/// A key's public identifier, held inline (no allocation) where many keys are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicId([u8; PUBLIC_ID_LEN]);

impl PublicId {
    pub fn parse(id: &str) -> Option<PublicId> {
        is_public_id(id).then(|| PublicId(id.as_bytes().try_into().expect("length checked")))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("public ids are ASCII")
    }
}

impl std::fmt::Display for PublicId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `id` could be a key's public identifier (checked before any lookup).
pub fn is_public_id(id: &str) -> bool {
    id.len() == PUBLIC_ID_LEN && is_base62(id)
}

/// Type codes are short lower-case ASCII words, so they can never contain the separator.
pub fn is_valid_type_code(code: &str) -> bool {
    (2..=MAX_CODE_LEN).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// What the list shows: the recognisable prefix and the last four characters, never more.
pub fn masked(type_code: &str, last_four: &str) -> String {
    format!("{PREFIX}_{type_code}_…{last_four}")
}

fn checksum(type_code: &str, public_id: &str, secret: &str) -> String {
    let mut hasher = crc32fast::Hasher::new();
    for part in [PREFIX, "_", type_code, "_", public_id, "_", secret] {
        hasher.update(part.as_bytes());
    }
    encode_base62_fixed(u64::from(hasher.finalize()), CHECKSUM_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_parses_back_to_its_parts() {
        let key = NewApiKey::generate("ucd");
        let token = key.token();
        let parsed = parse(&token).expect("a fresh key parses");
        assert_eq!(parsed.type_code, "ucd");
        assert_eq!(parsed.public_id, key.public_id);
        assert_eq!(parsed.secret, key.secret);
        assert!(token.starts_with("lk_ucd_"));
        assert!(token.ends_with(&key.last_four()));
        assert!(token.len() <= MAX_KEY_LEN);
    }

    #[test]
    fn a_pair_joined_with_an_underscore_is_the_bearer_token() {
        let key = NewApiKey::generate("hubhmac");
        assert_eq!(
            format!("{}_{}", key.key_id(), key.pair_secret()),
            key.token()
        );
    }

    #[test]
    fn every_single_character_typo_is_caught_without_a_lookup() {
        let token = NewApiKey::generate("ucd").token();
        let start = "lk_ucd_".len();
        for i in start..token.len() {
            if token.as_bytes()[i] == b'_' {
                continue;
            }
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert!(parse(&typo).is_err(), "typo at {i} accepted");
        }
    }

    #[test]
    fn truncated_and_padded_keys_are_refused_as_malformed() {
        let token = NewApiKey::generate("ucd").token();
        assert_eq!(parse(&token[..token.len() - 1]), Err(KeyFormatError::Shape));
        assert_eq!(parse(&format!("{token}x")), Err(KeyFormatError::Shape));
        assert_eq!(parse(""), Err(KeyFormatError::Shape));
        assert_eq!(parse("lk_"), Err(KeyFormatError::Shape));
        assert_eq!(parse(&"x".repeat(10_000)), Err(KeyFormatError::Shape));
    }

    #[test]
    fn non_ascii_input_is_refused_not_panicked_on() {
        let token = NewApiKey::generate("ucd").token();
        let unicode = format!("{}é", &token[..token.len() - 2]);
        assert!(parse(&unicode).is_err());
        let unicode = format!("{}é{}", &token[..10], &token[11..]);
        assert!(parse(&unicode).is_err());
        assert!(parse("lk_ucd_ééééééééééé_x").is_err());
    }

    #[test]
    fn a_wrong_checksum_is_reported_as_such() {
        let key = NewApiKey::generate("ucd");
        let other = NewApiKey::generate("ucd");
        let forged = format!(
            "{}_{}{}",
            key.key_id(),
            key.secret,
            &other.token()[other.token().len() - 6..]
        );
        if forged != key.token() {
            assert_eq!(parse(&forged), Err(KeyFormatError::Checksum));
        }
    }

    #[test]
    fn the_last_four_are_the_tokens_last_four_characters() {
        let key = NewApiKey::generate("ucd");
        let token = key.token();
        assert_eq!(key.last_four().len(), 4);
        assert_eq!(key.last_four(), token[token.len() - 4..]);
    }

    #[test]
    fn a_public_id_is_held_and_shown_as_written() {
        let id = PublicId::parse(ID).expect("a well-formed id");
        assert_eq!(id.as_str(), "4fQ9xY2mK8pR");
        assert_eq!(id.to_string(), "4fQ9xY2mK8pR");
        assert_eq!(PublicId::parse("4fQ9xY2mK8p"), None);
        assert_eq!(PublicId::parse("4fQ9xY2mK8p-"), None);
    }

    #[test]
    fn public_ids_have_one_shape() {
        assert!(is_public_id(&NewApiKey::generate("ucd").public_id));
        assert!(!is_public_id("short"));
        assert!(!is_public_id("abc\0defghijk"));
        assert!(!is_public_id("../../etc/pa"));
    }

    #[test]
    fn type_codes_are_short_lowercase_words() {
        assert!(is_valid_type_code("ucd"));
        assert!(is_valid_type_code("otpsms2"));
        assert!(!is_valid_type_code("u"));
        assert!(!is_valid_type_code("UCD"));
        assert!(!is_valid_type_code("web_push"));
        assert!(!is_valid_type_code("averyverylongcode"));
        assert!(is_valid_type_code("ab"));
        assert!(is_valid_type_code("abcdefghijkl"));
        assert!(!is_valid_type_code("abcdefghijklm"));
        assert!(!is_valid_type_code(""));
    }

    /// A key of these parts with the right checksum, so only the shape checks can refuse it.
    fn signed(code: &str, public_id: &str, secret: &str) -> String {
        format!(
            "lk_{code}_{public_id}_{secret}{}",
            checksum(code, public_id, secret)
        )
    }

    const ID: &str = "4fQ9xY2mK8pR";
    const SECRET: &str = "0123456789abcdefghijABCDEFGHIJzZ";

    #[test]
    fn a_known_key_parses_to_its_written_parts() {
        assert_eq!(
            parse("lk_ucd_4fQ9xY2mK8pR_0123456789abcdefghijABCDEFGHIJzZ0204oa"),
            Ok(ParsedKey {
                type_code: "ucd",
                public_id: ID,
                secret: SECRET,
            })
        );
    }

    #[test]
    fn malformed_keys_are_refused_by_shape_even_with_a_matching_checksum() {
        let cases: Vec<(&str, String)> = vec![
            ("one-character type code", signed("u", ID, SECRET)),
            (
                "13-character type code",
                signed("abcdefghijklm", ID, SECRET),
            ),
            ("empty type code", signed("", ID, SECRET)),
            ("upper-case type code", signed("UCD", ID, SECRET)),
            ("type code with a dash", signed("uc-d", ID, SECRET)),
            (
                "11-character public id",
                signed("ucd", "4fQ9xY2mK8p", SECRET),
            ),
            (
                "13-character public id",
                signed("ucd", "4fQ9xY2mK8pRs", SECRET),
            ),
            (
                "public id with a dash",
                signed("ucd", "4fQ9xY2mK8p-", SECRET),
            ),
            (
                "public id with a dot",
                signed("ucd", "4fQ9xY2mK8p.", SECRET),
            ),
            ("empty public id", signed("ucd", "", SECRET)),
            ("31-character secret", signed("ucd", ID, &SECRET[..31])),
            (
                "33-character secret",
                signed("ucd", ID, &format!("{SECRET}a")),
            ),
            (
                "secret with a dash",
                signed("ucd", ID, &SECRET.replace('z', "-")),
            ),
            (
                "secret with a slash",
                signed("ucd", ID, &SECRET.replace('z', "/")),
            ),
            (
                "a fourth part",
                signed("ucd", ID, &SECRET.replace('z', "_")),
            ),
            (
                "upper-case prefix",
                signed("ucd", ID, SECRET).replacen("lk", "LK", 1),
            ),
            (
                "other prefix",
                signed("ucd", ID, SECRET).replacen("lk", "xk", 1),
            ),
            (
                "dash after the prefix",
                signed("ucd", ID, SECRET).replacen('_', "-", 1),
            ),
            ("leading space", format!(" {}", signed("ucd", ID, SECRET))),
            (
                "trailing newline",
                format!("{}\n", signed("ucd", ID, SECRET)),
            ),
            ("no checksum", format!("lk_ucd_{ID}_{SECRET}")),
            ("id and secret only", format!("lk_ucd_{ID}")),
            ("prefix only", "lk_".to_owned()),
            ("empty", String::new()),
        ];
        for (what, key) in cases {
            assert_eq!(parse(&key), Err(KeyFormatError::Shape), "{what}: {key}");
        }
    }

    #[test]
    fn well_formed_edge_cases_parse() {
        let cases = [
            ("ab", "000000000000", "00000000000000000000000000000000"),
            (
                "abcdefghijk",
                "zzzzzzzzzzzz",
                "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
            ),
            ("abcdefghijkl", ID, SECRET),
            (
                "0123456789",
                "AAAAAAAAAAAA",
                "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            ),
        ];
        for (code, public_id, secret) in cases {
            assert_eq!(
                parse(&signed(code, public_id, secret)),
                Ok(ParsedKey {
                    type_code: code,
                    public_id,
                    secret,
                }),
                "{code}"
            );
        }
        assert_eq!(
            parse(&format!("lk_ucd_{ID}_{SECRET}AAAAAA")),
            Err(KeyFormatError::Checksum)
        );
    }

    #[test]
    fn keys_of_11_and_12_character_type_codes_are_generated_and_parse() {
        assert_eq!(MAX_KEY_LEN, 67);
        for (code, len) in [("abcdefghijk", 66), ("abcdefghijkl", 67), ("ab", 57)] {
            let key = NewApiKey::generate(code);
            let token = key.token();
            assert_eq!(token.len(), len, "{code}");
            let parsed = parse(&token).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(parsed.type_code, code);
            assert_eq!(
                parse_key_id(&key.key_id()),
                Ok(ParsedKeyId {
                    type_code: code,
                    public_id: &key.public_id,
                })
            );
        }
        assert!(!is_valid_type_code("abcdefghijklm"));
        let too_long = signed("abcdefghijklm", ID, SECRET);
        assert_eq!(too_long.len(), 68);
        assert_eq!(parse(&too_long), Err(KeyFormatError::Shape));
    }

    #[test]
    fn key_ids_of_the_wrong_shape_are_refused() {
        for key_id in [
            "lk_ucd_4fQ9xY2mK8p",
            "lk_ucd_4fQ9xY2mK8pRs",
            "lk_ucd_4fQ9xY2mK8p-",
            "lk_u_4fQ9xY2mK8pR",
            "lk_abcdefghijklm_4fQ9xY2mK8pR",
            "lk_UCD_4fQ9xY2mK8pR",
            "LK_ucd_4fQ9xY2mK8pR",
            "lk-ucd_4fQ9xY2mK8pR",
            "lk_ucd",
            "",
        ] {
            assert_eq!(parse_key_id(key_id), Err(KeyFormatError::Shape), "{key_id}");
        }
        assert_eq!(
            parse_key_id("lk_abcdefghijkl_4fQ9xY2mK8pR"),
            Ok(ParsedKeyId {
                type_code: "abcdefghijkl",
                public_id: ID,
            })
        );
    }

    #[test]
    fn the_mask_shows_prefix_and_last_four_only() {
        let key = NewApiKey::generate("ucd");
        let mask = masked("ucd", &key.last_four());
        assert_eq!(mask, format!("lk_ucd_…{}", key.last_four()));
        assert!(!mask.contains(&key.secret));
        assert!(!mask.contains(&key.public_id));
    }
}
