//! Finding keys in the list: what the search box and the filters mean, the
//! orders the list can be read in, and the cursor that says where a page
//! starts. No SQL here: `db::key_search` turns these into queries.

use chrono::{Duration, NaiveDateTime};

use crate::domain::api_key;
use crate::domain::cursor::{self, Direction, Value};
use crate::domain::key_type::Catalogue;

/// Keys on one page of the list.
pub const PAGE_SIZE: usize = 20;
/// Longest text the search box takes.
pub const MAX_SEARCH_LEN: usize = 200;
/// Keys that stop working within this long are "expiring soon".
pub use crate::domain::key_state::EXPIRING_WITHIN;

/// What one list request asks for, read from its query string.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRequest {
    pub search: Option<Search>,
    /// Every condition must hold.
    pub conditions: Vec<Condition>,
    /// The filters as chosen, by parameter name, for the form and the links.
    pub chosen: Vec<(&'static str, String)>,
    pub sort: Sort,
    pub from: Option<(Direction, Position)>,
}

/// The search box's text, and every way it could name a key.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// As typed (trimmed); never a whole key.
    pub text: String,
    /// ASCII letters lower-cased (as both databases fold them), for "contains".
    pub folded: String,
    /// The key this text names, if it is a Key ID or a visible prefix.
    pub key_id: Option<String>,
    /// The text, if it could be the last four characters of a key.
    pub last_four: Option<String>,
}

/// One thing every listed key must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    TypeIs(String),
    CreatedBy(String),
    /// Never expires, or expires after this instant.
    ExpiresAfter(NaiveDateTime),
    /// Expires after `after` and at or before `until`.
    ExpiresBetween {
        after: NaiveDateTime,
        until: NaiveDateTime,
    },
    /// Expired at or before this instant.
    ExpiredBy(NaiveDateTime),
    NeverUsed,
    /// Last used before this instant, or never used and created before it.
    UnusedSince(NaiveDateTime),
    /// The key is switched off, or its type is one of these.
    Disabled(Vec<String>),
    /// Neither the key nor its type (one of these) is switched off.
    NotDisabled(Vec<String>),
    /// Rolled to a replacement (in its grace period or past it).
    Rolled,
    NotRolled,
    /// Reported leaked by a secret scanner.
    Leaked,
}

/// What the filters need to know to read their values.
pub struct FilterContext<'a> {
    pub now: NaiveDateTime,
    pub catalogue: &'a Catalogue,
    /// Everyone who could have created a key: (user id, email).
    pub people: &'a [(String, String)],
}

