//! What the results mean for the message: accept, mark for quarantine, reject or defer,
//! following `[inbound]` (spf_fail, dmarc_reject, temperror). Pure, so every case is tested.
use crate::config::{DmarcRejectAction, Inbound, SpfFailAction, TempErrorAction};
use crate::proto::smtp::Reply;
use mail_auth::dmarc::Policy;
use mail_auth::{DmarcResult, SpfResult};

/// A DMARC or SPF outcome without the error details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    TempError,
    PermError,
    None,
}

impl From<&DmarcResult> for Outcome {
    fn from(r: &DmarcResult) -> Self {
        match r {
            DmarcResult::Pass => Outcome::Pass,
            DmarcResult::Fail(_) => Outcome::Fail,
            DmarcResult::TempError(_) => Outcome::TempError,
            DmarcResult::PermError(_) => Outcome::PermError,
            DmarcResult::None => Outcome::None,
        }
    }
}

/// The facts the decision rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// SPF for the MAIL FROM identity (HELO identity for the null sender).
    pub spf: SpfResult,
    pub mail_from: String,
    pub dmarc: Outcome,
    /// The sender's policy; meaningful when `dmarc_record` is true.
    pub dmarc_policy: Policy,
    /// A DMARC record was found (false: none published, or the lookup failed).
    pub dmarc_record: bool,
    /// RFC5322.From domain ("" when there is none or several).
    pub from_domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Accept,
    /// Accept with the quarantine header; the text says why.
    Quarantine(String),
    Reject(Reply),
    Defer(Reply),
}

pub fn decide(cfg: &Inbound, s: &Summary) -> Action {
    let mut marks = Vec::new();
    if s.dmarc == Outcome::Fail && s.dmarc_record {
        let name = match s.dmarc_policy {
            Policy::Reject => Some("reject"),
            Policy::Quarantine => Some("quarantine"),
            Policy::None | Policy::Unspecified => None,
        };
        match (name, cfg.dmarc_reject) {
            (Some("reject"), DmarcRejectAction::Enforce) => return Action::Reject(Reply::dmarc_reject()),
            (Some(p), DmarcRejectAction::Enforce | DmarcRejectAction::Quarantine) => {
                marks.push(format!("dmarc=fail policy.dmarc={p} header.from={}", s.from_domain));
            }
            _ => {}
        }
    }
    // A DMARC pass means an aligned DKIM signature vouches for the mail: the SPF failure
    // is then most likely forwarding (RFC 7489 §10.1), not forgery.
    if s.spf == SpfResult::Fail && s.dmarc != Outcome::Pass {
        match cfg.spf_fail {
            SpfFailAction::Reject => return Action::Reject(Reply::spf_fail()),
            SpfFailAction::Tag => marks.push(format!("spf=fail smtp.mailfrom={}", printable(&s.mail_from))),
            SpfFailAction::Accept => {}
        }
    }
    if cfg.temperror == TempErrorAction::Defer && verdict_open(cfg, s) {
        return Action::Defer(Reply::auth_check_temp());
    }
    if marks.is_empty() { Action::Accept } else { Action::Quarantine(marks.join("; ")) }
}

/// A DNS failure left open whether the message would have been rejected or marked.
fn verdict_open(cfg: &Inbound, s: &Summary) -> bool {
    let policy_bites = !s.dmarc_record || matches!(s.dmarc_policy, Policy::Reject | Policy::Quarantine);
    let dmarc_open = s.dmarc == Outcome::TempError && policy_bites && cfg.dmarc_reject != DmarcRejectAction::Ignore;
    let spf_open = s.spf == SpfResult::TempError && cfg.spf_fail == SpfFailAction::Reject && s.dmarc != Outcome::Pass;
    dmarc_open || spf_open
}

