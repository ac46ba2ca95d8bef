//! The MX line: the domain must be able to receive replies and bounces; receivers reject
//! senders whose domain has no mail exchanger or a null MX (RFC 7505 §4.2).
use super::report::{Finding, Status};
use super::{Ctx, zone};
use crate::outbound::mx::{MxError, MxHost};

/// Runs the MX check; returns the MX host names (for the MTA-STS policy check).
pub(super) async fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) -> Vec<String> {
    let domain = &ctx.domain;
    let publish = zone::mx(domain, 10, &ctx.hostname);
    let finding = match ctx.dns.resolve_mx(domain).await {
        Ok(hosts) if looks_implicit(domain, &hosts) && !has_mx_records(ctx).await => {
            out.push(
                Finding::new(
                    Status::Warn,
                    "MX",
                    format!("{domain} has no MX record; mail to it falls back to its A/AAAA record (implicit MX)"),
                )
                .fix(publish),
            );
            return vec![domain.clone()];
        }
        Ok(hosts) => {
            out.push(Finding::new(Status::Ok, "MX", listed(ctx, &hosts)));
            return hosts.into_iter().map(|h| h.name).collect();
        }
        Err(MxError::NullMx { .. }) => Finding::new(
            Status::Fail,
            "MX",
            format!("{domain} publishes a null MX (it accepts no mail): receivers may reject mail from it"),
        )
        .fix(format!("replace the \"MX 0 .\" record with: {publish}")),
        Err(MxError::NotFound { .. }) => {
            Finding::new(Status::Fail, "MX", format!("{domain} does not exist in DNS (NXDOMAIN)")).fix(publish)
        }
        Err(MxError::NoAddress { .. }) => Finding::new(
            Status::Fail,
            "MX",
            format!("{domain} has no MX record: replies and bounces cannot reach it, and receivers reject such senders"),
        )
        .fix(publish),
        Err(MxError::NoReachableMx { reason, .. }) => {
            Finding::new(Status::Fail, "MX", format!("no MX host of {domain} has an address ({reason})"))
                .fix("publish an A/AAAA record for each MX host")
        }
        Err(e @ (MxError::InvalidName { .. } | MxError::TempFail { .. })) => {
            Finding::new(Status::Fail, "MX", format!("cannot look up the MX of {domain}: {e}"))
        }
    };
    out.push(finding);
    Vec::new()
}

/// `resolve_mx` answers a domain without MX with itself at preference 0.
fn looks_implicit(domain: &str, hosts: &[MxHost]) -> bool {
    matches!(hosts, [h] if h.preference == 0 && h.name.eq_ignore_ascii_case(domain))
}

/// Tells an explicit `MX 0 <domain>` apart from the implicit fallback.
async fn has_mx_records(ctx: &Ctx<'_>) -> bool {
    let name = zone::fqdn(&ctx.domain);
    ctx.auth.resolver().mx_lookup(name.as_str()).await.is_ok_and(|l| !l.answers().is_empty())
}

fn listed(ctx: &Ctx<'_>, hosts: &[MxHost]) -> String {
    // resolve_mx shuffles hosts of equal preference; print them in a stable order.
    let mut sorted: Vec<&MxHost> = hosts.iter().collect();
    sorted.sort_by(|a, b| (a.preference, &a.name).cmp(&(b.preference, &b.name)));
    let list: Vec<String> = sorted.iter().map(|h| format!("{} {}", h.preference, h.name)).collect();
    let mut text = format!("{} MX {}", ctx.domain, list.join(", "));
    if !hosts.iter().any(|h| h.name.eq_ignore_ascii_case(&ctx.hostname)) {
        text.push_str(&format!(" (not this server, {}: fine when another host receives its mail)", ctx.hostname));
    }
    text
}
