//! Records to publish, written in zone-file form (`name. TTL IN TYPE data`), so a fix can
//! be pasted into a zone file or read off into a DNS provider's form.
use crate::dkim::GeneratedKey;
use hickory_resolver::proto::rr::Name;
use std::net::IpAddr;

/// TTL suggested for new records: an hour, short enough to correct a mistake quickly.
pub const TTL: u32 = 3600;

/// `name` with exactly one trailing dot.
pub fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// `host. 3600 IN A 192.0.2.1` or `AAAA` for an IPv6 address.
pub fn address(host: &str, ip: IpAddr) -> String {
    let rtype = if ip.is_ipv4() { "A" } else { "AAAA" };
    format!("{} {TTL} IN {rtype} {ip}", fqdn(host))
}

/// `1.2.0.192.in-addr.arpa. 3600 IN PTR host.`
pub fn ptr(ip: IpAddr, host: &str) -> String {
    format!("{} {TTL} IN PTR {}", fqdn(&Name::from(ip).to_ascii()), fqdn(host))
}

pub fn mx(domain: &str, preference: u16, host: &str) -> String {
    format!("{} {TTL} IN MX {preference} {}", fqdn(domain), fqdn(host))
}

/// A TXT record, split into 255-byte character-strings the way `dkim keygen` prints them.
pub fn txt(name: &str, value: &str) -> String {
    let quoted = GeneratedKey { path: Default::default(), record_name: name.to_string(), txt: value.to_string() }
        .txt_zone_value();
    format!("{} {TTL} IN TXT {quoted}", fqdn(name))
}

/// SPF mechanisms that authorize exactly these addresses (`ip4:a ip6:b`).
pub fn spf_mechanisms(ips: &[IpAddr]) -> String {
    let terms: Vec<String> = ips
        .iter()
        .map(|ip| match ip {
            IpAddr::V4(v4) => format!("ip4:{v4}"),
            IpAddr::V6(v6) => format!("ip6:{v6}"),
        })
        .collect();
    terms.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_lines() {
        let v4: IpAddr = "192.0.2.10".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(address("mail.d.test", v4), "mail.d.test. 3600 IN A 192.0.2.10");
        assert_eq!(address("mail.d.test.", v6), "mail.d.test. 3600 IN AAAA 2001:db8::1");
        assert_eq!(ptr(v4, "mail.d.test"), "10.2.0.192.in-addr.arpa. 3600 IN PTR mail.d.test.");
        assert!(
            ptr(v6, "m.test").starts_with("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. ")
        );
        assert_eq!(mx("d.test", 10, "mail.d.test"), "d.test. 3600 IN MX 10 mail.d.test.");
        assert_eq!(txt("d.test", "v=spf1 -all"), "d.test. 3600 IN TXT \"v=spf1 -all\"");
        let long = "x".repeat(300);
        assert!(txt("d.test", &long).ends_with(&format!("\"{}\" \"{}\"", "x".repeat(255), "x".repeat(45))));
        assert_eq!(spf_mechanisms(&[v4, v6]), "ip4:192.0.2.10 ip6:2001:db8::1");
    }
}
