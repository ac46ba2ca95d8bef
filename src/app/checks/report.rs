//! The header fields the checks add: one Authentication-Results (RFC 8601), written with
//! mail-auth's builder, and the quarantine marker.
use mail_auth::{ArcOutput, AuthenticationResults, DkimOutput, DmarcOutput, IprevOutput, SpfOutput};
use std::net::IpAddr;

/// Marks mail the policy wants filed as spam (DMARC quarantine, SPF fail with
/// `spf_fail = "tag"`); its value says why. Removed from incoming mail so only ours counts.
pub const QUARANTINE_HEADER: &str = "X-Postern-Quarantine";

/// Who the client claimed to be.
pub struct Identity<'a> {
    pub ip: IpAddr,
    /// The HELO/EHLO name when it is a domain (SPF checks no address literal).
    pub helo_domain: Option<&'a str>,
    /// MAIL FROM, "" for the null sender.
    pub mail_from: &'a str,
}

/// Every result for one message.
pub struct Checked<'x> {
    pub iprev: IprevOutput,
    /// SPF for MAIL FROM; None for the null sender (the HELO check stands for it).
    pub spf_mail_from: Option<SpfOutput>,
    pub spf_helo: Option<SpfOutput>,
    pub dkim: Vec<DkimOutput<'x>>,
    pub arc: ArcOutput<'x>,
    pub dmarc: DmarcOutput,
}

/// The results in mail-auth's form (ARC sealing copies them into ARC-Authentication-Results).
pub fn results<'a>(authserv_id: &'a str, who: &Identity, c: &Checked) -> AuthenticationResults<'a> {
    let mut ar = AuthenticationResults::new(authserv_id).with_iprev_result(&c.iprev, who.ip);
    if let Some(spf) = &c.spf_mail_from {
        ar = ar.with_spf_mailfrom_result(spf, who.ip, who.mail_from, who.helo_domain.unwrap_or_default());
    }
    if let (Some(spf), Some(helo)) = (&c.spf_helo, who.helo_domain) {
        ar = ar.with_spf_ehlo_result(spf, who.ip, helo);
    }
    ar = ar.with_dkim_results(&c.dkim, c.dmarc.domain()).with_arc_result(&c.arc, who.ip);
    if !c.dmarc.domain().is_empty() {
        ar = ar.with_dmarc_result(&c.dmarc);
    }
    ar
}

/// The complete `Authentication-Results:` field with CRLF. Methods the builder has no
/// entry for (no signature, no identity, no From domain) are written as `none`.
pub fn header(ar: &AuthenticationResults, c: &Checked) -> String {
    let mut h = format!("Authentication-Results: {ar}");
    if c.spf_mail_from.is_none() && c.spf_helo.is_none() {
        h.push_str(";\r\n\tspf=none");
    }
    if c.dkim.is_empty() {
        h.push_str(";\r\n\tdkim=none");
    }
    if c.dmarc.domain().is_empty() {
        h.push_str(";\r\n\tdmarc=none");
    }
    h.push_str("\r\n");
    h
}

pub fn quarantine(reason: &str) -> String {
    let clean: String = reason.chars().filter(|c| !c.is_control()).collect();
    format!("{QUARANTINE_HEADER}: {clean}\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_auth::{IprevResult, SpfResult};

    #[test]
    fn methods_without_an_entry_are_none() {
        let who = Identity { ip: "192.0.2.1".parse().unwrap(), helo_domain: None, mail_from: "" };
        let c = Checked {
            iprev: IprevOutput { result: IprevResult::Pass, ptr: None },
            spf_mail_from: None,
            spf_helo: None,
            dkim: Vec::new(),
            arc: ArcOutput::default(),
            dmarc: DmarcOutput::default(),
        };
        let h = header(&results("mx.test", &who, &c), &c);
        assert_eq!(
            h,
            "Authentication-Results: mx.test;\r\n\tiprev=pass policy.iprev=192.0.2.1;\r\n\t\
             arc=none smtp.remote-ip=192.0.2.1;\r\n\tspf=none;\r\n\tdkim=none;\r\n\tdmarc=none\r\n"
        );
    }

    #[test]
    fn both_spf_identities_are_reported() {
        let who = Identity { ip: "192.0.2.1".parse().unwrap(), helo_domain: Some("mail.a.test"), mail_from: "x@a.test" };
        let c = Checked {
            iprev: IprevOutput { result: IprevResult::Pass, ptr: None },
            spf_mail_from: Some(SpfOutput::new("a.test".into()).with_result(SpfResult::SoftFail)),
            spf_helo: Some(SpfOutput::new("mail.a.test".into()).with_result(SpfResult::Pass)),
            dkim: Vec::new(),
            arc: ArcOutput::default(),
            dmarc: DmarcOutput::new("a.test".into()),
        };
        let h = header(&results("mx.test", &who, &c), &c);
        assert!(h.contains("\tspf=softfail (mx.test: domain of x@a.test reports soft fail for 192.0.2.1) smtp.mailfrom=x@a.test;"), "{h}");
        assert!(h.contains("smtp.helo=mail.a.test;") && h.contains("dmarc=none header.from=a.test"), "{h}");
        assert_eq!(quarantine("spf=fail\r\nX-Evil: 1"), "X-Postern-Quarantine: spf=failX-Evil: 1\r\n");
    }
}
