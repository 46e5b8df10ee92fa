//! The per-type limit holds under concurrency.

mod common;

use common::Backend;

both_backends!(twenty_simultaneous_generate_requests_leave_exactly_five_ucd_keys,);

use common::TestApp;
use futures::future::join_all;
use latchkey::domain::role::Role;
use reqwest::StatusCode;

async fn twenty_simultaneous_generate_requests_leave_exactly_five_ucd_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in(Role::Administrator).await;
    for i in 0..3 {
        admin.generate_token("ucd", &format!("Existing {i}")).await;
    }
    // Twenty step-two forms, opened before any is submitted.
    let mut drafts = Vec::new();
    for i in 0..20 {
        drafts.push(admin.start_generate("ucd", &format!("Racer {i}")).await);
    }
    let responses = join_all(
        drafts
            .iter()
            .map(|d| admin.post(d, &[("trusted_ips", "10.0.0.0/8")])),
    )
    .await;
    let statuses: Vec<StatusCode> = responses.iter().map(|r| r.status()).collect();
    app.assert_two_of_twenty_won_the_ucd_race(&statuses);
}
