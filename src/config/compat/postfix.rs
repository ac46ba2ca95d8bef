//! `POSTFIX_<main.cf parameter>` variables (boky/postfix passes any of them to postconf;
//! seed images use the upper-case spelling): the parameters with a postern equivalent
//! become settings, every other one is reported so nothing is ignored silently.
use super::{Setting, integer, list, tls_level};
use std::collections::BTreeMap;
use toml::Value;

/// How a parameter's value becomes a postern value.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    List,
    Integer,
    /// Postfix time with the parameter's default unit (`5d`, `300s`, bare `5`).
    Time(char),
    /// Postfix `$anvil_rate_time_unit` rates are per minute; 0 means no limit.
    PerMinute,
    OutboundTls,
    InboundTls,
    BareNewline,
    Networks,
    Domains,
}

/// main.cf parameter (lower case) → postern key.
const PARAMS: &[(&str, &str, &str, Kind)] = &[
    ("myhostname", "server", "hostname", Kind::Text),
    ("myorigin", "server", "origin", Kind::Text),
    ("mydestination", "relay", "local_domains", Kind::Domains),
    ("relay_domains", "relay", "local_domains", Kind::Domains),
    ("mynetworks", "relay", "trusted_networks", Kind::Networks),
    ("message_size_limit", "limits", "message_size", Kind::Integer),
    ("smtpd_recipient_limit", "limits", "recipients", Kind::Integer),
    ("smtpd_hard_error_limit", "limits", "errors", Kind::Integer),
    ("smtpd_client_connection_count_limit", "limits", "connections_per_ip", Kind::Integer),
    ("smtpd_client_connection_rate_limit", "limits", "connection_rate", Kind::PerMinute),
    ("smtpd_client_message_rate_limit", "limits", "message_rate", Kind::PerMinute),
    ("smtpd_timeout", "limits", "command_timeout", Kind::Time('s')),
    ("smtpd_forbid_bare_newline", "limits", "bare_newline", Kind::BareNewline),
    ("relayhost", "delivery", "smarthost", Kind::List),
    ("smtp_tls_security_level", "delivery", "tls", Kind::OutboundTls),
    ("smtp_tls_cafile", "delivery", "tls_ca_file", Kind::Text),
    ("maximal_queue_lifetime", "delivery", "lifetime", Kind::Time('d')),
    ("minimal_backoff_time", "delivery", "retry_initial", Kind::Time('s')),
    ("maximal_backoff_time", "delivery", "retry_max", Kind::Time('s')),
    ("delay_warning_time", "delivery", "delay_notice", Kind::Time('h')),
    ("smtpd_tls_security_level", "tls", "inbound", Kind::InboundTls),
    ("smtpd_tls_cert_file", "tls", "cert", Kind::Text),
    ("smtpd_tls_key_file", "tls", "key", Kind::Text),
];

/// What the POSTFIX_* variables asked for.
#[derive(Default)]
pub(super) struct Mapped {
    pub settings: Vec<Setting>,
    /// `inet_interfaces`: the addresses every listener binds (ports kept).
    pub interfaces: Option<(String, Vec<String>)>,
    /// (variable, why it has no effect).
    pub ignored: Vec<(String, String)>,
}

/// The POSTFIX_* variables by lower-case parameter name. Two spellings of one parameter
/// are an error unless they agree.
fn params(env: &BTreeMap<String, String>, errors: &mut Vec<String>) -> BTreeMap<String, (String, String)> {
    let mut out: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (var, value) in env {
        let Some(param) = var.strip_prefix("POSTFIX_").filter(|p| !p.is_empty()) else { continue };
        let param = param.to_ascii_lowercase();
        match out.get(&param) {
            Some((other, v)) if v != value => errors.push(format!("{other} and {var} both set {param}; set only one")),
            Some(_) => {}
            None => {
                out.insert(param, (var.clone(), value.clone()));
            }
        }
    }
    out
}

