//! Checks that serde cannot express; returns every problem at once, each naming its key.
use super::Config;
use std::net::SocketAddr;

pub fn validate(c: &Config) -> Vec<String> {
    let mut errs = Vec::new();
    let mut bad = |key: &str, msg: String| errs.push(format!("{key}: {msg}"));
    if c.server.hostname.trim().is_empty() {
        bad("server.hostname", "must not be empty".into());
    }
    for (i, l) in c.listeners.iter().enumerate() {
        if l.bind.parse::<SocketAddr>().is_err() {
            bad(&format!("listener[{i}].bind"), format!("{:?} is not an ip:port address", l.bind));
        }
    }
    if c.tls.cert.is_some() != c.tls.key.is_some() {
        bad("tls", "set both cert and key, or neither (a self-signed pair is generated)".into());
    }
    let d = &c.directory;
    let sql = d.backend != super::DirectoryBackend::Files;
    if sql && d.url.is_empty() && d.url_file.is_none() {
        bad("directory.url", format!("backend = {:?} needs the database URL (url, url_file or POSTERN_DIRECTORY__URL)", d.backend).to_lowercase());
    }
    if !sql && d.schema == super::DirectorySchema::Postfixadmin {
        bad("directory.schema", "\"postfixadmin\" needs backend = \"sqlite\" or \"postgres\"".into());
    }
    let l = &c.limits;
    for (key, zero) in [
        ("limits.message_size", l.message_size == 0),
        ("limits.recipients", l.recipients == 0),
        ("limits.connections", l.connections == 0),
        ("limits.connections_per_ip", l.connections_per_ip == 0),
        ("limits.errors", l.errors == 0),
        ("limits.auth_failures", l.auth_failures == 0),
        ("limits.command_timeout", l.command_timeout.get().is_zero()),
        ("limits.session_timeout", l.session_timeout.get().is_zero()),
    ] {
        if zero {
            bad(key, "must be greater than zero".into());
        }
    }
    for (key, list) in
        [("relay.local_domains", &c.relay.local_domains), ("relay.allowed_sender_domains", &c.relay.allowed_sender_domains)]
    {
        for d in list {
            if !is_domain(d) {
                bad(key, format!("{d:?} is not a domain name"));
            }
        }
    }
    let d = &c.delivery;
    if d.resolver != "system" && d.resolver.parse::<SocketAddr>().is_err() {
        bad("delivery.resolver", format!("{:?} is neither \"system\" nor ip:port", d.resolver));
    }
    if !["none", "may", "encrypt", "verify"].contains(&d.tls.as_str()) {
        bad("delivery.tls", format!("{:?} is not one of none, may, encrypt, verify", d.tls));
    }
    for h in &d.smarthost {
        if super::smarthost::parse(h).is_none() {
            bad("delivery.smarthost", format!("{h:?} is not host:port or [host]:port"));
        }
    }
    if d.retry_initial > d.retry_max {
        bad("delivery.retry_initial", "must not exceed delivery.retry_max".into());
    }
    if d.concurrency == 0 || d.concurrency_per_destination == 0 {
        bad("delivery.concurrency", "must be greater than zero".into());
    }
    if !c.admin.bind.is_empty() && c.admin.bind.parse::<SocketAddr>().is_err() {
        bad("admin.bind", format!("{:?} is not an ip:port address (\"\" disables the web UI)", c.admin.bind));
    }
    if !c.admin.bind.is_empty() && !c.http.bind.is_empty() && c.admin.bind == c.http.bind && !c.admin.bind.ends_with(":0") {
        bad("admin.bind", format!("{} is also http.bind; the web UI needs its own port", c.admin.bind));
    }
    if c.admin.session_timeout.get().is_zero() {
        bad("admin.session_timeout", "must be greater than zero".into());
    }
    if !c.http.bind.is_empty() && c.http.bind.parse::<SocketAddr>().is_err() {
        bad("http.bind", format!("{:?} is not an ip:port address (\"\" disables HTTP)", c.http.bind));
    }
    for (i, t) in c.http.tokens.iter().enumerate() {
        if t.len() < 32 {
            bad(&format!("http.tokens[{i}]"), "must be at least 32 bytes".into());
        }
    }
    for (i, t) in c.http.admin_tokens.iter().enumerate() {
        if t.len() < 32 {
            bad(&format!("http.admin_tokens[{i}]"), "must be at least 32 bytes".into());
        }
        if c.http.tokens.contains(t) {
            bad(&format!("http.admin_tokens[{i}]"), "also listed in http.tokens; use separate tokens per scope".into());
        }
    }
    if c.http.body_limit == 0 {
        bad("http.body_limit", "must be greater than zero".into());
    }
    inbound(c, &mut bad);
    acme(c, &mut bad);
    super::routing::validate(c, &mut bad);
    if tracing_subscriber::EnvFilter::try_new(&c.log.level).is_err() {
        bad("log.level", format!("{:?} is not a valid filter", c.log.level));
    }
    errs
}

