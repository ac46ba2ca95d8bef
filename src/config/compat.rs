//! The environment variables people already set for the popular Postfix relay images
//! (boky/postfix, juanluisbaptiste/postfix, docker-mailserver, wader/postfix-relay),
//! mapped onto postern keys. Two variables that set the same key are an error, not a guess.
use std::collections::BTreeMap;
use toml::Value;

/// One compat variable's effect: `section.key = value`.
struct Setting {
    var: String,
    section: &'static str,
    key: &'static str,
    value: Value,
}

fn list(raw: &str) -> Value {
    Value::Array(
        raw.split([',', ' ', '\t', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.into()))
            .collect(),
    )
}

/// Postfix TLS security levels onto postern's: dane/secure/verify all mean "verify".
fn tls_level(raw: &str) -> Value {
    let level = match raw.trim().to_ascii_lowercase().as_str() {
        "" | "none" => "none",
        "may" => "may",
        "encrypt" => "encrypt",
        "dane" | "dane-only" | "verify" | "secure" => "verify",
        other => return Value::String(other.into()), // validation names the bad value
    };
    Value::String(level.into())
}

/// A secret from `NAME` or from the file named by `NAME_FILE` (Docker secrets).
fn secret(env: &BTreeMap<String, String>, name: &str, errors: &mut Vec<String>) -> Option<(String, String)> {
    let file_var = format!("{name}_FILE");
    match (env.get(name), env.get(&file_var)) {
        (Some(_), Some(_)) => {
            errors.push(format!("{name} and {file_var} are both set; use one"));
            None
        }
        (Some(v), None) => Some((name.to_string(), v.clone())),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(s) => Some((file_var, s.trim_end_matches(['\r', '\n']).to_string())),
            Err(e) => {
                errors.push(format!("{file_var}: cannot read {path}: {e}"));
                None
            }
        },
        (None, None) => None,
    }
}

/// Smarthost from RELAYHOST (boky) or SMTP_SERVER/SMTP_PORT (juanluisbaptiste).
fn smarthost(env: &BTreeMap<String, String>, out: &mut Vec<Setting>, errors: &mut Vec<String>) {
    let relayhost = env.get("RELAYHOST").filter(|v| !v.trim().is_empty());
    let server = env.get("SMTP_SERVER").filter(|v| !v.trim().is_empty());
    match (relayhost, server) {
        (Some(_), Some(_)) => errors.push("RELAYHOST and SMTP_SERVER both name a relay host; set one".into()),
        (Some(r), None) => out.push(Setting { var: "RELAYHOST".into(), section: "delivery", key: "smarthost", value: list(r) }),
        (None, Some(s)) => {
            let port = env.get("SMTP_PORT").map(|p| p.trim()).unwrap_or("587");
            let host = format!("[{}]:{port}", s.trim());
            let var = if env.contains_key("SMTP_PORT") { "SMTP_SERVER, SMTP_PORT" } else { "SMTP_SERVER" };
            out.push(Setting { var: var.into(), section: "delivery", key: "smarthost", value: list(&host) });
        }
        (None, None) => {}
    }
    for (user_var, pass_var) in [("RELAYHOST_USERNAME", "RELAYHOST_PASSWORD"), ("SMTP_USERNAME", "SMTP_PASSWORD")] {
        if let Some(u) = env.get(user_var) {
            out.push(Setting { var: user_var.into(), section: "delivery", key: "smarthost_username", value: Value::String(u.clone()) });
        }
        if let Some((var, p)) = secret(env, pass_var, errors) {
            out.push(Setting { var, section: "delivery", key: "smarthost_password", value: Value::String(p) });
        }
    }
}