/// `$name` and `${name}` replaced by the value of another POSTFIX_* parameter
/// (`$myhostname` defaults to `hostname`, as in Postfix).
fn expand(raw: &str, params: &BTreeMap<String, (String, String)>, hostname: &str, used: &mut Vec<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, tail) = if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').ok_or_else(|| format!("unclosed ${{ in {raw:?}"))?;
            (&inner[..end], &inner[end + 1..])
        } else {
            let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        let name = name.to_ascii_lowercase();
        match params.get(&name) {
            Some((var, v)) => {
                used.push(var.clone());
                out.push_str(v.trim());
            }
            None if name == "myhostname" => out.push_str(hostname),
            None => return Err(format!("${name} is not set by any POSTFIX_ variable")),
        }
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// `5d`, `300s`, `2h`, `90m`, `1w` or a bare number in `unit` → a postern duration.
fn time(v: &str, unit: char) -> Value {
    let v = v.trim();
    let (num, u) = match v.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&v[..i], c),
        _ => (v, unit),
    };
    match (num.parse::<u64>(), u) {
        (Ok(n), 'w') => Value::String(format!("{}d", n * 7)),
        (Ok(n), 's' | 'm' | 'h' | 'd') => Value::String(format!("{n}{u}")),
        _ => Value::String(v.into()), // validation names the bad value
    }
}

fn convert(kind: Kind, v: &str) -> Value {
    let s = |x: &str| Value::String(x.into());
    match kind {
        Kind::Text => s(v.trim()),
        Kind::List => list(v),
        Kind::Integer => integer(v),
        Kind::Time(unit) => time(v, unit),
        Kind::PerMinute => match v.trim() {
            "0" | "" => s(""),
            n => s(&format!("{n}/m")),
        },
        Kind::OutboundTls => tls_level(v),
        Kind::InboundTls => match v.trim().to_ascii_lowercase().as_str() {
            "" | "none" => s("none"),
            "may" => s("may"),
            "encrypt" => s("encrypt"),
            other => s(other),
        },
        Kind::BareNewline => match v.trim().to_ascii_lowercase().as_str() {
            "yes" | "reject" => s("reject"),
            "no" | "normalize" | "note" => s("normalize"),
            other => s(other),
        },
        // `[::1]/128` is Postfix's spelling of an IPv6 network.
        Kind::Networks => list(&v.replace(['[', ']'], "")),
        // Postfix always serves localhost itself; postern needs no entry for it.
        Kind::Domains => match list(v) {
            Value::Array(a) => Value::Array(
                a.into_iter()
                    .filter(|d| d.as_str().is_some_and(|d| d != "localhost" && !d.starts_with("localhost.")))
                    .collect(),
            ),
            other => other,
        },
    }
}

