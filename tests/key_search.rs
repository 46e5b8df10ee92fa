//! Finding keys in the list: the search box, the filters, the orders, keyset
//! pages and their edges, bad addresses, the pasted-key path and who sees what.

mod common;

use chrono::{Duration, NaiveDateTime};
use common::{Backend, Browser, TestApp, location};
use diesel::prelude::*;
use latchkey::db::keys::{KeyDetails, NewKeyRow, SeededKeyRow};
use latchkey::db::schema::{api_keys, audit_events, users};
use latchkey::domain::api_key::NewApiKey;
use latchkey::domain::crypto::{SecretBox, SecretHasher};
use latchkey::domain::key_type::Scheme;
use latchkey::domain::role::Role;
use reqwest::StatusCode;

both_backends!(
    every_search_field_finds_its_key,
    filters_narrow_the_list,
    every_order_reads_both_ways,
    pages_follow_each_other_without_gaps_or_repeats,
    every_order_pages_through_ties_and_missing_values,
    a_key_deleted_between_pages_leaves_no_gap,
    bad_addresses_say_what_is_wrong_and_link_back,
    a_pasted_key_goes_to_its_page_and_is_never_repeated,
    viewers_search_and_filter_but_open_no_key,
    the_visible_prefix_opens_the_key,
    counts_are_exact_when_small_and_capped_when_large,
    the_csv_is_the_selection_in_order_masked_and_defused,
    the_csv_streams_many_batches,
    a_refusal_today_is_counted_on_the_row_and_links_to_why,
);

const CATALOGUE: &str = r#"
[[type]]
code = "ucd"
name = "UCD"
scheme = "bearer"

[[type]]
code = "tsms"
name = "Transactional SMS"
scheme = "bearer"

[[type]]
code = "twa"
name = "Transactional WhatsApp"
scheme = "bearer"

[[type]]
code = "webpush"
name = "Web Push"
scheme = "bearer"
disabled_from = "2025-10-15T00:00:00Z"
"#;

/// A key written straight to the database, as the list reads it.
struct Spec {
    name: &'static str,
    contact: &'static str,
    type_code: &'static str,
    /// Days before now.
    created: i64,
    /// Days from now (negative: in the past).
    expires: Option<i64>,
    /// Days before now.
    used: Option<i64>,
    by_support: bool,
}

const KEYS: &[Spec] = &[
    Spec {
        name: "Checkout production",
        contact: "ops@acme.example",
        type_code: "ucd",
        created: 10,
        expires: None,
        used: Some(1),
        by_support: false,
    },
    Spec {
        name: "Billing sync",
        contact: "billing@globex.example",
        type_code: "tsms",
        created: 20,
        expires: Some(3),
        used: None,
        by_support: false,
    },
    Spec {
        name: "Old partner feed",
        contact: "partner@initech.example",
        type_code: "twa",
        created: 30,
        expires: Some(-1),
        used: Some(100),
        by_support: true,
    },
    Spec {
        name: "Web push legacy",
        contact: "ops@acme.example",
        type_code: "webpush",
        created: 50,
        expires: Some(400),
        used: Some(60),
        by_support: false,
    },
    Spec {
        name: "analytics export",
        contact: "data@acme.example",
        type_code: "twa",
        created: 40,
        expires: Some(60),
        used: Some(40),
        by_support: true,
    },
    Spec {
        name: "Zeta 50%_off",
        contact: "promo@hooli.example",
        type_code: "ucd",
        created: 5,
        expires: Some(200),
        used: Some(2),
        by_support: false,
    },
];

