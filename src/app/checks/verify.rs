//! Running the checks on one message: FCrDNS, SPF (MAIL FROM and HELO), DKIM and ARC at
//! once, then DMARC on their results; every lookup shares one deadline, and whatever is
//! unanswered by then counts as a temperror.
use super::{Checker, spf_syntax};
use super::policy::{Action, Outcome, Summary, decide};
use super::report::{self, Checked, Identity};
use crate::app::received::Origin;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    ArcOutput, AuthenticatedMessage, DkimOutput, DkimResult, DmarcOutput, DmarcResult, DnsError, Error, IprevOutput,
    IprevResult, SpfOutput, SpfResult,
};
use std::future::Future;
use tokio::time::Instant;

/// What the checks concluded: the header fields to add on top of the message (when it is
/// accepted) and what the policy makes of the results.
pub struct Verified {
    pub header_fields: String,
    pub action: Action,
}

pub async fn run(checker: &Checker, origin: &Origin, mail_from: &str, body: &[u8]) -> Verified {
    // No header section mail-auth can read: SPF still applies, DKIM and DMARC find nothing.
    let msg = AuthenticatedMessage::parse(body)
        .unwrap_or_else(|| AuthenticatedMessage { raw_message: body, ..Default::default() });
    let helo = origin.helo.as_deref().unwrap_or_default();
    let who = Identity { ip: origin.ip, helo_domain: is_helo_domain(helo).then_some(helo), mail_from };
    let checked = check(checker, &who, helo, &msg).await;
    let summary = summarize(&checked, mail_from);
    log(origin, &checked, &summary);
    let action = decide(&checker.settings, &summary);
    let ar = report::results(&checker.authserv_id, &who, &checked);
    let mut header_fields = String::new();
    if let (Some(sealer), Action::Accept | Action::Quarantine(_)) = (&checker.sealer, &action) {
        header_fields.push_str(&sealer.seal(&msg, &ar, &checked.arc));
    }
    header_fields.push_str(&report::header(&ar, &checked));
    Verified { header_fields, action }
}

fn summarize(checked: &Checked, mail_from: &str) -> Summary {
    let spf = checked.spf_mail_from.as_ref().or(checked.spf_helo.as_ref()).map_or(SpfResult::None, SpfOutput::result);
    let dmarc = &checked.dmarc;
    Summary {
        spf,
        mail_from: mail_from.to_string(),
        dmarc: Outcome::from(&dmarc.result()),
        dmarc_policy: dmarc.policy(),
        dmarc_record: dmarc.dmarc_record().is_some(),
        from_domain: dmarc.domain().to_string(),
    }
}

fn log(origin: &Origin, checked: &Checked, summary: &Summary) {
    tracing::info!(
        client = %origin.ip,
        iprev = %checked.iprev.result(),
        spf = %summary.spf,
        dkim = %dkim_summary(&checked.dkim),
        arc = %checked.arc.result(),
        dmarc = %checked.dmarc.result(),
        from_domain = %summary.from_domain,
        "authentication checked"
    );
}

async fn check<'x>(c: &Checker, who: &Identity<'_>, helo: &str, msg: &'x AuthenticatedMessage<'x>) -> Checked<'x> {
    let deadline = Instant::now() + c.settings.timeout.get();
    let (auth, ip, host) = (&c.auth, who.ip, c.hostname.as_str());
    let mail_from = who.mail_from;
    let iprev = bounded(deadline, auth.verify_iprev(ip), || IprevOutput {
        result: IprevResult::TempError(timeout()),
        ptr: None,
    });
    let spf_mail_from = async {
        if mail_from.is_empty() {
            return None;
        }
        let domain = mail_from.rsplit_once('@').map_or(helo, |(_, d)| d).to_string();
        let params = SpfParameters::verify_mail_from(ip, helo, host, mail_from);
        let spf = async { spf_syntax::enforce(auth, auth.verify_spf(params).await).await };
        Some(bounded(deadline, spf, || spf_temp(domain)).await)
    };
    let spf_helo = async {
        let helo = who.helo_domain?;
        let params = SpfParameters::verify_ehlo(ip, helo, host);
        let spf = async { spf_syntax::enforce(auth, auth.verify_spf(params).await).await };
        Some(bounded(deadline, spf, || spf_temp(helo.to_string())).await)
    };
    let dkim = bounded(deadline, auth.verify_dkim(msg), || dkim_temp(msg));
    let arc = bounded(deadline, auth.verify_arc(msg), || arc_temp(msg));
    let (iprev, spf_mail_from, spf_helo, dkim, arc) = tokio::join!(iprev, spf_mail_from, spf_helo, dkim, arc);
    let arc = arc_verdict(arc);
    let spf = spf_mail_from.clone().or_else(|| spf_helo.clone()).unwrap_or_default();
    // RFC 7208 §2.4: for the null sender the HELO identity is the one SPF authenticated.
    let spf_domain = mail_from.rsplit_once('@').map_or(helo, |(_, d)| d);
    let dmarc = dmarc(c, deadline, msg, &dkim, spf_domain, &spf).await;
    Checked { iprev, spf_mail_from, spf_helo, dkim, arc, dmarc }
}