/// `[acme]` and `[mta_sts]`: URLs, names, bind address, delays.
fn acme(c: &Config, bad: &mut impl FnMut(&str, String)) {
    let a = &c.acme;
    if a.enabled() {
        if !a.directory.starts_with("https://") && !a.directory.starts_with("http://") {
            bad("acme.directory", format!("{:?} is not an http(s) URL", a.directory));
        }
        for d in c.acme_domains() {
            if !is_domain(&d) || d.starts_with("*.") {
                bad("acme.domains", format!("{d:?} is not a domain name (wildcards need DNS-01, which postern does not do)"));
            }
        }
        if a.challenge == super::AcmeChallenge::Http01 && a.http_bind.parse::<SocketAddr>().is_err() {
            bad("acme.http_bind", format!("{:?} is not an ip:port address", a.http_bind));
        }
        if a.retry_initial.get().is_zero() || a.retry_initial > a.retry_max {
            bad("acme.retry_initial", "must be greater than zero and not exceed acme.retry_max".into());
        }
        if a.email.contains(['\r', '\n']) || (!a.email.is_empty() && !a.email.contains('@')) {
            bad("acme.email", format!("{:?} is not an email address", a.email));
        }
    }
    if c.mta_sts.mode.is_some() {
        if c.mta_sts_domains().is_empty() {
            bad("mta_sts.domains", "no domain to publish for (set it or relay.local_domains)".into());
        }
        if c.mta_sts.max_age > 31_557_600 {
            bad("mta_sts.max_age", "at most 31557600 seconds (RFC 8461)".into());
        }
        for m in &c.mta_sts.mx {
            if !is_domain(m.strip_prefix("*.").unwrap_or(m)) {
                bad("mta_sts.mx", format!("{m:?} is not a host name or *.domain pattern"));
            }
        }
    }
}

/// `[inbound]`: resolver spec, authserv-id syntax, time budget, ARC sealing key.
fn inbound(c: &Config, bad: &mut impl FnMut(&str, String)) {
    let i = &c.inbound;
    if !i.resolver.is_empty() && i.resolver != "system" && i.resolver.parse::<SocketAddr>().is_err() {
        bad("inbound.resolver", format!("{:?} is not \"\" (delivery.resolver), \"system\" or ip:port", i.resolver));
    }
    if !i.authserv_id.is_empty() && !is_domain(&i.authserv_id) {
        bad("inbound.authserv_id", format!("{:?} is not a domain name", i.authserv_id));
    }
    if i.timeout.get().is_zero() {
        bad("inbound.timeout", "must be greater than zero".into());
    }
    if i.arc_seal {
        let has_key = c.dkim.iter().any(|k| i.arc_domain.is_empty() || k.domain.eq_ignore_ascii_case(&i.arc_domain));
        if !has_key {
            let which = if i.arc_domain.is_empty() { "any domain".to_string() } else { i.arc_domain.clone() };
            bad("inbound.arc_seal", format!("needs a [[dkim]] key for {which} to seal with"));
        }
    }
}

/// A DNS name (A-labels or U-labels) without a trailing dot.
pub fn is_domain(d: &str) -> bool {
    let Some(ascii) = crate::proto::smtp::address::ascii_domain(d) else { return false };
    ascii.len() <= 253
        && ascii.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

#[cfg(test)]
mod inbound_tests {
    use super::*;

    #[test]
    fn inbound_errors_name_their_keys() {
        let mut c = Config::default();
        c.inbound.resolver = "dns.example:53".into();
        c.inbound.authserv_id = "mx test;".into();
        c.inbound.timeout = crate::config::Duration::from_secs(0);
        c.inbound.arc_seal = true;
        let errs = validate(&c).join("\n");
        for key in ["inbound.resolver", "inbound.authserv_id", "inbound.timeout", "inbound.arc_seal"] {
            assert!(errs.contains(key), "{key} missing from:\n{errs}");
        }
        c.inbound = Default::default();
        c.inbound.resolver = "127.0.0.1:5353".into();
        assert!(validate(&c).is_empty(), "{:?}", validate(&c));
    }

    #[test]
    fn inbound_actions_are_typed() {
        let bad = toml::from_str::<Config>("[inbound]\nspf_fail = \"bounce\"\n").unwrap_err().to_string();
        assert!(bad.contains("reject") && bad.contains("tag"), "{bad}");
        let ok: Config = toml::from_str("[inbound]\ndmarc_reject = \"ignore\"\ntemperror = \"accept\"\n").unwrap();
        assert_eq!(ok.inbound.dmarc_reject, crate::config::DmarcRejectAction::Ignore);
        assert_eq!(ok.inbound.temperror, crate::config::TempErrorAction::Accept);
    }
}
