//! The configuration reference (docs/configuration.md), generated from the schema's
//! defaults and the comments of the documented example, config/postern.toml.
//!
//! A test regenerates it and fails when the committed file is stale or when a key of the
//! schema is missing from the example, so the docs cannot drift from the code.
use super::Config;
use std::collections::BTreeMap;
use toml::Value;

/// One documented key.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub section: String,
    pub key: String,
    /// Whether `section` is an array of tables (`[[listener]]`): not settable from env.
    pub array: bool,
    pub default: Option<String>,
    pub doc: String,
}

/// Keys of the documented example, with the comment on their line or just above it.
/// Commented-out assignments (`# key = value`) count: they document optional keys.
fn example_docs(example: &str) -> Vec<(String, bool, String, String)> {
    let mut out = Vec::new();
    let (mut section, mut array, mut above) = (String::new(), false, Vec::<String>::new());
    for raw in example.lines() {
        let line = raw.trim();
        let body = line.trim_start_matches('#').trim();
        // Section headers count when commented out too (`# [[dkim]]` documents an option).
        let header = body.split(" #").next().unwrap_or("").trim();
        if let Some(name) = header.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")).filter(|n| is_key(n)) {
            (section, array) = (name.to_string(), true);
            above.clear();
        } else if let Some(name) = header.strip_prefix('[').and_then(|l| l.strip_suffix(']')).filter(|n| is_key(n)) {
            (section, array) = (name.to_string(), false);
            above.clear();
        } else if let Some((key, rest)) = body
            .split_once('=')
            .filter(|(k, _)| is_key(k.trim()))
            .filter(|_| !line.starts_with('#') || body.split(" #").next().unwrap_or("").parse::<toml::Table>().is_ok())
        {
            let comment = rest.split_once(" #").map(|(_, c)| c.trim().trim_start_matches('#').trim());
            let doc = match comment.filter(|c| !c.is_empty() && *c != "example") {
                Some(c) => c.trim_end_matches("# example").trim().to_string(),
                None => above.join(" "),
            };
            out.push((section.clone(), array, key.trim().to_string(), doc));
            above.clear();
        } else if line.starts_with('#') && raw.starts_with("        ") && !out.is_empty() {
            // An indented comment continues the inline comment of the key above it.
            let last: &mut (String, bool, String, String) = out.last_mut().expect("checked");
            last.3 = format!("{} {body}", last.3).trim().to_string();
        } else if line.starts_with('#') && !section.is_empty() {
            above.push(body.to_string());
        } else if line.is_empty() {
            above.clear();
        }
    }
    out
}

fn is_key(k: &str) -> bool {
    !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn render(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Every key: the schema's defaults joined with the example's documentation.
pub fn entries(example: &str) -> Vec<Entry> {
    let defaults = toml::Table::try_from(Config::default()).expect("default config serializes");
    let mut by_key: BTreeMap<(String, String), Entry> = BTreeMap::new();
    for (section, array, key, doc) in example_docs(example) {
        let default = defaults.get(&section).and_then(|s| s.get(&key)).map(render);
        by_key.entry((section.clone(), key.clone())).or_insert(Entry { section, key, array, default, doc });
    }
    for (section, value) in &defaults {
        if let Value::Table(t) = value {
            for (key, v) in t {
                by_key.entry((section.clone(), key.clone())).or_insert(Entry {
                    section: section.clone(),
                    key: key.clone(),
                    array: false,
                    default: Some(render(v)),
                    doc: String::new(),
                });
            }
        }
    }
    by_key.into_values().collect()
}

/// The reference as Markdown.
pub fn markdown(example: &str) -> String {
    let mut out = String::from(
        "# Configuration reference\n\n\
         Generated from the schema (`src/config/schema.rs`) and the documented example \
         (`config/postern.toml`) by `cargo test --test config_reference` \
         (`POSTERN_UPDATE_DOCS=1` rewrites it). Every key is optional. Keys of `[section]` \
         tables can be set from the environment as `POSTERN_SECTION__KEY` (lists as \
         `a,b` or TOML `[\"a\",\"b\"]`); `[[array]]` entries only in the file.\n",
    );
    let mut current = String::new();
    for e in entries(example) {
        if e.section != current {
            current = e.section.clone();
            let header = if e.array { format!("[[{current}]]") } else { format!("[{current}]") };
            out.push_str(&format!("\n## `{header}`\n\n| key | default | environment | meaning |\n|---|---|---|---|\n"));
        }
        let env = if e.array { "—".to_string() } else { format!("`POSTERN_{}__{}`", e.section.to_uppercase(), e.key.to_uppercase()) };
        let default = e.default.map_or("—".into(), |d| format!("`{}`", d.replace('|', "\\|")));
        out.push_str(&format!("| `{}` | {default} | {env} | {} |\n", e.key, e.doc.replace('|', "\\|")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inline_and_block_comments_and_commented_keys() {
        let ex = "[limits]\n# Largest message.\n# In bytes.\nmessage_size = 5 # ignored? no: inline wins\n\n[tls]\n# cert = \"x.pem\"   # PEM chain\n[[listener]]\nbind = \"0.0.0.0:25\"   # example\n# [[dkim]]\n# domain = \"d\"\n";
        let d = example_docs(ex);
        assert_eq!(d[0], ("limits".into(), false, "message_size".into(), "ignored? no: inline wins".into()));
        assert_eq!(d[1], ("tls".into(), false, "cert".into(), "PEM chain".into()));
        assert_eq!(d[2].0, "listener");
        assert!(d[2].1);
        assert_eq!((d[3].0.as_str(), d[3].2.as_str()), ("dkim", "domain"));
    }
}