/// One choice of a filter's select: its value and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// One filter of the key list. Adding a filter is one row in `FILTERS`.
pub struct Filter {
    /// Its name in the query string.
    pub param: &'static str,
    pub label: &'static str,
    /// The words for "no filter".
    pub any: &'static str,
    pub choices: fn(&FilterContext<'_>) -> Vec<Choice>,
    /// The conditions a value stands for; `None` when it is not one of the choices.
    pub read: fn(&str, &FilterContext<'_>) -> Option<Vec<Condition>>,
}

pub const FILTERS: &[Filter] = &[
    Filter {
        param: "type",
        label: "Type",
        any: "Any type",
        choices: type_choices,
        read: read_type,
    },
    Filter {
        param: "status",
        label: "Status",
        any: "Any status",
        choices: status_choices,
        read: read_status,
    },
    Filter {
        param: "creator",
        label: "Created by",
        any: "Anyone",
        choices: creator_choices,
        read: read_creator,
    },
    Filter {
        param: "used",
        label: "Last used",
        any: "Any time",
        choices: used_choices,
        read: read_used,
    },
];

fn choice(value: &str, label: &str) -> Choice {
    Choice {
        value: value.to_owned(),
        label: label.to_owned(),
    }
}

fn type_choices(cx: &FilterContext<'_>) -> Vec<Choice> {
    cx.catalogue
        .all()
        .iter()
        .map(|t| choice(&t.code, &t.name))
        .collect()
}

fn read_type(value: &str, cx: &FilterContext<'_>) -> Option<Vec<Condition>> {
    cx.catalogue
        .get(value)
        .map(|t| vec![Condition::TypeIs(t.code.clone())])
}

/// What a filter value stands for, given the request's context.
type Conditions = fn(&FilterContext<'_>) -> Vec<Condition>;

/// The status filter's choices: value, words, and the conditions that
/// mirror the list's badge (`key_state::Status::of`): switched off wins over
/// everything, then rolled, then expired, then expiring soon. "Leaked" is a
/// mark of its own, shown beside the badge.
const STATUSES: &[(&str, &str, Conditions)] = &[
    ("active", "Active", |cx| {
        working(cx, Condition::ExpiresAfter(cx.now + EXPIRING_WITHIN))
    }),
    ("expiring", "Expiring soon", |cx| {
        working(
            cx,
            Condition::ExpiresBetween {
                after: cx.now,
                until: cx.now + EXPIRING_WITHIN,
            },
        )
    }),
    ("expired", "Expired", |cx| {
        working(cx, Condition::ExpiredBy(cx.now))
    }),
    ("disabled", "Disabled", |cx| {
        vec![Condition::Disabled(disabled_types(cx))]
    }),
    ("rolled", "Rolled", |cx| {
        vec![
            Condition::Rolled,
            Condition::NotDisabled(disabled_types(cx)),
        ]
    }),
    ("leaked", "Leaked", |_| vec![Condition::Leaked]),
];

fn disabled_types(cx: &FilterContext<'_>) -> Vec<String> {
    cx.catalogue
        .all()
        .iter()
        .filter(|t| t.is_disabled(cx.now))
        .map(|t| t.code.clone())
        .collect()
}

/// Keys neither switched off nor rolled, that meet `expiry`.
fn working(cx: &FilterContext<'_>, expiry: Condition) -> Vec<Condition> {
    vec![
        Condition::NotDisabled(disabled_types(cx)),
        Condition::NotRolled,
        expiry,
    ]
}

fn status_choices(_: &FilterContext<'_>) -> Vec<Choice> {
    STATUSES.iter().map(|(v, l, _)| choice(v, l)).collect()
}

fn read_status(value: &str, cx: &FilterContext<'_>) -> Option<Vec<Condition>> {
    STATUSES
        .iter()
        .find(|(v, _, _)| *v == value)
        .map(|(_, _, conditions)| conditions(cx))
}

fn creator_choices(cx: &FilterContext<'_>) -> Vec<Choice> {
    cx.people
        .iter()
        .map(|(id, email)| choice(id, email))
        .collect()
}

fn read_creator(value: &str, cx: &FilterContext<'_>) -> Option<Vec<Condition>> {
    cx.people
        .iter()
        .find(|(id, _)| id == value)
        .map(|(id, _)| vec![Condition::CreatedBy(id.clone())])
}

const USED: &[(&str, &str, i64)] = &[
    ("never", "Never used", 0),
    ("30d", "Not in 30 days", 30),
    ("90d", "Not in 90 days", 90),
];

fn used_choices(_: &FilterContext<'_>) -> Vec<Choice> {
    USED.iter().map(|(v, l, _)| choice(v, l)).collect()
}

fn read_used(value: &str, cx: &FilterContext<'_>) -> Option<Vec<Condition>> {
    let (_, _, days) = USED.iter().find(|(v, _, _)| *v == value)?;
    Some(vec![if *days == 0 {
        Condition::NeverUsed
    } else {
        Condition::UnusedSince(cx.now - Duration::days(*days))
    }])
}

/// The orders the list can be read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Created,
    Expires,
    LastUsed,
    Name,
}

pub const SORTS: &[(SortKey, &str, &str)] = &[
    (SortKey::Created, "created", "Created"),
    (SortKey::Expires, "expires", "Expires"),
    (SortKey::LastUsed, "last_used", "Last used"),
    (SortKey::Name, "name", "Name"),
];

impl SortKey {
    pub fn param(self) -> &'static str {
        SORTS
            .iter()
            .find(|(k, _, _)| *k == self)
            .map_or("created", |(_, p, _)| p)
    }

    /// Where keys without a value (never expires, never used) stand:
    /// `Some(true)` after every value, `Some(false)` before, `None` when the
    /// value is never missing.
    pub fn missing_is_greatest(self) -> Option<bool> {
        match self {
            SortKey::Created | SortKey::Name => None,
            SortKey::Expires => Some(true),
            SortKey::LastUsed => Some(false),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            key: SortKey::Created,
            descending: true,
        }
    }
}

/// A key's place in one order: its sort value and its id (which breaks ties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub value: SortValue,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    /// `None`: the key has no value (never expires, never used).
    Time(Option<NaiveDateTime>),
    Text(String),
}

