//! The audit log page and its CSV export.

mod common;

use chrono::NaiveDateTime;
use common::{Backend, Browser, PASSWORD, TestApp, input_value, plans};
use latchkey::db::audit::{self, AuditFilter, NewAuditRow, Position, Towards};
use latchkey::domain::api_key;
use latchkey::domain::role::{Permission, Role};
use reqwest::StatusCode;

both_backends!(
    support_reads_every_event_and_filters_them,
    the_export_carries_the_same_selection_as_csv,
    viewers_cannot_see_the_audit_log,
    partial_filters_find_part_of_an_actor_or_a_key_in_any_case,
    actions_and_whole_utc_days_filter_and_times_read_as_utc,
    a_range_the_wrong_way_round_is_refused_in_words_and_the_form_kept,
    a_bad_cursor_is_refused_in_words_with_a_link_to_the_newest_events,
    newer_and_older_pages_neither_skip_nor_repeat_events,
    the_count_is_exact_to_ten_thousand_then_says_more,
    key_ids_link_to_the_key_only_for_roles_that_may_open_it,
    the_csv_streams_every_event_of_the_selection_newest_first,
    every_page_and_count_reads_an_index_in_order,
    sign_ins_are_recorded_with_the_real_peer_not_a_claimed_address,
    behind_a_trusted_proxy_sign_ins_are_recorded_with_the_forwarded_address,
    the_address_lock_falls_on_the_real_peer_whatever_it_claims,
);

async fn support_reads_every_event_and_filters_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    let kept = admin.generate_token("ucd", "Kept key").await;
    let gone = admin.generate_token("tsms", "Gone key").await;
    let gone_id = api_key::parse(&gone).unwrap().public_id.to_owned();
    admin
        .post(
            &format!("/settings/integrations/keys/{gone_id}/delete"),
            &[],
        )
        .await;
    app.browser()
        .login("nobody@example.com", "not the password")
        .await;
    let _ = kept;

    let support = app.signed_in(Role::Support).await;
    let list = support.html("/settings/integrations").await;
    assert!(
        list.contains("href=\"/audit\""),
        "Support sees the Audit log entry"
    );
    let page = support.html("/audit").await;
    for action in [
        "key.created",
        "key.deleted",
        "auth.login",
        "auth.login_failed",
    ] {
        assert!(page.contains(action), "{action} listed");
    }
    assert!(page.contains("nobody@example.com"));
    let table = &page[page.find("<tbody>").unwrap()..];
    assert!(
        table.find("key.deleted").unwrap() < table.find("key.created").unwrap(),
        "newest first"
    );

    let deleted = support.html("/audit?action=key.deleted").await;
    assert!(deleted.contains(&gone_id));
    assert!(!deleted.contains("key.created</code>"));
    let by_key = support.html(&format!("/audit?key={gone_id}")).await;
    assert_eq!(
        by_key.matches(r#"<code class="cell-sub">key."#).count(),
        2,
        "created and deleted"
    );
    let by_actor = support.html("/audit?actor=nobody@example.com").await;
    assert!(by_actor.contains("auth.login_failed") && !by_actor.contains("key.created</code>"));
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    assert!(
        support
            .html(&format!("/audit?from={tomorrow}"))
            .await
            .contains("No events")
    );

    let bad_date = support.get("/audit?from=yesterday").await;
    assert_eq!(bad_date.status(), StatusCode::BAD_REQUEST);
    assert!(bad_date.text().await.unwrap().contains("must be a date"));
    assert_eq!(
        support.get("/audit?action=drop+table").await.status(),
        StatusCode::BAD_REQUEST
    );
}

async fn the_export_carries_the_same_selection_as_csv(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    admin
        .generate_token("ucd", "=HYPERLINK(\"http://evil.example\")")
        .await;
    let response = admin.get("/audit.csv?action=key.created").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time_utc,actor,action,key_id,client_ip,detail");
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains("\"key.created\""));
    assert!(
        lines[1].contains("\"'=HYPERLINK(\"\"http://evil.example\"\")"),
        "formula defused: {}",
        lines[1]
    );
}

