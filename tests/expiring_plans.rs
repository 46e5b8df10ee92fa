//! The plans of the queries about keys that expire soon, on both backends,
//! before and after `ANALYZE`: the key list's banner counts a range of the
//! partial index on expires_at of live keys (migration 2026-11-27-000001), and
//! `latchkey keys expiring` walks it in order, page by page.

mod common;

use chrono::Duration;
use common::plans;
use common::{Backend, TestApp};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use latchkey::db::expiring::{self, Window};
use latchkey::db::key_search::planned;
use latchkey::db::keys::{KeyDetails, NewKeyRow, SeededKeyRow};
use latchkey::domain::api_key::NewApiKey;
use latchkey::domain::crypto::{SecretBox, SecretHasher};
use latchkey::domain::key_type::Scheme;

both_backends!(the_expiring_keys_are_read_from_the_expiry_index,);

const KEYS: usize = 20_000;
const INDEX: &str = "api_keys_listed_by_expiry";

async fn the_expiring_keys_are_read_from_the_expiry_index(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let now = latchkey::db::now();
    let (hasher, sealer) = (SecretHasher::new(&[1; 32]), SecretBox::new(&[2; 32]));
    // A third of the keys expire, spread over 400 days (from 5 days ago);
    // one in fifty is deleted.
    let rows: Vec<SeededKeyRow> = (0..KEYS)
        .map(|i| SeededKeyRow {
            deleted_at: (i % 50 == 7).then_some(now),
            ..SeededKeyRow::of(NewKeyRow::new(
                &NewApiKey::generate(if i % 100 == 0 { "webpush" } else { "tsms" }),
                Scheme::Bearer,
                &hasher,
                &sealer,
                KeyDetails {
                    name: format!("Key {i}"),
                    contact_email: "ops@example.com".into(),
                    allowed_ips: String::new(),
                    created_by: None,
                    created_at: now - Duration::minutes(i as i64),
                    expires_at: (i % 3 == 0).then(|| now + Duration::days((i % 400) as i64 - 5)),
                    rate_limit: None,
                },
            ))
        })
        .collect();
    for chunk in rows.chunks(500) {
        latchkey::db::keys::insert_seeded(&mut app.conn(), chunk).unwrap();
    }
    let week = Window {
        after: now,
        until: now + Duration::days(7),
        disabled_types: vec!["webpush".into()],
    };
    let fortnight = Window {
        disabled_types: Vec::new(),
        until: now + Duration::days(14),
        ..week.clone()
    };
    let middle = Some((now + Duration::days(3), "MMMMMMMMMMMM".to_owned()));
    for analyzed in [false, true] {
        if analyzed {
            app.conn().batch_execute("ANALYZE").unwrap();
        }
        let mut conn = app.conn();
        let explain = |conn: &mut latchkey::db::DbConn, query| {
            planned(conn, |c| Ok(plans::explain(c, query))).unwrap()
        };
        // The banner's bounded count.
        for window in [&week, &fortnight] {
            let plan = planned(&mut conn, |c| {
                Ok(plans::explain(c, expiring::ids_in(window).limit(1_001)))
            })
            .unwrap();
            plans::assert_reads_index_range(&plan, &[INDEX]);
            plans::assert_count_is_bounded(&plan);
        }
        // The command's pages: the first, and one after a key.
        for after in [None, middle.clone()] {
            let plan = explain(
                &mut conn,
                expiring::page_query(&fortnight, after.clone(), 500),
            );
            plans::assert_reads_index_in_order(&plan, INDEX);
            plans::assert_reads_index_range(&plan, &[INDEX]);
        }
        // And the counts agree with the rows.
        let counted = expiring::count(&mut conn, &week, 1_000).unwrap();
        let listed = expiring::page(&mut conn, &week, None, 10_000).unwrap();
        assert_eq!(
            counted,
            latchkey::db::count::Counted::Exactly(listed.len() as i64)
        );
        assert!(!listed.is_empty() && listed.iter().all(|k| k.type_code == "tsms"));
    }
}