/// How a missing time is written in a cursor.
const NO_TIME: &str = "none";

impl Position {
    /// The page link's cursor that reads from here in `direction`.
    pub fn cursor(&self, direction: Direction) -> cursor::Cursor {
        let value = match &self.value {
            SortValue::Time(Some(at)) => Value::Int(at.and_utc().timestamp_micros()),
            SortValue::Time(None) => Value::Text(NO_TIME.to_owned()),
            SortValue::Text(text) => Value::Text(text.clone()),
        };
        cursor::Cursor {
            direction,
            values: vec![value, Value::Text(self.id.clone())],
        }
    }

    /// The position a cursor made by [`Position::cursor`] for the same order holds.
    pub fn from_cursor(cursor: &cursor::Cursor, key: SortKey) -> Option<Position> {
        let [value, Value::Text(id)] = cursor.values.as_slice() else {
            return None;
        };
        if !api_key::is_public_id(id) {
            return None;
        }
        let value = match (key, value) {
            (SortKey::Name, Value::Text(name)) => SortValue::Text(name.clone()),
            (SortKey::Created, Value::Int(micros)) => SortValue::Time(Some(time(*micros)?)),
            (SortKey::Expires | SortKey::LastUsed, Value::Int(micros)) => {
                SortValue::Time(Some(time(*micros)?))
            }
            (SortKey::Expires | SortKey::LastUsed, Value::Text(none)) if none == NO_TIME => {
                SortValue::Time(None)
            }
            _ => return None,
        };
        Some(Position {
            value,
            id: id.clone(),
        })
    }
}

fn time(micros: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp_micros(micros).map(|at| at.naive_utc())
}

/// How the search box's text is to be understood.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchText {
    Empty,
    /// A whole key was pasted: it is looked up by its hash, never shown again.
    WholeKey,
    Text(Search),
}

/// Reads the search box. A whole key is recognised by its shape and checksum.
pub fn read_search(text: &str) -> Result<SearchText, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(SearchText::Empty);
    }
    if text.chars().count() > MAX_SEARCH_LEN {
        return Err(format!(
            "Search for at most {MAX_SEARCH_LEN} characters: part of a name or an email, a Key ID or the last four characters of a key."
        ));
    }
    if text.chars().any(char::is_control) {
        return Err("The search text has a control character in it.".into());
    }
    if api_key::parse(text).is_ok() {
        return Ok(SearchText::WholeKey);
    }
    let key_id = if api_key::is_public_id(text) {
        Some(text.to_owned())
    } else {
        api_key::parse_key_id(text)
            .ok()
            .map(|k| k.public_id.to_owned())
    };
    let last_four = (text.len() == 4 && crate::domain::token::is_base62(text)).then(|| text.into());
    Ok(SearchText::Text(Search {
        text: text.to_owned(),
        folded: text.to_ascii_lowercase(),
        key_id,
        last_four,
    }))
}

/// The query-string parameters the list understands besides the filters.
pub const SEARCH_PARAM: &str = "q";
const OTHER_PARAMS: &[&str] = &["q", "sort", "dir", "cursor"];