async fn viewers_cannot_see_the_audit_log(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let viewer = app.signed_in(Role::Viewer).await;
    assert!(
        !viewer
            .html("/settings/integrations")
            .await
            .contains("href=\"/audit\"")
    );
    assert_eq!(viewer.get("/audit").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        viewer.get("/audit.csv").await.status(),
        StatusCode::FORBIDDEN
    );
    // Nothing can change the log: it has no state-changing routes.
    for route in latchkey::web::routes::all_routes() {
        if route.path.starts_with("/audit") {
            assert_eq!(route.method, "get", "{}", route.path);
        }
    }
}

/// Signs in with this `X-Forwarded-For`, as any client may send it.
async fn sign_in_claiming(browser: &Browser, email: &str, password: &str, claimed: &str) -> u16 {
    let token = browser.csrf_token().await;
    browser
        .client
        .post(browser.url("/login"))
        .header("x-forwarded-for", claimed)
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// (action, client address) of the audit rows, newest first.
fn audited_addresses(app: &TestApp) -> Vec<(String, Option<String>)> {
    latchkey::db::audit::recent(&mut app.conn(), 1000)
        .unwrap()
        .into_iter()
        .map(|row| (row.action, row.client_ip))
        .collect()
}

async fn sign_ins_are_recorded_with_the_real_peer_not_a_claimed_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("ops@example.com", Role::Viewer).await;
    let browser = app.browser();
    let failed = sign_in_claiming(&browser, "ops@example.com", "wrong password", "203.0.113.9");
    assert_eq!(failed.await, 401);
    let signed_in = sign_in_claiming(&browser, "ops@example.com", PASSWORD, "203.0.113.9");
    assert_eq!(signed_in.await, 303);
    let local = Some("127.0.0.1".to_owned());
    assert_eq!(
        audited_addresses(&app),
        vec![
            ("auth.login".to_owned(), local.clone()),
            ("auth.login_failed".to_owned(), local),
        ]
    );
}

async fn behind_a_trusted_proxy_sign_ins_are_recorded_with_the_forwarded_address(backend: Backend) {
    let app = TestApp::spawn_trusting(backend, "127.0.0.1").await;
    app.add_user("ops@example.com", Role::Viewer).await;
    let browser = app.browser();
    let failed = sign_in_claiming(
        &browser,
        "ops@example.com",
        "wrong password",
        "198.51.100.4",
    );
    assert_eq!(failed.await, 401);
    let signed_in = sign_in_claiming(&browser, "ops@example.com", PASSWORD, "203.0.113.9");
    assert_eq!(signed_in.await, 303);
    assert_eq!(
        audited_addresses(&app),
        vec![
            ("auth.login".to_owned(), Some("203.0.113.9".to_owned())),
            (
                "auth.login_failed".to_owned(),
                Some("198.51.100.4".to_owned())
            ),
        ]
    );
}

async fn the_address_lock_falls_on_the_real_peer_whatever_it_claims(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    // A different account and a different claimed address each time: only the
    // real peer is common to them all, so only its lock can trip.
    let mut locked = None;
    for n in 1..=60 {
        let email = format!("guess{n}@example.com");
        let claimed = format!("203.0.113.{n}");
        sign_in_claiming(&browser, &email, "wrong password", &claimed).await;
        let rows = latchkey::db::audit::recent(&mut app.conn(), 1000).unwrap();
        if let Some(lock) = rows
            .into_iter()
            .find(|r| r.action == "auth.lockout" && r.detail.contains("address"))
        {
            locked = Some(lock);
            break;
        }
    }
    let lock = locked.expect("repeated failures from one peer lock its address");
    assert_eq!(lock.client_ip.as_deref(), Some("127.0.0.1"));
    for (action, address) in audited_addresses(&app) {
        assert_eq!(address.as_deref(), Some("127.0.0.1"), "{action}");
    }
}

/// `2026-11-20 09:30` or `2026-11-20 09:30:00.5`, UTC.
fn time(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .unwrap_or_else(|_| panic!("a time: {text}"))
}

/// Event `n` (its detail reads "event n"), written straight to the database.
fn event(n: usize, at: NaiveDateTime, actor: &str, action: &str, key: Option<&str>) -> NewAuditRow {
    NewAuditRow {
        id: format!("{n:032x}"),
        at,
        actor_id: None,
        actor_email: Some(actor.to_owned()),
        action: action.to_owned(),
        key_id: key.map(str::to_owned),
        client_ip: Some("192.0.2.1".to_owned()),
        detail: format!("event {n}"),
    }
}

