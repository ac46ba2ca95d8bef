//! TLS reporting (RFC 8460), the report half: the session records of a period
//! (smtp_client::tlsrpt) aggregated per policy domain into the §4.4 JSON, gzipped, named
//! per §5.1, and wrapped in the §5.3 multipart/report message for `mailto:` rua.
//!
//! Owns: the report's content and formats. Must not touch: where reports go and how
//! (tlsrpt_send.rs), recording sessions (smtp_client::tlsrpt).
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use base64::Engine;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};

use crate::smtp_client::tlsrpt::{PolicyType, ReportPolicy, SessionRecord};

/// Who we are in reports (`delivery.tlsrpt_*`).
#[derive(Debug, Clone)]
pub struct Reporter {
    pub organization: String,
    pub contact: String,
    /// Our host name: the §5.1 "sender" and the Submitter.
    pub submitter: String,
}

/// One domain's aggregate report over `[start, end]` (unix seconds).
#[derive(Debug, Clone)]
pub struct Report {
    pub domain: String,
    pub start: u64,
    pub end: u64,
    pub report_id: String,
    pub json: Value,
}

/// Groups records by policy domain (lower-case), in name order.
pub fn by_domain(records: Vec<SessionRecord>) -> BTreeMap<String, Vec<SessionRecord>> {
    let mut out: BTreeMap<String, Vec<SessionRecord>> = BTreeMap::new();
    for r in records {
        out.entry(r.domain.to_ascii_lowercase()).or_default().push(r);
    }
    out
}

fn rfc3339(t: u64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(i64::try_from(t).unwrap_or(0)).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(&Rfc3339).unwrap_or_default()
}

/// The §4.4 report of `domain` from its `records` (all of that domain).
pub fn build(me: &Reporter, domain: &str, records: &[SessionRecord], start: u64, end: u64) -> Report {
    let report_id = format!("{end}.{:016x}@{}", rand::random::<u64>(), me.submitter);
    let mut groups: BTreeMap<&ReportPolicy, Vec<&SessionRecord>> = BTreeMap::new();
    for r in records {
        groups.entry(&r.policy).or_default().push(r);
    }
    let policies: Vec<Value> = groups.into_iter().map(|(p, recs)| policy_entry(domain, p, &recs)).collect();
    let json = json!({
        "organization-name": me.organization,
        "date-range": { "start-datetime": rfc3339(start), "end-datetime": rfc3339(end) },
        "contact-info": me.contact,
        "report-id": report_id,
        "policies": policies,
    });
    Report { domain: domain.to_string(), start, end, report_id, json }
}

/// (result type, MX host, receiving IP) of one failure-details entry.
type FailureKey<'a> = (&'a str, &'a str, Option<&'a str>);

fn policy_entry(domain: &str, p: &ReportPolicy, recs: &[&SessionRecord]) -> Value {
    let ok = recs.iter().filter(|r| r.failure.is_none()).count();
    let mx: BTreeSet<&str> = recs.iter().map(|r| r.mx_host.as_str()).collect();
    // failure-details: one entry per (result type, MX host, IP).
    let mut failures: BTreeMap<FailureKey, (usize, Option<&str>)> = BTreeMap::new();
    for r in recs {
        if let Some(kind) = &r.failure {
            let e = failures.entry((kind.as_str(), r.mx_host.as_str(), r.ip.as_deref())).or_insert((0, None));
            e.0 += 1;
            e.1 = r.detail.as_deref().or(e.1);
        }
    }
    let details: Vec<Value> = failures
        .into_iter()
        .map(|((kind, host, ip), (count, info))| {
            let mut d = json!({ "result-type": kind, "receiving-mx-hostname": host, "failed-session-count": count });
            if let Some(ip) = ip {
                d["receiving-ip"] = json!(ip);
            }
            if let Some(info) = info {
                d["additional-information"] = json!(info);
            }
            d
        })
        .collect();
    let policy_type = match p.policy_type {
        PolicyType::Tlsa => "tlsa",
        PolicyType::Sts => "sts",
        PolicyType::NoPolicyFound => "no-policy-found",
    };
    let mut policy = json!({ "policy-type": policy_type, "policy-domain": domain });
    if !p.policy_string.is_empty() {
        policy["policy-string"] = json!(p.policy_string);
    }
    if p.policy_type != PolicyType::NoPolicyFound {
        policy["mx-host"] = json!(mx);
    }
    json!({
        "policy": policy,
        "summary": { "total-successful-session-count": ok, "total-failure-session-count": recs.len() - ok },
        "failure-details": details,
    })
}