async fn dmarc<'x>(
    c: &Checker,
    deadline: Instant,
    msg: &'x AuthenticatedMessage<'x>,
    dkim: &'x [DkimOutput<'x>],
    spf_domain: &'x str,
    spf: &'x SpfOutput,
) -> DmarcOutput {
    let params = DmarcParameters::new(msg, dkim, spf_domain, spf);
    bounded(deadline, c.auth.verify_dmarc(params), || match from_domain(msg) {
        Some(d) => DmarcOutput::new(d)
            .with_spf_result(DmarcResult::TempError(timeout()))
            .with_dkim_result(DmarcResult::TempError(timeout())),
        None => DmarcOutput::default(),
    })
    .await
}

/// Awaits `fut` until `deadline`; past it the answer is `on_timeout()`.
async fn bounded<T>(deadline: Instant, fut: impl Future<Output = T>, on_timeout: impl FnOnce() -> T) -> T {
    tokio::time::timeout_at(deadline, fut).await.unwrap_or_else(|_| on_timeout())
}

fn timeout() -> Error {
    Error::Dns(DnsError::Resolver("inbound.timeout exceeded".into()))
}

fn spf_temp(domain: String) -> SpfOutput {
    SpfOutput::new(domain).with_result(SpfResult::TempError)
}

/// Each signature present, each a temperror (keeps d= and s= in the header).
fn dkim_temp<'x>(msg: &'x AuthenticatedMessage<'x>) -> Vec<DkimOutput<'x>> {
    msg.dkim_headers.iter().map(|h| DkimOutput::temp_err(timeout()).with_signature(&h.header)).collect()
}

fn arc_temp<'x>(msg: &AuthenticatedMessage<'x>) -> ArcOutput<'x> {
    let out = ArcOutput::default();
    if msg.ams_headers.is_empty() { out } else { out.with_result(DkimResult::TempError(timeout())) }
}

/// RFC 8617 knows only none, pass and fail (and a lookup may fail for now): mail-auth's
/// neutral/permerror for a chain that does not verify is reported as fail.
fn arc_verdict(arc: ArcOutput<'_>) -> ArcOutput<'_> {
    match arc.result().clone() {
        DkimResult::Neutral(e) | DkimResult::PermError(e) => arc.with_result(DkimResult::Fail(e)),
        DkimResult::Pass | DkimResult::Fail(_) | DkimResult::TempError(_) | DkimResult::None => arc,
    }
}

/// The one RFC5322.From domain, as DMARC would pick it (None when absent or several).
fn from_domain(msg: &AuthenticatedMessage) -> Option<String> {
    let mut domains = msg.from.iter().filter_map(|a| a.rsplit_once('@')).map(|(_, d)| d.to_ascii_lowercase());
    let first = domains.next()?;
    domains.all(|d| d == first).then_some(first)
}

/// SPF checks a HELO name only when it is a domain, not an address literal or a bare word.
fn is_helo_domain(helo: &str) -> bool {
    helo.contains('.') && crate::config::is_domain(helo.trim_end_matches('.'))
}

fn dkim_summary(dkim: &[DkimOutput]) -> String {
    if dkim.is_empty() {
        return "none".into();
    }
    let each = dkim.iter().map(|o| match (o.result(), o.signature()) {
        (r, Some(sig)) => format!("{}:{}", sig.d, short(r)),
        (r, None) => short(r).to_string(),
    });
    each.collect::<Vec<_>>().join(",")
}

fn short(r: &DkimResult) -> &'static str {
    match r {
        DkimResult::Pass => "pass",
        DkimResult::Neutral(_) => "neutral",
        DkimResult::Fail(_) => "fail",
        DkimResult::PermError(_) => "permerror",
        DkimResult::TempError(_) => "temperror",
        DkimResult::None => "none",
    }
}