fn insert(app: &TestApp, rows: &[NewAuditRow]) {
    let mut conn = app.conn();
    for chunk in rows.chunks(1000) {
        audit::insert_rows(&mut conn, chunk).unwrap();
    }
}

/// The text of the table cells labelled `label`, top to bottom.
fn column(html: &str, label: &str) -> Vec<String> {
    html.split(&format!("<td data-label=\"{label}\""))
        .skip(1)
        .map(|rest| {
            let start = rest.find('>').unwrap() + 1;
            let end = rest.find("</td>").unwrap();
            let mut text = String::new();
            let mut in_tag = false;
            for c in rest[start..end].chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text
        })
        .collect()
}

/// The Detail column: which events the page lists, top to bottom.
fn shown(html: &str) -> Vec<String> {
    column(html, "Detail")
}

/// "event n" for each n, in this order.
fn events<I: IntoIterator<Item = usize>>(ns: I) -> Vec<String> {
    ns.into_iter().map(|n| format!("event {n}")).collect()
}

/// The address of the pager link with these words ("Newest", "Newer", "Older").
fn pager_link(html: &str, words: &str) -> Option<String> {
    let nav = &html[html.find("<nav class=\"pagination\"")?..];
    let nav = &nav[..nav.find("</nav>")?];
    nav.split("<a ")
        .find(|a| a.contains(&format!(">{words}</a>")))
        .map(|a| {
            let href = a.split("href=\"").nth(1).unwrap();
            let href = &href[..href.find('"').unwrap()];
            format!("/audit{}", href.replace("&#38;", "&").replace("&amp;", "&"))
        })
}

/// The pager's summary, e.g. "120 events".
fn summary(html: &str) -> String {
    let nav = html
        .find("<nav class=\"pagination\"")
        .map(|at| &html[at..])
        .or_else(|| html.find("table-foot").map(|at| &html[at..]))
        .expect("a pager");
    let text = nav.split("<span>").nth(1).or_else(|| nav.split('>').nth(1));
    let text = text.unwrap();
    text[..text.find('<').unwrap()].to_owned()
}

async fn partial_filters_find_part_of_an_actor_or_a_key_in_any_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    insert(
        &app,
        &[
            event(
                1,
                time("2026-11-20 09:00"),
                "admin@example.com",
                "key.created",
                Some("4fQ9xY2mK8pR"),
            ),
            event(
                2,
                time("2026-11-20 09:30"),
                "Ops.Admin@Example.com",
                "key.deleted",
                Some("4fQ9zzzzzzzz"),
            ),
            event(
                3,
                time("2026-11-20 10:00"),
                "support@example.com",
                "key.created",
                Some("AbCdEfGhIjKl"),
            ),
            event(
                4,
                time("2026-11-20 10:30"),
                "nobody@example.com",
                "auth.login_failed",
                None,
            ),
            event(
                5,
                time("2026-11-20 11:00"),
                "a_b%@example.com",
                "auth.login",
                None,
            ),
        ],
    );
    let support = app.signed_in(Role::Support).await;
    let expected: &[(&str, &[usize])] = &[
        ("/audit?actor=admin", &[2, 1]),
        ("/audit?actor=ADMIN", &[2, 1]),
        ("/audit?actor=ops.admin%40example", &[2]),
        ("/audit?actor=support%40", &[3]),
        // LIKE's wildcards are plain characters here.
        ("/audit?actor=_b%25", &[5]),
        ("/audit?actor=zzz", &[]),
        ("/audit?key=4fq9", &[2, 1]),
        ("/audit?key=4FQ9X", &[1]),
        ("/audit?key=4fQ9xY2mK8pR", &[1]),
        ("/audit?key=lk_ucd_AbCdEfGhIjKl", &[3]),
        ("/audit?key=abcdefghijkm", &[]),
        ("/audit?key=4fq9&actor=ops", &[2]),
        ("/audit?key=4fq9&action=key.created", &[1]),
    ];
    for (path, ns) in expected {
        let response = support.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let page = response.text().await.unwrap();
        assert_eq!(shown(&page), events(ns.iter().copied()), "{path}");
    }
    let refused = [
        (
            "/audit?key=4fQ9-x",
            "A Key ID has only letters and digits, such as 4fQ9xY2mK8pR.",
        ),
        (
            "/audit?key=4fQ9xY2mK8pRx",
            "A Key ID is 12 letters and digits; “4fQ9xY2mK8pRx” is longer.",
        ),
    ];
    for (path, message) in refused {
        let response = support.get(path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(response.text().await.unwrap().contains(message), "{path}");
    }
    let kept = support.html("/audit?actor=ADMIN&key=4fq9").await;
    assert_eq!(input_value(&kept, "actor").as_deref(), Some("ADMIN"));
    assert_eq!(input_value(&kept, "key").as_deref(), Some("4fq9"));
}