struct Fixture {
    app: TestApp,
    admin: Browser,
    /// Key ids by name.
    ids: Vec<(&'static str, String)>,
}

impl Fixture {
    fn id(&self, name: &str) -> &str {
        &self.ids.iter().find(|(n, _)| *n == name).unwrap().1
    }
}

/// Signs in as admin@example.com, a new Administrator.
async fn admin_of(app: &TestApp) -> Browser {
    app.add_user("admin@example.com", Role::Administrator).await;
    let admin = app.browser();
    let response = admin.login("admin@example.com", common::PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    admin
}

fn user_id(app: &TestApp, email: &str) -> String {
    users::table
        .filter(users::email.eq(email))
        .select(users::id)
        .first(&mut *app.conn())
        .unwrap()
}

fn row_for(spec: &Spec, creator: &str, now: NaiveDateTime) -> SeededKeyRow {
    let key = NewApiKey::generate(spec.type_code);
    let details = KeyDetails {
        name: spec.name.to_owned(),
        contact_email: spec.contact.to_owned(),
        allowed_ips: String::new(),
        created_by: Some(creator.to_owned()),
        created_at: now - Duration::days(spec.created),
        expires_at: spec.expires.map(|d| now + Duration::days(d)),
        rate_limit: None,
    };
    let row = NewKeyRow::new(
        &key,
        Scheme::Bearer,
        &SecretHasher::new(&[7; 32]),
        &SecretBox::new(&[9; 32]),
        details,
    );
    SeededKeyRow {
        last_used_at: spec.used.map(|d| now - Duration::days(d)),
        ..SeededKeyRow::of(row)
    }
}

async fn fixture(backend: Backend) -> Fixture {
    let app = TestApp::spawn_with_catalogue(backend, CATALOGUE).await;
    let admin = admin_of(&app).await;
    app.add_user("support@example.com", Role::Support).await;
    let admin_id = user_id(&app, "admin@example.com");
    let support_id = user_id(&app, "support@example.com");
    let now = latchkey::db::now();
    let rows: Vec<SeededKeyRow> = KEYS
        .iter()
        .map(|spec| {
            let creator = if spec.by_support {
                &support_id
            } else {
                &admin_id
            };
            row_for(spec, creator, now)
        })
        .collect();
    let ids = KEYS
        .iter()
        .zip(&rows)
        .map(|(spec, row)| (spec.name, row.key.id.clone()))
        .collect();
    latchkey::db::keys::insert_seeded(&mut app.conn(), &rows).unwrap();
    Fixture { app, admin, ids }
}

/// The names of the listed keys, in order.
fn names(html: &str) -> Vec<String> {
    html.split("<td data-label=\"Name and type\">")
        .skip(1)
        .map(|cell| {
            let cell = &cell[..cell.find("<span class=\"cell-sub\">").unwrap()];
            let mut text = String::new();
            let mut in_tag = false;
            for ch in cell.chars() {
                match ch {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            unescape(text.trim())
        })
        .collect()
}

/// The href of the link with this `rel` (or text), unescaped.
fn link(html: &str, rel: &str) -> Option<String> {
    let marker = format!("rel=\"{rel}\"");
    let at = html.find(&marker)?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    Some(unescape(&html[start..end]))
}

/// Undoes the HTML escaping of the few characters the pages escape.
fn unescape(text: &str) -> String {
    text.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#39;", "'")
        .replace("&#37;", "%")
}

async fn search(browser: &Browser, q: &str) -> reqwest::Response {
    browser
        .post("/settings/integrations/search", &[("q", q)])
        .await
}

/// Names listed at this address (as a signed-in browser).
async fn listed(browser: &Browser, query: &str) -> Vec<String> {
    let response = browser
        .get(&format!("/settings/integrations?{query}"))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    names(&response.text().await.unwrap())
}

async fn every_search_field_finds_its_key(backend: Backend) {
    let f = fixture(backend).await;
    let checkout = f.id("Checkout production").to_owned();
    let zeta_last_four: String = api_keys::table
        .find(f.id("Zeta 50%_off"))
        .select(api_keys::last_four)
        .first(&mut *f.app.conn())
        .unwrap();
    let table: Vec<(String, Vec<&str>)> = vec![
        // Name, contains, any case.
        ("PARTNER".into(), vec!["Old partner feed"]),
        ("sync".into(), vec!["Billing sync"]),
        // Contact email, in part.
        (
            "ops@acme".into(),
            vec!["Checkout production", "Web push legacy"],
        ),
        (
            "acme.example".into(),
            vec!["Checkout production", "analytics export", "Web push legacy"],
        ),
        // Creator email, in part.
        (
            "support@".into(),
            vec!["Old partner feed", "analytics export"],
        ),
        // Key ID and visible prefix.
        (checkout.clone(), vec!["Checkout production"]),
        (format!("lk_ucd_{checkout}"), vec!["Checkout production"]),
        // Last four.
        (zeta_last_four.clone(), vec!["Zeta 50%_off"]),
        // Wildcards are plain characters.
        ("50%_".into(), vec!["Zeta 50%_off"]),
        ("%".into(), vec!["Zeta 50%_off"]),
        ("nothing like it".into(), vec![]),
    ];
    for (q, expected) in &table {
        let response = search(&f.admin, q).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{q}");
        let to = location(&response);
        assert!(to.starts_with("/settings/integrations?q="), "{q}: {to}");
        let html = f.admin.html(&to).await;
        assert_eq!(names(&html), *expected, "search {q:?}");
        if expected.is_empty() {
            assert!(html.contains("No keys match"), "{q}");
            assert!(!html.contains("No API keys yet"), "{q}");
        }
    }
}

async fn filters_narrow_the_list(backend: Backend) {
    let f = fixture(backend).await;
    let support = user_id(&f.app, "support@example.com");
    let by_support = format!("creator={support}");
    let table: &[(&str, &[&str])] = &[
        ("type=ucd", &["Zeta 50%_off", "Checkout production"]),
        (
            "status=active",
            &["Zeta 50%_off", "Checkout production", "analytics export"],
        ),
        ("status=expiring", &["Billing sync"]),
        ("status=expired", &["Old partner feed"]),
        ("status=disabled", &["Web push legacy"]),
        (&by_support, &["Old partner feed", "analytics export"]),
        ("used=never", &["Billing sync"]),
        (
            "used=30d",
            &["Old partner feed", "analytics export", "Web push legacy"],
        ),
        ("used=90d", &["Old partner feed"]),
        ("type=twa&status=active", &["analytics export"]),
        (
            "q=acme&status=active",
            &["Checkout production", "analytics export"],
        ),
    ];
    for (query, expected) in table {
        assert_eq!(listed(&f.admin, query).await, *expected, "{query}");
    }
    // The form post keeps every filter in the address.
    let response = f
        .admin
        .post(
            "/settings/integrations/search",
            &[
                ("q", ""),
                ("type", "twa"),
                ("status", "active"),
                ("sort", "name"),
                ("dir", "asc"),
            ],
        )
        .await;
    assert_eq!(
        location(&response),
        "/settings/integrations?type=twa&status=active&sort=name&dir=asc"
    );
}

async fn every_order_reads_both_ways(backend: Backend) {
    let f = fixture(backend).await;
    let table: &[(&str, &[&str])] = &[
        (
            "",
            &[
                "Zeta 50%_off",
                "Checkout production",
                "Billing sync",
                "Old partner feed",
                "analytics export",
                "Web push legacy",
            ],
        ),
        (
            "sort=created&dir=asc",
            &[
                "Web push legacy",
                "analytics export",
                "Old partner feed",
                "Billing sync",
                "Checkout production",
                "Zeta 50%_off",
            ],
        ),
        // Never expires counts as the latest expiry.
        (
            "sort=expires&dir=asc",
            &[
                "Old partner feed",
                "Billing sync",
                "analytics export",
                "Zeta 50%_off",
                "Web push legacy",
                "Checkout production",
            ],
        ),
        (
            "sort=expires&dir=desc",
            &[
                "Checkout production",
                "Web push legacy",
                "Zeta 50%_off",
                "analytics export",
                "Billing sync",
                "Old partner feed",
            ],
        ),
        // Never used counts as the longest ago.
        (
            "sort=last_used&dir=desc",
            &[
                "Checkout production",
                "Zeta 50%_off",
                "analytics export",
                "Web push legacy",
                "Old partner feed",
                "Billing sync",
            ],
        ),
        (
            "sort=last_used&dir=asc",
            &[
                "Billing sync",
                "Old partner feed",
                "Web push legacy",
                "analytics export",
                "Zeta 50%_off",
                "Checkout production",
            ],
        ),
        // Byte order: capitals first, on both databases.
        (
            "sort=name&dir=asc",
            &[
                "Billing sync",
                "Checkout production",
                "Old partner feed",
                "Web push legacy",
                "Zeta 50%_off",
                "analytics export",
            ],
        ),
        (
            "sort=name&dir=desc",
            &[
                "analytics export",
                "Zeta 50%_off",
                "Web push legacy",
                "Old partner feed",
                "Checkout production",
                "Billing sync",
            ],
        ),
        // The few-candidates way sorts the same.
        (
            "q=e&sort=expires&dir=asc",
            &[
                "Old partner feed",
                "Billing sync",
                "analytics export",
                "Zeta 50%_off",
                "Web push legacy",
                "Checkout production",
            ],
        ),
        (
            "q=example&sort=expires&dir=desc",
            &[
                "Checkout production",
                "Web push legacy",
                "Zeta 50%_off",
                "analytics export",
                "Billing sync",
                "Old partner feed",
            ],
        ),
        (
            "q=example&sort=last_used&dir=asc",
            &[
                "Billing sync",
                "Old partner feed",
                "Web push legacy",
                "analytics export",
                "Zeta 50%_off",
                "Checkout production",
            ],
        ),
    ];
    for (query, expected) in table {
        assert_eq!(listed(&f.admin, query).await, *expected, "{query}");
    }
}

/// 45 keys "Key 00" … "Key 44", one minute apart, except that keys 19 and
/// 20 (either side of the first page's end) share a timestamp.
async fn many_keys(backend: Backend) -> (TestApp, Browser) {
    let app = TestApp::spawn(backend).await;
    let admin = admin_of(&app).await;
    let creator = user_id(&app, "admin@example.com");
    let now = latchkey::db::now();
    let rows: Vec<SeededKeyRow> = (0..45)
        .map(|i| {
            let name: &'static str = Box::leak(format!("Key {i:02}").into_boxed_str());
            let spec = Spec {
                name,
                contact: "many@example.com",
                type_code: "ucd",
                created: 0,
                expires: None,
                used: None,
                by_support: false,
            };
            let mut row = row_for(&spec, &creator, now);
            // Expiry and last use repeat (ties) and are often missing.
            row.key.expires_at = (i % 3 != 0).then(|| now + Duration::days(i64::from(i % 7) + 1));
            row.last_used_at = (i % 4 != 0).then(|| now - Duration::hours(i64::from(i % 5) + 1));
            let minutes = if i == 20 { 19 } else { i };
            row.key.created_at = now - Duration::days(1) + Duration::minutes(i64::from(minutes));
            row
        })
        .collect();
    latchkey::db::keys::insert_seeded(&mut app.conn(), &rows).unwrap();
    (app, admin)
}

fn key_names(range: std::ops::RangeInclusive<i32>, reverse: bool) -> Vec<String> {
    let mut names: Vec<String> = range.map(|i| format!("Key {i:02}")).collect();
    if reverse {
        names.reverse();
    }
    names
}

async fn pages_follow_each_other_without_gaps_or_repeats(backend: Backend) {
    let (_app, admin) = many_keys(backend).await;
    let first = admin
        .html("/settings/integrations?sort=created&dir=asc")
        .await;
    let page1 = names(&first);
    assert_eq!(page1.len(), 20);
    assert!(
        link(&first, "prev").is_none(),
        "no Previous on the first page"
    );
    assert!(first.contains("45 keys"));
    let second = admin.html(&link(&first, "next").unwrap()).await;
    let page2 = names(&second);
    let third = admin.html(&link(&second, "next").unwrap()).await;
    let page3 = names(&third);
    assert!(link(&third, "next").is_none(), "no Next on the last page");
    assert_eq!(page3.len(), 5);
    let mut all = [page1.clone(), page2.clone(), page3].concat();
    // Keys 19 and 20 share a time: the id decides which comes first.
    all.sort();
    assert_eq!(all, key_names(0..=44, false));
    // Previous from the third page is the second; from the second, the first.
    let back = admin.html(&link(&third, "prev").unwrap()).await;
    assert_eq!(names(&back), page2);
    let back = admin.html(&link(&back, "prev").unwrap()).await;
    assert_eq!(names(&back), page1);
    // Newest first by default.
    let newest = admin.html("/settings/integrations").await;
    assert_eq!(names(&newest)[..3], ["Key 44", "Key 43", "Key 42"]);
    let last_page = admin
        .html(&link(&admin.html(&link(&newest, "next").unwrap()).await, "next").unwrap())
        .await;
    assert_eq!(names(&last_page), key_names(0..=4, true));
    // "First" goes back to the start.
    assert!(last_page.contains(">First</a>"));
}

/// Follows Next from the first page to the last, then Previous back, and
/// returns the names in order (checking that Previous retraces the pages).
async fn walk_pages(admin: &Browser, query: &str) -> Vec<String> {
    let mut pages = vec![admin.html(&format!("/settings/integrations?{query}")).await];
    while let Some(next) = link(pages.last().unwrap(), "next") {
        pages.push(admin.html(&next).await);
        assert!(pages.len() < 10, "{query}: the pages end");
    }
    let mut back = pages.last().unwrap().clone();
    for page in pages.iter().rev().skip(1) {
        back = admin.html(&link(&back, "prev").unwrap()).await;
        assert_eq!(names(&back), names(page), "{query}: Previous retraces");
    }
    assert!(link(&back, "prev").is_none());
    pages.iter().flat_map(|p| names(p)).collect()
}

async fn every_order_pages_through_ties_and_missing_values(backend: Backend) {
    let (app, admin) = many_keys(backend).await;
    type Placed = (
        String,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    );
    let rows: Vec<Placed> = api_keys::table
        .select((
            api_keys::id,
            api_keys::name,
            api_keys::created_at,
            api_keys::expires_at,
            api_keys::last_used_at,
        ))
        .load(&mut *app.conn())
        .unwrap();
    // The orders, written out: a missing expiry is the latest, a missing last
    // use the earliest; ties go by Key ID.
    let ordered = |key: &dyn Fn(&Placed) -> (i32, Option<NaiveDateTime>), descending: bool| {
        let mut rows = rows.clone();
        rows.sort_by(|a, b| key(a).cmp(&key(b)).then(a.0.cmp(&b.0)));
        if descending {
            rows.reverse();
        }
        rows.into_iter().map(|r| r.1).collect::<Vec<_>>()
    };
    let by_created = |r: &Placed| (0, Some(r.2));
    let by_expiry = |r: &Placed| (i32::from(r.3.is_none()), r.3);
    let by_use = |r: &Placed| (i32::from(r.4.is_some()), r.4);
    let table: Vec<(&str, Vec<String>)> = vec![
        ("sort=created&dir=asc", ordered(&by_created, false)),
        ("q=many&sort=created&dir=asc", ordered(&by_created, false)),
        ("sort=expires&dir=asc", ordered(&by_expiry, false)),
        ("sort=expires&dir=desc", ordered(&by_expiry, true)),
        ("q=many&sort=expires&dir=asc", ordered(&by_expiry, false)),
        ("q=many&sort=expires&dir=desc", ordered(&by_expiry, true)),
        ("sort=last_used&dir=asc", ordered(&by_use, false)),
        ("sort=last_used&dir=desc", ordered(&by_use, true)),
        ("q=many&sort=last_used&dir=asc", ordered(&by_use, false)),
        ("q=many&sort=last_used&dir=desc", ordered(&by_use, true)),
    ];
    for (query, expected) in table {
        assert_eq!(walk_pages(&admin, query).await, expected, "{query}");
    }
}

async fn a_key_deleted_between_pages_leaves_no_gap(backend: Backend) {
    let (app, admin) = many_keys(backend).await;
    let first = admin
        .html("/settings/integrations?sort=created&dir=asc")
        .await;
    let next = link(&first, "next").unwrap();
    // The last key of page one (the cursor's own key) and the first of page two go.
    for name in [names(&first)[19].clone(), "Key 21".to_owned()] {
        let id: String = api_keys::table
            .filter(api_keys::name.eq(&name))
            .select(api_keys::id)
            .first(&mut *app.conn())
            .unwrap();
        let response = admin
            .post(&format!("/settings/integrations/keys/{id}/delete"), &[])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let second = names(&admin.html(&next).await);
    let page1 = names(&first);
    let expected_first = if page1[19] == "Key 19" {
        "Key 20"
    } else {
        "Key 19"
    };
    assert_eq!(second[0], expected_first);
    assert!(!second.contains(&"Key 21".to_owned()));
    assert_eq!(second.len(), 20);
}

async fn bad_addresses_say_what_is_wrong_and_link_back(backend: Backend) {
    let f = fixture(backend).await;
    let table: &[(&str, &str)] = &[
        (
            "cursor=not-a-cursor",
            "This page link is not one the console made",
        ),
        (
            "page=40000",
            "The key list has no page numbers: start from the first page and follow Next.",
        ),
        ("sort=colour", "The list cannot be sorted by “colour”."),
        (
            "status=sleeping",
            "“sleeping” is not a choice of the Status filter.",
        ),
        (
            "type=ucd&type=tsms",
            "The address gives “type” more than once.",
        ),
    ];
    for (query, message) in table {
        let response = f
            .admin
            .get(&format!("/settings/integrations?{query}"))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{query}: {html}");
        assert!(!html.contains("No API keys yet"), "{query}");
        assert!(!html.contains("deserialize"), "{query}");
    }
    let html = f
        .admin
        .html("/settings/integrations?cursor=not-a-cursor")
        .await;
    assert!(html.contains("href=\"/settings/integrations\">Show all keys"));
    // A cursor past the last key.
    let zeta = latchkey::domain::key_search::Position {
        value: latchkey::domain::key_search::SortValue::Time(Some(
            latchkey::db::now() + Duration::days(1),
        )),
        id: f.id("Zeta 50%_off").to_owned(),
    };
    let beyond = f
        .admin
        .get(&format!(
            "/settings/integrations?sort=created&dir=asc&cursor={}",
            zeta.cursor(latchkey::domain::cursor::Direction::After)
                .encode()
        ))
        .await;
    assert_eq!(beyond.status(), StatusCode::OK);
    let html = beyond.text().await.unwrap();
    assert!(html.contains("No more keys here"), "{html}");
    assert!(html.contains("Go to the first page"));
    assert!(!html.contains("No API keys yet"));
}

async fn a_pasted_key_goes_to_its_page_and_is_never_repeated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let token = admin.generate_token("tsms", "Pasted key").await;
    let id = latchkey::domain::api_key::parse(&token)
        .unwrap()
        .public_id
        .to_owned();
    let response = search(&admin, &format!("  {token} ")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/settings/integrations/keys/{id}")
    );
    let page = admin.html(&location(&response)).await;
    assert!(page.contains("Pasted key"));
    assert!(!page.contains(&token));

    // A well-formed key that is not (or no longer) one of ours.
    let stranger = NewApiKey::generate("tsms").token();
    let response = search(&admin, &stranger).await;
    assert_eq!(location(&response), "/settings/integrations");
    let page = admin.html("/settings/integrations").await;
    assert!(page.contains("No key matches the key you pasted"));
    assert!(!page.contains(&stranger));
    // Never in an address either: one typed there is refused without echo.
    let response = admin
        .get(&format!("/settings/integrations?q={token}"))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!response.text().await.unwrap().contains(&token));

    let details: Vec<String> = audit_events::table
        .select(audit_events::detail)
        .load(&mut *app.conn())
        .unwrap();
    assert!(details.iter().all(|d| !d.contains(&token[20..])));
}

async fn viewers_search_and_filter_but_open_no_key(backend: Backend) {
    let f = fixture(backend).await;
    let viewer = f.app.signed_in(Role::Viewer).await;
    let html = viewer
        .html("/settings/integrations?q=acme&status=active")
        .await;
    assert_eq!(names(&html), ["Checkout production", "analytics export"]);
    assert!(html.contains("id=\"q\""), "the search box");
    assert!(html.contains("id=\"filter-status\""), "the filters");
    assert!(
        common::links(&html, "/settings/integrations/keys/").is_empty(),
        "no key links"
    );
    assert!(
        html.contains(f.id("Checkout production")),
        "the Key ID is shown"
    );
    // Support opens keys.
    let support = f.app.signed_in(Role::Support).await;
    let html = support
        .html("/settings/integrations?q=acme&status=active")
        .await;
    assert_eq!(
        common::links(&html, "/settings/integrations/keys/"),
        [
            format!(
                "/settings/integrations/keys/{}",
                f.id("Checkout production")
            ),
            format!("/settings/integrations/keys/{}", f.id("analytics export")),
        ]
    );
    // A Viewer who pastes a whole key sees it in the list, not its page.
    let token = f.admin.generate_token("ucd", "Viewer's key").await;
    let id = latchkey::domain::api_key::parse(&token)
        .unwrap()
        .public_id
        .to_owned();
    let response = search(&viewer, &token).await;
    assert_eq!(
        location(&response),
        format!("/settings/integrations?q={id}")
    );
    assert_eq!(
        names(&viewer.html(&location(&response)).await),
        ["Viewer's key"]
    );
}

async fn the_visible_prefix_opens_the_key(backend: Backend) {
    let f = fixture(backend).await;
    let id = f.id("Checkout production");
    for path in [
        format!("/settings/integrations/keys/{id}"),
        format!("/settings/integrations/keys/lk_ucd_{id}"),
    ] {
        let response = f.admin.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Checkout production")
        );
    }
    let wrong_type = f
        .admin
        .get(&format!("/settings/integrations/keys/lk_tsms_{id}"))
        .await;
    assert_eq!(wrong_type.status(), StatusCode::NOT_FOUND);
}

async fn counts_are_exact_when_small_and_capped_when_large(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = admin_of(&app).await;
    let creator = user_id(&app, "admin@example.com");
    let now = latchkey::db::now();
    let spec = |type_code| Spec {
        name: "Bulk",
        contact: "bulk@example.com",
        type_code,
        created: 1,
        expires: None,
        used: None,
        by_support: false,
    };
    let rows: Vec<SeededKeyRow> = (0..10_050)
        .map(|i| row_for(&spec(if i < 2_100 { "tsms" } else { "ucd" }), &creator, now))
        .collect();
    for chunk in rows.chunks(500) {
        latchkey::db::keys::insert_seeded(&mut app.conn(), chunk).unwrap();
    }
    let table: &[(&str, &str)] = &[
        ("", "10,000+ keys"),
        ("type=tsms", "1,000+ keys"),
        ("q=bulk", "1,000+ keys"),
        ("type=mobile", "0 keys"),
    ];
    for (query, count) in table {
        let html = admin.html(&format!("/settings/integrations?{query}")).await;
        if *count == "0 keys" {
            assert!(html.contains("No keys match"), "{query}");
        } else {
            assert!(html.contains(count), "{query}: {count}");
        }
    }
    let few = admin
        .html(&format!("/settings/integrations?q={}", "bulk@example"))
        .await;
    assert!(few.contains("1,000+ keys"));
}

async fn csv(browser: &Browser, query: &str) -> (StatusCode, String, String) {
    let response = browser
        .get(&format!("/settings/integrations/keys.csv?{query}"))
        .await;
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

async fn the_csv_is_the_selection_in_order_masked_and_defused(backend: Backend) {
    let f = fixture(backend).await;
    // A name a spreadsheet would run as a formula.
    let spec = Spec {
        name: "=HYPERLINK(\"http://x\")",
        contact: "formula@acme.example",
        type_code: "ucd",
        created: 1,
        expires: None,
        used: None,
        by_support: false,
    };
    let admin_id = user_id(&f.app, "admin@example.com");
    let row = row_for(&spec, &admin_id, latchkey::db::now());
    let formula_id = row.key.id.clone();
    latchkey::db::keys::insert_seeded(&mut f.app.conn(), &[row]).unwrap();

    let (status, kind, body) = csv(&f.admin, "q=acme&sort=name&dir=asc").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "text/csv; charset=utf-8");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "key_id,masked_key,name,type,contact_email,created_by,created_utc,expires_utc,last_used_utc,last_used_ip,trusted_ips,rate_limit_per_minute,status"
    );
    let names: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split("\",\"").nth(2).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "'=HYPERLINK(\"\"http://x\"\")",
            "Checkout production",
            "Web push legacy",
            "analytics export"
        ]
    );
    let checkout = lines
        .iter()
        .find(|l| l.contains("Checkout production"))
        .unwrap();
    let id = f.id("Checkout production");
    assert!(
        checkout.starts_with(&format!("\"{id}\",\"lk_ucd_…")),
        "{checkout}"
    );
    assert!(checkout.contains("\"ops@acme.example\",\"admin@example.com\""));
    assert!(checkout.ends_with("\"Active\""));
    assert!(body.contains(&formula_id));
    // Nothing secret: the stored hash is in no cell.
    let hash: Vec<u8> = api_keys::table
        .find(id)
        .select(api_keys::secret_hash)
        .first(&mut *f.app.conn())
        .unwrap();
    assert!(!body.contains(&hex::encode(&hash)));

    // Who may export, and a bad address.
    let support = f.app.signed_in(Role::Support).await;
    assert_eq!(csv(&support, "status=expired").await.0, StatusCode::OK);
    assert!(
        csv(&support, "status=expired")
            .await
            .2
            .contains("Old partner feed")
    );
    let viewer = f.app.signed_in(Role::Viewer).await;
    assert_eq!(csv(&viewer, "").await.0, StatusCode::FORBIDDEN);
    let (status, _, body) = csv(&f.admin, "sort=colour").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("The list cannot be sorted by “colour”."));
    // The list links to the export of what it shows; Viewers get no link.
    let list = f.admin.html("/settings/integrations?status=expired").await;
    assert!(list.contains("href=\"/settings/integrations/keys.csv?status=expired\""));
    assert!(
        !viewer
            .html("/settings/integrations")
            .await
            .contains("keys.csv")
    );
}

