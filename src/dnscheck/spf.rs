//! SPF (RFC 7208), evaluated per public IP with mail-auth's verifier: the MAIL FROM
//! identity of the domain (`postmaster@DOMAIN`) and the EHLO identity of
//! `server.hostname` (what receivers check for bounces, whose MAIL FROM is empty).
use super::report::{Finding, Status};
use super::{Ctx, host::join, is_hostname, zone};
use crate::smtp_client::mx::MxError;
use mail_auth::SpfResult;
use mail_auth::spf::verify::SpfParameters;
use std::net::IpAddr;

/// The SPF line of the domain; true when SPF passes for every IP.
pub(super) async fn check(ctx: &Ctx<'_>, ips: &[IpAddr], out: &mut Vec<Finding>) -> bool {
    let domain = &ctx.domain;
    let mechanisms = if ips.is_empty() { format!("a:{}", ctx.hostname) } else { zone::spf_mechanisms(ips) };
    let minimal = zone::txt(domain, &format!("v=spf1 {mechanisms} ~all"));
    let record = match records(ctx, domain).await {
        Err(e) => return push(out, Finding::new(Status::Fail, "SPF", format!("cannot look up {domain}: {e}"))),
        Ok(r) if r.is_empty() => {
            let text = format!("{domain} publishes no SPF record: receivers cannot tell this server may send for it");
            return push(out, Finding::new(Status::Fail, "SPF", text).fix(minimal));
        }
        Ok(r) if r.len() > 1 => {
            let text =
                format!("{domain} publishes {} SPF records, which is a permerror: receivers ignore them all", r.len());
            let merged = zone::txt(domain, &with_mechanisms(&r[0], &mechanisms));
            return push(out, Finding::new(Status::Fail, "SPF", text).fix(format!("keep only one: {merged}")));
        }
        Ok(mut r) => r.remove(0),
    };
    if ips.is_empty() {
        return push(
            out,
            Finding::new(Status::Info, "SPF", format!("{domain}: \"{record}\" (no IP to evaluate it for)")),
        );
    }
    let mut results = Vec::new();
    for ip in ips {
        let sender = format!("postmaster@{domain}");
        let params = SpfParameters::verify_mail_from(*ip, &ctx.hostname, &ctx.hostname, &sender);
        results.push((*ip, ctx.auth.verify_spf(params).await.result()));
    }
    let finding = verdict(domain, &record, &results, "~all");
    let pass = finding.status == Status::Ok || finding.status == Status::Warn;
    out.push(finding);
    pass
}

/// The EHLO SPF line: the SPF record of `server.hostname`, for bounces.
pub(super) async fn helo(ctx: &Ctx<'_>, ips: &[IpAddr], out: &mut Vec<Finding>) {
    let host = &ctx.hostname;
    if ips.is_empty() || !is_hostname(host) {
        return;
    }
    let record = match records(ctx, host).await {
        Ok(r) if r.len() == 1 => r.into_iter().next().unwrap_or_default(),
        Ok(r) if r.is_empty() => {
            let text = format!("{host} (the EHLO name) has no SPF record; receivers check it for bounces");
            out.push(Finding::new(Status::Warn, "EHLO", text).fix(zone::txt(host, "v=spf1 a -all")));
            return;
        }
        Ok(r) => {
            let text = format!("{host} (the EHLO name) has {} SPF records, which is a permerror", r.len());
            out.push(
                Finding::new(Status::Fail, "EHLO", text)
                    .fix(format!("keep only one: {}", zone::txt(host, "v=spf1 a -all"))),
            );
            return;
        }
        Err(e) => {
            out.push(Finding::new(Status::Fail, "EHLO", format!("cannot look up the SPF record of {host}: {e}")));
            return;
        }
    };
    let mut results = Vec::new();
    for ip in ips {
        results.push((*ip, ctx.auth.verify_spf(SpfParameters::verify_ehlo(*ip, host, host)).await.result()));
    }
    let mut finding = verdict(host, &record, &results, "-all");
    finding.check = "EHLO";
    finding.message = format!("SPF of the EHLO name {}", finding.message);
    out.push(finding);
}