async fn actions_and_whole_utc_days_filter_and_times_read_as_utc(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    insert(
        &app,
        &[
            event(
                1,
                time("2026-11-09 23:59:59.999999"),
                "ada@example.test",
                "key.created",
                Some("aaaaaaaaaaa1"),
            ),
            event(
                2,
                time("2026-11-10 00:00"),
                "ada@example.test",
                "key.deleted",
                Some("aaaaaaaaaaa1"),
            ),
            event(
                3,
                time("2026-11-15 12:07"),
                "ada@example.test",
                "auth.logout",
                None,
            ),
            event(
                4,
                time("2026-11-20 23:59:59.999999"),
                "ada@example.test",
                "key.deleted",
                Some("aaaaaaaaaaa2"),
            ),
            event(
                5,
                time("2026-11-21 00:00"),
                "ada@example.test",
                "key.created",
                Some("aaaaaaaaaaa3"),
            ),
        ],
    );
    let support = app.signed_in(Role::Support).await;
    let expected: &[(&str, &[usize])] = &[
        ("/audit?from=2026-11-10&to=2026-11-20", &[4, 3, 2]),
        ("/audit?from=2026-11-10&to=2026-11-10", &[2]),
        ("/audit?to=2026-11-09", &[1]),
        ("/audit?from=2026-11-21&action=key.created", &[5]),
        ("/audit?action=key.deleted", &[4, 2]),
        ("/audit?action=key.deleted&from=2026-11-11", &[4]),
        ("/audit?from=2026-11-16&to=2026-11-19", &[]),
    ];
    for (path, ns) in expected {
        let page = support.html(path).await;
        assert_eq!(shown(&page), events(ns.iter().copied()), "{path}");
    }
    let page = support.html("/audit?action=auth.logout").await;
    assert!(page.contains("Times are UTC"));
    assert_eq!(column(&page, "Time"), vec!["2026-11-15 12:07 UTC"]);
    assert!(
        page.contains("datetime=\"2026-11-15T12:07:00Z\""),
        "machine-readable time"
    );
    assert!(!page.contains("data-local"), "no script rewrites the times");
}

async fn a_range_the_wrong_way_round_is_refused_in_words_and_the_form_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let support = app.signed_in(Role::Support).await;
    let response = support
        .get("/audit?actor=ada&action=key.created&from=2026-11-20&to=2026-11-10")
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(
            "“From” (2026-11-20) is after “To” (2026-11-10): no event can be in that range. \
             Put the earlier date in “From”."
        ),
        "{page}"
    );
    assert_eq!(input_value(&page, "from").as_deref(), Some("2026-11-20"));
    assert_eq!(input_value(&page, "to").as_deref(), Some("2026-11-10"));
    assert_eq!(input_value(&page, "actor").as_deref(), Some("ada"));
    assert!(page.contains("<option value=\"key.created\" selected>"));
    assert_eq!(
        support
            .get("/audit.csv?from=2026-11-20&to=2026-11-10")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}

async fn a_bad_cursor_is_refused_in_words_with_a_link_to_the_newest_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let support = app.signed_in(Role::Support).await;
    let bad = [
        "bm90IGEgY3Vyc29y",                        // base64url of: not a cursor
        "WyJhIiwieCIsMV0",                         // ["a","x",1]: the values the wrong way round
        "WyJhIiw5OTk5OTk5OTk5OTk5OTk5OTk5LCJ4Il0", // ["a",9999999999999999999,"x"]
        "%25%25%25",
    ];
    for cursor in bad {
        let response = support
            .get(&format!("/audit?action=key.created&cursor={cursor}"))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{cursor}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains(
                "This page link is not one the console made, or it was cut short. \
                 Start again from the first page."
            ),
            "{cursor}: {page}"
        );
        assert!(
            page.contains("<a href=\"/audit?action=key.created\">Go to the newest events</a>"),
            "{cursor}: {page}"
        );
        for leak in ["invalid", "expected", "base64", "json", "serde"] {
            assert!(!page.to_lowercase().contains(leak), "{cursor}: {leak}");
        }
    }
}

