use super::*;

#[test]
fn the_registry_name_follows_the_repository() {
    assert_eq!(
        registry_name("https://github.com/acme/tradegate", "tradegate-ibkr").unwrap(),
        "io.github.acme/tradegate-ibkr"
    );
    assert_eq!(registry_name("https://gitlab.com/acme/tradegate", "x").unwrap(), "io.gitlab.acme/x");
    assert_eq!(registry_name("https://code.example.com/tradegate", "x").unwrap(), "com.example.code/x");
    assert_eq!(registry_name("https://example.invalid/tradegate", "x").unwrap(), "invalid.example/x");
    for bad in ["http://github.com/acme/tradegate", "not a url", ""] {
        assert!(matches!(registry_name(bad, "x"), Err(ManifestError::Repository(_))), "{bad}");
    }
}

#[test]
fn the_repository_source_is_the_forge() {
    assert_eq!(forge("https://github.com/acme/tradegate").unwrap().0, "github");
    assert_eq!(forge("https://gitlab.com/acme/tradegate").unwrap().0, "gitlab");
    assert_eq!(forge("https://example.invalid/tradegate").unwrap().0, "example.invalid");
}
