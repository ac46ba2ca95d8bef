//! The DKIM lines: for each `[[dkim]]` selector of the domain, the TXT record at
//! `<selector>._domainkey.<domain>` must publish the public half of the key on disk.
use super::dkim_key::{self, PublicKey};
use super::report::{Finding, Status};
use super::{Ctx, normalize_domain, zone};
use crate::dkim::DkimKeyConfig;
use crate::smtp_client::mx::MxError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// One line per configured selector; true when at least one verifies.
pub(super) async fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) -> bool {
    let entries: Vec<&DkimKeyConfig> =
        ctx.cfg.dkim.iter().filter(|k| normalize_domain(&k.domain).is_ok_and(|d| d == ctx.domain)).collect();
    if entries.is_empty() {
        let d = &ctx.domain;
        let text = format!("no [[dkim]] key for {d}: its mail leaves unsigned, so DMARC rests on SPF alone");
        let fix = format!(
            "postern dkim keygen --domain {d} --selector s1, add [[dkim]] domain = \"{d}\", selector = \"s1\", \
             key = <the written file>, and publish the TXT record it prints"
        );
        out.push(Finding::new(Status::Warn, "DKIM", text).fix(fix));
        return false;
    }
    let mut any = false;
    for entry in entries {
        let finding = selector(ctx, entry).await;
        any |= matches!(finding.status, Status::Ok | Status::Warn);
        out.push(finding);
    }
    any
}

async fn selector(ctx: &Ctx<'_>, cfg: &DkimKeyConfig) -> Finding {
    let name = format!("{}._domainkey.{}", cfg.selector, ctx.domain);
    let key = match dkim_key::load(cfg) {
        Ok(key) => key,
        Err(e) => {
            return Finding::new(
                Status::Fail,
                "DKIM",
                format!("selector {}: the key cannot be used: {e}", cfg.selector),
            )
            .fix(format!(
                "postern dkim keygen --domain {} --selector {} and point key at the new file",
                ctx.domain, cfg.selector
            ));
        }
    };
    let record = key.record(cfg, &ctx.domain);
    let publish = zone::txt(&record.record_name, &record.txt);
    let txt = match ctx.dns.lookup_txt(&name).await {
        Ok(txt) => txt,
        Err(MxError::NotFound { .. }) => Vec::new(),
        Err(e) => return Finding::new(Status::Fail, "DKIM", format!("cannot look up {name}: {e}")),
    };
    match txt.as_slice() {
        [] => Finding::new(
            Status::Fail,
            "DKIM",
            format!("{name}: no record, so signatures with selector {} cannot be verified", cfg.selector),
        )
        .fix(publish),
        [one] => compare(&name, one, &key, cfg, publish),
        many => Finding::new(
            Status::Fail,
            "DKIM",
            format!("{name}: {} TXT records; verifiers may pick any of them", many.len()),
        )
        .fix(format!("keep only: {publish}")),
    }
}

/// Checks one published record against the key on disk.
fn compare(name: &str, txt: &str, key: &PublicKey, cfg: &DkimKeyConfig, publish: String) -> Finding {
    let path = cfg.key.display();
    let tags = tags(txt);
    let tag = |t: &str| tags.iter().find(|(k, _)| k == t).map(|(_, v)| v.as_str());
    let problem = if tag("v").is_some_and(|v| v != "DKIM1") {
        Some("is not a DKIM1 record".to_string())
    } else if let Some(k) = tag("k").filter(|k| !k.eq_ignore_ascii_case(&key.algorithm.to_string())) {
        Some(format!("publishes a k={k} key, but {path} holds a {} key", key.algorithm))
    } else {
        match tag("p").map(|p| p.chars().filter(|c| !c.is_whitespace()).collect::<String>()) {
            None => Some("has no p= tag".to_string()),
            Some(p) if p.is_empty() => Some("is revoked (empty p=)".to_string()),
            Some(p) => match B64.decode(p.as_bytes()) {
                Err(_) => Some("has a p= that is not base64".to_string()),
                Ok(bytes) if !key.matches(&bytes) => Some(format!("publishes another key than the one in {path}")),
                Ok(_) => None,
            },
        }
    };
    if let Some(problem) = problem {
        return Finding::new(Status::Fail, "DKIM", format!("{name} {problem}")).fix(publish);
    }
    if tag("t").is_some_and(|t| t.split(':').any(|f| f.trim().eq_ignore_ascii_case("y"))) {
        return Finding::new(Status::Warn, "DKIM", format!("{name} matches {path} but is in testing mode (t=y)"))
            .fix(publish);
    }
    Finding::new(Status::Ok, "DKIM", format!("{name} matches the {} key in {path}", key.algorithm))
}

/// RFC 6376 §3.2 tag list: `tag=value; ...`, names lowercased, values trimmed.
fn tags(txt: &str) -> Vec<(String, String)> {
    txt.split(';')
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}
