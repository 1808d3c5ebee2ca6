use std::process::Command;

use reqwest::Method;

use crate::helpers::{fresh_database, spawn_with_pool, test_settings};

fn roundtable(db: &roundtable::config::DatabaseUrl) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roundtable"));
    cmd.env("ROUNDTABLE_PROFILE", "test")
        .env("ROUNDTABLE_DATABASE__URL", db.expose())
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "error");
    cmd
}

#[tokio::test]
async fn admin_creates_an_organiser_and_prints_a_working_token_alone() {
    let db = fresh_database().await;
    let out = roundtable(&db)
        .args([
            "admin",
            "create-organizer",
            "--email",
            "Boss@Example.org",
            "--name",
            "Boss",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = roundtable(&db)
        .args([
            "admin",
            "create-token",
            "--email",
            "boss@example.org",
            "--name",
            "scripts",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.trim_end_matches('\n');
    assert!(
        token.starts_with("rt_") && !token.contains(char::is_whitespace),
        "{stdout:?}"
    );

    let settings = test_settings(&db);
    let pool = roundtable::db::build_pool(&settings.database).unwrap();
    let app = spawn_with_pool(settings, pool, db.clone()).await;
    let r = app
        .request_as(
            Some(token),
            Method::POST,
            "/api/v1/circles",
            Some(&serde_json::json!({ "name": "N", "timezone": "UTC" })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // The token's secret is not stored, only its hash.
    let dump = app.snapshot().await + &format!("{:?}", app.table_counts().await);
    assert!(!dump.contains(token));

    let out = roundtable(&db)
        .args([
            "admin",
            "create-token",
            "--email",
            "nobody@example.org",
            "--name",
            "x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no member has the address"));
}

#[test]
fn unknown_configuration_keys_stop_start_up_naming_the_key() {
    let db = roundtable::config::DatabaseUrl::new("postgres://postgres@127.0.0.1:1/unused");
    let out = roundtable(&db)
        .env("ROUNDTABLE_HTTP__BINDD", "0.0.0.0:1")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bindd"), "{stderr}");

    let out = roundtable(&db)
        .env("ROUNDTABLE_PROFILE", "production")
        .env("ROUNDTABLE_EMAIL__SMTP_URL", "smtp://127.0.0.1:25")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("secrets.token_key"));
}
