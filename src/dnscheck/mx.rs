//! The MX line: the domain must be able to receive replies and bounces; receivers reject
//! senders whose domain has no mail exchanger or a null MX (RFC 7505 §4.2).
use super::report::{Finding, Status};
use super::{Ctx, zone};
use crate::smtp_client::mx::{MxError, MxHost};
use mail_auth::hickory_resolver::proto::rr::RData;
use std::net::IpAddr;

/// Runs the MX check; returns the MX host names (for the MTA-STS policy check).
pub(super) async fn check(ctx: &Ctx<'_>, ips: &[IpAddr], out: &mut Vec<Finding>) -> Vec<String> {
    let domain = &ctx.domain;
    let publish = zone::mx(domain, 10, &ctx.hostname);
    let finding = match ctx.dns.resolve_mx(domain).await {
        Ok(hosts) if looks_implicit(domain, &hosts) && mx_names(ctx).await.is_empty() => {
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
            format!(
                "{domain} has no MX record: replies and bounces cannot reach it, and receivers reject such senders"
            ),
        )
        .fix(publish),
        Err(MxError::NoReachableMx { .. }) => {
            let names = mx_names(ctx).await;
            out.push(unreachable(ctx, &names, ips));
            return names;
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

/// The MX host names as published, best first (empty when there is no MX record); tells
/// an explicit `MX 0 <domain>` apart from the implicit fallback, and names hosts that do
/// not resolve.
async fn mx_names(ctx: &Ctx<'_>) -> Vec<String> {
    let name = zone::fqdn(&ctx.domain);
    let Ok(lookup) = ctx.auth.resolver().mx_lookup(name.as_str()).await else { return Vec::new() };
    let mut records: Vec<(u16, String)> = lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii().trim_end_matches('.').to_ascii_lowercase())),
            _ => None,
        })
        .collect();
    records.sort();
    records.into_iter().map(|(_, host)| host).collect()
}

/// MX hosts exist but none has an address: publish theirs (ours when it is one of them).
fn unreachable(ctx: &Ctx<'_>, names: &[String], ips: &[IpAddr]) -> Finding {
    let text = format!("{} MX {}, but no MX host has an A/AAAA record", ctx.domain, names.join(", "));
    let mut finding = Finding::new(Status::Fail, "MX", text);
    for name in names {
        if *name == ctx.hostname && !ips.is_empty() {
            finding.fixes.extend(ips.iter().map(|ip| zone::address(name, *ip)));
        } else {
            finding.fixes.push(format!("{} {} IN A <address of {name}>", zone::fqdn(name), zone::TTL));
        }
    }
    finding
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