async fn newer_and_older_pages_neither_skip_nor_repeat_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let start = time("2026-11-01 00:00");
    let at = |n: usize| {
        // Events 70, 71 and 72 share a time, across the first page's end.
        let minute = if (70..=72).contains(&n) { 71 } else { n };
        start + chrono::Duration::minutes(minute as i64)
    };
    let rows: Vec<NewAuditRow> = (1..=120)
        .map(|n| event(n, at(n), "ada@example.test", "key.created", None))
        .collect();
    insert(&app, &rows);
    let support = app.signed_in(Role::Support).await;

    let first = support.html("/audit?action=key.created").await;
    assert_eq!(shown(&first), events((71..=120).rev()));
    assert_eq!(summary(&first), "120 events");
    assert_eq!(pager_link(&first, "Newer"), None);
    assert_eq!(pager_link(&first, "Newest"), None);

    // A new event between two page loads moves nothing.
    insert(
        &app,
        &[event(121, at(121), "ada@example.test", "key.created", None)],
    );
    let second = support.html(&pager_link(&first, "Older").unwrap()).await;
    assert_eq!(shown(&second), events((21..=70).rev()));
    assert!(
        pager_link(&second, "Older")
            .unwrap()
            .starts_with("/audit?action=key.created&cursor=")
    );
    let third = support.html(&pager_link(&second, "Older").unwrap()).await;
    assert_eq!(shown(&third), events((1..=20).rev()));
    assert_eq!(pager_link(&third, "Older"), None);

    let back = support.html(&pager_link(&third, "Newer").unwrap()).await;
    assert_eq!(shown(&back), events((21..=70).rev()));
    let back = support.html(&pager_link(&back, "Newer").unwrap()).await;
    assert_eq!(shown(&back), events((71..=120).rev()));
    // Reaching the newest events shows the first page, the new event included.
    let top = support.html(&pager_link(&back, "Newer").unwrap()).await;
    assert_eq!(shown(&top), events((72..=121).rev()));
    assert_eq!(pager_link(&top, "Newer"), None);
    assert_eq!(summary(&top), "121 events");
    let newest = support.html(&pager_link(&third, "Newest").unwrap()).await;
    assert_eq!(shown(&newest), events((72..=121).rev()));
}

async fn the_count_is_exact_to_ten_thousand_then_says_more(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let start = time("2026-10-01 00:00");
    let rows: Vec<NewAuditRow> = (1..=10_000)
        .map(|n| {
            let actor = if n % 2 == 0 {
                "ada@example.test"
            } else {
                "grace@example.test"
            };
            let key = format!("k{n:011}");
            event(
                n,
                start + chrono::Duration::seconds(n as i64),
                actor,
                "key.created",
                Some(&key),
            )
        })
        .collect();
    insert(&app, &rows);
    let support = app.signed_in(Role::Support).await;
    let count = async |path: &str| summary(&support.html(path).await);
    assert_eq!(count("/audit?action=key.created").await, "10,000 events");
    assert_eq!(count("/audit?actor=ada").await, "5,000 events");
    assert_eq!(count("/audit?actor=example.test").await, "10,000 events");
    assert_eq!(count("/audit?key=k00000000042").await, "1 event");
    assert_eq!(count("/audit?key=k0000000004").await, "10 events");

    insert(
        &app,
        &[event(
            10_001,
            start,
            "grace@example.test",
            "key.created",
            None,
        )],
    );
    assert_eq!(count("/audit?action=key.created").await, "10,000+ events");
    assert_eq!(count("/audit?actor=example.test").await, "10,000+ events");
    assert_eq!(count("/audit?actor=ada").await, "5,000 events");
    assert_eq!(count("/audit?actor=grace").await, "5,001 events");
}

