//! The DNSBL lines: each sending IP looked up in each `[check] dnsbl` zone (RFC 5782): an
//! A record at the reversed address under the zone means listed (its TXT says why),
//! NXDOMAIN means not listed. Lists answer a refused query with an A record too (Spamhaus:
//! 127.255.255.252-255, e.g. for queries through public resolvers): that is "could not
//! check", not a listing.
use super::Ctx;
use super::report::{Finding, Status};
use crate::smtp_client::mx::MxError;
use hickory_resolver::proto::rr::{RData, RecordType};
use std::net::{IpAddr, Ipv4Addr};

/// One finding per (IP, zone); nothing when no zone is configured.
pub(super) async fn check(ctx: &Ctx<'_>, ips: &[IpAddr], out: &mut Vec<Finding>) {
    let zones: Vec<String> = ctx
        .cfg
        .check
        .dnsbl
        .iter()
        .map(|z| z.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|z| !z.is_empty())
        .collect();
    if zones.is_empty() {
        return;
    }
    if ips.is_empty() {
        let text = "no public sending IP to look up in the blocklists";
        out.push(Finding::new(Status::Info, "DNSBL", text).fix("set server.public_ips or pass --ip ADDRESS"));
        return;
    }
    for ip in ips {
        for zone in &zones {
            out.push(one(ctx, *ip, zone).await);
        }
    }
}

async fn one(ctx: &Ctx<'_>, ip: IpAddr, zone: &str) -> Finding {
    let name = format!("{}.{zone}", reversed(ip));
    let answers = match ctx.dns.lookup_rdata(&name, RecordType::A).await {
        Ok(rdata) => rdata
            .into_iter()
            .filter_map(|r| if let RData::A(a) = r { Some(a.0) } else { None })
            .collect::<Vec<Ipv4Addr>>(),
        Err(MxError::NotFound { .. }) => Vec::new(),
        Err(e) => {
            let text = format!("{ip} could not be checked in {zone}: {}", reason(&e));
            return Finding::new(Status::Warn, "DNSBL", text);
        }
    };
    if answers.is_empty() {
        return Finding::new(Status::Ok, "DNSBL", format!("{ip} is not listed in {zone}"));
    }
    if let Some(code) = answers.iter().find_map(|a| refusal(*a)) {
        let text = format!("{ip} could not be checked in {zone}: {code}");
        return Finding::new(Status::Warn, "DNSBL", text)
            .fix("set delivery.resolver to a resolver of your own (not a public one) for this check");
    }
    if let Some(odd) = answers.iter().find(|a| a.octets()[0] != 127) {
        // RFC 5782 §2.1: listings are 127.0.0.0/8; anything else is a dead or hijacked zone.
        let text = format!("{ip} could not be checked in {zone}: it answered {odd}, not a 127.0.0.x code");
        return Finding::new(Status::Warn, "DNSBL", text).fix(format!("remove {zone} from [check] dnsbl"));
    }
    let codes = answers.iter().map(Ipv4Addr::to_string).collect::<Vec<_>>().join(", ");
    let why = match ctx.dns.lookup_txt(&name).await {
        Ok(txt) if !txt.is_empty() => format!(": {}", txt.join(" / ")),
        _ => String::new(),
    };
    Finding::new(Status::Fail, "DNSBL", format!("{ip} is listed in {zone} ({codes}){why}"))
        .fix(format!("find the cause (an open relay, a compromised account), fix it, then ask {zone} to delist {ip}"))
}

/// `d.c.b.a` for IPv4; 32 reversed nibbles for IPv6 (RFC 5782 §2.4).
fn reversed(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}")
        }
        IpAddr::V6(v6) => {
            let hex: Vec<String> = v6.octets().iter().map(|b| format!("{b:02x}")).collect();
            let nibbles: String = hex.concat();
            nibbles.chars().rev().map(|c| c.to_string()).collect::<Vec<_>>().join(".")
        }
    }
}

/// Answers that mean the list refused to answer (Spamhaus return codes), not a listing.
fn refusal(a: Ipv4Addr) -> Option<String> {
    let why = match a.octets() {
        [127, 255, 255, 252] => "the list says the zone name is mistyped (127.255.255.252)",
        [127, 255, 255, 254] => "the list refuses queries through public resolvers (127.255.255.254)",
        [127, 255, 255, 255] => "the list refuses: too many queries from this resolver (127.255.255.255)",
        [127, 255, 255, _] => "the list refused the query",
        _ => return None,
    };
    Some(why.to_string())
}

fn reason(e: &MxError) -> String {
    match e {
        MxError::TempFail { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names() {
        assert_eq!(reversed("192.0.2.99".parse().unwrap()), "99.2.0.192");
        assert_eq!(
            reversed("2001:db8::1".parse().unwrap()),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
        );
    }

    #[test]
    fn spamhaus_refusals_are_not_listings() {
        assert!(refusal(Ipv4Addr::new(127, 255, 255, 254)).unwrap().contains("public resolvers"));
        assert!(refusal(Ipv4Addr::new(127, 255, 255, 255)).is_some());
        assert_eq!(refusal(Ipv4Addr::new(127, 0, 0, 2)), None);
        assert_eq!(refusal(Ipv4Addr::new(127, 0, 0, 10)), None);
    }
}
