//! The key list's query plans, on both backends, before and after `ANALYZE`:
//! every page reads an index and never sorts the whole table.

mod common;

use chrono::Duration;
use common::{Backend, TestApp};
use diesel::connection::SimpleConnection;
use latchkey::db::key_search::{self, Statement};
use latchkey::db::keys::{KeyDetails, NewKeyRow, SeededKeyRow};
use latchkey::domain::api_key::NewApiKey;
use latchkey::domain::crypto::{SecretBox, SecretHasher};
use latchkey::domain::cursor::Direction;
use latchkey::domain::key_search::{FilterContext, Position, SortValue, read_request};
use latchkey::domain::key_type::{Catalogue, Scheme};
use latchkey::domain::role::Role;

both_backends!(every_list_query_reads_an_index_and_sorts_no_table,);

const KEYS: usize = 20_000;

/// A cursor in the middle of the list for each order, reading either way.
fn middle(sort: &str, direction: Direction) -> String {
    let at = latchkey::db::now() - Duration::days(100);
    let value = if sort == "name" {
        SortValue::Text("Team 5".into())
    } else {
        SortValue::Time(Some(at))
    };
    Position {
        value,
        id: "MMMMMMMMMMMM".into(),
    }
    .cursor(direction)
    .encode()
}

/// What the plan must show, by kind of statement.
fn check(backend: Backend, query: &str, statement: &Statement, analyzed: bool) {
    let (sql, plan) = (&statement.sql, &statement.plan);
    let shown: String = sql.chars().take(400).collect();
    let context = format!("{query} (analyzed: {analyzed})\n{shown}\n{plan}");
    let sorts = match backend {
        Backend::Sqlite => plan.contains("TEMP B-TREE"),
        Backend::Postgres => plan.lines().any(|l| {
            l.trim_start()
                .trim_start_matches("->  ")
                .starts_with("Sort")
        }),
    };
    let whole_table = match backend {
        Backend::Sqlite => plan.lines().any(|l| l.trim() == "SCAN api_keys"),
        Backend::Postgres => plan.contains("Seq Scan on api_keys"),
    };
    if sql.contains("FROM users") {
        return; // The people table is small.
    }
    if sql.starts_with("SELECT id ") || sql.starts_with("SELECT key_id ") {
        // Candidate lookups: through an index (or the trigram index), or a
        // scan that its LIMIT stopped early because matches are common.
        assert!(
            !whole_table || statement.rows > key_search::CANDIDATES,
            "a lookup scans the table for few keys: {context}"
        );
        // And the index it reads holds its condition (not merely the listed
        // keys): searched by it, or a partial index of exactly the keys in
        // that state (switched off, rolled, leaked).
        let state_index = [
            "api_keys_listed_disabled",
            "api_keys_listed_rolled",
            "api_keys_listed_leaked",
        ]
        .iter()
        .any(|index| plan.contains(index));
        let by_condition = state_index
            || match backend {
                Backend::Sqlite => plan.contains("SEARCH ") || plan.contains("VIRTUAL TABLE INDEX"),
                Backend::Postgres => plan.contains("Index Cond:") || plan.contains("Recheck Cond:"),
            };
        assert!(
            by_condition || statement.rows > key_search::CANDIDATES,
            "a lookup reads an index without its condition: {context}"
        );
        if sql.contains("chr(1)") {
            assert!(
                plan.contains("api_keys_listed_text"),
                "text search without the trigram index: {context}"
            );
        }
        assert!(!sorts, "a lookup sorts: {context}");
    } else if sql.starts_with("SELECT COUNT(*) AS n FROM (") {
        // Bounded by its LIMIT: any scan, never a sort.
        assert!(!sorts, "a bounded count sorts: {context}");
    } else if sql.contains("api_keys.id IN (") {
        // At most 2,000 keys, fetched by id: sorting them is allowed.
        let by_id = match backend {
            Backend::Sqlite => plan.contains("USING INDEX sqlite_autoindex_api_keys_1 (id=?)"),
            Backend::Postgres => plan.contains("api_keys_pkey"),
        };
        assert!(by_id, "candidates are not fetched by id: {context}");
    } else if sql.contains("ORDER BY") {
        // A page walked along its order: an index, and no sort.
        assert!(!sorts, "a page sorts: {context}");
        assert!(!whole_table, "a page scans the table: {context}");
        assert!(
            plan.contains("api_keys_listed_by_"),
            "a page reads no order index: {context}"
        );
    } else {
        panic!("a statement of no known kind: {context}");
    }
}

