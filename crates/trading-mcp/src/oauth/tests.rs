use super::*;

#[test]
fn pkce_matches_the_rfc_7636_vector_and_nothing_else() {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    assert!(pkce_s256_matches(verifier, challenge));
    assert!(!pkce_s256_matches(verifier, verifier), "plain is not S256");
    assert!(!pkce_s256_matches("short", challenge));
    assert!(!pkce_s256_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", challenge));
}

#[test]
fn scopes_gate_tools() {
    let read = Caller { id: "c".into(), scopes: vec!["read".into()] };
    assert!(read.allows("get_quote") && read.allows("order_status") && read.allows("briefing"));
    assert!(!read.allows("preview_order") && !read.allows("buy") && !read.allows("cancel_order"));
    let trader = Caller { id: "c".into(), scopes: vec!["trade".into()] };
    assert!(trader.allows("preview_order") && trader.allows("buy") && !trader.allows("get_quote"));
    assert_eq!(parse_scope(None).unwrap(), vec!["read", "trade:preview", "trade"]);
    assert!(parse_scope(Some("read root")).unwrap_err().contains("unknown scope 'root'"));
    assert_eq!(parse_scope(Some(" read read ")).unwrap(), vec!["read"]);
}

#[test]
fn tokens_are_long_random_and_prefixed() {
    let a = mint("tga_").unwrap();
    assert!(a.starts_with("tga_") && a.len() == 4 + 43);
    assert_ne!(a, mint("tga_").unwrap());
}
