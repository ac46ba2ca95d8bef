//! RFC 7208 §4.6 record syntax that mail-auth does not enforce: it skips a term it does
//! not know, where the RFC makes an unknown mechanism (`name`, `name:x`, `name/24`) a
//! permerror and only an unknown modifier (`name=x`) ignorable. Checked on the record of
//! the domain the verdict came from; records reached by include/redirect are not re-read.
use mail_auth::MessageAuthenticator;
use mail_auth::hickory_resolver::proto::rr::RData;
use mail_auth::{SpfOutput, SpfResult};

const MECHANISMS: &[&str] = &["all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"];

/// Turns a verdict reached on a malformed record into permerror; DNS trouble here
/// leaves the verdict as it was (mail-auth already read the record once).
pub async fn enforce(auth: &MessageAuthenticator, out: SpfOutput) -> SpfOutput {
    if !matches!(out.result(), SpfResult::Pass | SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral) {
        return out;
    }
    let name = format!("{}.", out.domain().trim_end_matches('.'));
    let Ok(lookup) = auth.resolver().txt_lookup(name.as_str()).await else { return out };
    let records = lookup.answers().iter().filter_map(|r| match &r.data {
        RData::TXT(t) => Some(t.txt_data.iter().flat_map(|s| s.iter().copied()).collect::<Vec<u8>>()),
        _ => None,
    });
    let spf: Vec<Vec<u8>> = records.filter(|r| is_spf(r)).collect();
    match spf.as_slice() {
        [one] if !well_formed(&String::from_utf8_lossy(one)) => {
            let domain = out.domain().to_string();
            SpfOutput::new(domain).with_result(SpfResult::PermError)
        }
        _ => out,
    }
}

fn is_spf(txt: &[u8]) -> bool {
    let t = txt.to_ascii_lowercase();
    t == b"v=spf1" || t.starts_with(b"v=spf1 ")
}

/// Every term after `v=spf1` is a known mechanism or a well-formed modifier.
fn well_formed(record: &str) -> bool {
    record.split_ascii_whitespace().skip(1).all(|term| {
        let term = term.strip_prefix(['+', '-', '~', '?']).unwrap_or(term);
        let end = term.find([':', '/', '=']).unwrap_or(term.len());
        let (name, sep) = (&term[..end], term[end..].chars().next());
        if sep == Some('=') {
            // modifier name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
            name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        } else {
            MECHANISMS.iter().any(|m| m.eq_ignore_ascii_case(name))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_mechanisms_are_errors_unknown_modifiers_are_not() {
        assert!(well_formed("v=spf1 ip4:192.0.2.0/24 -all"));
        assert!(well_formed("v=spf1 +a mx/24 ~include:_spf.example.org exists:%{i}.x ?ptr ip6:::1 all"));
        assert!(well_formed("v=spf1 redirect=_spf.example.org exp=explain.example.org future-mod=1"));
        assert!(well_formed("v=spf1"));
        assert!(!well_formed("v=spf1 ip4:127.0.0.10 frobnicate:x -all"));
        assert!(!well_formed("v=spf1 -foo"));
        assert!(!well_formed("v=spf1 1bad=x"));
    }

    #[test]
    fn spf_records_are_recognised() {
        assert!(is_spf(b"v=spf1 -all") && is_spf(b"V=SPF1") && is_spf(b"v=spf1"));
        assert!(!is_spf(b"v=spf10 -all") && !is_spf(b"v=DKIM1; p=x"));
    }
}
