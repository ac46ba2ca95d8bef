//! Optional ARC sealing (RFC 8617): adds ARC-Seal, ARC-Message-Signature and
//! ARC-Authentication-Results (our results) so receivers after us can trust what we saw
//! when a forward breaks SPF or DKIM. Signs with the RSA key of a `[[dkim]]` entry.
use crate::dkim::DkimKeyConfig;
use mail_auth::arc::ArcSealer;
use mail_auth::common::crypto::DkimKey;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::Done;
use mail_auth::{ArcOutput, AuthenticatedMessage, AuthenticationResults};

/// Header fields the ARC-Message-Signature covers (those present are signed).
const SIGNED: &[&str] = &[
    "From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "In-Reply-To", "References", "MIME-Version",
    "Content-Type", "Content-Transfer-Encoding", "DKIM-Signature",
];

pub struct Sealer {
    inner: ArcSealer<DkimKey, Done>,
}

impl Sealer {
    /// Uses the first `[[dkim]]` entry for `domain` ("" = the first entry).
    pub fn load(keys: &[DkimKeyConfig], domain: &str) -> Result<Sealer, String> {
        let entry = keys
            .iter()
            .find(|k| domain.is_empty() || k.domain.eq_ignore_ascii_case(domain))
            .ok_or_else(|| format!("no [[dkim]] key for {domain:?} to seal with"))?;
        let pem = std::fs::read(&entry.key).map_err(|e| format!("{}: {e}", entry.key.display()))?;
        let key = parse_key(&pem).map_err(|e| format!("{}: {e}", entry.key.display()))?;
        let inner = ArcSealer::from_key(key)
            .domain(entry.domain.as_str())
            .selector(entry.selector.as_str())
            .headers(SIGNED.iter().copied());
        Ok(Sealer { inner })
    }

    /// The three ARC fields, or "" when the incoming chain already failed (RFC 8617 §5.1.2:
    /// a chain with cv=fail is not extended) or signing failed.
    pub fn seal(&self, msg: &AuthenticatedMessage, results: &AuthenticationResults, arc: &ArcOutput) -> String {
        if !arc.can_be_sealed() {
            return String::new();
        }
        match self.inner.seal(msg, results, arc) {
            Ok(set) => set.to_header(),
            Err(e) => {
                tracing::warn!(error = %e, "ARC sealing failed; message passed on unsealed");
                String::new()
            }
        }
    }
}

/// An RSA key (PKCS#1 or PKCS#8 PEM): RFC 8617 §4.1.3 allows only rsa-sha256 for ARC.
fn parse_key(pem: &[u8]) -> Result<DkimKey, String> {
    match crate::dkim::parse_pem(pem)? {
        rsa @ DkimKey::Rsa(_) => Ok(rsa),
        _ => Err("ARC seals with RSA keys only (RFC 8617), and this is not one".into()),
    }
}