/// DKIM from DKIM_DOMAIN + DKIM_SELECTOR + DKIM_KEY_FILE (or DKIM_PRIVATE_KEY_FILE).
fn dkim(env: &BTreeMap<String, String>, errors: &mut Vec<String>) -> Option<(String, Value)> {
    let key_var = ["DKIM_KEY_FILE", "DKIM_PRIVATE_KEY_FILE"].into_iter().find(|v| env.contains_key(*v))?;
    let key = &env[key_var];
    let Some(domain) = env.get("DKIM_DOMAIN").or_else(|| env.get("SERVER_DOMAIN")) else {
        errors.push("DKIM_KEY_FILE is set but DKIM_DOMAIN is not".into());
        return None;
    };
    let selector = env.get("DKIM_SELECTOR").map(String::as_str).unwrap_or("mail");
    let mut t = toml::Table::new();
    t.insert("domain".into(), Value::String(domain.clone()));
    t.insert("selector".into(), Value::String(selector.into()));
    t.insert("key".into(), Value::String(key.clone()));
    let used: Vec<&str> = ["DKIM_DOMAIN", "SERVER_DOMAIN", "DKIM_SELECTOR", key_var]
        .into_iter()
        .filter(|v| env.contains_key(*v))
        .collect();
    Some((used.join(", "), Value::Array(vec![Value::Table(t)])))
}

