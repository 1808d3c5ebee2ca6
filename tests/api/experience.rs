//! What members and organisers meet when they use Roundtable: messages in their words,
//! confirmation before anything destructive, paragraphs as typed, a way on from every page.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, TestApp};

/// An open circle `slow-reading` in London.
async fn open_circle(app: &TestApp) -> String {
    app.create_circle(json!({ "name": "Slow Reading", "timezone": "Europe/London" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn blank_lines_typed_in_a_browser_start_paragraphs() {
    let app = spawn_app().await;
    let id = open_circle(&app).await;
    app.patch(
        &format!("/api/v1/circles/{id}"),
        &json!({ "description": "We read slowly.\r\n\r\nEveryone leads once." }),
    )
    .await
    .expect(200);
    let page = app
        .browser(Method::GET, "/c/slow-reading", None)
        .await
        .expect(200);
    let page = page.as_str().unwrap();
    assert!(page.contains("<p>We read slowly.</p>"), "{page}");
    assert!(page.contains("<p>Everyone leads once.</p>"));
    let circle = app.get(&format!("/api/v1/circles/{id}")).await.expect(200);
    assert_eq!(
        circle["description"],
        "We read slowly.\n\nEveryone leads once."
    );
}
