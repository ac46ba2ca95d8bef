//! The sending host: which public IPs to check, the A/AAAA records of `server.hostname`,
//! the PTR of each IP (naming `server.hostname` and forward-confirmed), and the EHLO name.
use super::report::{Finding, Status};
use super::{Ctx, is_hostname, zone};
use crate::smtp_client::mx::MxError;
use std::net::IpAddr;

const PTR_OWNER: &str =
    "set it where the address is managed (your hosting provider's panel or support), not in your own zone";

/// Runs the host checks; returns the IPs the SPF checks evaluate.
pub(super) async fn check(ctx: &Ctx<'_>, flag_ips: &[IpAddr], out: &mut Vec<Finding>) -> Vec<IpAddr> {
    let (configured, source) = if !flag_ips.is_empty() {
        (flag_ips.to_vec(), "--ip")
    } else {
        (ctx.cfg.server.public_ips.clone(), "server.public_ips")
    };
    let lookup = ctx.dns.lookup_ip(&ctx.hostname).await;
    let host_addrs = lookup.clone().unwrap_or_default();
    let ips = if configured.is_empty() { host_addrs.clone() } else { configured.clone() };
    out.push(ips_used(ctx, &ips, if configured.is_empty() { None } else { Some(source) }));
    let public: Vec<IpAddr> = configured.iter().filter(|ip| special(**ip).is_none()).copied().collect();
    out.push(forward(ctx, lookup, &public, source));
    for ip in &ips {
        out.push(ptr(ctx, *ip, &host_addrs).await);
    }
    out.push(ehlo_name(ctx));
    // Private and loopback addresses were reported above; SPF is about the public ones.
    ips.into_iter().filter(|ip| special(*ip).is_none()).collect()
}

fn ips_used(ctx: &Ctx<'_>, ips: &[IpAddr], source: Option<&str>) -> Finding {
    let list = join(ips);
    match (source, ips.is_empty()) {
        (Some(source), _) => Finding::new(Status::Info, "IPS", format!("checking {list} (from {source})")),
        (None, false) => Finding::new(
            Status::Info,
            "IPS",
            format!(
                "checking {list}: the A/AAAA records of {}, as neither server.public_ips nor --ip is set",
                ctx.hostname
            ),
        ),
        (None, true) => Finding::new(Status::Warn, "IPS", "no public IP known: PTR and SPF cannot be checked")
            .fix("set server.public_ips = [\"<address mail leaves from>\"] in the config, or pass --ip ADDRESS"),
    }
}

/// The A/AAAA line: the host name must exist and cover every configured public IP.
fn forward(ctx: &Ctx<'_>, lookup: Result<Vec<IpAddr>, MxError>, configured: &[IpAddr], source: &str) -> Finding {
    let host = &ctx.hostname;
    let records = |ips: &[IpAddr]| -> Vec<String> {
        if ips.is_empty() {
            vec![format!("{} {} IN A <public IPv4 address of this server>", zone::fqdn(host), zone::TTL)]
        } else {
            ips.iter().map(|ip| zone::address(host, *ip)).collect()
        }
    };
    let addrs = match lookup {
        Ok(addrs) if !addrs.is_empty() => addrs,
        Ok(_) | Err(MxError::NotFound { .. }) | Err(MxError::NoAddress { .. }) => {
            let mut f = Finding::new(Status::Fail, "A", format!("{host} (server.hostname) has no A or AAAA record"));
            f.fixes = records(configured);
            return f;
        }
        Err(e) => return Finding::new(Status::Fail, "A", format!("cannot look up {host}: {e}")),
    };
    let missing: Vec<IpAddr> = configured.iter().filter(|ip| !addrs.contains(ip)).copied().collect();
    if !missing.is_empty() {
        let mut f = Finding::new(
            Status::Fail,
            "A",
            format!("{host} resolves to {} but not to {} ({source})", join(&addrs), join(&missing)),
        );
        f.fixes = records(&missing);
        return f;
    }
    if let Some((ip, kind)) = addrs.iter().find_map(|ip| special(*ip).map(|k| (ip, k))) {
        return Finding::new(
            Status::Warn,
            "A",
            format!("{host} resolves to {ip}, a {kind} address receivers cannot reach"),
        )
        .fix(format!("publish the public address instead: {}", records(configured).join("; ")));
    }
    let extra: Vec<IpAddr> =
        addrs.iter().filter(|ip| !configured.is_empty() && !configured.contains(ip)).copied().collect();
    if !extra.is_empty() {
        return Finding::new(
            Status::Warn,
            "A",
            format!("{host} also resolves to {}, which is not in {source}", join(&extra)),
        )
        .fix(format!("add it to {source} if mail leaves from it, or remove the record"));
    }
    Finding::new(Status::Ok, "A", format!("{host} has A/AAAA {}", join(&addrs)))
}

