use std::process::Command;

use reqwest::Method;

use crate::helpers::{fresh_database, spawn_with_pool, test_settings};

pub fn roundtable(db: &roundtable::config::DatabaseUrl) -> Command {
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

#[tokio::test]
async fn import_members_from_csv_and_export_attendance() {
    let db = fresh_database().await;
    let settings = test_settings(&db);
    let pool = roundtable::db::build_pool(&settings.database).unwrap();
    let app = spawn_with_pool(settings, pool, db.clone()).await;
    app.create_circle(serde_json::json!({ "name": "Imported", "timezone": "UTC", "capacity": 1 }))
        .await;
    let file = std::env::temp_dir().join(format!(
        "roundtable-import-{}.csv",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&file, "email,display_name,role\nada@example.org,Ada,\nnot-an-address,Nobody,\nbo@example.org,Bo,\nhost@example.org,Host,facilitator\n").unwrap();
    let out = roundtable(&db)
        .args(["import", "members", "--circle", "imported"])
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("3 added, 1 of them waitlisted; 0 already in the circle; 1 skipped"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 3: email must contain an @"),
        "{stdout}"
    );

    let out = roundtable(&db)
        .args(["export", "attendance", "--circle", "imported"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .starts_with("session_local,email,display_name,rsvp,attended"));
    let out = roundtable(&db)
        .args(["export", "attendance", "--circle", "no-such-circle"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no circle has the slug"));
}

#[tokio::test]
async fn start_up_problems_are_named_in_plain_words() {
    let db = fresh_database().await;
    let out = roundtable(&db)
        .env("ROUNDTABLE_HTTP__WORKERS", "0")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a configuration error, not a crash"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("`http.workers` must be at least 1"));

    let nowhere =
        roundtable::config::DatabaseUrl::new("postgres://postgres@127.0.0.1:9/circles_db");
    let out = roundtable(&nowhere).arg("migrate").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("127.0.0.1:9")
            && stderr.contains("circles_db")
            && stderr.contains("refused"),
        "names the server, the configured database and the cause: {stderr}"
    );
    assert!(
        !stderr.contains("/postgres"),
        "not the maintenance database: {stderr}"
    );
}

#[tokio::test]
async fn setting_only_the_bind_address_moves_the_links_with_it() {
    let db = fresh_database().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = roundtable(&db)
        .env("ROUNDTABLE_HTTP__BIND", format!("127.0.0.1:{port}"))
        .env("ROUNDTABLE_HTTP__PUBLIC_URL", "")
        .env("ROUNDTABLE_WORKER__ENABLED", "false")
        .env("RUST_LOG", "info")
        .arg("serve")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            up = r.status() == 200;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(up, "the server answered: {log}");
    assert!(
        log.contains("http.public_url is not set")
            && log.contains(&format!("http://127.0.0.1:{port}")),
        "the log says where links point: {log}"
    );
}
