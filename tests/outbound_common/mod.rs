//! Helpers shared by the tests/outbound_*.rs suites (real peers: dnsmasq, smtp-sink, aiosmtpd, Postfix).
#![allow(dead_code)]
pub mod dns;
