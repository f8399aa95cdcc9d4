//! What installers read about a server, made from its settings table so neither can drift
//! from what the server reads: the MCP registry's `server.json` (schema 2025-12-11) and the MCP
//! Bundle's `manifest.json` (manifest 0.3, Claude Desktop's one-click install). The schemas are
//! vendored in `packaging/schemas/`; `packaging/<server>/` holds the files as committed.

use std::path::Path;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use trading_core::config::{Format, PolicyKeys, Setting};

use crate::settings::ServerSpec;

/// The registry schema the generated `server.json` declares.
pub const SERVER_SCHEMA: &str = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";
/// The bundle manifest version (`@anthropic-ai/mcpb`'s published "latest" schema).
pub const MCPB_MANIFEST_VERSION: &str = "0.3";

/// How a server presents itself to people browsing a registry or installing a bundle.
#[derive(Clone, Copy, Debug)]
pub struct Listing {
    /// The server part of the registry name ("tradegate-ibkr").
    pub registry_id: &'static str,
    pub title: &'static str,
    /// One line of at most 100 characters (the registry's limit).
    pub description: &'static str,
    /// The bundle's longer text.
    pub long_description: &'static str,
    pub keywords: &'static [&'static str],
    /// The venue's settings a person fills in when installing the bundle, each with a title;
    /// the guard's arms, caps and approval follow them ([`shared_user_config`]), the rest keep
    /// their defaults (or are set in the environment as usual).
    pub user_config: &'static [(&'static str, &'static str)],
}

/// What every server's bundle asks for after the venue's own fields: the dry-run and live arms,
/// the caps, who approves orders and how, and the toolsets, under the server's own key names.
fn shared_user_config(k: &PolicyKeys) -> [(&'static str, &'static str); 11] {
    [
        (k.dry_run, "Dry run"),
        (k.allow_live, "Allow real money"),
        ("MAX_ORDER_VALUE", "Largest order"),
        ("MAX_POSITION_VALUE", "Largest position"),
        ("MAX_DAILY_VALUE", "Daily spend"),
        ("MAX_DAILY_ORDERS", "Orders a day"),
        (k.approval, "Who approves orders"),
        ("APPROVAL_PIN", "Approval PIN"),
        ("APPROVAL_PUSH", "Phone push"),
        ("APPROVAL_NTFY_TOPIC", "ntfy topic"),
        ("TOOLSETS", "Toolsets"),
    ]
}

/// Which build the manifests describe: the workspace's version and repository.
#[derive(Clone, Copy, Debug)]
pub struct Release<'a> {
    pub version: &'a str,
    pub repository: &'a str,
}

impl Release<'static> {
    /// This build's (`[workspace.package]` in Cargo.toml).
    pub const THIS: Release<'static> =
        Release { version: env!("CARGO_PKG_VERSION"), repository: env!("CARGO_PKG_REPOSITORY") };
}

/// Why a manifest could not be made or does not match its settings table.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the repository '{0}' is not an https URL with a host (Cargo.toml [workspace.package] repository)")]
    Repository(String),
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{path} is not what the settings table makes: review the change, then UPDATE_GOLDEN=1 to rewrite it")]
    Differs { path: String },
    #[error("user_config names {0}, which the server does not read")]
    UnknownSetting(&'static str),
}

/// Where the repository lives, as the registry names it (`repository.source`), and the
/// namespace of server names it lets the owner prove: `io.github.<owner>` on GitHub (checked
/// through GitHub), otherwise the host reversed (`com.example`, checked through its DNS or HTTP).
fn forge(repository: &str) -> Result<(String, String), ManifestError> {
    let bad = || ManifestError::Repository(repository.to_string());
    let url = url::Url::parse(repository).map_err(|_| bad())?;
    let host = url.host_str().filter(|_| url.scheme() == "https").ok_or_else(bad)?;
    let owner = url.path_segments().and_then(|mut s| s.next()).filter(|s| !s.is_empty());
    Ok(match (host, owner) {
        ("github.com", Some(owner)) => ("github".into(), format!("io.github.{owner}")),
        ("gitlab.com", Some(owner)) => ("gitlab".into(), format!("io.gitlab.{owner}")),
        _ => (host.to_string(), host.split('.').rev().collect::<Vec<_>>().join(".")),
    })
}

/// The registry name of server `id` in `repository`.
pub fn registry_name(repository: &str, id: &str) -> Result<String, ManifestError> {
    forge(repository).map(|(_, namespace)| format!("{namespace}/{id}"))
}

