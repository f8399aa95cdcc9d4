use super::*;

fn code(r: Result<(), String>) -> (i64, Value) {
    let v: Value = serde_json::from_str(&r.unwrap_err()).unwrap_or_default();
    (v["error"]["code"].as_i64().unwrap_or_default(), v["id"].clone())
}

#[test]
fn what_rmcp_would_drop_is_answered() {
    assert_eq!(code(screen(b"{not json")), (-32700, Value::Null));
    assert_eq!(code(screen(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"")), (-32700, Value::Null), "truncated");
    assert_eq!(code(screen(b"\xff\xfe")), (-32700, Value::Null));
    assert_eq!(
        code(screen(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}{\"jsonrpc\":\"2.0\",\"id\":2}")),
        (-32700, Value::Null),
        "two messages on one line"
    );
    assert_eq!(code(screen(b"{\"jsonrpc\":\"2.0\",\"id\":1e400,\"method\":\"ping\"}")), (-32700, Value::Null));
    let deep =
        format!("{{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"x\",\"params\":{}1{}}}", "[".repeat(130), "]".repeat(130));
    assert_eq!(code(screen(deep.as_bytes())).0, -32600);
    assert_eq!(code(screen(b"[1,2]")).0, -32600);
    assert_eq!(
        code(screen(b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"get_quote\",\"arguments\":[\"AAPL\"]}}")),
        (-32602, json!(7))
    );
    assert!(screen(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}").is_ok());
    assert!(screen(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}").is_ok());
    let long = vec![b' '; MAX_LINE + 1];
    assert_eq!(code(screen(&long)).0, -32600);
}

#[test]
fn answers_never_echo_much() {
    let mut big = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"x\":\"".to_vec();
    big.extend(std::iter::repeat_n(b'a', 500_000));
    let e = screen(&big).unwrap_err();
    assert!(e.len() < 500, "{}", e.len());
}
