//! The Received: header (RFC 5321 §4.4) with the protocol keyword of RFC 3848 / RFC 6531.
use crate::net::tls::TlsInfo;
use crate::queue::QueueId;
use std::net::IpAddr;

/// Who handed us a message and how.
#[derive(Debug, Clone)]
pub struct Origin {
    pub ip: IpAddr,
    pub helo: Option<String>,
    pub esmtp: bool,
    pub tls: Option<TlsInfo>,
    pub auth_user: Option<String>,
    /// The client may relay (authenticated or trusted network): its mail gets DKIM-signed.
    pub may_relay: bool,
    /// "SMTP" for the SMTP listeners, "HTTP" for the API.
    pub via: &'static str,
}

/// RFC 3848 / RFC 6531 "with" keyword: ESMTP + S (TLS) + A (AUTH), UTF8 variants.
fn protocol(o: &Origin, smtputf8: bool) -> String {
    if o.via != "SMTP" {
        return o.via.to_string();
    }
    let base = match (smtputf8, o.esmtp) {
        (true, _) => "UTF8SMTP",
        (false, true) => "ESMTP",
        (false, false) => "SMTP",
    };
    let s = if o.tls.is_some() { "S" } else { "" };
    let a = if o.auth_user.is_some() { "A" } else { "" };
    format!("{base}{s}{a}")
}

/// Keeps client-supplied text from breaking the header: printable characters only.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(255).collect()
}

pub fn header(
    host: &str,
    id: &QueueId,
    o: &Origin,
    smtputf8: bool,
    show_auth: bool,
    single_rcpt: Option<&str>,
) -> String {
    let helo = o.helo.as_deref().map(clean).unwrap_or_else(|| "unknown".into());
    let mut h = format!("Received: from {helo} ([{}])\r\n\tby {host} (postern) with {} id {id}", o.ip, protocol(o, smtputf8));
    if let Some(t) = &o.tls {
        h.push_str(&format!("\r\n\t(using {} with cipher {})", t.version, t.cipher));
    }
    if let (true, Some(u)) = (show_auth, &o.auth_user) {
        h.push_str(&format!("\r\n\t(authenticated as {})", clean(u)));
    }
    if let Some(r) = single_rcpt {
        h.push_str(&format!("\r\n\tfor <{}>", clean(r)));
    }
    h.push_str(&format!(";\r\n\t{}\r\n", crate::proto::rfc5322::date_now()));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esmtpsa_with_tls_and_auth() {
        let o = Origin {
            ip: "192.0.2.7".parse().unwrap(),
            helo: Some("client.test\u{7}".into()),
            esmtp: true,
            tls: Some(TlsInfo { version: "TLSv1.3".into(), cipher: "TLS13_AES_256_GCM_SHA384".into() }),
            auth_user: Some("alice".into()),
            may_relay: true,
            via: "SMTP",
        };
        let h = header("mx.test", &QueueId("ABC".into()), &o, false, true, Some("b@example.com"));
        assert!(h.starts_with("Received: from client.test ([192.0.2.7])\r\n\tby mx.test (postern) with ESMTPSA id ABC"), "{h}");
        assert!(h.contains("(using TLSv1.3 with cipher TLS13_AES_256_GCM_SHA384)"));
        assert!(h.contains("(authenticated as alice)") && h.contains("for <b@example.com>;"));
        assert!(h.ends_with("\r\n") && !h.contains('\u{7}'));
        let hidden = header("mx.test", &QueueId("ABC".into()), &o, true, false, None);
        assert!(hidden.contains("with UTF8SMTPSA") && !hidden.contains("alice") && !hidden.contains("for <"));
    }
}
