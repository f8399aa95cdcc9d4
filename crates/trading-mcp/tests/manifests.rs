//! The committed `server.json` and bundle `manifest.json` of each server (packaging/<server>/,
//! which each server's tests check against its settings table) against the schemas their
//! consumers publish, vendored in packaging/schemas/: the MCP registry's server.json schema
//! 2025-12-11 and the MCPB manifest 0.3 schema of @anthropic-ai/mcpb 2.1.2. Then what the
//! schemas cannot say: what mcpb does with an unset variable, the registry's ownership line.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use trading_mcp::manifest::{Release, add_mcpb_package};

const SERVERS: [&str; 2] = ["ibkr-mcp", "crypto-mcp"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn validator(schema: &str) -> jsonschema::Validator {
    jsonschema::options().should_validate_formats(true).build(&read(schema)).expect("the vendored schema compiles")
}

fn registry() -> jsonschema::Validator {
    validator("packaging/schemas/registry-2025-12-11/server.schema.json")
}

fn mcpb() -> jsonschema::Validator {
    validator("packaging/schemas/mcpb-0.3/mcpb-manifest-v0.3.schema.json")
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn each_server_json_meets_the_registry_schema_with_and_without_a_bundle() {
    let schema = registry();
    for server in SERVERS {
        let mut doc = read(&format!("packaging/{server}/server.json"));
        assert_eq!(errors(&schema, &doc), Vec::<String>::new(), "{server}/server.json");
        assert_eq!(doc["$schema"], trading_mcp::manifest::SERVER_SCHEMA);
        let cargo = &doc["packages"][0];
        assert_eq!((cargo["registryType"].as_str(), cargo["identifier"].as_str()), (Some("cargo"), Some(server)));
        assert_eq!(cargo["transport"]["type"], "stdio");
        // As the release script makes it: the bundle's URL in the release and its SHA-256.
        let bundle = b"not a real bundle, only bytes to hash";
        add_mcpb_package(&mut doc, Release::THIS, &format!("{server}-0.1.0-linux-x86_64.mcpb"), bundle);
        assert_eq!(errors(&schema, &doc), Vec::<String>::new(), "{server}/server.json with a bundle");
        let mcpb = &doc["packages"][1];
        assert_eq!(mcpb["registryType"], "mcpb");
        assert!(
            mcpb["identifier"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/releases/download/v{}/{server}-0.1.0-linux-x86_64.mcpb", Release::THIS.version))
        );
        // sha256 of the bytes above (`printf %s '...' | sha256sum`).
        assert_eq!(mcpb["fileSha256"], "daadfd0b2c462c0a96ff0806b9da23220cf69c0195870036d42e7ad9453e6c73");
    }
}

#[test]
fn every_setting_is_offered_with_its_meaning_and_secrets_are_marked() {
    for server in SERVERS {
        let doc = read(&format!("packaging/{server}/server.json"));
        let vars = doc["packages"][0]["environmentVariables"].as_array().unwrap();
        let example = std::fs::read_to_string(root().join(".env.example")).unwrap();
        for v in vars {
            let name = v["name"].as_str().unwrap();
            assert!(example.contains(&format!("\n{name}=")), "{server}: {name} is not in .env.example");
            assert!(!v["description"].as_str().unwrap_or("").is_empty(), "{server}: {name} has no description");
            let looks_secret = ["_KEY", "_SECRET", "_PASSWORD", "_TOKEN", "_PIN", "_TOPIC", "WEBHOOK_URL"]
                .iter()
                .any(|s| name.ends_with(s));
            assert_eq!(v["isSecret"].as_bool(), Some(looks_secret), "{server}: {name}'s isSecret");
            if let Some(default) = v["default"].as_str()
                && let Some(choices) = v["choices"].as_array()
            {
                assert!(choices.iter().any(|c| c == default), "{server}: {name}'s default is not a choice");
            }
        }
        assert!(vars.len() > 60, "{server}: {} settings", vars.len());
    }
}

#[test]
fn each_bundle_manifest_meets_the_mcpb_schema() {
    let schema = mcpb();
    for server in SERVERS {
        let doc = read(&format!("packaging/{server}/manifest.json"));
        assert_eq!(errors(&schema, &doc), Vec::<String>::new(), "{server}/manifest.json");
        assert_eq!(doc["server"]["type"], "binary");
        assert_eq!(doc["server"]["entry_point"], format!("server/{server}"));
    }
}

/// mcpb fills `${user_config.x}` from the person's value or the field's default and leaves an
/// unknown variable as it is (`getMcpConfigForManifest`, @anthropic-ai/mcpb 2.1.2
/// dist/shared/config.js): every variable must name a field with a default, or the server would
/// read the literal text as a setting.
#[test]
fn every_bundle_variable_has_a_field_with_a_default_and_secrets_are_sensitive() {
    for server in SERVERS {
        let doc = read(&format!("packaging/{server}/manifest.json"));
        let registry = read(&format!("packaging/{server}/server.json"));
        let secret = |key: &str| {
            registry["packages"][0]["environmentVariables"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["name"] == key && v["isSecret"] == true)
        };
        let fields = doc["user_config"].as_object().unwrap();
        let env = doc["server"]["mcp_config"]["env"].as_object().unwrap();
        assert_eq!(env.len(), fields.len(), "{server}: one variable per field");
        for (key, value) in env {
            let name =
                value.as_str().unwrap().strip_prefix("${user_config.").and_then(|v| v.strip_suffix('}')).unwrap();
            let field = &fields[name];
            assert!(!field["default"].is_null(), "{server}: {name} has no default");
            assert_eq!(field["sensitive"].as_bool().unwrap_or(false), secret(key), "{server}: {key}'s sensitive");
        }
        for must in ["MAX_ORDER_VALUE", "MAX_DAILY_VALUE"] {
            assert!(env.contains_key(must), "{server}: the caps are asked at install ({must})");
        }
    }
}

/// The registry proves a cargo package's owner by a visible `mcp-name: <name>` line in the
/// crate's README (crates.io strips HTML comments): both crates use the workspace README.
#[test]
fn the_readme_carries_each_registry_name() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for server in SERVERS {
        let name = read(&format!("packaging/{server}/server.json"))["name"].as_str().unwrap().to_string();
        assert!(readme.contains(&format!("mcp-name: {name}")), "README.md lacks `mcp-name: {name}`");
        let cargo = std::fs::read_to_string(root().join(format!("crates/{server}/Cargo.toml"))).unwrap();
        assert!(cargo.contains("readme = \"../../README.md\""), "{server}'s crate does not publish README.md");
    }
}

/// The schemas do refuse: a description over the registry's 100 characters, a bundle field of
/// a type mcpb does not know, a registry name without its slash.
#[test]
fn the_vendored_schemas_refuse_what_their_consumers_refuse() {
    let mut doc = read("packaging/ibkr-mcp/server.json");
    doc["description"] = "x".repeat(101).into();
    assert!(!errors(&registry(), &doc).is_empty());
    let mut doc = read("packaging/ibkr-mcp/server.json");
    doc["name"] = "tradegate-ibkr".into();
    assert!(!errors(&registry(), &doc).is_empty());
    let mut doc = read("packaging/ibkr-mcp/manifest.json");
    doc["user_config"]["ibkr_backend"]["type"] = json!("choice");
    assert!(!errors(&mcpb(), &doc).is_empty());
    let mut doc = read("packaging/ibkr-mcp/manifest.json");
    doc["server"]["type"] = json!("docker");
    assert!(!errors(&mcpb(), &doc).is_empty());
}