async fn key_ids_link_to_the_key_only_for_roles_that_may_open_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    insert(
        &app,
        &[event(
            1,
            time("2026-11-20 09:00"),
            "ada@example.test",
            "key.created",
            Some("4fQ9xY2mK8pR"),
        )],
    );
    let link = "<a href=\"/settings/integrations/keys/4fQ9xY2mK8pR\"><code>4fQ9xY2mK8pR</code></a>";
    // (role, status of /audit, Key ID linked)
    let expected = [
        (Role::Administrator, StatusCode::OK, true),
        (Role::Support, StatusCode::OK, true),
        (Role::Viewer, StatusCode::FORBIDDEN, false),
    ];
    for (role, status, linked) in expected {
        assert_eq!(role.can(Permission::ViewKeyDetails), linked, "{role}");
        let browser = app.signed_in(role).await;
        let response = browser.get("/audit?key=4fQ9").await;
        assert_eq!(response.status(), status, "{role}");
        if status == StatusCode::OK {
            let page = response.text().await.unwrap();
            assert_eq!(page.contains(link), linked, "{role}");
            assert!(page.contains("<code>4fQ9xY2mK8pR</code>"), "{role}");
        }
    }
}

async fn the_csv_streams_every_event_of_the_selection_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let start = time("2026-10-01 00:00");
    let rows: Vec<NewAuditRow> = (1..=2_345)
        .map(|n| {
            let actor = if n % 2 == 0 {
                "ada@example.test"
            } else {
                "grace@example.test"
            };
            let mut row = event(
                n,
                start + chrono::Duration::seconds(n as i64),
                actor,
                "key.created",
                None,
            );
            if n == 1_000 {
                row.detail = "=1+2".into();
            }
            row
        })
        .collect();
    insert(&app, &rows);
    // An email that cannot contain "ada" (a random one sometimes does, and
    // its sign-in would then be selected too).
    app.add_user("help@example.com", Role::Support).await;
    let support = app.browser();
    support.login("help@example.com", PASSWORD).await;
    let response = support.get("/audit.csv?actor=ADA").await;
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        header("content-type").as_deref(),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        header("content-disposition").as_deref(),
        Some("attachment; filename=\"latchkey-audit.csv\"")
    );
    assert_eq!(header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(
        header("content-length"),
        None,
        "streamed, not sized up front"
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(lines[0], "time_utc,actor,action,key_id,client_ip,detail");
    // Events 2, 4, …, 2344: 1,172 of them, over two batches of 1,000.
    assert_eq!(lines.len(), 1 + 1_172);
    assert_eq!(
        lines[1],
        "\"2026-10-01T00:39:04Z\",\"ada@example.test\",\"key.created\",\"\",\"192.0.2.1\",\"event 2344\""
    );
    assert_eq!(
        lines[1_172],
        "\"2026-10-01T00:00:02Z\",\"ada@example.test\",\"key.created\",\"\",\"192.0.2.1\",\"event 2\""
    );
    assert_eq!(
        lines[673],
        "\"2026-10-01T00:16:40Z\",\"ada@example.test\",\"key.created\",\"\",\"192.0.2.1\",\"'=1+2\""
    );
    let details: Vec<String> = lines[1..]
        .iter()
        .map(|l| {
            l.rsplit(",\"")
                .next()
                .unwrap()
                .trim_end_matches('"')
                .to_owned()
        })
        .collect();
    let expected: Vec<String> = (1..=1_172)
        .rev()
        .map(|k| {
            if k == 500 {
                "'=1+2".to_owned()
            } else {
                format!("event {}", 2 * k)
            }
        })
        .collect();
    assert_eq!(details, expected);
    // The page lists the same selection in the same order.
    let page = support.html("/audit?actor=ADA").await;
    assert_eq!(shown(&page), details[..50].to_vec());
}

async fn every_page_and_count_reads_an_index_in_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    if backend == Backend::Postgres {
        // So that "without ANALYZE" stays true while the test runs.
        use diesel::connection::SimpleConnection;
        app.conn()
            .batch_execute("ALTER TABLE audit_events SET (autovacuum_enabled = false)")
            .unwrap();
    }
    // 20,000 events over 200 days: four busy actors, key events with their
    // own Key IDs, sign-ins; one rare actor and a rare action.
    let start = time("2026-05-01 00:00");
    let actors = [
        "ada@example.test",
        "grace@example.test",
        "linus@example.test",
        "margaret@example.test",
    ];
    let rows: Vec<NewAuditRow> = (1..=20_000)
        .map(|n| {
            let at = start + chrono::Duration::seconds(n as i64 * 864);
            let actor = if n % 5_000 == 0 {
                "nobody@example.com"
            } else {
                actors[n % 4]
            };
            let (action, key) = match n % 10 {
                0..=5 => ("key.created", Some(format!("K{n:011}"))),
                6..=8 => ("auth.login", None),
                _ if n % 1_000 == 9 => ("key.deleted", Some(format!("K{:011}", n - 9))),
                _ => ("auth.logout", None),
            };
            event(n, at, actor, action, key.as_deref())
        })
        .collect();
    insert(&app, &rows);
    let mut conn = app.conn();
    let mut filter = |f: AuditFilter| audit::resolve(&mut conn, &f).unwrap().unwrap();
    let deep = Position {
        at: start + chrono::Duration::seconds(10_000 * 864),
        id: format!("{:032x}", 10_000),
    };
    // (what, selection, start, the indexes a good plan may read). A rare value
    // must be read through its own index; a common one may also be found by
    // walking the log in time order, as the planner sees fit.
    let time_index: &[&str] = &["audit_events_by_time"];
    let scenarios = [
        (
            "newest page",
            filter(AuditFilter::default()),
            None,
            time_index,
        ),
        (
            "deep page",
            filter(AuditFilter::default()),
            Some(&deep),
            time_index,
        ),
        (
            "dates",
            filter(AuditFilter {
                from: Some(time("2026-08-01 00:00")),
                until: Some(time("2026-08-02 00:00")),
                ..AuditFilter::default()
            }),
            None,
            time_index,
        ),
        (
            "rare action",
            filter(AuditFilter {
                action: Some("key.deleted".into()),
                ..AuditFilter::default()
            }),
            None,
            &["audit_events_by_action"],
        ),
        (
            "common action, deep",
            filter(AuditFilter {
                action: Some("auth.login".into()),
                ..AuditFilter::default()
            }),
            Some(&deep),
            &["audit_events_by_action", "audit_events_by_time"],
        ),
        (
            "rare actor",
            filter(AuditFilter {
                actor: Some("nobody".into()),
                ..AuditFilter::default()
            }),
            None,
            // An actor leads both indexes.
            &["audit_events_by_actor", "audit_events_by_actor_action"],
        ),
        (
            "common actor, deep",
            filter(AuditFilter {
                actor: Some("ada".into()),
                ..AuditFilter::default()
            }),
            Some(&deep),
            &[
                "audit_events_by_actor",
                "audit_events_by_actor_action",
                "audit_events_by_time",
            ],
        ),
        (
            "a common actor's rare action",
            filter(AuditFilter {
                actor: Some("ada".into()),
                action: Some("key.deleted".into()),
                ..AuditFilter::default()
            }),
            None,
            &["audit_events_by_actor_action"],
        ),
        (
            "a Key ID",
            filter(AuditFilter {
                key: Some("k00000012340".into()),
                ..AuditFilter::default()
            }),
            None,
            &["audit_events_by_key"],
        ),
        (
            "a Key ID's first characters, and an actor",
            filter(AuditFilter {
                key: Some("k0000001234".into()),
                actor: Some("example.test".into()),
                ..AuditFilter::default()
            }),
            None,
            &["audit_events_by_key"],
        ),
    ];
    for analyzed in [false, true] {
        if analyzed {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("ANALYZE").unwrap();
        }
        for (what, selection, position, indexes) in &scenarios {
            for towards in [Towards::Older, Towards::Newer] {
                let queries = audit::page_queries(selection, *position, towards, 51);
                assert!(!queries.is_empty(), "{what}");
                for query in queries {
                    eprintln!("{what}, {towards:?}, analyzed: {analyzed}");
                    let plan = plans::explain(&mut conn, query);
                    match (*what, position) {
                        ("newest page", _) => plans::assert_reads_index_in_order(&plan, indexes[0]),
                        ("deep page", _) => {
                            plans::assert_reads_index_in_order(&plan, indexes[0]);
                            plans::assert_reads_index_range(&plan, indexes);
                        }
                        _ => plans::assert_reads_index_range(&plan, indexes),
                    }
                }
            }
            for query in audit::count_queries(selection) {
                use diesel::QueryDsl;
                eprintln!("count: {what}, analyzed: {analyzed}");
                let plan = plans::explain(&mut conn, query.limit(10_001));
                plans::assert_count_is_bounded(&plan);
            }
        }
        let plan = plans::explain(&mut conn, audit::keys_starting("k0000001234", 51));
        plans::assert_reads_index_range(&plan, &["audit_events_by_key"]);
    }
}
