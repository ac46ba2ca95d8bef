//! MX resolution against a real DNS server (dnsmasq on a free loopback port).
mod support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use postern::smtp_client::mx::{DnsResolver, MxError};
use support::dns::Dnsmasq;
use support::peers::free_udp_tcp_port;

const ZONE: &str = "\
local=/test/
mx-host=example.test,mx1.example.test,10
mx-host=example.test,mx2.example.test,20
host-record=mx1.example.test,127.0.0.2
host-record=mx2.example.test,127.0.0.3
mx-host=multi.test,mxa.multi.test,10
mx-host=multi.test,mxb.multi.test,10
mx-host=multi.test,mxc.multi.test,10
mx-host=multi.test,mxd.multi.test,5
host-record=mxa.multi.test,127.0.1.1
host-record=mxb.multi.test,127.0.1.2
host-record=mxc.multi.test,127.0.1.3
host-record=mxd.multi.test,127.0.1.4
mx-host=nullmx.test,.,0
host-record=amx.test,127.0.0.4
host-record=dual.test,127.0.0.5,::1
mx-host=broken.test,nohost.broken.test,10
mx-host=partial.test,nohost.partial.test,5
mx-host=partial.test,mx1.example.test,10
host-record=ptr.test,192.0.2.7
txt-record=empty.test,\"just text\"
txt-record=txt.test,\"v=spf1 \",\"-all\"
";

fn resolver(dns: &Dnsmasq) -> DnsResolver {
    DnsResolver::with_timeouts(&dns.spec(), Duration::from_secs(2), 1).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn mx_records_sorted_by_preference_with_addresses() {
    let dns = Dnsmasq::start(ZONE);
    let hosts = resolver(&dns).resolve_mx("example.test").await.unwrap();
    let got: Vec<(&str, u16, Vec<IpAddr>)> = hosts
        .iter()
        .map(|h| (h.name.as_str(), h.preference, h.addrs.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("mx1.example.test", 10, vec![ip("127.0.0.2")]),
            ("mx2.example.test", 20, vec![ip("127.0.0.3")]),
        ]
    );
}

#[tokio::test]
async fn equal_preference_is_shuffled_but_lower_first() {
    let dns = Dnsmasq::start(ZONE);
    let r = resolver(&dns);
    let mut first_of_ten = std::collections::HashSet::new();
    for _ in 0..40 {
        let hosts = r.resolve_mx("multi.test").await.unwrap();
        assert_eq!(hosts.len(), 4);
        assert_eq!(hosts[0].name, "mxd.multi.test");
        assert!(hosts[1..].iter().all(|h| h.preference == 10));
        first_of_ten.insert(hosts[1].name.clone());
    }
    // 40 draws of 3 equally likely hosts: all three appear except with probability ~3*(2/3)^40.
    assert_eq!(
        first_of_ten.len(),
        3,
        "order among preference 10 never varied: {first_of_ten:?}"
    );
}

#[tokio::test]
async fn null_mx_is_permanent_5_1_10() {
    let dns = Dnsmasq::start(ZONE);
    let err = resolver(&dns).resolve_mx("nullmx.test").await.unwrap_err();
    assert_eq!(
        err,
        MxError::NullMx {
            domain: "nullmx.test".into()
        }
    );
    assert!(err.is_permanent());
    assert_eq!(err.status(), (5, 1, 10));
    assert!(
        err.text().contains("does not accept mail"),
        "{}",
        err.text()
    );
}

#[tokio::test]
async fn no_mx_falls_back_to_a_record() {
    let dns = Dnsmasq::start(ZONE);
    let r = resolver(&dns);
    let hosts = r.resolve_mx("amx.test").await.unwrap();
    assert_eq!(hosts.len(), 1);
    assert_eq!(
        (hosts[0].name.as_str(), hosts[0].preference),
        ("amx.test", 0)
    );
    assert_eq!(hosts[0].addrs, vec![ip("127.0.0.4")]);
    // A and AAAA, A first.
    let hosts = r.resolve_mx("dual.test").await.unwrap();
    assert_eq!(hosts[0].addrs, vec![ip("127.0.0.5"), ip("::1")]);
}

#[tokio::test]
async fn nxdomain_is_permanent_5_1_2() {
    let dns = Dnsmasq::start(ZONE);
    let err = resolver(&dns).resolve_mx("nosuch.test").await.unwrap_err();
    assert!(matches!(err, MxError::NotFound { .. }), "{err:?}");
    assert!(err.is_permanent());
    assert_eq!(err.status(), (5, 1, 2));
    assert!(
        err.text().starts_with("Host or domain name not found"),
        "{}",
        err.text()
    );
}

#[tokio::test]
async fn name_without_mx_or_address_is_permanent() {
    let dns = Dnsmasq::start(ZONE);
    let err = resolver(&dns).resolve_mx("empty.test").await.unwrap_err();
    assert!(matches!(err, MxError::NoAddress { .. }), "{err:?}");
    assert_eq!(err.status(), (5, 4, 4));
}

#[tokio::test]
async fn unresolvable_mx_hosts_are_skipped() {
    let dns = Dnsmasq::start(ZONE);
    let r = resolver(&dns);
    let hosts = r.resolve_mx("partial.test").await.unwrap();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].name, "mx1.example.test");
    let err = r.resolve_mx("broken.test").await.unwrap_err();
    assert!(matches!(err, MxError::NoReachableMx { .. }), "{err:?}");
    assert!(!err.is_permanent());
    assert_eq!(err.status(), (4, 4, 3));
}

