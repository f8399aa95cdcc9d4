use super::*;

#[test]
fn only_loopback_gateways() {
    assert!(loopback_base("https://localhost:5000/v1/api").is_ok());
    assert!(loopback_base("https://127.0.0.1:5000/v1/api").is_ok());
    assert!(loopback_base("https://[::1]:5000/v1/api").is_ok());
    for bad in
        ["https://192.168.1.5:5000/v1/api", "https://gateway.example.com/v1/api", "ftp://localhost/x", "not a url"]
    {
        let e = loopback_base(bad).unwrap_err().to_string();
        assert!(e.contains("IBKR_API_BASE_URL"), "{e}");
    }
}

#[test]
fn fingerprints_normalise() {
    let hex = "AB".repeat(32);
    assert_eq!(normalize_fingerprint(&hex), Some("ab".repeat(32)));
    let colons = vec!["ab"; 32].join(":");
    assert_eq!(normalize_fingerprint(&colons), Some("ab".repeat(32)));
    assert_eq!(normalize_fingerprint("abc"), None);
}