/// The PTR line of one IP: it must name `server.hostname`, which must resolve back to it.
async fn ptr(ctx: &Ctx<'_>, ip: IpAddr, host_addrs: &[IpAddr]) -> Finding {
    let host = &ctx.hostname;
    if let Some(kind) = special(ip) {
        return Finding::new(Status::Warn, "PTR", format!("{ip} is a {kind} address: receivers see another one"))
            .fix("set server.public_ips to the address mail leaves from (or pass --ip)");
    }
    let names = match ctx.dns.lookup_ptr(ip).await {
        Ok(names) => names,
        Err(MxError::NotFound { .. }) | Err(MxError::NoAddress { .. }) => Vec::new(),
        Err(e) => return Finding::new(Status::Fail, "PTR", format!("cannot look up the PTR of {ip}: {e}")),
    };
    if names.is_empty() {
        return Finding::new(Status::Fail, "PTR", format!("{ip} has no PTR record; many receivers reject such mail"))
            .fix(zone::ptr(ip, host))
            .fix(PTR_OWNER);
    }
    if names.iter().any(|n| n.eq_ignore_ascii_case(host)) {
        if host_addrs.contains(&ip) {
            return Finding::new(Status::Ok, "PTR", format!("{ip} -> {host} -> {ip} (forward-confirmed)"));
        }
        return Finding::new(Status::Fail, "PTR", format!("{ip} -> {host}, but {host} does not resolve to {ip}"))
            .fix(zone::address(host, ip));
    }
    let mut confirmed = false;
    for name in &names {
        confirmed |= ctx.dns.lookup_ip(name).await.is_ok_and(|addrs| addrs.contains(&ip));
    }
    let detail = if confirmed {
        "it resolves back, but receivers expect the PTR name to be the EHLO name"
    } else {
        "which does not even resolve back to it"
    };
    Finding::new(Status::Fail, "PTR", format!("{ip} -> {}, not {host} (server.hostname); {detail}", names.join(", ")))
        .fix(zone::ptr(ip, host))
        .fix(PTR_OWNER)
}

fn ehlo_name(ctx: &Ctx<'_>) -> Finding {
    let host = &ctx.hostname;
    if is_hostname(host) && !host.starts_with("localhost.") {
        return Finding::new(
            Status::Ok,
            "EHLO",
            format!("postern introduces itself as {host}, a fully qualified name"),
        );
    }
    Finding::new(
        Status::Fail,
        "EHLO",
        format!("EHLO name {host:?} (server.hostname) is not a fully qualified public host name"),
    )
    .fix(format!("set server.hostname = \"mail.{}\" in the config and publish its A record", ctx.domain))
}

/// Why an address is not one the Internet can see, if it is not.
pub(super) fn special(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => Some("loopback"),
        IpAddr::V4(v4) if v4.is_private() => Some("private (RFC 1918)"),
        IpAddr::V4(v4) if v4.is_link_local() => Some("link-local"),
        IpAddr::V4(v4) if v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 => Some("carrier-grade NAT"),
        IpAddr::V4(v4) if v4.is_unspecified() || v4.is_broadcast() => Some("unspecified"),
        IpAddr::V6(v6) if v6.is_loopback() => Some("loopback"),
        IpAddr::V6(v6) if v6.is_unspecified() => Some("unspecified"),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xfe00) == 0xfc00 => Some("unique-local"),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => Some("link-local"),
        _ => None,
    }
}

pub(super) fn join(ips: &[IpAddr]) -> String {
    ips.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_addresses() {
        let s = |a: &str| special(a.parse().unwrap());
        assert_eq!(s("127.0.0.1"), Some("loopback"));
        assert_eq!(s("10.1.2.3"), Some("private (RFC 1918)"));
        assert_eq!(s("100.64.0.1"), Some("carrier-grade NAT"));
        assert_eq!(s("fd00::1"), Some("unique-local"));
        assert_eq!(s("fe80::1"), Some("link-local"));
        assert_eq!(s("192.0.2.10"), None);
        assert_eq!(s("2001:db8::10"), None);
    }
}