async fn the_csv_streams_many_batches(backend: Backend) {
    let (app, admin) = many_keys(backend).await;
    let creator = user_id(&app, "admin@example.com");
    let now = latchkey::db::now();
    let rows: Vec<SeededKeyRow> = (0..2_455)
        .map(|_| {
            let spec = Spec {
                name: "Bulk",
                contact: "bulk@example.com",
                type_code: "tsms",
                created: 2,
                expires: None,
                used: None,
                by_support: false,
            };
            row_for(&spec, &creator, now)
        })
        .collect();
    for chunk in rows.chunks(500) {
        latchkey::db::keys::insert_seeded(&mut app.conn(), chunk).unwrap();
    }
    // 2,500 keys in three batches of the walk, and 45 through candidates.
    let (_, _, body) = csv(&admin, "").await;
    let ids: Vec<&str> = body.lines().skip(1).map(|l| &l[1..13]).collect();
    assert_eq!(ids.len(), 2_500);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 2_500, "no key twice");
    let (_, _, many) = csv(&admin, "q=many@example&sort=created&dir=asc").await;
    let names: Vec<String> = many
        .lines()
        .skip(1)
        .map(|l| l.split("\",\"").nth(2).unwrap().to_owned())
        .collect();
    // In time order; keys 19 and 20 share a time, so their ids decide.
    let expected = key_names(0..=44, false);
    assert_eq!(names[..19], expected[..19]);
    assert_eq!(names[21..], expected[21..]);
    let mut tied = [names[19].clone(), names[20].clone()];
    tied.sort();
    assert_eq!(tied, ["Key 19", "Key 20"]);
}