/// Header-safe text: no control characters (the value ends up in a header line).
fn printable(s: &str) -> String {
    let v: String = s.chars().filter(|c| !c.is_control()).take(256).collect();
    if v.is_empty() { "<>".into() } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(spf: SpfResult, dmarc: Outcome, policy: Policy) -> Summary {
        Summary {
            spf,
            mail_from: "a@example.org".into(),
            dmarc,
            dmarc_policy: policy,
            dmarc_record: policy != Policy::Unspecified,
            from_domain: "example.org".into(),
        }
    }

    fn cfg(spf_fail: SpfFailAction, dmarc: DmarcRejectAction, temp: TempErrorAction) -> Inbound {
        Inbound { spf_fail, dmarc_reject: dmarc, temperror: temp, ..Inbound::default() }
    }

    #[test]
    fn dmarc_reject_per_setting() {
        let s = summary(SpfResult::Fail, Outcome::Fail, Policy::Reject);
        let d = Inbound::default();
        assert_eq!(decide(&d, &s), Action::Reject(Reply::dmarc_reject()));
        let q = cfg(SpfFailAction::Accept, DmarcRejectAction::Quarantine, TempErrorAction::Defer);
        assert_eq!(
            decide(&q, &s),
            Action::Quarantine("dmarc=fail policy.dmarc=reject header.from=example.org".into())
        );
        let i = cfg(SpfFailAction::Accept, DmarcRejectAction::Ignore, TempErrorAction::Defer);
        assert_eq!(decide(&i, &s), Action::Accept);
    }

    #[test]
    fn dmarc_quarantine_and_none() {
        let d = Inbound::default();
        let q = summary(SpfResult::SoftFail, Outcome::Fail, Policy::Quarantine);
        assert!(matches!(decide(&d, &q), Action::Quarantine(t) if t.contains("policy.dmarc=quarantine")));
        let none = summary(SpfResult::SoftFail, Outcome::Fail, Policy::None);
        assert_eq!(decide(&d, &none), Action::Accept);
        let pass = summary(SpfResult::Pass, Outcome::Pass, Policy::Reject);
        assert_eq!(decide(&d, &pass), Action::Accept);
    }

    #[test]
    fn spf_fail_yields_to_dmarc_pass() {
        let reject = cfg(SpfFailAction::Reject, DmarcRejectAction::Enforce, TempErrorAction::Defer);
        let forwarded = summary(SpfResult::Fail, Outcome::Pass, Policy::Reject);
        assert_eq!(decide(&reject, &forwarded), Action::Accept);
        let no_dmarc = summary(SpfResult::Fail, Outcome::None, Policy::Unspecified);
        assert_eq!(decide(&reject, &no_dmarc), Action::Reject(Reply::spf_fail()));
        let tagged = decide(&Inbound::default(), &no_dmarc);
        assert_eq!(tagged, Action::Quarantine("spf=fail smtp.mailfrom=a@example.org".into()));
    }

    #[test]
    fn temperror_defers_only_when_it_matters() {
        let d = Inbound::default();
        let lookup_failed = summary(SpfResult::TempError, Outcome::TempError, Policy::Unspecified);
        assert_eq!(decide(&d, &lookup_failed), Action::Defer(Reply::auth_check_temp()));
        let accept = cfg(SpfFailAction::Tag, DmarcRejectAction::Enforce, TempErrorAction::Accept);
        assert_eq!(decide(&accept, &lookup_failed), Action::Accept);
        // p=none: whatever the missing answer, nothing would happen.
        let p_none = summary(SpfResult::TempError, Outcome::TempError, Policy::None);
        assert_eq!(decide(&d, &p_none), Action::Accept);
        // SPF temperror matters only when SPF fail would reject.
        let spf_only = summary(SpfResult::TempError, Outcome::None, Policy::Unspecified);
        assert_eq!(decide(&d, &spf_only), Action::Accept);
        let strict = cfg(SpfFailAction::Reject, DmarcRejectAction::Enforce, TempErrorAction::Defer);
        assert_eq!(decide(&strict, &spf_only), Action::Defer(Reply::auth_check_temp()));
    }
}
