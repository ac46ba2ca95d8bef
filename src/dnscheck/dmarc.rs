//! The DMARC lines (RFC 7489): a record must exist for the domain (or its organizational
//! domain), enforce a policy (p=none only monitors), and mail from the domain must pass
//! through an aligned identifier: postern signs with d=DOMAIN and sends with MAIL FROM in
//! DOMAIN, so both align under strict and relaxed modes when they pass.
use super::report::{Finding, Status};
use super::{Ctx, zone};
use crate::smtp_client::mx::MxError;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::dmarc::{Alignment, Dmarc, Policy};

/// Runs the DMARC checks; returns the policy that applies to mail from the domain (p=, or
/// sp= when the record is the organizational domain's), for the BIMI check.
pub(super) async fn check(ctx: &Ctx<'_>, spf_pass: bool, dkim_pass: bool, out: &mut Vec<Finding>) -> Option<Policy> {
    let d = &ctx.domain;
    let suggested = zone::txt(&format!("_dmarc.{d}"), "v=DMARC1; p=quarantine");
    let (at, records) = match find(ctx).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            let text =
                format!("_dmarc.{d}: no DMARC record; large receivers require one and apply no policy without it");
            out.push(Finding::new(Status::Fail, "DMARC", text).fix(suggested));
            return None;
        }
        Err(e) => {
            out.push(Finding::new(Status::Fail, "DMARC", format!("cannot look up _dmarc.{d}: {e}")));
            return None;
        }
    };
    let name = format!("_dmarc.{at}");
    if records.len() > 1 {
        let text = format!("{name}: {} DMARC records, so receivers apply none", records.len());
        out.push(
            Finding::new(Status::Fail, "DMARC", text).fix(format!("keep only one: {}", zone::txt(&name, &records[0]))),
        );
        return None;
    }
    let raw = &records[0];
    let dmarc = match Dmarc::parse(raw.as_bytes()) {
        Ok(dmarc) => dmarc,
        Err(e) => {
            out.push(Finding::new(Status::Fail, "DMARC", format!("{name}: \"{raw}\" is invalid ({e})")).fix(suggested));
            return None;
        }
    };
    out.push(policy(&name, raw, &dmarc, at != *d));
    out.push(alignment(d, &dmarc, spf_pass, dkim_pass));
    Some(*effective(&dmarc, at != *d).1)
}

/// The tag and value that apply: sp= for a subdomain covered by its parent's record.
fn effective(dmarc: &Dmarc, inherited: bool) -> (&'static str, &Policy) {
    if inherited && dmarc.sp != Policy::Unspecified { ("sp", &dmarc.sp) } else { ("p", &dmarc.p) }
}

/// The policy line: p= (or sp= when the record is the organizational domain's).
fn policy(name: &str, raw: &str, dmarc: &Dmarc, inherited: bool) -> Finding {
    let (tag, value) = effective(dmarc, inherited);
    let from = if inherited { " (organizational domain)" } else { "" };
    match value {
        Policy::Quarantine | Policy::Reject => {
            Finding::new(Status::Ok, "DMARC", format!("{name}{from}: \"{raw}\" ({tag}={})", label(value)))
        }
        Policy::None => Finding::new(
            Status::Warn,
            "DMARC",
            format!("{name}{from}: \"{raw}\" has {tag}=none: it only monitors, spoofed mail is still delivered"),
        )
        .fix(format!("once reports show your mail passes: {}", zone::txt(name, &with_tag(raw, tag, "quarantine")))),
        Policy::Unspecified => Finding::new(Status::Fail, "DMARC", format!("{name}{from}: \"{raw}\" has no p= tag"))
            .fix(zone::txt(name, &with_tag(raw, "p", "quarantine"))),
    }
}

