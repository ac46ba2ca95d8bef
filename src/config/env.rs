//! Environment overrides: `POSTERN_SECTION__KEY=value` sets `[section] key = value`.
//!
//! The value is read as TOML when it parses as one (`25`, `true`, `["a","b"]`), otherwise
//! as a string; for keys whose default is a list, `a,b` means `["a","b"]`.
use toml::{Table, Value};

pub const PREFIX: &str = "POSTERN_";

/// Applies every `POSTERN_*__*` variable to `table`; returns the names applied.
/// `defaults` is the default config as TOML, used to learn which keys are lists.
pub fn apply(
    table: &mut Table,
    defaults: &Table,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<Vec<String>, String> {
    let mut applied = Vec::new();
    for (name, raw) in vars {
        let Some(rest) = name.strip_prefix(PREFIX) else { continue };
        let Some((section, key)) = rest.split_once("__") else { continue };
        let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
        let is_list = matches!(defaults.get(&section).and_then(|s| s.get(&key)), Some(Value::Array(_)));
        let value = parse_value(&raw, is_list);
        let entry = table.entry(section.clone()).or_insert_with(|| Value::Table(Table::new()));
        let Value::Table(sect) = entry else {
            return Err(format!("{name}: [{section}] is not a table and cannot take {key}"));
        };
        sect.insert(key, value);
        applied.push(name);
    }
    applied.sort();
    Ok(applied)
}

fn parse_value(raw: &str, is_list: bool) -> Value {
    if let Ok(t) = format!("v = {raw}").parse::<Table>()
        && let Some(v) = t.get("v")
        && (!is_list || v.is_array())
    {
        return v.clone();
    }
    if is_list {
        let items = raw.split(',').map(str::trim).filter(|s| !s.is_empty());
        return Value::Array(items.map(|s| Value::String(s.into())).collect());
    }
    Value::String(raw.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Table {
        "[relay]\nlocal_domains = []\n[limits]\nrecipients = 100\n".parse().unwrap()
    }

    #[test]
    fn scalars_lists_and_strings() {
        let mut t = Table::new();
        let vars = [
            ("POSTERN_LIMITS__RECIPIENTS", "7"),
            ("POSTERN_RELAY__LOCAL_DOMAINS", "a.test, b.test"),
            ("POSTERN_SERVER__HOSTNAME", "mx.test"),
            ("OTHER", "x"),
        ];
        let applied =
            apply(&mut t, &defaults(), vars.iter().map(|(a, b)| (a.to_string(), b.to_string()))).unwrap();
        assert_eq!(applied.len(), 3);
        assert_eq!(t["limits"]["recipients"].as_integer(), Some(7));
        assert_eq!(t["relay"]["local_domains"].as_array().unwrap().len(), 2);
        assert_eq!(t["server"]["hostname"].as_str(), Some("mx.test"));
    }

    #[test]
    fn toml_list_syntax_is_accepted() {
        let mut t = Table::new();
        let vars = [("POSTERN_RELAY__LOCAL_DOMAINS".to_string(), r#"["x.test"]"#.to_string())];
        apply(&mut t, &defaults(), vars.into_iter()).unwrap();
        assert_eq!(t["relay"]["local_domains"][0].as_str(), Some("x.test"));
    }
}
