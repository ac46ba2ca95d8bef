//! docs/configuration.md is generated from the schema and config/postern.toml; this test
//! fails when it is stale or when a schema key is undocumented.
//! `POSTERN_UPDATE_DOCS=1 cargo test --test config_reference` rewrites it.
use postern::config::reference;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_schema_key_is_documented_in_the_example() {
    let example = std::fs::read_to_string(root().join("config/postern.toml")).unwrap();
    let missing: Vec<String> = reference::entries(&example)
        .into_iter()
        .filter(|e| e.doc.is_empty())
        .map(|e| format!("{}.{}", e.section, e.key))
        .collect();
    assert!(missing.is_empty(), "keys without documentation in config/postern.toml: {missing:?}");
}

#[test]
fn reference_is_up_to_date() {
    let example = std::fs::read_to_string(root().join("config/postern.toml")).unwrap();
    let generated = reference::markdown(&example);
    let path = root().join("docs/configuration.md");
    if std::env::var_os("POSTERN_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == generated, "docs/configuration.md is stale: run POSTERN_UPDATE_DOCS=1 cargo test --test config_reference");
}
