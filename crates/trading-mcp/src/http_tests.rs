use super::*;

#[test]
fn static_tokens_match_only_themselves_and_never_print() {
    let b = StaticBearer::new("secret-token-0123456789abcdef");
    assert!(b.matches("secret-token-0123456789abcdef"));
    assert!(!b.matches("secret-token-0123456789abcdeF"));
    assert_eq!(
        format!("{:?}", HttpAuth { bearer: Some(b), oauth: None }),
        "HttpAuth { bearer: Some(StaticBearer(<redacted>)), oauth: None }"
    );
}