/// Maps every POSTFIX_* variable, collecting conflicts in `errors`.
pub(super) fn map(env: &BTreeMap<String, String>, hostname: &str, errors: &mut Vec<String>) -> Mapped {
    let params = params(env, errors);
    let mut mapped = Mapped::default();
    let mut used = Vec::new();
    let mut domains: Option<(Vec<String>, Vec<Value>)> = None;
    for (param, (var, raw)) in &params {
        let value = match expand(raw, &params, hostname, &mut used) {
            Ok(v) => v,
            Err(e) => {
                errors.push(format!("{var}: {e}"));
                continue;
            }
        };
        if param == "inet_interfaces" {
            let addrs = match value.trim() {
                "all" => vec!["0.0.0.0".to_string()],
                "loopback-only" => vec!["127.0.0.1".to_string()],
                v => v.split([',', ' ']).map(str::trim).filter(|a| !a.is_empty()).map(String::from).collect(),
            };
            mapped.interfaces = Some((var.clone(), addrs));
            continue;
        }
        let Some(&(_, section, key, kind)) = PARAMS.iter().find(|p| p.0 == param) else {
            if param != "mydomain" {
                mapped.ignored.push((var.clone(), format!("main.cf parameter {param} has no postern equivalent")));
            }
            continue;
        };
        let value = convert(kind, &value);
        if let Kind::Domains = kind {
            // mydestination and relay_domains both list domains accepted from anyone.
            let (vars, all) = domains.get_or_insert_with(Default::default);
            vars.push(var.clone());
            all.extend(value.as_array().cloned().unwrap_or_default());
            continue;
        }
        mapped.settings.push(Setting { var: var.clone(), section, key, value });
    }
    if let Some((vars, all)) = domains {
        mapped.settings.push(Setting { var: vars.join(", "), section: "relay", key: "local_domains", value: Value::Array(all) });
    }
    if let Some((var, _)) = params.get("mydomain")
        && !used.contains(var)
    {
        let why = "used only as $mydomain in other POSTFIX_ variables (postern has no mydestination default; list domains in relay.local_domains)";
        mapped.ignored.push((var.clone(), why.into()));
    }
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(vars: &[(&str, &str)]) -> (Mapped, Vec<String>) {
        let env: BTreeMap<String, String> = vars.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        let mut errors = Vec::new();
        (map(&env, "host.test", &mut errors), errors)
    }

    fn get<'a>(m: &'a Mapped, key: &str) -> &'a Value {
        &m.settings.iter().find(|s| s.key == key).unwrap_or_else(|| panic!("{key} not set")).value
    }

    #[test]
    fn upper_and_lower_case_names_map() {
        let (m, e) = run(&[
            ("POSTFIX_MYHOSTNAME", "mail.example.com"),
            ("POSTFIX_smtp_tls_security_level", "encrypt"),
            ("POSTFIX_SMTPD_TLS_SECURITY_LEVEL", "may"),
            ("POSTFIX_MESSAGE_SIZE_LIMIT", "10240000"),
            ("POSTFIX_MYNETWORKS", "127.0.0.0/8 [::1]/128 10.0.0.0/8"),
            ("POSTFIX_RELAYHOST", "[smtp.example.net]:587"),
            ("POSTFIX_maximal_queue_lifetime", "2"),
            ("POSTFIX_smtpd_client_message_rate_limit", "30"),
        ]);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(get(&m, "hostname").as_str(), Some("mail.example.com"));
        assert_eq!(get(&m, "tls").as_str(), Some("encrypt"));
        assert_eq!(get(&m, "inbound").as_str(), Some("may"));
        assert_eq!(get(&m, "message_size").as_integer(), Some(10240000));
        assert_eq!(get(&m, "trusted_networks").as_array().unwrap()[1].as_str(), Some("::1/128"));
        assert_eq!(get(&m, "smarthost")[0].as_str(), Some("[smtp.example.net]:587"));
        assert_eq!(get(&m, "lifetime").as_str(), Some("2d"));
        assert_eq!(get(&m, "message_rate").as_str(), Some("30/m"));
        assert!(m.ignored.is_empty());
    }

    #[test]
    fn unknown_parameters_are_reported_by_name() {
        let (m, e) = run(&[("POSTFIX_header_checks", "regexp:/x"), ("POSTFIX_MYDOMAIN", "example.com")]);
        assert!(e.is_empty());
        let mut names: Vec<&str> = m.ignored.iter().map(|(v, _)| v.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["POSTFIX_MYDOMAIN", "POSTFIX_header_checks"]);
    }

    #[test]
    fn expansion_and_merged_domains() {
        let (m, e) = run(&[
            ("POSTFIX_MYDOMAIN", "example.com"),
            ("POSTFIX_myorigin", "$mydomain"),
            ("POSTFIX_mydestination", "$myhostname, localhost.$mydomain, localhost, ${mydomain}"),
            ("POSTFIX_relay_domains", "example.org"),
        ]);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(get(&m, "origin").as_str(), Some("example.com"));
        let d: Vec<&str> = get(&m, "local_domains").as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert_eq!(d, ["host.test", "example.com", "example.org"]);
        assert!(m.ignored.is_empty(), "mydomain was used");
    }

    #[test]
    fn conflicting_spellings_and_bad_expansions_are_errors() {
        let (_, e) = run(&[("POSTFIX_MYHOSTNAME", "a.test"), ("POSTFIX_myhostname", "b.test")]);
        assert!(e[0].contains("both set myhostname"), "{e:?}");
        let (_, e) = run(&[("POSTFIX_MYHOSTNAME", "a.test"), ("POSTFIX_myhostname", "a.test")]);
        assert!(e.is_empty());
        let (_, e) = run(&[("POSTFIX_myorigin", "$nope")]);
        assert!(e[0].contains("POSTFIX_myorigin") && e[0].contains("$nope"), "{e:?}");
    }

    #[test]
    fn inet_interfaces() {
        let (m, _) = run(&[("POSTFIX_INET_INTERFACES", "all")]);
        assert_eq!(m.interfaces.unwrap().1, ["0.0.0.0"]);
        let (m, _) = run(&[("POSTFIX_inet_interfaces", "127.0.0.1, ::1")]);
        assert_eq!(m.interfaces.unwrap().1, ["127.0.0.1", "::1"]);
    }
}