#[tokio::test]
async fn refused_is_temporary_4_4_3() {
    let dns = Dnsmasq::start(ZONE);
    // dnsmasq answers REFUSED for names outside its local zones (no upstream).
    let err = resolver(&dns)
        .resolve_mx("outside.example")
        .await
        .unwrap_err();
    assert!(matches!(err, MxError::TempFail { .. }), "{err:?}");
    assert!(!err.is_permanent());
    assert_eq!(err.status(), (4, 4, 3));
}

#[tokio::test]
async fn dead_server_is_temporary_and_bounded_in_time() {
    let port = free_udp_tcp_port();
    let r = DnsResolver::with_timeouts(&format!("127.0.0.1:{port}"), Duration::from_millis(500), 1)
        .unwrap();
    let start = Instant::now();
    let err = r.resolve_mx("example.test").await.unwrap_err();
    assert!(matches!(err, MxError::TempFail { .. }), "{err:?}");
    assert_eq!(err.status(), (4, 4, 3));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn address_literal_needs_no_dns() {
    let port = free_udp_tcp_port();
    let r = DnsResolver::with_timeouts(&format!("127.0.0.1:{port}"), Duration::from_millis(200), 1)
        .unwrap();
    let hosts = r.resolve_mx("[127.0.0.2]").await.unwrap();
    assert_eq!(hosts[0].addrs, vec![ip("127.0.0.2")]);
    let hosts = r.resolve_mx("[IPv6:::1]").await.unwrap();
    assert_eq!(hosts[0].addrs, vec![ip("::1")]);
    let err = r.resolve_mx("[999.0.0.1]").await.unwrap_err();
    assert!(err.is_permanent());
}

#[tokio::test]
async fn txt_ptr_and_ip_helpers() {
    let dns = Dnsmasq::start(ZONE);
    let r = resolver(&dns);
    assert_eq!(
        r.lookup_txt("txt.test").await.unwrap(),
        vec!["v=spf1 -all".to_string()]
    );
    assert_eq!(
        r.lookup_txt("amx.test").await.unwrap(),
        Vec::<String>::new()
    );
    // hickory answers 127/8 reverse lookups itself (RFC 6761 localhost), so use TEST-NET-1.
    assert_eq!(
        r.lookup_ptr(ip("192.0.2.7")).await.unwrap(),
        vec!["ptr.test".to_string()]
    );
    assert_eq!(
        r.lookup_ip("mx2.example.test").await.unwrap(),
        vec![ip("127.0.0.3")]
    );
    assert!(r.lookup_ip("nosuch.test").await.unwrap_err().is_permanent());
}

#[test]
fn bad_spec_is_rejected() {
    assert!(DnsResolver::new("not an address").is_err());
    assert!(DnsResolver::new("127.0.0.1").is_err(), "a port is required");
}
