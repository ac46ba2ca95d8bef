//! MTA-STS (RFC 8461) and TLS-RPT (RFC 8460). Both are optional; once published they must
//! work: an `_mta-sts` record without a fetchable policy, or a policy that does not list
//! the MX hosts, makes senders that enforce it unable to deliver. Both also add their
//! records to the "records to publish" list: the policy postern would serve (mode
//! testing, the MX hosts, a week) with its content-derived id, and a TLS-RPT address.
use super::report::{Finding, Publish, Published, Status};
use super::{Ctx, zone};
use crate::proto::mta_sts::Policy;
use crate::smtp_client::mta_sts::{POLICY_PATH, StsMode, StsPolicy, parse_policy, parse_txt};
use crate::smtp_client::mx::MxError;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::mta_sts::TlsRpt;

const POLICY_NOTE: &str =
    "once postern's HTTP listener serves it for mta-sts.<domain>, with a certificate for that name";

/// The MTA-STS line and its two records to publish; true when an `_mta-sts` record is
/// published.
pub(super) async fn mta_sts(
    ctx: &Ctx<'_>,
    mx_hosts: &[String],
    out: &mut Vec<Finding>,
    publish: &mut Vec<Publish>,
) -> bool {
    let d = &ctx.domain;
    let name = format!("_mta-sts.{d}");
    // The policy `[mta_sts]` makes the HTTP listener serve for this domain; else a testing
    // one listing the MX hosts (without MX hosts, the one the MX line suggests: this server).
    let served = ctx.cfg.mta_sts_policy().filter(|_| ctx.cfg.mta_sts_domains().contains(d));
    let ours = served.unwrap_or_else(|| Policy::testing(if mx_hosts.is_empty() { std::slice::from_ref(&ctx.hostname) } else { mx_hosts }));
    let record = zone::txt(&name, &ours.txt());
    let url = format!("https://mta-sts.{d}{POLICY_PATH}");
    let serve = format!("{url} must serve:\n{}", ours.text());
    let note = POLICY_NOTE.replace("<domain>", d);
    let txt = match lookup(ctx, &name, "v=STSv1").await {
        Ok(txt) => txt,
        Err(e) => {
            publish.push(Publish::new(record, Published::Unknown(e.to_string())));
            publish.push(Publish::new(serve, Published::Unknown("the TXT lookup failed".into())).note(note));
            return push(out, Finding::new(Status::Fail, "MTA-STS", format!("cannot look up {name}: {e}")), false);
        }
    };
    publish.push(Publish::new(record, txt_state(&txt, &ours)));
    if txt.is_empty() {
        publish.push(Publish::new(serve, Published::Missing).note(note));
        let text = format!("{name}: not published (optional: lets senders insist on TLS to your MX hosts)");
        return push(out, Finding::new(Status::Info, "MTA-STS", text), false);
    }
    let body = ours.text();
    let body = body.trim_end();
    let Some(id) = parse_txt(&txt) else {
        publish.push(Publish::new(serve, Published::Missing).note(note));
        let text =
            format!("{name}: needs exactly one \"v=STSv1; id=...\" record with an id of 1-32 letters and digits");
        let fix = zone::txt(&name, &ours.txt());
        return push(out, Finding::new(Status::Fail, "MTA-STS", text).fix(fix), true);
    };
    let text = match ctx.sts.fetch(d).await {
        Ok(text) => text,
        Err(e) => {
            publish.push(Publish::new(serve, Published::Missing).note(note));
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
            publish.push(Publish::new(serve, Published::Differs(format!("an invalid policy ({e})"))).note(note));
            let f = Finding::new(Status::Fail, "MTA-STS", format!("{url}: {e}")).fix(format!("serve instead:\n{body}"));
            return push(out, f, true);
        }
    };
    publish.push(Publish::new(serve, policy_state(&policy, &ours)).note(note));
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
        .fix(format!("then change the id: {}", zone::txt(&name, &ours.txt())))
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

/// The `_mta-sts` TXT records found against the one announcing `ours`.
fn txt_state(txt: &[String], ours: &Policy) -> Published {
    match txt {
        [] => Published::Missing,
        [_] if parse_txt(txt).is_some_and(|id| id == ours.id()) => Published::Yes,
        _ => Published::Differs(txt.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ")),
    }
}

/// The policy served against `ours` (same mode, MX patterns and max_age).
fn policy_state(served: &StsPolicy, ours: &Policy) -> Published {
    let mut a = served.mx.clone();
    let mut b = ours.mx.clone();
    a.sort();
    b.sort();
    if mode(served.mode) == ours.mode && a == b && served.max_age == ours.max_age {
        return Published::Yes;
    }
    Published::Differs(format!(
        "mode {}, mx {}, max_age {} (fine if it is your own policy; keep the id in step with it)",
        mode(served.mode),
        served.mx.join(" "),
        served.max_age
    ))
}

/// The TLS-RPT line and its record to publish.
pub(super) async fn tls_rpt(ctx: &Ctx<'_>, sts_published: bool, out: &mut Vec<Finding>, publish: &mut Vec<Publish>) {
    let d = &ctx.domain;
    let name = format!("_smtp._tls.{d}");
    let value = format!("v=TLSRPTv1; rua=mailto:tlsrpt@{d}");
    let suggested = zone::txt(&name, &value);
    let found = lookup(ctx, &name, "v=TLSRPTv1").await;
    let state = match &found {
        Err(e) => Published::Unknown(e.to_string()),
        Ok(txt) if txt.is_empty() => Published::Missing,
        Ok(txt) if txt.len() == 1 && same_txt(&txt[0], &value) => Published::Yes,
        Ok(txt) => Published::Differs(txt.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ")),
    };
    let note = "any address of yours works: senders mail a daily JSON report of failed TLS sessions to it";
    publish.push(Publish::new(suggested.clone(), state).note(note));
    let finding = match found {
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

/// Equal as tag lists: spaces around `;` and `=` and a trailing `;` do not matter.
fn same_txt(a: &str, b: &str) -> bool {
    let tags = |s: &str| -> Vec<String> {
        s.split(';').map(|t| t.split_whitespace().collect::<String>()).filter(|t| !t.is_empty()).collect()
    };
    tags(a) == tags(b)
}

/// TXT records of `name` starting with `version` (NXDOMAIN counts as none).
async fn lookup(ctx: &Ctx<'_>, name: &str, version: &str) -> Result<Vec<String>, MxError> {
    match ctx.dns.lookup_txt(name).await {
        Ok(txt) => Ok(txt.into_iter().filter(|t| t.trim_start().starts_with(version)).collect()),
        Err(MxError::NotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_states() {
        let ours = Policy::testing(&["mail.d.test".to_string()]);
        assert_eq!(txt_state(&[], &ours), Published::Missing);
        assert_eq!(txt_state(&[ours.txt()], &ours), Published::Yes);
        assert_eq!(txt_state(&["v=STSv1; id=1".into()], &ours), Published::Differs("\"v=STSv1; id=1\"".into()));
        let served =
            StsPolicy { id: "1".into(), mode: StsMode::Testing, mx: vec!["mail.d.test".into()], max_age: 604800 };
        assert_eq!(policy_state(&served, &ours), Published::Yes);
        let enforce = StsPolicy { mode: StsMode::Enforce, ..served };
        assert!(
            matches!(policy_state(&enforce, &ours), Published::Differs(d) if d.starts_with("mode enforce, mx mail.d.test"))
        );
        assert!(same_txt("v=TLSRPTv1;rua=mailto:a@d.test;", "v=TLSRPTv1; rua=mailto:a@d.test"));
        assert!(!same_txt("v=TLSRPTv1; rua=mailto:b@d.test", "v=TLSRPTv1; rua=mailto:a@d.test"));
    }
}