/// Applies the compat variables to `table`. Returns the variables applied, or every conflict.
pub fn apply(table: &mut toml::Table, vars: &BTreeMap<String, String>) -> Result<Vec<String>, Vec<String>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    smarthost(vars, &mut out, &mut errors);
    let simple: [(&str, &str, &str, fn(&str) -> Value); 10] = [
        ("ANONYMIZE_EMAILS", "log", "anonymize", |v| {
            Value::Boolean(!matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false" | "no" | "off"))
        }),
        ("SMTP_HEADER_TAG", "rewrite", "header_tag", |v| Value::String(v.trim().into())),
        ("MASQUERADED_DOMAINS", "rewrite", "masquerade_domains", list),
        ("RELAYHOST_TLS_LEVEL", "delivery", "tls", tls_level),
        ("SMTP_TLS_SECURITY_LEVEL", "delivery", "tls", tls_level),
        ("SERVER_HOSTNAME", "server", "hostname", |v| Value::String(v.trim().into())),
        ("ALLOWED_SENDER_DOMAINS", "relay", "allowed_sender_domains", list),
        ("MESSAGE_SIZE_LIMIT", "limits", "message_size", |v| {
            v.trim().parse::<i64>().map(Value::Integer).unwrap_or_else(|_| Value::String(v.into()))
        }),
        ("POSTFIX_myhostname", "server", "hostname", |v| Value::String(v.trim().into())),
        ("POSTFIX_message_size_limit", "limits", "message_size", |v| {
            v.trim().parse::<i64>().map(Value::Integer).unwrap_or_else(|_| Value::String(v.into()))
        }),
    ];
    for (var, section, key, f) in simple {
        if let Some(v) = vars.get(var) {
            out.push(Setting { var: var.into(), section, key, value: f(v) });
        }
    }
    for var in ["MYNETWORKS", "SMTP_NETWORKS", "ALLOWED_NETWORKS", "POSTFIX_mynetworks"] {
        if let Some(v) = vars.get(var) {
            out.push(Setting { var: var.into(), section: "relay", key: "trusted_networks", value: list(v) });
        }
    }
    if let Some((var, value)) = dkim(vars, &mut errors) {
        table.insert("dkim".into(), value);
        out.push(Setting { var, section: "", key: "dkim", value: Value::Boolean(true) });
    }
    // Two variables for one key: refuse rather than pick one.
    let mut by_key: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for s in &out {
        by_key.entry((s.section, s.key)).or_default().push(&s.var);
    }
    for ((section, key), names) in &by_key {
        if names.len() > 1 {
            errors.push(format!("{} all set {section}.{key}; set only one", names.join(", ")));
        }
        let native = format!("POSTERN_{}__{}", section.to_ascii_uppercase(), key.to_ascii_uppercase());
        if !section.is_empty() && vars.contains_key(&native) {
            errors.push(format!("{} and {native} both set {section}.{key}; set only one", names.join(", ")));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut applied = Vec::new();
    for s in out {
        if !s.section.is_empty() {
            let sect = table.entry(s.section).or_insert_with(|| Value::Table(toml::Table::new()));
            if let Value::Table(t) = sect {
                t.insert(s.key.into(), s.value);
            }
        }
        applied.push(s.var);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(vars: &[(&str, &str)]) -> Result<(toml::Table, Vec<String>), Vec<String>> {
        let vars: BTreeMap<String, String> = vars.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let mut t = toml::Table::new();
        apply(&mut t, &vars).map(|applied| (t, applied))
    }

    #[test]
    fn boky_relayhost() {
        let (t, applied) = run(&[
            ("RELAYHOST", "[smtp.example.net]:587"),
            ("RELAYHOST_USERNAME", "u"),
            ("RELAYHOST_PASSWORD", "p"),
            ("ALLOWED_SENDER_DOMAINS", "example.com example.org"),
            ("MESSAGE_SIZE_LIMIT", "1048576"),
            ("MASQUERADED_DOMAINS", "example.com"),
            ("SMTP_HEADER_TAG", "X-Relay: gw1"),
            ("ANONYMIZE_EMAILS", "true"),
        ])
        .unwrap();
        assert_eq!(t["rewrite"]["masquerade_domains"][0].as_str(), Some("example.com"));
        assert_eq!(t["rewrite"]["header_tag"].as_str(), Some("X-Relay: gw1"));
        assert_eq!(t["delivery"]["smarthost"][0].as_str(), Some("[smtp.example.net]:587"));
        assert_eq!(t["delivery"]["smarthost_password"].as_str(), Some("p"));
        assert_eq!(t["relay"]["allowed_sender_domains"].as_array().unwrap().len(), 2);
        assert_eq!(t["limits"]["message_size"].as_integer(), Some(1048576));
        assert_eq!(t["log"]["anonymize"].as_bool(), Some(true));
        assert_eq!(applied.len(), 8);
    }

    #[test]
    fn juanluis_smtp_server_with_password_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret\n").unwrap();
        let (t, applied) = run(&[
            ("SMTP_SERVER", "smtp.gmail.com"),
            ("SMTP_USERNAME", "me"),
            ("SMTP_PASSWORD_FILE", f.to_str().unwrap()),
            ("SERVER_HOSTNAME", "relay.example.com"),
            ("SMTP_NETWORKS", "10.0.0.0/8,172.16.0.0/12"),
        ])
        .unwrap();
        assert_eq!(t["delivery"]["smarthost"][0].as_str(), Some("[smtp.gmail.com]:587"));
        assert_eq!(t["delivery"]["smarthost_password"].as_str(), Some("s3cret"));
        assert_eq!(t["server"]["hostname"].as_str(), Some("relay.example.com"));
        assert_eq!(t["relay"]["trusted_networks"].as_array().unwrap().len(), 2);
        assert!(applied.contains(&"SMTP_PASSWORD_FILE".to_string()));
    }

    #[test]
    fn conflicts_are_errors() {
        let e = run(&[("RELAYHOST", "[a]:25"), ("SMTP_SERVER", "b")]).unwrap_err();
        assert!(e[0].contains("RELAYHOST and SMTP_SERVER"), "{e:?}");
        let e = run(&[("MYNETWORKS", "10.0.0.0/8"), ("SMTP_NETWORKS", "10.0.0.0/8")]).unwrap_err();
        assert!(e[0].contains("relay.trusted_networks"), "{e:?}");
        let e = run(&[("RELAYHOST_PASSWORD", "a"), ("RELAYHOST_PASSWORD_FILE", "/x")]).unwrap_err();
        assert!(e[0].contains("both set"), "{e:?}");
        let e = run(&[("SERVER_HOSTNAME", "a"), ("POSTERN_SERVER__HOSTNAME", "b")]).unwrap_err();
        assert!(e[0].contains("POSTERN_SERVER__HOSTNAME"), "{e:?}");
    }

    #[test]
    fn dkim_from_env() {
        let (t, _) = run(&[("DKIM_DOMAIN", "example.com"), ("DKIM_SELECTOR", "s1"), ("DKIM_KEY_FILE", "/k.pem")]).unwrap();
        assert_eq!(t["dkim"][0]["selector"].as_str(), Some("s1"));
        assert!(run(&[("DKIM_KEY_FILE", "/k.pem")]).is_err());
    }
}
