//! The committed `server.json` and bundle `manifest.json` of each server (packaging/<server>/,
//! which each server's tests check against its settings table) against the schemas their
//! consumers publish, vendored in packaging/schemas/: the MCP registry's server.json schema
//! 2025-12-11 and the MCPB manifest 0.3 schema of @anthropic-ai/mcpb 2.1.2, with the reference
//! validator (Python's `jsonschema`, formats checked, in `.venv-mcp` as for the SDK tests; a
//! Rust validator would turn on features of hashbrown and regex that rebuild half the
//! dependencies for the tests, ADR-036). Then what the schemas cannot say: what mcpb does with an
//! unset variable, the registry's ownership line.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Stdio,
};

use serde_json::{Value, json};
use trading_mcp::manifest::{Release, add_mcpb_package};

const SERVERS: [&str; 2] = ["ibkr-mcp", "crypto-mcp"];
const REGISTRY: &str = "packaging/schemas/registry-2025-12-11/server.schema.json";
const MCPB: &str = "packaging/schemas/mcpb-0.3/mcpb-manifest-v0.3.schema.json";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn python() -> PathBuf {
    test_support::python().expect(
        "Python's jsonschema is needed: python3 -m venv .venv-mcp && .venv-mcp/bin/pip install 'jsonschema[format-nongpl]==4.26.0' (README set-up; or set TRADEGATE_PYTHON)",
    )
}

/// Each document's schema errors under `schema` (empty: valid).
fn errors(schema: &str, documents: &[Value]) -> Vec<Vec<String>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/validate_schema.py");
    let mut child = std::process::Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let request = json!({ "schema": root().join(schema), "documents": documents });
    child.stdin.take().unwrap().write_all(request.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the validator failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_valid(schema: &str, documents: &[Value]) {
    let errors = errors(schema, documents);
    assert!(errors.iter().all(Vec::is_empty), "{errors:#?}");
}

#[test]
fn each_server_json_meets_the_registry_schema_with_and_without_a_bundle() {
    let mut documents = vec![];
    for server in SERVERS {
        let mut doc = read(&format!("packaging/{server}/server.json"));
        assert_eq!(doc["$schema"], trading_mcp::manifest::SERVER_SCHEMA);
        let cargo = &doc["packages"][0];
        assert_eq!((cargo["registryType"].as_str(), cargo["identifier"].as_str()), (Some("cargo"), Some(server)));
        assert_eq!(cargo["transport"]["type"], "stdio");
        documents.push(doc.clone());
        // As the release script makes it: the bundle's URL in the release and its SHA-256.
        let bundle = b"not a real bundle, only bytes to hash";
        add_mcpb_package(&mut doc, Release::THIS, &format!("{server}-0.1.0-linux-x86_64.mcpb"), bundle);
        let mcpb = &doc["packages"][1];
        assert_eq!(mcpb["registryType"], "mcpb");
        let url = format!("/releases/download/v{}/{server}-0.1.0-linux-x86_64.mcpb", Release::THIS.version);
        assert!(mcpb["identifier"].as_str().unwrap().ends_with(&url));
        // sha256 of the bytes above (`printf %s '...' | sha256sum`).
        assert_eq!(mcpb["fileSha256"], "daadfd0b2c462c0a96ff0806b9da23220cf69c0195870036d42e7ad9453e6c73");
        documents.push(doc);
    }
    assert_valid(REGISTRY, &documents);
}

#[test]
fn every_setting_is_offered_with_its_meaning_and_secrets_are_marked() {
    let example = std::fs::read_to_string(root().join(".env.example")).unwrap();
    for server in SERVERS {
        let doc = read(&format!("packaging/{server}/server.json"));
        let vars = doc["packages"][0]["environmentVariables"].as_array().unwrap();
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
    let documents: Vec<Value> = SERVERS.iter().map(|s| read(&format!("packaging/{s}/manifest.json"))).collect();
    for (server, doc) in SERVERS.iter().zip(&documents) {
        assert_eq!(doc["server"]["type"], "binary");
        assert_eq!(doc["server"]["entry_point"], format!("server/{server}"));
    }
    assert_valid(MCPB, &documents);
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

/// The schemas and the validator do refuse: a description over the registry's 100 characters,
/// a registry name without its slash, a repository URL that is not a URI (a format check), a
/// bundle field of a type mcpb does not know, a server type it does not run.
#[test]
fn the_vendored_schemas_refuse_what_their_consumers_refuse() {
    let server = read("packaging/ibkr-mcp/server.json");
    let changed = |doc: &Value, pointer: &str, value: Value| {
        let mut doc = doc.clone();
        *doc.pointer_mut(pointer).unwrap() = value;
        doc
    };
    let bad_servers = [
        changed(&server, "/description", "x".repeat(101).into()),
        changed(&server, "/name", "tradegate-ibkr".into()),
        changed(&server, "/repository/url", "not a uri".into()),
    ];
    for (doc, errors) in bad_servers.iter().zip(errors(REGISTRY, &bad_servers)) {
        assert!(!errors.is_empty(), "accepted: {doc}");
    }
    let manifest = read("packaging/ibkr-mcp/manifest.json");
    let bad_manifests = [
        changed(&manifest, "/user_config/ibkr_backend/type", "choice".into()),
        changed(&manifest, "/server/type", "docker".into()),
    ];
    for (doc, errors) in bad_manifests.iter().zip(errors(MCPB, &bad_manifests)) {
        assert!(!errors.is_empty(), "accepted: {doc}");
    }
    assert_valid(REGISTRY, &[server]);
    assert_valid(MCPB, &[manifest]);
}
