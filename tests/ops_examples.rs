//! The configurations shown in examples/*.yml (and dist/container.toml) are valid:
//! docs whose examples the parser rejects are worse than none.
mod support;

use std::path::Path;
use std::process::Command;

/// The TOML written as `#   ` comment lines after "config/postern.toml" in a compose file.
fn embedded_config(compose: &str) -> Option<String> {
    let start = compose.lines().position(|l| l.contains("config/postern.toml"))?;
    let toml: Vec<&str> = compose.lines().skip(start + 1).map_while(|l| l.strip_prefix("#   ")).collect();
    Some(toml.iter().map(|l| l.split(" #").next().unwrap_or(l)).collect::<Vec<_>>().join("\n"))
}

fn check(config: &str, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("postern.toml");
    std::fs::write(&file, config).unwrap();
    let out = Command::new(support::server::postern_bin())
        .args(["check", "config", "--config"])
        .arg(&file)
        .env_remove("POSTERN_CONFIG")
        .output()
        .unwrap();
    // TLS files named by the example do not exist here; every other error counts.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() || stderr.contains("tls.cert"), "{name}: {stderr}");
}

#[test]
fn compose_examples_and_container_config_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("examples")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if let Some(cfg) = embedded_config(&text) {
            check(&cfg, &path.display().to_string());
            checked += 1;
        }
    }
    assert!(checked >= 2, "the inbound and mail host examples carry a config");
    check(&std::fs::read_to_string(root.join("dist/container.toml")).unwrap(), "dist/container.toml");
}
