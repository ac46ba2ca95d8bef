//! The result of `check dns`: one `Finding` per check, rendered one line each, with the
//! records to publish (zone-file form) on indented `fix:` lines below it; then the records
//! for transport security (MTA-STS, TLS-RPT, DANE) with whether DNS already has them.
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    /// Nothing to fix (an optional record that is not published, which IPs were used).
    Info,
    /// Works, but receivers may rate the mail lower or a future change will break it.
    Warn,
    /// Receivers will reject, junk or fail to authenticate mail: exit code 1.
    Fail,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Info => "info",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One checked fact and what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub status: Status,
    /// `IPS`, `A`, `PTR`, `EHLO`, `MX`, `SPF`, `DKIM`, `DMARC`, `MTA-STS`, `TLS-RPT`, `TLSA`,
    /// `BIMI`, `DNSBL`, or `DNS` when the resolver does not answer at all.
    pub check: &'static str,
    pub message: String,
    /// What to publish or change, each a zone-file line or a short instruction.
    pub fixes: Vec<String>,
}

impl Finding {
    pub fn new(status: Status, check: &'static str, message: impl Into<String>) -> Finding {
        Finding { status, check, message: message.into(), fixes: Vec::new() }
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fixes.push(fix.into());
        self
    }
}

/// Whether DNS (or the policy host) already has a recommended record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Exactly this value is published.
    Yes,
    Missing,
    /// Something else is published: the value found.
    Differs(String),
    /// The lookup failed: the reason.
    Unknown(String),
}

impl Published {
    pub fn label(&self) -> &'static str {
        match self {
            Published::Yes => "published",
            Published::Missing => "missing",
            Published::Differs(_) => "differs",
            Published::Unknown(_) => "unknown",
        }
    }
}

/// One record to publish for transport security: a zone-file line, or what an HTTPS URL
/// must serve (several lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub record: String,
    pub state: Published,
    /// Why or when to publish it (DANE needs DNSSEC, ...).
    pub note: Option<String>,
}

impl Publish {
    pub fn new(record: impl Into<String>, state: Published) -> Publish {
        Publish { record: record.into(), state, note: None }
    }

    pub fn note(mut self, note: impl Into<String>) -> Publish {
        self.note = Some(note.into());
        self
    }
}

/// Everything `check dns` found for one domain, in the order it was checked.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub domain: String,
    pub hostname: String,
    pub findings: Vec<Finding>,
    /// MTA-STS, TLS-RPT and TLSA records for this domain and certificate.
    pub publish: Vec<Publish>,
}

impl Report {
    pub fn has_fail(&self) -> bool {
        self.findings.iter().any(|f| f.status == Status::Fail)
    }

    pub fn count(&self, status: Status) -> usize {
        self.findings.iter().filter(|f| f.status == status).count()
    }

    /// Process exit code: 0 when nothing failed, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.has_fail())
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<4}  {:<7}  {}", self.status.label(), self.check, self.message)?;
        for fix in &self.fixes {
            // Multi-line fixes (an MTA-STS policy body) stay indented under `fix:`.
            let mut lines = fix.lines();
            writeln!(f, "      fix: {}", lines.next().unwrap_or(""))?;
            for line in lines {
                writeln!(f, "           {line}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Publish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Continuation lines are indented less than a finding's `fix:` lines, so the two
        // blocks never read as one.
        let mut lines = self.record.lines();
        writeln!(f, "  {:<9}  {}", self.state.label(), lines.next().unwrap_or(""))?;
        for line in lines {
            writeln!(f, "    {line}")?;
        }
        match &self.state {
            Published::Differs(found) => writeln!(f, "    now published: {found}")?,
            Published::Unknown(why) => writeln!(f, "    lookup failed: {why}")?,
            Published::Yes | Published::Missing => {}
        }
        if let Some(note) = &self.note {
            writeln!(f, "    note: {note}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "DNS check for {} (server.hostname = {})", self.domain, self.hostname)?;
        for finding in &self.findings {
            write!(f, "{finding}")?;
        }
        if !self.publish.is_empty() {
            writeln!(f, "records to publish for TLS (MTA-STS, TLS-RPT, DANE):")?;
        }
        for p in &self.publish {
            write!(f, "{p}")?;
        }
        writeln!(
            f,
            "{} ok, {} warn, {} fail",
            self.count(Status::Ok),
            self.count(Status::Warn),
            self.count(Status::Fail)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_line_per_check_with_fixes_below() {
        let mut r = Report { domain: "d.test".into(), hostname: "m.d.test".into(), ..Report::default() };
        r.findings.push(Finding::new(Status::Ok, "MX", "d.test MX 10 m.d.test"));
        r.findings.push(
            Finding::new(Status::Fail, "DMARC", "no record")
                .fix("_dmarc.d.test. 3600 IN TXT \"v=DMARC1; p=quarantine\""),
        );
        r.findings
            .push(Finding::new(Status::Fail, "MTA-STS", "no policy").fix("serve:\nversion: STSv1\nmode: testing"));
        let text = r.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "ok    MX       d.test MX 10 m.d.test");
        assert_eq!(lines[2], "fail  DMARC    no record");
        assert_eq!(lines[3], "      fix: _dmarc.d.test. 3600 IN TXT \"v=DMARC1; p=quarantine\"");
        assert_eq!(lines[7], "           mode: testing");
        assert_eq!(lines[8], "1 ok, 0 warn, 2 fail");
        assert_eq!(r.exit_code(), 1);
        r.findings.retain(|f| f.status != Status::Fail);
        assert_eq!(r.exit_code(), 0);
    }

    #[test]
    fn records_to_publish_come_after_the_findings() {
        let mut r = Report { domain: "d.test".into(), hostname: "m.d.test".into(), ..Report::default() };
        r.findings.push(Finding::new(Status::Info, "TLSA", "not published"));
        r.publish
            .push(Publish::new("_smtp._tls.d.test. 3600 IN TXT \"v=TLSRPTv1; rua=mailto:t@d.test\"", Published::Yes));
        r.publish.push(
            Publish::new(
                "https://mta-sts.d.test/.well-known/mta-sts.txt must serve:\nversion: STSv1",
                Published::Missing,
            )
            .note("postern serves it"),
        );
        r.publish.push(Publish::new("_25._tcp.m.d.test. 3600 IN TLSA 3 1 1 ab", Published::Differs("3 1 1 cd".into())));
        let text = r.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "records to publish for TLS (MTA-STS, TLS-RPT, DANE):");
        assert_eq!(lines[3], "  published  _smtp._tls.d.test. 3600 IN TXT \"v=TLSRPTv1; rua=mailto:t@d.test\"");
        assert_eq!(lines[4], "  missing    https://mta-sts.d.test/.well-known/mta-sts.txt must serve:");
        assert_eq!(lines[5], "    version: STSv1");
        assert_eq!(lines[6], "    note: postern serves it");
        assert_eq!(lines[7], "  differs    _25._tcp.m.d.test. 3600 IN TLSA 3 1 1 ab");
        assert_eq!(lines[8], "    now published: 3 1 1 cd");
        assert_eq!(lines[9], "0 ok, 0 warn, 0 fail");
    }
}