/// Reads a list request from its query-string pairs. Errors are sentences for
/// the page; a whole key in `q` is refused here (it belongs in a form post,
/// never in an address).
pub fn read_request(
    pairs: &[(String, String)],
    cx: &FilterContext<'_>,
) -> Result<ListRequest, String> {
    let mut seen: Vec<&str> = Vec::new();
    for (name, _) in pairs {
        if name == "page" {
            // An address from before pages were reached by cursor.
            return Err(
                "The key list has no page numbers: start from the first page and follow Next."
                    .into(),
            );
        }
        let known =
            OTHER_PARAMS.contains(&name.as_str()) || FILTERS.iter().any(|f| f.param == name);
        if !known {
            return Err(format!(
                "The address has a parameter the key list does not know: “{}”.",
                shorten(name)
            ));
        }
        if seen.contains(&name.as_str()) {
            return Err(format!("The address gives “{name}” more than once."));
        }
        seen.push(name);
    }
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let search = match read_search(get(SEARCH_PARAM).unwrap_or(""))? {
        SearchText::Empty => None,
        SearchText::WholeKey => {
            return Err("A whole key cannot be looked up from an address. Paste it into the search box instead.".into());
        }
        SearchText::Text(search) => Some(search),
    };
    let mut conditions = Vec::new();
    let mut chosen = Vec::new();
    for filter in FILTERS {
        if let Some(value) = get(filter.param) {
            let read = (filter.read)(value, cx).ok_or_else(|| {
                format!(
                    "“{}” is not a choice of the {} filter.",
                    shorten(value),
                    filter.label
                )
            })?;
            conditions.extend(read);
            chosen.push((filter.param, value.to_owned()));
        }
    }
    let key = match get("sort") {
        None => SortKey::Created,
        Some(p) => SORTS
            .iter()
            .find(|(_, param, _)| *param == p)
            .map(|(k, _, _)| *k)
            .ok_or_else(|| format!("The list cannot be sorted by “{}”.", shorten(p)))?,
    };
    let descending = match get("dir") {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => {
            return Err(format!(
                "The sort direction must be “asc” or “desc”, not “{}”.",
                shorten(other)
            ));
        }
    };
    let from = match get("cursor") {
        None => None,
        Some(text) => {
            let cursor = cursor::Cursor::decode(text).map_err(|e| e.to_string())?;
            let position =
                Position::from_cursor(&cursor, key).ok_or_else(|| cursor::BadCursor.to_string())?;
            Some((cursor.direction, position))
        }
    };
    Ok(ListRequest {
        search,
        conditions,
        chosen,
        sort: Sort { key, descending },
        from,
    })
}

/// At most 40 characters of a value, for messages.
fn shorten(value: &str) -> String {
    if value.chars().count() > 40 {
        format!("{}…", value.chars().take(40).collect::<String>())
    } else {
        value.to_owned()
    }
}

