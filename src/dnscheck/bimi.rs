//! The BIMI line (draft-brand-indicators-for-message-identification): `default._bimi.<domain>`
//! TXT `v=BIMI1; l=<https URL of the SVG logo>; a=<https URL of the VMC/CMC PEM>`. Optional;
//! receivers show the logo only when DMARC enforces (p=quarantine or p=reject), so the
//! DMARC policy found by the DMARC check decides between ok and warn.
use super::report::{Finding, Status};
use super::{Ctx, dmarc, zone};
use crate::smtp_client::mx::MxError;
use mail_auth::dmarc::Policy;

/// Longest URL accepted in l= / a= (a bound, far above real ones).
const MAX_URL: usize = 2048;

/// The parsed record: the logo and evidence URLs (`l=` may be empty: "no logo").
#[derive(Debug, PartialEq, Eq)]
struct Bimi {
    logo: String,
    evidence: Option<String>,
}

pub(super) async fn check(ctx: &Ctx<'_>, dmarc_policy: Option<&Policy>, out: &mut Vec<Finding>) {
    let name = format!("default._bimi.{}", ctx.domain);
    let records: Vec<String> = match ctx.dns.lookup_txt(&name).await {
        // Any TXT here is meant as BIMI: a record without v=BIMI1 first is a broken one.
        Ok(txt) => txt,
        Err(MxError::NotFound { .. }) => Vec::new(),
        Err(e) => {
            out.push(Finding::new(Status::Warn, "BIMI", format!("cannot look up {name}: {e}")));
            return;
        }
    };
    let example = zone::txt(&name, &format!("v=BIMI1; l=https://{}/bimi/logo.svg; a=", ctx.domain));
    let finding = match records.as_slice() {
        [] => Finding::new(
            Status::Info,
            "BIMI",
            format!("{name}: not published (optional: your logo next to your mail in supporting clients)"),
        ),
        [raw] => match parse(raw) {
            Err(why) => Finding::new(Status::Warn, "BIMI", format!("{name}: \"{raw}\" is invalid: {why}"))
                .fix(format!("for example: {example}")),
            Ok(bimi) => verdict(&name, raw, &bimi, dmarc_policy),
        },
        many => Finding::new(Status::Warn, "BIMI", format!("{name}: {} records, so receivers use none", many.len()))
            .fix("keep only one"),
    };
    out.push(finding);
}

fn verdict(name: &str, raw: &str, bimi: &Bimi, policy: Option<&Policy>) -> Finding {
    let what = if bimi.logo.is_empty() { "declines to show a logo (empty l=)" } else { "is valid" };
    match policy {
        Some(p @ (Policy::Quarantine | Policy::Reject)) => {
            let evidence = if bimi.evidence.is_none() && !bimi.logo.is_empty() {
                "; without a= (a VMC or CMC) Gmail and Apple Mail show no logo"
            } else {
                ""
            };
            Finding::new(
                Status::Ok,
                "BIMI",
                format!("{name}: \"{raw}\" {what}; DMARC p={} allows it{evidence}", dmarc::label(p)),
            )
        }
        other => {
            let now = other.map_or("no DMARC record".to_string(), |p| format!("DMARC p={}", dmarc::label(p)));
            Finding::new(Status::Warn, "BIMI", format!("{name}: \"{raw}\" {what}, but receivers ignore it: {now}"))
                .fix("BIMI needs DMARC p=quarantine or p=reject (see DMARC above)")
        }
    }
}

/// Checks the record's syntax: `v=BIMI1` first, `l=` present and empty or an https URL,
/// `a=` optional and an https URL; each tag once. Unknown tags are ignored.
fn parse(raw: &str) -> Result<Bimi, String> {
    let mut tags = Vec::new();
    for part in raw.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=').ok_or_else(|| format!("\"{part}\" is not a tag=value pair"))?;
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
        if tags.iter().any(|(seen, _)| *seen == k) {
            return Err(format!("{k}= appears twice"));
        }
        tags.push((k, v));
    }
    match tags.first() {
        Some((k, v)) if k == "v" && v == "BIMI1" => {}
        Some((k, v)) if k == "v" => return Err(format!("unknown version v={v} (expected BIMI1)")),
        _ => return Err("v=BIMI1 must come first".into()),
    }
    let get = |name: &str| tags.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let logo = get("l").ok_or("no l= tag (the logo URL, or empty to decline)")?;
    if !logo.is_empty() {
        https_url(&logo).map_err(|why| format!("l={logo}: {why}"))?;
    }
    let evidence = match get("a") {
        Some(a) if a.is_empty() => None,
        Some(a) => {
            https_url(&a).map_err(|why| format!("a={a}: {why}"))?;
            Some(a)
        }
        None => None,
    };
    Ok(Bimi { logo, evidence })
}

fn https_url(url: &str) -> Result<(), &'static str> {
    if url.len() > MAX_URL {
        return Err("longer than 2048 characters");
    }
    let Some(rest) = url.get(..8).filter(|s| s.eq_ignore_ascii_case("https://")).map(|_| &url[8..]) else {
        return Err("must be an https:// URL");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || url.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b',') {
        return Err("is not a valid URL");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax() {
        let ok = parse("v=BIMI1; l=https://d.test/logo.svg; a=https://d.test/vmc.pem").unwrap();
        assert_eq!(ok.logo, "https://d.test/logo.svg");
        assert_eq!(ok.evidence.as_deref(), Some("https://d.test/vmc.pem"));
        assert_eq!(parse("v=BIMI1; l=; a=;").unwrap(), Bimi { logo: String::new(), evidence: None });
        assert_eq!(parse("v=BIMI1;l=https://d.test/l.svg").unwrap().evidence, None);
        assert_eq!(parse("l=https://d.test/l.svg; v=BIMI1").unwrap_err(), "v=BIMI1 must come first");
        assert!(parse("v=BIMI2; l=").unwrap_err().contains("unknown version"));
        assert!(parse("v=BIMI1; l=http://d.test/l.svg").unwrap_err().contains("must be an https:// URL"));
        assert!(parse("v=BIMI1; l=https://d.test/l.svg; a=ftp://x").unwrap_err().starts_with("a=ftp://x"));
        assert!(parse("v=BIMI1; a=https://d.test/a.pem").unwrap_err().contains("no l= tag"));
        assert!(parse("v=BIMI1; l=; l=").unwrap_err().contains("twice"));
        assert!(parse("v=BIMI1; l=https://").is_err());
        assert!(parse("v=BIMI1; garbage").is_err());
    }

    #[test]
    fn dmarc_decides_between_ok_and_warn() {
        let bimi = parse("v=BIMI1; l=https://d.test/l.svg").unwrap();
        assert_eq!(verdict("n", "r", &bimi, Some(&Policy::Reject)).status, Status::Ok);
        assert!(verdict("n", "r", &bimi, Some(&Policy::Quarantine)).message.contains("without a="));
        let none = verdict("n", "r", &bimi, Some(&Policy::None));
        assert_eq!(none.status, Status::Warn);
        assert!(none.message.ends_with("receivers ignore it: DMARC p=none"), "{}", none.message);
        assert!(verdict("n", "r", &bimi, None).message.ends_with("no DMARC record"));
    }
}