async fn a_refusal_today_is_counted_on_the_row_and_links_to_why(backend: Backend) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    let admin = app.signed_in(Role::Administrator).await;
    let (_, html) = admin.generate("ucd", "Office only", "10.0.0.0/8").await;
    let token = common::input_value(&html, "revealed-key").unwrap();
    let id = latchkey::domain::api_key::parse(&token)
        .unwrap()
        .public_id
        .to_owned();
    for _ in 0..3 {
        let (_, answer) = app
            .verify(serde_json::json!({ "key": token, "ip": "203.0.113.77" }))
            .await;
        assert_eq!(answer["code"], "IP_NOT_ALLOWED");
    }
    let link = format!(
        "href=\"/settings/integrations/keys/{id}?outcome=refused#requests\">3 refused today</a>"
    );
    let support = app.signed_in(Role::Support).await;
    let mut list = String::new();
    for _ in 0..100 {
        list = support.html("/settings/integrations").await;
        if list.contains(&link) {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(list.contains(&link), "{list}");
    let page = support
        .html(&format!("/settings/integrations/keys/{id}?outcome=refused"))
        .await;
    assert!(page.contains("203.0.113.77 is not in the trusted IPs"));
    // A Viewer reads the count without a way into the key.
    let viewer = app.signed_in(Role::Viewer).await;
    let list = viewer.html("/settings/integrations").await;
    assert!(list.contains("3 refused today"));
    assert!(!list.contains("outcome=refused"));
}