/// One line from per-IP results: ok when all pass, else what to add to the record.
fn verdict(name: &str, record: &str, results: &[(IpAddr, SpfResult)], all: &str) -> Finding {
    let failing: Vec<IpAddr> = results.iter().filter(|(_, r)| *r != SpfResult::Pass).map(|(ip, _)| *ip).collect();
    let worst = results.iter().map(|(_, r)| *r).find(|r| *r != SpfResult::Pass);
    match worst {
        None if passes_everyone(record) => Finding::new(
            Status::Warn,
            "SPF",
            format!("{name}: \"{record}\" passes for every host on the Internet, so it proves nothing"),
        )
        .fix(zone::txt(name, &restricted(record, results, all))),
        None => Finding::new(
            Status::Ok,
            "SPF",
            format!("{name}: \"{record}\" passes for {}", join(&results.iter().map(|(ip, _)| *ip).collect::<Vec<_>>())),
        ),
        Some(SpfResult::PermError) => Finding::new(
            Status::Fail,
            "SPF",
            format!("{name}: \"{record}\" is broken (permerror: a syntax error, or more than 10 DNS lookups)"),
        )
        .fix(format!(
            "correct it; the smallest record that works: {}",
            zone::txt(name, &format!("v=spf1 {} {all}", zone::spf_mechanisms(&failing)))
        )),
        Some(SpfResult::TempError) => {
            Finding::new(Status::Fail, "SPF", format!("{name}: \"{record}\" could not be evaluated (DNS error)"))
        }
        Some(result) => Finding::new(
            Status::Fail,
            "SPF",
            format!("{name}: \"{record}\" does not authorize {} (result: {})", join(&failing), label(&result)),
        )
        .fix(zone::txt(name, &with_mechanisms(record, &zone::spf_mechanisms(&failing)))),
    }
}

fn push(out: &mut Vec<Finding>, finding: Finding) -> bool {
    out.push(finding);
    false
}

/// The `v=spf1` TXT records of `name` (NXDOMAIN counts as none).
async fn records(ctx: &Ctx<'_>, name: &str) -> Result<Vec<String>, MxError> {
    let txt = match ctx.dns.lookup_txt(name).await {
        Ok(txt) => txt,
        Err(MxError::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(txt.into_iter().filter(|t| is_spf(t)).collect())
}

fn is_spf(txt: &str) -> bool {
    let lower = txt.trim().to_ascii_lowercase();
    lower == "v=spf1" || lower.starts_with("v=spf1 ")
}

/// `record` with `mechanisms` placed right after `v=spf1`, ahead of `all` and `redirect=`.
fn with_mechanisms(record: &str, mechanisms: &str) -> String {
    let rest = record.trim().get(6..).unwrap_or("").trim();
    if rest.is_empty() { format!("v=spf1 {mechanisms} ~all") } else { format!("v=spf1 {mechanisms} {rest}") }
}

/// `record` with `+all` turned into `all` (`~all`/`-all`) and these IPs authorized.
fn restricted(record: &str, results: &[(IpAddr, SpfResult)], all: &str) -> String {
    let terms: Vec<&str> = record
        .split_ascii_whitespace()
        .map(|t| if t.eq_ignore_ascii_case("+all") || t.eq_ignore_ascii_case("all") { all } else { t })
        .collect();
    let ips: Vec<IpAddr> = results.iter().map(|(ip, _)| *ip).collect();
    with_mechanisms(&terms.join(" "), &zone::spf_mechanisms(&ips))
}

fn passes_everyone(record: &str) -> bool {
    record.split_ascii_whitespace().any(|t| t.eq_ignore_ascii_case("+all") || t.eq_ignore_ascii_case("all"))
}

fn label(result: &SpfResult) -> &'static str {
    match result {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanisms_go_first() {
        assert_eq!(with_mechanisms("v=spf1 mx -all", "ip4:192.0.2.1"), "v=spf1 ip4:192.0.2.1 mx -all");
        assert_eq!(with_mechanisms("v=spf1", "ip6:2001:db8::1"), "v=spf1 ip6:2001:db8::1 ~all");
        assert!(is_spf("V=SPF1 -all") && !is_spf("v=spf10") && !is_spf("google-site-verification=x"));
        assert!(passes_everyone("v=spf1 +all") && passes_everyone("v=spf1 all") && !passes_everyone("v=spf1 -all"));
    }

    #[test]
    fn verdicts() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let ok = verdict("d.test", "v=spf1 ip4:192.0.2.1 -all", &[(ip, SpfResult::Pass)], "~all");
        assert_eq!(ok.status, Status::Ok);
        let soft = verdict("d.test", "v=spf1 mx ~all", &[(ip, SpfResult::SoftFail)], "~all");
        assert_eq!(soft.status, Status::Fail);
        assert!(soft.message.contains("result: softfail"), "{}", soft.message);
        assert_eq!(soft.fixes, ["d.test. 3600 IN TXT \"v=spf1 ip4:192.0.2.1 mx ~all\""]);
        let open = verdict("d.test", "v=spf1 +all", &[(ip, SpfResult::Pass)], "~all");
        assert_eq!(open.status, Status::Warn);
        assert_eq!(open.fixes, ["d.test. 3600 IN TXT \"v=spf1 ip4:192.0.2.1 ~all\""]);
    }
}
