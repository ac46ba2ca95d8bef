//! The test zone (dnsmasq.conf lines). Domains sit under .org so that authheaders (which
//! finds organizational domains with the public suffix list) and mail-auth (DNS tree
//! walk) agree on alignment; `local=/org/` keeps every query on the loopback server.
//!
//! Clients connect from 127.0.0.x. Their reverse DNS never reaches dnsmasq: hickory answers
//! 127.in-addr.arpa itself (RFC 6761: PTR localhost.), so FCrDNS passes for 127.0.0.1 only.
//! `broken.example` is outside every local zone: dnsmasq REFUSES it (DNS temperror).

/// Every domain with SPF `ip4:127.0.0.10 -all`, and the DMARC policy it publishes.
pub const DMARC: &[(&str, &str)] = &[("reject.org", "reject"), ("quarantine.org", "quarantine"), ("monitor.org", "none")];

pub fn zone(dkim_public_b64: &str) -> String {
    let mut z = String::from(
        "local=/org/\nlocal=/com/\nlocal=/net/\nlocal=/127.in-addr.arpa/\n\
         host-record=mail.sender.org,127.0.0.10\n\
         txt-record=mail.sender.org,\"v=spf1 a -all\"\n\
         txt-record=pass.org,\"v=spf1 ip4:127.0.0.1 ip4:127.0.0.12 -all\"\n\
         txt-record=hardfail.org,\"v=spf1 -all\"\n\
         txt-record=softfail.org,\"v=spf1 ip4:192.0.2.1 ~all\"\n\
         txt-record=neutral.org,\"v=spf1 ?all\"\n\
         host-record=nospf.org,192.0.2.7\n\
         txt-record=permerror.org,\"v=spf1 ip4:127.0.0.10 frobnicate:x -all\"\n\
         txt-record=_dmarc.signer.org,\"v=DMARC1; p=none\"\n\
         txt-record=bounces.reject.org,\"v=spf1 ip4:127.0.0.10 -all\"\n",
    );
    // Eleven DNS-querying mechanisms before the matching one: over RFC 7208's limit of 10.
    let many: Vec<String> = (1..=11).map(|i| format!("a:h{i}.limit.org")).collect();
    z.push_str(&format!("txt-record=limit.org,\"v=spf1 {} ip4:127.0.0.10 -all\"\n", many.join(" ")));
    for (domain, policy) in DMARC {
        z.push_str(&format!("txt-record={domain},\"v=spf1 ip4:127.0.0.10 -all\"\n"));
        z.push_str(&format!("txt-record=_dmarc.{domain},\"v=DMARC1; p={policy}\"\n"));
    }
    let key = format!("v=DKIM1; k=rsa; p={dkim_public_b64}");
    // One TXT string holds at most 255 bytes (RFC 1035 §3.3.14); dkimpy and mail-auth join them.
    let chunks: Vec<String> = key.as_bytes().chunks(255).map(|c| format!("\"{}\"", std::str::from_utf8(c).unwrap())).collect();
    for domain in ["reject.org", "quarantine.org", "monitor.org", "signer.org", "fwd.org", "seal.org"] {
        z.push_str(&format!("txt-record=sel._domainkey.{domain},{}\n", chunks.join(",")));
    }
    z
}
