use super::*;

#[test]
fn auth_status_states() {
    assert_eq!(
        parse_auth(&json!({"authenticated": true, "connected": true, "competing": false})),
        SessionState::Authenticated
    );
    assert_eq!(
        parse_auth(&json!({"authenticated": false, "connected": true, "competing": false})),
        SessionState::ConnectedNotAuthenticated
    );
    assert_eq!(
        parse_auth(&json!({"authenticated": false, "connected": true, "competing": true})),
        SessionState::Competing
    );
    assert!(
        matches!(parse_auth(&json!({"authenticated": false, "connected": false, "fail": "x"})), SessionState::Down(r) if r.contains("(x)"))
    );
}

#[test]
fn webhook_bodies_fit_their_targets() {
    let (ct, b) = Alerter::body(&WebhookFormat::Slack, "hi");
    assert_eq!((ct, b.as_str()), (Some("application/json"), r#"{"text":"hi"}"#));
    let (_, b) = Alerter::body(&WebhookFormat::Discord, "hi");
    assert_eq!(b, r#"{"content":"hi"}"#);
    assert_eq!(Alerter::body(&WebhookFormat::Ntfy, "hi"), (None, "hi".to_string()));
    let (_, b) = Alerter::body(&WebhookFormat::Json, "hi");
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["event"], "ibkr_reauthentication_required");
}

#[tokio::test]
async fn alerts_first_drop_then_every_nth_cycle() {
    let a = Alerter::new(None, 3);
    let fired: Vec<bool> = {
        let mut v = vec![];
        for _ in 0..7 {
            v.push(a.down("gone").await);
        }
        v
    };
    assert_eq!(fired, [true, false, false, true, false, false, true]);
    a.up();
    assert!(a.down("gone again").await, "a new drop alerts at once");
}
