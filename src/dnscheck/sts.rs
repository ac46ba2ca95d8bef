//! MTA-STS (RFC 8461) and TLS-RPT (RFC 8460). Both are optional; once published they must
//! work: an `_mta-sts` record without a fetchable policy, or a policy that does not list
//! the MX hosts, makes senders that enforce it unable to deliver.
use super::report::{Finding, Status};
use super::{Ctx, zone};
use crate::smtp_client::mta_sts::{POLICY_PATH, StsMode, parse_policy, parse_txt};
use crate::smtp_client::mx::MxError;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::mta_sts::TlsRpt;

/// The MTA-STS line; true when an `_mta-sts` record is published.
pub(super) async fn mta_sts(ctx: &Ctx<'_>, mx_hosts: &[String], out: &mut Vec<Finding>) -> bool {
    let d = &ctx.domain;
    let name = format!("_mta-sts.{d}");
    let txt = match lookup(ctx, &name, "v=STSv1").await {
        Ok(txt) => txt,
        Err(e) => {
            return push(out, Finding::new(Status::Fail, "MTA-STS", format!("cannot look up {name}: {e}")), false);
        }
    };
    if txt.is_empty() {
        let text = format!("{name}: not published (optional: lets senders insist on TLS to your MX hosts)");
        return push(out, Finding::new(Status::Info, "MTA-STS", text), false);
    }
    // Without MX hosts, the policy lists the one the MX line suggests: this server.
    let body = policy_body(if mx_hosts.is_empty() { std::slice::from_ref(&ctx.hostname) } else { mx_hosts });
    let Some(id) = parse_txt(&txt) else {
        let text =
            format!("{name}: needs exactly one \"v=STSv1; id=...\" record with an id of 1-32 letters and digits");
        let fix = zone::txt(&name, &format!("v=STSv1; id={}", new_id()));
        return push(out, Finding::new(Status::Fail, "MTA-STS", text).fix(fix), true);
    };
    let url = format!("https://mta-sts.{d}{POLICY_PATH}");
    let text = match ctx.sts.fetch(d).await {
        Ok(text) => text,
        Err(e) => {
            let f = Finding::new(
                Status::Fail,
                "MTA-STS",
                format!("{name} is published (id={id}) but its policy cannot be fetched: {e}"),
            )
            .fix(format!("serve {url} over HTTPS with a certificate for mta-sts.{d}, containing:\n{body}"))
            .fix(format!("or delete the {name} record"));
            return push(out, f, true);
        }
    };
    let policy = match parse_policy(d, &id, &text) {
        Ok(policy) => policy,
        Err(e) => {
            let f = Finding::new(Status::Fail, "MTA-STS", format!("{url}: {e}")).fix(format!("serve instead:\n{body}"));
            return push(out, f, true);
        }
    };
    let uncovered: Vec<&str> = mx_hosts.iter().filter(|h| !policy.matches(h)).map(String::as_str).collect();
    let mode = mode(policy.mode);
    let finding = if policy.mode == StsMode::None {
        Finding::new(Status::Info, "MTA-STS", format!("{url}: mode none (the policy is withdrawn)"))
    } else if !uncovered.is_empty() {
        Finding::new(
            Status::Fail,
            "MTA-STS",
            format!(
                "{url} (mode {mode}) does not list MX {}: senders enforcing it will not deliver there",
                uncovered.join(", ")
            ),
        )
        .fix(format!("serve instead:\n{body}"))
        .fix(format!("then change the id: {}", zone::txt(&name, &format!("v=STSv1; id={}", new_id()))))
    } else {
        let covers = if mx_hosts.is_empty() {
            "(no MX hosts to compare)".to_string()
        } else {
            format!("covers MX {}", mx_hosts.join(", "))
        };
        Finding::new(Status::Ok, "MTA-STS", format!("{url} (id={id}, mode {mode}) {covers}"))
    };
    push(out, finding, true)
}

/// The TLS-RPT line.
pub(super) async fn tls_rpt(ctx: &Ctx<'_>, sts_published: bool, out: &mut Vec<Finding>) {
    let d = &ctx.domain;
    let name = format!("_smtp._tls.{d}");
    let suggested = zone::txt(&name, &format!("v=TLSRPTv1; rua=mailto:tlsrpt@{d}"));
    let finding = match lookup(ctx, &name, "v=TLSRPTv1").await {
        Err(e) => Finding::new(Status::Fail, "TLS-RPT", format!("cannot look up {name}: {e}")),
        Ok(txt) if txt.is_empty() => {
            let f = Finding::new(
                Status::Info,
                "TLS-RPT",
                format!("{name}: not published (optional: daily reports of TLS failures)"),
            );
            if sts_published { f.fix(suggested) } else { f }
        }
        Ok(txt) if txt.len() > 1 => {
            Finding::new(Status::Fail, "TLS-RPT", format!("{name}: {} records, so senders use none", txt.len()))
                .fix(suggested)
        }
        Ok(txt) => match TlsRpt::parse(txt[0].as_bytes()) {
            Ok(_) => Finding::new(Status::Ok, "TLS-RPT", format!("{name}: \"{}\"", txt[0])),
            Err(_) => Finding::new(
                Status::Fail,
                "TLS-RPT",
                format!("{name}: \"{}\" has no valid rua= (mailto: or https:)", txt[0]),
            )
            .fix(suggested),
        },
    };
    out.push(finding);
}

/// TXT records of `name` starting with `version` (NXDOMAIN counts as none).
async fn lookup(ctx: &Ctx<'_>, name: &str, version: &str) -> Result<Vec<String>, MxError> {
    match ctx.dns.lookup_txt(name).await {
        Ok(txt) => Ok(txt.into_iter().filter(|t| t.trim_start().starts_with(version)).collect()),
        Err(MxError::NotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// A policy to start with: `testing` reports problems without blocking delivery.
fn policy_body(mx_hosts: &[String]) -> String {
    let mut body = String::from("version: STSv1\nmode: testing\n");
    for host in mx_hosts {
        body.push_str(&format!("mx: {host}\n"));
    }
    body.push_str("max_age: 604800");
    body
}

/// A fresh policy id: the current Unix time (digits only, as the id must be alphanumeric).
fn new_id() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn mode(mode: StsMode) -> &'static str {
    match mode {
        StsMode::Enforce => "enforce",
        StsMode::Testing => "testing",
        StsMode::None => "none",
    }
}

fn push(out: &mut Vec<Finding>, finding: Finding, published: bool) -> bool {
    out.push(finding);
    published
}