impl Report {
    /// The JSON, gzipped (the body of both the mail attachment and the HTTPS POST).
    pub fn gzip(&self) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(self.json.to_string().as_bytes()).expect("writing to memory");
        gz.finish().expect("writing to memory")
    }

    /// §5.1: `sender!policy-domain!begin!end!unique-id.json.gz`.
    pub fn file_name(&self, submitter: &str) -> String {
        let unique = self.report_id.split('@').next().unwrap_or("").replace('.', "-");
        format!("{submitter}!{}!{}!{}!{unique}.json.gz", self.domain, self.start, self.end)
    }

    /// §5.3: the multipart/report message for a `mailto:` rua.
    pub fn message(&self, me: &Reporter, from: &str, to: &str) -> Vec<u8> {
        let boundary = format!("tlsrpt-{:016x}", rand::random::<u64>());
        let date = OffsetDateTime::now_utc().format(&Rfc2822).unwrap_or_default();
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.gzip());
        let wrapped: Vec<&str> = b64.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
        format!(
            "From: {from}\r\nTo: {to}\r\nDate: {date}\r\n\
             Subject: Report Domain: {domain} Submitter: {sub} Report-ID: <{id}>\r\n\
             TLS-Report-Domain: {domain}\r\nTLS-Report-Submitter: {sub}\r\n\
             Message-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"{boundary}\"\r\n\r\n\
             This is a MIME-formatted message.\r\n\r\n\
             --{boundary}\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n\r\n\
             This is an aggregate TLS report from {org} ({sub}) for {domain}.\r\n\r\n\
             --{boundary}\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"{file}\"\r\n\r\n{body}\r\n\
             --{boundary}--\r\n",
            domain = self.domain,
            sub = me.submitter,
            id = self.report_id,
            org = me.organization,
            file = self.file_name(&me.submitter),
            body = wrapped.join("\r\n"),
        )
        .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(policy: ReportPolicy, mx: &str, failure: Option<&str>) -> SessionRecord {
        SessionRecord {
            at: 10,
            domain: "Example.com".into(),
            policy,
            mx_host: mx.into(),
            ip: Some("192.0.2.1".into()),
            failure: failure.map(str::to_string),
            detail: failure.map(|f| format!("detail of {f}")),
        }
    }

    #[test]
    fn aggregates_counts_per_policy() {
        let tlsa = ReportPolicy { policy_type: PolicyType::Tlsa, policy_string: vec!["3 1 1 ab".into()] };
        let records = vec![
            rec(tlsa.clone(), "mx1.example.com", None),
            rec(tlsa.clone(), "mx1.example.com", None),
            rec(tlsa.clone(), "mx2.example.com", Some("validation-failure")),
            rec(ReportPolicy::none(), "mx1.example.com", Some("starttls-not-supported")),
        ];
        let me = Reporter { organization: "Org".into(), contact: "mailto:tls@org".into(), submitter: "mta.org".into() };
        let grouped = by_domain(records);
        let (domain, recs) = grouped.iter().next().unwrap();
        assert_eq!(domain, "example.com");
        let r = build(&me, domain, recs, 0, 86400);
        let j = &r.json;
        assert_eq!(j["organization-name"], "Org");
        assert_eq!(j["date-range"]["start-datetime"], "1970-01-01T00:00:00Z");
        assert_eq!(j["date-range"]["end-datetime"], "1970-01-02T00:00:00Z");
        let p = j["policies"].as_array().unwrap();
        assert_eq!(p.len(), 2);
        let t = p.iter().find(|p| p["policy"]["policy-type"] == "tlsa").unwrap();
        assert_eq!(t["summary"]["total-successful-session-count"], 2);
        assert_eq!(t["summary"]["total-failure-session-count"], 1);
        assert_eq!(t["policy"]["mx-host"], json!(["mx1.example.com", "mx2.example.com"]));
        assert_eq!(t["failure-details"][0]["result-type"], "validation-failure");
        assert_eq!(t["failure-details"][0]["failed-session-count"], 1);
        let n = p.iter().find(|p| p["policy"]["policy-type"] == "no-policy-found").unwrap();
        assert_eq!(n["summary"]["total-failure-session-count"], 1);
        assert!(r.file_name("mta.org").starts_with("mta.org!example.com!0!86400!"));
        let msg = String::from_utf8(r.message(&me, "postmaster@mta.org", "tls@example.com")).unwrap();
        assert!(msg.contains("Subject: Report Domain: example.com Submitter: mta.org Report-ID: <"));
        assert!(msg.contains("report-type=\"tlsrpt\""));
    }
}