impl ListRequest {
    /// The query string that asks for the same selection and order from the
    /// first page, with `extra` pairs appended (`cursor=…`).
    pub fn query_string(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if let Some(search) = &self.search {
            pairs.push((SEARCH_PARAM, &search.text));
        }
        for (param, value) in &self.chosen {
            pairs.push((param, value));
        }
        if self.sort != Sort::default() {
            pairs.push(("sort", self.sort.key.param()));
            pairs.push(("dir", if self.sort.descending { "desc" } else { "asc" }));
        }
        pairs.extend_from_slice(extra);
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_component(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    pub fn is_filtered(&self) -> bool {
        self.search.is_some() || !self.conditions.is_empty()
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::key_type::Catalogue;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn catalogue() -> Catalogue {
        Catalogue::parse(
            r#"
[[type]]
code = "ucd"
name = "UCD"
scheme = "bearer"

[[type]]
code = "webpush"
name = "Web Push"
scheme = "bearer"
disabled_from = "2025-10-15T00:00:00Z"
"#,
        )
        .unwrap()
    }

    fn people() -> Vec<(String, String)> {
        vec![("u1".to_owned(), "admin@example.com".to_owned())]
    }

    fn read(list: &[(&str, &str)]) -> Result<ListRequest, String> {
        let (catalogue, people) = (catalogue(), people());
        let cx = FilterContext {
            now: at("2026-11-26 12:00:00"),
            catalogue: &catalogue,
            people: &people,
        };
        read_request(&pairs(list), &cx)
    }

    #[test]
    fn each_filter_offers_its_choices() {
        let (catalogue, people) = (catalogue(), people());
        let cx = FilterContext {
            now: at("2026-11-26 12:00:00"),
            catalogue: &catalogue,
            people: &people,
        };
        type Offered = (
            &'static str,
            &'static str,
            &'static str,
            Vec<(String, String)>,
        );
        let offered: Vec<Offered> = FILTERS
            .iter()
            .map(|f| {
                let choices = (f.choices)(&cx)
                    .into_iter()
                    .map(|c| (c.value, c.label))
                    .collect();
                (f.param, f.label, f.any, choices)
            })
            .collect();
        let owned = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
                .collect()
        };
        assert_eq!(
            offered,
            vec![
                (
                    "type",
                    "Type",
                    "Any type",
                    owned(&[("ucd", "UCD"), ("webpush", "Web Push")])
                ),
                (
                    "status",
                    "Status",
                    "Any status",
                    owned(&[
                        ("active", "Active"),
                        ("expiring", "Expiring soon"),
                        ("expired", "Expired"),
                        ("disabled", "Disabled"),
                        ("rolled", "Rolled"),
                        ("leaked", "Leaked"),
                    ])
                ),
                (
                    "creator",
                    "Created by",
                    "Anyone",
                    owned(&[("u1", "admin@example.com")])
                ),
                (
                    "used",
                    "Last used",
                    "Any time",
                    owned(&[
                        ("never", "Never used"),
                        ("30d", "Not in 30 days"),
                        ("90d", "Not in 90 days")
                    ])
                ),
            ]
        );
        // Every offered choice reads back as a filter.
        for filter in FILTERS {
            for choice in (filter.choices)(&cx) {
                assert!(
                    (filter.read)(&choice.value, &cx).is_some(),
                    "{} {}",
                    filter.param,
                    choice.value
                );
            }
        }
    }

    #[test]
    fn long_values_are_cut_short_in_messages() {
        let forty = "t".repeat(40);
        assert_eq!(
            read(&[("type", &forty)]).unwrap_err(),
            format!("“{forty}” is not a choice of the Type filter.")
        );
        let long = format!("{forty}xyz");
        assert_eq!(
            read(&[("type", &long)]).unwrap_err(),
            format!("“{forty}…” is not a choice of the Type filter.")
        );
    }

    #[test]
    fn sorts_are_named_in_the_address() {
        let table = [
            (SortKey::Created, "created"),
            (SortKey::Expires, "expires"),
            (SortKey::LastUsed, "last_used"),
            (SortKey::Name, "name"),
        ];
        for (key, param) in table {
            assert_eq!(key.param(), param);
            let request = read(&[("sort", param), ("dir", "asc")]).unwrap();
            assert_eq!(
                request.sort,
                Sort {
                    key,
                    descending: false
                }
            );
        }
        assert_eq!(
            read(&[]).unwrap().sort,
            Sort {
                key: SortKey::Created,
                descending: true
            }
        );
        assert!(!read(&[("sort", "name")]).unwrap().is_filtered());
        assert!(read(&[("q", "x")]).unwrap().is_filtered());
        assert!(read(&[("type", "ucd")]).unwrap().is_filtered());
    }

    #[test]
    fn the_search_box_reads_ids_prefixes_last_fours_and_text() {
        let cases: &[(&str, Option<&str>, Option<&str>, &str)] = &[
            ("QdsLvr183cL0", Some("QdsLvr183cL0"), None, "qdslvr183cl0"),
            (
                "lk_twa_QdsLvr183cL0",
                Some("QdsLvr183cL0"),
                None,
                "lk_twa_qdslvr183cl0",
            ),
            ("a9Zx", None, Some("a9Zx"), "a9zx"),
            ("  Ops@Acme ", None, None, "ops@acme"),
            ("a9-x", None, None, "a9-x"),
            ("lk_TWA_QdsLvr183cL0", None, None, "lk_twa_qdslvr183cl0"),
        ];
        for (typed, key_id, last_four, folded) in cases {
            let SearchText::Text(search) = read_search(typed).unwrap() else {
                panic!("{typed} should be text");
            };
            assert_eq!(search.key_id.as_deref(), *key_id, "{typed}");
            assert_eq!(search.last_four.as_deref(), *last_four, "{typed}");
            assert_eq!(search.folded, *folded, "{typed}");
        }
        assert_eq!(read_search("   ").unwrap(), SearchText::Empty);
        assert!(matches!(
            read_search(&"x".repeat(200)),
            Ok(SearchText::Text(_))
        ));
        assert!(read_search(&"x".repeat(201)).is_err());
        assert!(read_search("a\u{1}b").is_err());
    }

    #[test]
    fn a_whole_key_is_recognised_and_never_kept() {
        let key = crate::domain::api_key::NewApiKey::generate("ucd").token();
        assert_eq!(read_search(&key).unwrap(), SearchText::WholeKey);
        let err = read(&[("q", &key)]).unwrap_err();
        assert!(!err.contains(&key));
        assert!(err.contains("search box"));
    }

    #[test]
    fn filters_read_their_choices_into_conditions() {
        let request = read(&[
            ("type", "ucd"),
            ("status", "expiring"),
            ("creator", "u1"),
            ("used", "30d"),
        ])
        .unwrap();
        assert_eq!(
            request.conditions,
            vec![
                Condition::TypeIs("ucd".into()),
                Condition::NotDisabled(vec!["webpush".into()]),
                Condition::NotRolled,
                Condition::ExpiresBetween {
                    after: at("2026-11-26 12:00:00"),
                    until: at("2026-12-03 12:00:00"),
                },
                Condition::CreatedBy("u1".into()),
                Condition::UnusedSince(at("2026-10-27 12:00:00")),
            ]
        );
        let table: &[(&str, &str, Vec<Condition>)] = &[
            (
                "status",
                "disabled",
                vec![Condition::Disabled(vec!["webpush".into()])],
            ),
            (
                "status",
                "expired",
                vec![
                    Condition::NotDisabled(vec!["webpush".into()]),
                    Condition::NotRolled,
                    Condition::ExpiredBy(at("2026-11-26 12:00:00")),
                ],
            ),
            (
                "status",
                "active",
                vec![
                    Condition::NotDisabled(vec!["webpush".into()]),
                    Condition::NotRolled,
                    Condition::ExpiresAfter(at("2026-12-03 12:00:00")),
                ],
            ),
            (
                "status",
                "rolled",
                vec![
                    Condition::Rolled,
                    Condition::NotDisabled(vec!["webpush".into()]),
                ],
            ),
            ("status", "leaked", vec![Condition::Leaked]),
            ("used", "never", vec![Condition::NeverUsed]),
            (
                "used",
                "90d",
                vec![Condition::UnusedSince(at("2026-08-28 12:00:00"))],
            ),
        ];
        for (param, value, expected) in table {
            assert_eq!(
                &read(&[(param, value)]).unwrap().conditions,
                expected,
                "{param}={value}"
            );
        }
    }

    #[test]
    fn bad_parameters_are_named_in_words() {
        let table: &[(&[(&str, &str)], &str)] = &[
            (
                &[("type", "nope")],
                "“nope” is not a choice of the Type filter.",
            ),
            (
                &[("status", "gone")],
                "“gone” is not a choice of the Status filter.",
            ),
            (
                &[("creator", "u2")],
                "“u2” is not a choice of the Created by filter.",
            ),
            (
                &[("sort", "colour")],
                "The list cannot be sorted by “colour”.",
            ),
            (
                &[("dir", "up")],
                "The sort direction must be “asc” or “desc”, not “up”.",
            ),
            (
                &[("page", "3")],
                "The key list has no page numbers: start from the first page and follow Next.",
            ),
            (
                &[("type", "ucd"), ("type", "tsms")],
                "The address gives “type” more than once.",
            ),
            (
                &[("after", "x")],
                "The address has a parameter the key list does not know: “after”.",
            ),
            (
                &[("cursor", "bm9wZQ")],
                "This page link is not one the console made, or it was cut short. Start again from the first page.",
            ),
            (
                // A cursor of the name order read in the created order.
                &[("cursor", "WyJhIiwiWmV0YSIsIlFkc0x2cjE4M2NMMCJd")],
                "This page link is not one the console made, or it was cut short. Start again from the first page.",
            ),
        ];
        for (query, message) in table {
            assert_eq!(read(query).unwrap_err(), *message, "{query:?}");
        }
    }

    #[test]
    fn positions_round_trip_and_belong_to_their_order() {
        let created = Position {
            value: SortValue::Time(Some(at("2026-11-26 10:00:00"))),
            id: "QdsLvr183cL0".into(),
        };
        let cursor = created.cursor(Direction::Before);
        assert_eq!(cursor.direction, Direction::Before);
        let back = cursor::Cursor::decode(&cursor.encode()).unwrap();
        assert_eq!(
            Position::from_cursor(&back, SortKey::Created),
            Some(created.clone())
        );
        assert_eq!(Position::from_cursor(&back, SortKey::Name), None);
        let never = Position {
            value: SortValue::Time(None),
            id: "QdsLvr183cL0".into(),
        };
        let cursor = never.cursor(Direction::After);
        assert_eq!(
            Position::from_cursor(&cursor, SortKey::Expires),
            Some(never.clone())
        );
        assert_eq!(
            Position::from_cursor(&cursor, SortKey::LastUsed),
            Some(never.clone())
        );
        let used = Position {
            value: SortValue::Time(Some(at("2026-11-20 08:30:00"))),
            id: "QdsLvr183cL0".into(),
        };
        let used_cursor = used.cursor(Direction::After);
        assert_eq!(
            Position::from_cursor(&used_cursor, SortKey::LastUsed),
            Some(used.clone())
        );
        assert_eq!(
            Position::from_cursor(&used_cursor, SortKey::Expires),
            Some(used)
        );
        // Only the word for "no value" stands for a missing time.
        let other = cursor::Cursor::after(vec![
            Value::Text("later".into()),
            Value::Text("QdsLvr183cL0".into()),
        ]);
        assert_eq!(Position::from_cursor(&other, SortKey::Expires), None);
        assert_eq!(Position::from_cursor(&cursor, SortKey::Created), None);
        let name = Position {
            value: SortValue::Text("a|b key".into()),
            id: "QdsLvr183cL0".into(),
        };
        let cursor = name.cursor(Direction::After);
        assert_eq!(Position::from_cursor(&cursor, SortKey::Name), Some(name));
        let table: &[Vec<Value>] = &[
            vec![Value::Int(1), Value::Text("short".into())],
            vec![Value::Int(1)],
            vec![
                Value::Text("later".into()),
                Value::Text("QdsLvr183cL0".into()),
            ],
            vec![Value::Int(i64::MAX), Value::Text("QdsLvr183cL0".into())],
            vec![Value::Int(1), Value::Int(2)],
        ];
        for values in table {
            let cursor = cursor::Cursor::after(values.clone());
            assert_eq!(
                Position::from_cursor(&cursor, SortKey::Created),
                None,
                "{values:?}"
            );
        }
    }

    #[test]
    fn the_query_string_keeps_the_selection_and_order() {
        let request = read(&[
            ("q", "ops@acme co"),
            ("status", "expired"),
            ("sort", "name"),
            ("dir", "asc"),
        ])
        .unwrap();
        assert_eq!(
            request.query_string(&[("cursor", "abc")]),
            "q=ops%40acme%20co&status=expired&sort=name&dir=asc&cursor=abc"
        );
        assert_eq!(read(&[]).unwrap().query_string(&[]), "");
        assert_eq!(SortKey::LastUsed.missing_is_greatest(), Some(false));
        assert_eq!(SortKey::Expires.missing_is_greatest(), Some(true));
    }
}