/// The alignment line: DMARC passes when DKIM or SPF passes aligned with the From domain.
fn alignment(d: &str, dmarc: &Dmarc, spf_pass: bool, dkim_pass: bool) -> Finding {
    let dkim = format!("DKIM (d={d}, adkim={})", mode(&dmarc.adkim));
    let spf = format!("SPF (MAIL FROM @{d}, aspf={})", mode(&dmarc.aspf));
    match (dkim_pass, spf_pass) {
        (true, true) => Finding::new(Status::Ok, "DMARC", format!("mail from {d} passes aligned {dkim} and {spf}")),
        (true, false) => Finding::new(
            Status::Ok,
            "DMARC",
            format!("mail from {d} passes aligned {dkim}; {spf} does not pass from every IP (see SPF)"),
        ),
        (false, true) => Finding::new(
            Status::Warn,
            "DMARC",
            format!("mail from {d} passes by {spf} alone: forwarded mail will fail DMARC"),
        )
        .fix("configure and publish a DKIM key (see DKIM above)"),
        (false, false) => Finding::new(
            Status::Fail,
            "DMARC",
            format!("mail from {d} will fail DMARC: neither {dkim} nor {spf} passes"),
        )
        .fix("publish the SPF and DKIM records shown above"),
    }
}

/// The DMARC records of the domain, else of its parents (the organizational domain
/// without a public suffix list: every parent with at least two labels).
async fn find(ctx: &Ctx<'_>) -> Result<Option<(String, Vec<String>)>, MxError> {
    let mut name = ctx.domain.as_str();
    loop {
        let records = match ctx.dns.lookup_txt(&format!("_dmarc.{name}")).await {
            Ok(txt) => {
                txt.into_iter().filter(|t| t.trim_start().to_ascii_lowercase().starts_with("v=dmarc1")).collect()
            }
            Err(MxError::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        if !records.is_empty() {
            return Ok(Some((name.to_string(), records)));
        }
        match name.split_once('.') {
            Some((_, parent)) if parent.contains('.') => name = parent,
            _ => return Ok(None),
        }
    }
}

/// `raw` with `tag` set to `value` (added after `v=DMARC1` when absent).
fn with_tag(raw: &str, tag: &str, value: &str) -> String {
    let mut parts: Vec<String> = raw.split(';').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect();
    let pos = parts.iter().position(|p| p.split_once('=').is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(tag)));
    match pos {
        Some(i) => parts[i] = format!("{tag}={value}"),
        None => parts.insert(1.min(parts.len()), format!("{tag}={value}")),
    }
    parts.join("; ")
}

pub(super) fn label(policy: &Policy) -> &'static str {
    match policy {
        Policy::None => "none",
        Policy::Quarantine => "quarantine",
        Policy::Reject => "reject",
        Policy::Unspecified => "unspecified",
    }
}

fn mode(alignment: &Alignment) -> &'static str {
    match alignment {
        Alignment::Relaxed => "r",
        Alignment::Strict => "s",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_tag_is_replaced_or_added() {
        assert_eq!(
            with_tag("v=DMARC1; p=none; rua=mailto:a@d.test", "p", "quarantine"),
            "v=DMARC1; p=quarantine; rua=mailto:a@d.test"
        );
        assert_eq!(
            with_tag("v=DMARC1;rua=mailto:a@d.test;", "p", "quarantine"),
            "v=DMARC1; p=quarantine; rua=mailto:a@d.test"
        );
        assert_eq!(with_tag("v=DMARC1; p=reject; sp=none", "sp", "quarantine"), "v=DMARC1; p=reject; sp=quarantine");
    }

    #[test]
    fn verdicts() {
        let dmarc = Dmarc::parse(b"v=DMARC1; p=none; adkim=s").unwrap();
        let f = policy("_dmarc.d.test", "v=DMARC1; p=none; adkim=s", &dmarc, false);
        assert_eq!(f.status, Status::Warn);
        assert!(
            f.fixes[0].ends_with("_dmarc.d.test. 3600 IN TXT \"v=DMARC1; p=quarantine; adkim=s\""),
            "{:?}",
            f.fixes
        );
        assert_eq!(alignment("d.test", &dmarc, true, true).status, Status::Ok);
        assert!(alignment("d.test", &dmarc, true, true).message.contains("adkim=s"));
        assert_eq!(alignment("d.test", &dmarc, true, false).status, Status::Warn);
        assert_eq!(alignment("d.test", &dmarc, false, false).status, Status::Fail);
    }
}