async fn every_list_query_reads_an_index_and_sorts_no_table(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creator_browser = app.signed_in(Role::Administrator).await;
    drop(creator_browser);
    let catalogue = Catalogue::default_catalogue();
    let people: Vec<(String, String)> = latchkey::db::users::list(&mut app.conn())
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let creator = people[0].0.clone();
    let now = latchkey::db::now();
    let (hasher, sealer) = (SecretHasher::new(&[1; 32]), SecretBox::new(&[2; 32]));
    // Selective filters name few keys (as they would among 1,000,000):
    // UCD 1%, Mobile 0.1%, the rest Transactional SMS.
    let type_of = |i: usize| match i % 1000 {
        0..=9 => "ucd",
        10 => "mobile",
        _ => "tsms",
    };
    let rows: Vec<SeededKeyRow> = (0..KEYS)
        .map(|i| {
            let key = NewApiKey::generate(type_of(i));
            let created_at = now - Duration::minutes(i as i64 * 17);
            let row = NewKeyRow::new(
                &key,
                Scheme::Bearer,
                &hasher,
                &sealer,
                KeyDetails {
                    name: format!("Team {} key {i}", i % 40),
                    contact_email: format!("team-{}@company{}.example", i % 400, i % 7),
                    allowed_ips: String::new(),
                    created_by: Some(creator.clone()),
                    created_at,
                    expires_at: (i % 3 == 0).then(|| now + Duration::days((i % 400) as i64 - 5)),
                    rate_limit: None,
                },
            );
            SeededKeyRow {
                last_used_at: (i % 4 != 0).then(|| now - Duration::hours((i % 3000) as i64)),
                deleted_at: (i % 50 == 7).then_some(now),
                disabled_at: (i % 200 == 11).then_some(now),
                replaced_by: (i % 150 == 3).then(|| "AAAAAAAAAAAA".to_owned()),
                stops_at: (i % 150 == 3).then_some(now + Duration::hours(1)),
                leaked_at: (i % 1000 == 13).then_some(now),
                ..SeededKeyRow::of(row)
            }
        })
        .collect();
    for chunk in rows.chunks(500) {
        latchkey::db::keys::insert_seeded(&mut app.conn(), chunk).unwrap();
    }
    let rare_id = rows[12_345].key.id.clone();
    let mut queries: Vec<String> = vec![
        String::new(),
        "type=ucd".into(),
        "type=mobile&sort=name&dir=asc".into(),
        "status=active".into(),
        "status=expiring".into(),
        "status=expired&sort=expires&dir=desc".into(),
        "status=disabled".into(),
        "status=rolled".into(),
        "status=leaked&sort=last_used".into(),
        format!("creator={creator}"),
        "used=never".into(),
        "used=30d&sort=last_used&dir=asc".into(),
        "used=90d".into(),
        "q=team-3@company".into(),
        "q=key 1234".into(),
        "q=Te".into(),
        format!("q={rare_id}"),
        format!("q=lk_ucd_{rare_id}"),
        format!("q={}", rows[777].key.last_four),
        "q=nothing-matches-this".into(),
        "q=team&type=ucd&status=active&sort=name&dir=desc".into(),
    ];
    for sort in ["created", "expires", "last_used", "name"] {
        for dir in ["asc", "desc"] {
            queries.push(format!("sort={sort}&dir={dir}"));
            let (after, before) = (
                middle(sort, Direction::After),
                middle(sort, Direction::Before),
            );
            queries.push(format!("sort={sort}&dir={dir}&cursor={after}"));
            queries.push(format!("sort={sort}&dir={dir}&cursor={before}"));
            queries.push(format!("type=ucd&sort={sort}&dir={dir}&cursor={after}"));
        }
    }
    for analyzed in [false, true] {
        if analyzed {
            app.conn().batch_execute("ANALYZE").unwrap();
        }
        for query in &queries {
            let pairs: Vec<(String, String)> = query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k.to_owned(), v.to_owned())
                })
                .collect();
            let cx = FilterContext {
                now,
                catalogue: &catalogue,
                people: &people,
            };
            let request = read_request(&pairs, &cx).unwrap_or_else(|e| panic!("{query}: {e}"));
            let statements = key_search::explain_page(&mut app.conn(), &request, 20).unwrap();
            for statement in &statements {
                check(backend, query, statement, analyzed);
            }
        }
    }
}