/// A setting's meaning on one line; a setting that shares the comment of the one before it
/// (an empty meaning) takes that comment.
fn description(spec: &ServerSpec, key: &str) -> String {
    let mut last = "";
    for s in spec.keys() {
        if !s.meaning.is_empty() {
            last = s.meaning;
        }
        if s.key == key {
            break;
        }
    }
    last.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn setting(spec: &ServerSpec, key: &'static str) -> Result<&'static Setting, ManifestError> {
    spec.keys().find(|s| s.key == key).ok_or(ManifestError::UnknownSetting(key))
}

/// Every setting the server reads, as the registry's `environmentVariables`.
fn environment_variables(spec: &ServerSpec) -> Vec<Value> {
    spec.keys()
        .map(|s| {
            let mut v = Map::new();
            v.insert("name".into(), s.key.into());
            v.insert("description".into(), description(spec, s.key).into());
            v.insert("isRequired".into(), false.into());
            v.insert("isSecret".into(), s.secret.into());
            if s.format != Format::String {
                v.insert("format".into(), s.format.name().into());
            }
            if !s.default.is_empty() {
                v.insert("default".into(), s.default.into());
            }
            if !s.choices.is_empty() {
                v.insert("choices".into(), s.choices.into());
            }
            Value::Object(v)
        })
        .collect()
}

/// The registry's `server.json` for `spec`: one `cargo` package (`cargo install` puts the
/// binary on PATH) carrying every setting; [`add_mcpb_package`] adds a released bundle.
pub fn server_json(spec: &ServerSpec, release: Release<'_>) -> Result<Value, ManifestError> {
    let l = &spec.listing;
    let (source, namespace) = forge(release.repository)?;
    Ok(json!({
        "$schema": SERVER_SCHEMA,
        "name": format!("{namespace}/{}", l.registry_id),
        "title": l.title,
        "description": l.description,
        "version": release.version,
        "repository": { "url": release.repository, "source": source, "subfolder": format!("crates/{}", spec.name) },
        "packages": [{
            "registryType": "cargo",
            "identifier": spec.name,
            "version": release.version,
            "transport": { "type": "stdio" },
            "environmentVariables": environment_variables(spec),
        }],
    }))
}

/// Adds the `mcpb` package of a released bundle to a `server.json`: its download URL in the
/// repository's release `v<version>` and the SHA-256 clients check before running it.
pub fn add_mcpb_package(server_json: &mut Value, release: Release<'_>, bundle_name: &str, bundle: &[u8]) {
    let variables = server_json["packages"][0]["environmentVariables"].clone();
    let url =
        format!("{}/releases/download/v{}/{bundle_name}", release.repository.trim_end_matches('/'), release.version);
    if let Some(packages) = server_json["packages"].as_array_mut() {
        packages.push(json!({
            "registryType": "mcpb",
            "identifier": url,
            "version": release.version,
            "fileSha256": hex::encode(Sha256::digest(bundle)),
            "transport": { "type": "stdio" },
            "environmentVariables": variables,
        }));
    }
}

/// `user_config`'s name for a setting: its key in lower case.
fn config_name(key: &str) -> String {
    key.to_ascii_lowercase()
}

/// The bundle's `manifest.json` for `spec`: the binary in `server/`, the listing's settings as
/// `user_config` (secrets `sensitive`), each passed to the server's environment. Every field has
/// a default: a value left unset would otherwise reach the server as the literal
/// `${user_config.x}` (mcpb's `getMcpConfigForManifest` keeps unknown variables), and a blank
/// default means "the default" to the server. `platform` (darwin, linux or win32) names the
/// one platform whose binary the bundle carries.
pub fn mcpb_manifest(spec: &ServerSpec, release: Release<'_>, platform: Option<&str>) -> Result<Value, ManifestError> {
    let l = &spec.listing;
    let mut user_config = Map::new();
    let mut env = Map::new();
    for &(key, title) in l.user_config.iter().chain(&shared_user_config(&spec.policy_keys)) {
        let s = setting(spec, key)?;
        let mut text = description(spec, key);
        if !s.choices.is_empty() {
            text.push_str(&format!(" One of: {}.", s.choices.join(", ")));
        }
        let (kind, default) = match s.format {
            Format::Boolean => ("boolean", Value::Bool(s.default == "true")),
            Format::Number if !s.default.is_empty() => {
                ("number", serde_json::from_str(s.default).unwrap_or_else(|_| s.default.into()))
            }
            Format::Filepath => ("file", s.default.into()),
            _ => ("string", s.default.into()),
        };
        let mut field =
            json!({ "type": kind, "title": title, "description": text, "required": false, "default": default });
        if s.secret {
            field["sensitive"] = true.into();
        }
        user_config.insert(config_name(key), field);
        env.insert(key.into(), format!("${{user_config.{}}}", config_name(key)).into());
    }
    let mut manifest = json!({
        "manifest_version": MCPB_MANIFEST_VERSION,
        "name": spec.name,
        "display_name": l.title,
        "version": release.version,
        "description": l.description,
        "long_description": l.long_description,
        "author": { "name": "The tradegate developers" },
        "repository": { "type": "git", "url": release.repository },
        "license": "MIT",
        "keywords": l.keywords,
        "server": {
            "type": "binary",
            "entry_point": format!("server/{}", spec.name),
            "mcp_config": {
                "command": format!("${{__dirname}}/server/{}", spec.name),
                "args": [],
                "env": env,
                "platform_overrides": { "win32": { "command": format!("${{__dirname}}/server/{}.exe", spec.name) } },
            },
        },
        "tools_generated": true,
        "user_config": user_config,
    });
    if let Some(p) = platform {
        manifest["compatibility"] = json!({ "platforms": [p] });
    }
    Ok(manifest)
}

/// Checks `dir/server.json` and `dir/manifest.json` against what `spec`'s table makes for this
/// build (as JSON values); with `UPDATE_GOLDEN` set, writes them instead.
pub fn check_committed(spec: &ServerSpec, dir: &Path) -> Result<(), ManifestError> {
    let files = [
        ("server.json", server_json(spec, Release::THIS)?),
        ("manifest.json", mcpb_manifest(spec, Release::THIS, None)?),
    ];
    for (name, made) in files {
        let path = dir.join(name);
        let shown = path.display().to_string();
        let io = |e: std::io::Error| ManifestError::File { path: shown.clone(), message: e.to_string() };
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(dir).map_err(io)?;
            let text = serde_json::to_string_pretty(&made).unwrap_or_default() + "\n";
            std::fs::write(&path, text).map_err(io)?;
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let committed: Value = serde_json::from_str(&text)
            .map_err(|e| ManifestError::File { path: shown.clone(), message: e.to_string() })?;
        if committed != made {
            return Err(ManifestError::Differs { path: shown });
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
