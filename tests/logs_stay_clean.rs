//! With logging at its most verbose, the full create / verify / search /
//! delete flow leaves no plaintext key or secret in the logs or the database
//! files: nor do two-factor secrets, recovery codes or invitation links.

mod common;

use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::server_process::ServerProcess;
use common::{Browser, input_value};
use latchkey::domain::hmac_signature;
use reqwest::StatusCode;

#[actix_web::test]
async fn no_plaintext_key_reaches_a_trace_log_or_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("latchkey.log");
    let gitlab_token = "a3f1c9e07b5d4e2f8a6c1b3d5e7f9a0b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f";
    let gitlab_token_file = dir.path().join("gitlab-token");
    std::fs::write(&gitlab_token_file, gitlab_token).unwrap();
    // Killed if the test fails before it is stopped below.
    let mut server = ServerProcess::start(|command| {
        command
            .args([
                "--database-url",
                &dir.path().join("data/latchkey.db").to_string_lossy(),
            ])
            // The test stands in for the gateway that reports what a signature covers.
            .args(["--trusted-proxies", "127.0.0.1"])
            .arg("--gitlab-revocation-token-file")
            .arg(&gitlab_token_file)
            .env("RUST_LOG", "trace")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap());
    });
    let base = format!("http://127.0.0.1:{}", server.port);
    let mut setup_url = None;
    for _ in 0..200 {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if let Some(at) = log.find("/setup?token=") {
            let token: String = log[at + 13..]
                .chars()
                .take_while(|c| c.is_ascii_hexdigit())
                .collect();
            setup_url = Some(format!("/setup?token={token}"));
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    let setup_url = setup_url.expect("the setup link is printed");
    let token = setup_url.split('=').nth(1).unwrap().to_owned();

    let admin = Browser::new(&base);
    admin.get(&setup_url).await;
    let created = admin
        .post(
            "/setup",
            &[
                ("token", &token),
                ("email", "admin@example.com"),
                ("password", common::PASSWORD),
                ("password_confirm", common::PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);

    let mut secrets = Vec::new();
    // Two-factor: its secret and recovery codes.
    for code in admin.enrol_two_factor("admin@example.com").await {
        secrets.push(code.replace('-', ""));
        secrets.push(code);
    }
    secrets.push(admin.authenticator_secret("admin@example.com"));
    // An invitation link's token, and the invitee's joining through it.
    let invited = admin
        .post(
            "/settings/users/invite",
            &[("email", "traced@example.com"), ("role", "support")],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::CREATED);
    let link = input_value(&invited.text().await.unwrap(), "invite-link").unwrap();
    let invitation_token = link.split("token=").nth(1).unwrap().to_owned();
    let joined = Browser::new(&base)
        .post(
            "/invitations/accept",
            &[
                ("token", &invitation_token),
                ("password", common::PASSWORD),
                ("password_confirm", common::PASSWORD),
            ],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    secrets.push(invitation_token);
    let (_, bearer_page) = admin.generate("ucd", "Traced bearer", "127.0.0.1").await;
    let bearer = input_value(&bearer_page, "revealed-key").unwrap();
    secrets.push(bearer.clone());
    secrets.push(
        latchkey::domain::api_key::parse(&bearer)
            .unwrap()
            .secret
            .to_owned(),
    );
    let (_, pair_page) = admin.generate("hubhmac", "Traced pair", "").await;
    let key_id = input_value(&pair_page, "revealed-key").unwrap();
    let pair_secret = input_value(&pair_page, "revealed-secret").unwrap();
    secrets.push(pair_secret.clone());
    // The Basic credential as it travels, base64-encoded.
    secrets.push(B64.encode(format!("{key_id}:{pair_secret}")));

    let client = reqwest::Client::new();
    let verified = client
        .post(format!("{base}/api/v1/keys/verify"))
        .json(&serde_json::json!({ "key": bearer }))
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), StatusCode::OK);
    let forward = client
        .get(format!("{base}/api/v1/auth"))
        .header("x-api-key", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(forward.status(), StatusCode::OK);
    let basic = format!("Basic {}", B64.encode(format!("{key_id}:{pair_secret}")));
    client
        .get(format!("{base}/api/v1/auth"))
        .header("authorization", basic)
        .send()
        .await
        .unwrap();
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let to_sign = hmac_signature::string_to_sign(&date, "GET", "/");
    let signature = B64.encode(hmac_signature::sign(pair_secret.as_bytes(), &to_sign));
    let signed = client
        .get(format!("{base}/api/v1/auth"))
        .header("date", &date)
        .header("x-original-method", "GET")
        .header("x-original-uri", "/")
        .header(
            "authorization",
            format!("LK-HMAC-SHA256 KeyId={key_id}, Signature={signature}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::OK);
    let id = latchkey::domain::api_key::parse(&bearer)
        .unwrap()
        .public_id
        .to_owned();
    // A secret scanner reports the key leaked.
    let revoked = client
        .post(format!("{base}/api/v1/gitlab/v1/revoke_tokens"))
        .header("authorization", gitlab_token)
        .json(&serde_json::json!([
            {"type": "latchkey_api_key", "token": bearer, "location": "https://gitlab.example.com/a"}
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    // Support staff paste the whole key into the list's search box.
    let found = admin
        .post("/settings/integrations/search", &[("q", &bearer)])
        .await;
    assert_eq!(
        common::location(&found),
        format!("/settings/integrations/keys/{id}")
    );
    // Rolling shows a replacement once; it reaches no log either.
    let rolled = admin
        .post(
            &format!("/settings/integrations/keys/{id}/roll"),
            &[("grace", "1h")],
        )
        .await;
    assert_eq!(rolled.status(), StatusCode::CREATED);
    let replacement = input_value(&rolled.text().await.unwrap(), "revealed-key").unwrap();
    secrets.push(
        latchkey::domain::api_key::parse(&replacement)
            .unwrap()
            .secret
            .to_owned(),
    );
    secrets.push(replacement);
    admin
        .post(&format!("/settings/integrations/keys/{id}/delete"), &[])
        .await;

    assert!(server.terminate().success());

    let log = std::fs::read(&log_path).unwrap();
    assert!(log.len() > 1000, "trace logging was on");
    let text = String::from_utf8_lossy(&log);
    assert!(
        text.contains(&format!(
            "API key {id} reported leaked by GitLab secret detection (token SHA-256 "
        )),
        "the leak report is logged by the key's ID and the token's hash"
    );
    let mut searched = vec![("log".to_owned(), log)];
    for entry in std::fs::read_dir(dir.path().join("data")).unwrap() {
        let path = entry.unwrap().path();
        searched.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    for (place, bytes) in searched {
        for secret in &secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{place} holds a plaintext key or secret"
            );
        }
    }
}
