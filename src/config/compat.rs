//! The environment variables people already set for the popular Postfix relay images
//! (boky/postfix, juanluisbaptiste/postfix, docker-mailserver, wader/postfix-relay, the
//! Postfix + Dovecot and lightweight-relay images), mapped onto postern keys. Two
//! variables that set one key to different values are an error, not a guess; a variable
//! with no postern equivalent is reported, never ignored silently.
mod postfix;

use std::collections::BTreeMap;
use toml::Value;

/// What the compat variables did.
#[derive(Debug, Default)]
pub struct Report {
    /// Variables that changed the configuration.
    pub applied: Vec<String>,
    /// Variables without effect, each with the reason (logged as warnings at start).
    pub ignored: Vec<String>,
    /// SMTP AUTH accounts to create at start: (name, password).
    pub accounts: Vec<(String, String)>,
}

fn truthy(v: &str) -> bool {
    !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false" | "no" | "off")
}

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

/// A number as a TOML integer; anything else stays a string for validation to name.
fn integer(v: &str) -> Value {
    v.trim().parse::<i64>().map(Value::Integer).unwrap_or_else(|_| Value::String(v.into()))
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

/// Smarthost from RELAYHOST (boky) or SMTP_SERVER/SMTP_PORT (juanluisbaptiste). With
/// ENABLE_SASL=true (the lightweight relay image) SMTP_USERNAME/SMTP_PASSWORD are the
/// account clients log in with, and only RELAYHOST_USERNAME/PASSWORD are the upstream's.
fn smarthost(env: &BTreeMap<String, String>, out: &mut Vec<Setting>, report: &mut Report, errors: &mut Vec<String>) {
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
    let sasl = env.get("ENABLE_SASL").is_some_and(|v| truthy(v));
    if sasl {
        match (env.get("SMTP_USERNAME").map(|u| u.trim()).filter(|u| !u.is_empty()), secret(env, "SMTP_PASSWORD", errors)) {
            (Some(user), Some((_, pass))) if !pass.is_empty() => {
                report.accounts.push((user.to_string(), pass));
                report.applied.push("ENABLE_SASL, SMTP_USERNAME, SMTP_PASSWORD".into());
            }
            _ => errors.push("ENABLE_SASL=true needs SMTP_USERNAME and SMTP_PASSWORD (or SMTP_PASSWORD_FILE)".into()),
        }
    }
    let upstream: &[(&str, &str)] = if sasl {
        &[("RELAYHOST_USERNAME", "RELAYHOST_PASSWORD")]
    } else {
        &[("RELAYHOST_USERNAME", "RELAYHOST_PASSWORD"), ("SMTP_USERNAME", "SMTP_PASSWORD")]
    };
    for &(user_var, pass_var) in upstream {
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

/// Applies the compat variables to `table`. Returns what was applied and ignored, or
/// every conflict.
pub fn apply(table: &mut toml::Table, vars: &BTreeMap<String, String>) -> Result<Report, Vec<String>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut report = Report::default();
    smarthost(vars, &mut out, &mut report, &mut errors);
    let simple: [(&str, &str, &str, fn(&str) -> Value); 9] = [
        ("ANONYMIZE_EMAILS", "log", "anonymize", |v| Value::Boolean(truthy(v))),
        ("SMTP_HEADER_TAG", "rewrite", "header_tag", |v| Value::String(v.trim().into())),
        ("MASQUERADED_DOMAINS", "rewrite", "masquerade_domains", list),
        ("RELAYHOST_TLS_LEVEL", "delivery", "tls", tls_level),
        ("SMTP_TLS_SECURITY_LEVEL", "delivery", "tls", tls_level),
        ("SERVER_HOSTNAME", "server", "hostname", |v| Value::String(v.trim().into())),
        ("RELAY_MYHOSTNAME", "server", "hostname", |v| Value::String(v.trim().into())),
        ("ALLOWED_SENDER_DOMAINS", "relay", "allowed_sender_domains", list),
        ("MESSAGE_SIZE_LIMIT", "limits", "message_size", integer),
    ];
    for (var, section, key, f) in simple {
        if let Some(v) = vars.get(var) {
            out.push(Setting { var: var.into(), section, key, value: f(v) });
        }
    }
    // boky/postfix XOAUTH2 (with RELAYHOST_USERNAME as the account).
    for (var, key) in [
        ("XOAUTH2_CLIENT_ID", "xoauth2_client_id"),
        ("XOAUTH2_SECRET", "xoauth2_client_secret"),
        ("XOAUTH2_TOKEN_ENDPOINT", "xoauth2_token_endpoint"),
        ("XOAUTH2_INITIAL_ACCESS_TOKEN", "xoauth2_access_token"),
        ("XOAUTH2_INITIAL_REFRESH_TOKEN", "xoauth2_refresh_token"),
    ] {
        if let Some(v) = vars.get(var).filter(|v| !v.trim().is_empty()) {
            out.push(Setting { var: var.into(), section: "delivery", key, value: Value::String(v.trim().into()) });
        }
    }
    for var in ["MYNETWORKS", "SMTP_NETWORKS", "ALLOWED_NETWORKS"] {
        if let Some(v) = vars.get(var) {
            out.push(Setting { var: var.into(), section: "relay", key: "trusted_networks", value: list(v) });
        }
    }
    let hostname = table
        .get("server")
        .and_then(|s| s.get("hostname"))
        .and_then(Value::as_str)
        .map_or_else(|| super::Server::default().hostname, str::to_string);
    let mapped = postfix::map(vars, &hostname, &mut errors);
    out.extend(mapped.settings);
    report.ignored.extend(mapped.ignored.into_iter().map(|(var, why)| format!("{var}: {why}")));
    if let Some((var, value)) = dkim(vars, &mut errors) {
        table.insert("dkim".into(), value);
        out.push(Setting { var, section: "", key: "dkim", value: Value::Boolean(true) });
    }
    // Two variables for one key: refuse rather than pick one, unless they agree.
    let mut by_key: BTreeMap<(&str, &str), Vec<&Setting>> = BTreeMap::new();
    for s in &out {
        by_key.entry((s.section, s.key)).or_default().push(s);
    }
    for ((section, key), set) in &by_key {
        let names: Vec<&str> = set.iter().map(|s| s.var.as_str()).collect();
        if set.iter().any(|s| s.value != set[0].value) {
            errors.push(format!("{} all set {section}.{key}; set only one", names.join(", ")));
        }
        let native = format!("POSTERN_{}__{}", section.to_ascii_uppercase(), key.to_ascii_uppercase());
        if !section.is_empty() && vars.contains_key(&native) {
            errors.push(format!("{} and {native} both set {section}.{key}; set only one", names.join(", ")));
        }
    }
    if let Some((var, addrs)) = &mapped.interfaces {
        match listeners_on(table, addrs) {
            Ok(l) => {
                table.insert("listener".into(), l);
                report.applied.push(var.clone());
            }
            Err(e) => errors.push(format!("{var}: {e}")),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for s in out {
        if !s.section.is_empty() {
            let sect = table.entry(s.section).or_insert_with(|| Value::Table(toml::Table::new()));
            if let Value::Table(t) = sect {
                t.insert(s.key.into(), s.value);
            }
        }
        report.applied.push(s.var);
    }
    Ok(report)
}

/// The configured (or default) listeners, each bound on every address of `addrs` with
/// its own port (Postfix `inet_interfaces`).
fn listeners_on(table: &toml::Table, addrs: &[String]) -> Result<Value, String> {
    let current: Vec<super::Listener> = match table.get("listener") {
        Some(v) => v.clone().try_into().map_err(|e| format!("[[listener]]: {e}"))?,
        None => super::default_listeners(),
    };
    let mut out = Vec::new();
    for l in &current {
        let port = l.bind.rsplit_once(':').map(|(_, p)| p).ok_or_else(|| format!("listener bind {:?} has no port", l.bind))?;
        for a in addrs {
            let ip: std::net::IpAddr = a.parse().map_err(|_| format!("{a:?} is not an IP address, \"all\" or \"loopback-only\""))?;
            let bind = std::net::SocketAddr::new(ip, port.parse().map_err(|_| format!("bad port in {:?}", l.bind))?);
            let mut t = toml::Table::new();
            t.insert("bind".into(), Value::String(bind.to_string()));
            t.insert("kind".into(), Value::String(l.kind.name().into()));
            out.push(Value::Table(t));
        }
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(vars: &[(&str, &str)]) -> Result<(toml::Table, Vec<String>), Vec<String>> {
        let vars: BTreeMap<String, String> = vars.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let mut t = toml::Table::new();
        apply(&mut t, &vars).map(|r| (t, r.applied))
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
        let e = run(&[("MYNETWORKS", "10.0.0.0/8"), ("SMTP_NETWORKS", "172.16.0.0/12")]).unwrap_err();
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

    #[test]
    fn lightweight_relay_sasl_account_and_upstream() {
        let vars: BTreeMap<String, String> = [
            ("RELAY_MYHOSTNAME", "relay.example.com"),
            ("ALLOWED_NETWORKS", "10.0.0.0/8"),
            ("ENABLE_SASL", "true"),
            ("SMTP_USERNAME", "app"),
            ("SMTP_PASSWORD", "client-secret"),
            ("RELAYHOST", "[smtp.example.net]:587"),
            ("RELAYHOST_USERNAME", "upstream"),
            ("RELAYHOST_PASSWORD", "upstream-secret"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let mut t = toml::Table::new();
        let r = apply(&mut t, &vars).unwrap();
        assert_eq!(r.accounts, [("app".to_string(), "client-secret".to_string())]);
        assert_eq!(t["delivery"]["smarthost_username"].as_str(), Some("upstream"));
        assert_eq!(t["delivery"]["smarthost_password"].as_str(), Some("upstream-secret"));
        assert_eq!(t["server"]["hostname"].as_str(), Some("relay.example.com"));
        // Without ENABLE_SASL, SMTP_USERNAME keeps the juanluisbaptiste meaning.
        let e = run(&[("SMTP_USERNAME", "a"), ("RELAYHOST_USERNAME", "b")]).unwrap_err();
        assert!(e[0].contains("smarthost_username"), "{e:?}");
        assert!(run(&[("ENABLE_SASL", "yes"), ("SMTP_USERNAME", "a")]).is_err());
    }

    #[test]
    fn agreeing_variables_are_not_a_conflict() {
        let (t, _) = run(&[("SERVER_HOSTNAME", "a.test"), ("POSTFIX_myhostname", "a.test")]).unwrap();
        assert_eq!(t["server"]["hostname"].as_str(), Some("a.test"));
        assert!(run(&[("SERVER_HOSTNAME", "a.test"), ("POSTFIX_MYHOSTNAME", "b.test")]).is_err());
    }

    #[test]
    fn inet_interfaces_rebinds_every_listener() {
        let (t, applied) = run(&[("POSTFIX_inet_interfaces", "all")]).unwrap();
        let binds: Vec<&str> = t["listener"].as_array().unwrap().iter().filter_map(|l| l["bind"].as_str()).collect();
        assert_eq!(binds, ["0.0.0.0:2525", "0.0.0.0:2587", "0.0.0.0:2465", "0.0.0.0:2143", "0.0.0.0:2993", "0.0.0.0:2110", "0.0.0.0:2995"]);
        assert_eq!(applied, ["POSTFIX_inet_interfaces"]);
    }
}
