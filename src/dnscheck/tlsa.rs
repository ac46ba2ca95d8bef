//! The TLSA lines (DANE for SMTP, RFC 7672): the `_25._tcp.<mx>` records that pin the
//! certificate this server presents, compared with what DNS publishes. DANE-EE `3 1 1`
//! (SHA-256 of the certificate's public key) is the recommended form: it survives
//! renewals that keep the key and needs no CA; `2 1 1` pins the issuing CA when the chain
//! has one. TLSA records only count in a DNSSEC-signed zone, which this check cannot see.
use super::report::{Finding, Publish, Published, Status};
use super::{Ctx, zone};
use crate::smtp_client::mx::MxError;
use hickory_resolver::proto::rr::rdata::TLSA;
use hickory_resolver::proto::rr::{RData, RecordType};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256, Sha512};
use std::path::Path;

const DNSSEC_NOTE: &str = "only DNSSEC-validating senders use TLSA records, and only from a DNSSEC-signed zone; \
publish the next key's 3 1 1 record before a renewal changes the key";

/// The certificate chain in use: leaf first, then the CAs the file carries.
struct Chain {
    certs: Vec<CertificateDer<'static>>,
    /// SPKI (DER) of each certificate, same order.
    spki: Vec<Vec<u8>>,
}

/// One TLSA record we recommend: usage, selector, matching type and data.
struct Wanted {
    usage: u8,
    data: Vec<u8>,
}

pub(super) async fn check(ctx: &Ctx<'_>, hosts: &[String], out: &mut Vec<Finding>, publish: &mut Vec<Publish>) {
    let path = crate::net::tls::cert_path(ctx.cfg);
    let chain = match load(&path) {
        Ok(chain) => chain,
        Err(e) => {
            let f = Finding::new(Status::Info, "TLSA", format!("no TLSA records to suggest: {e}"))
                .fix("start postern once (it generates a self-signed certificate) or set [tls] cert/key, then run this again");
            out.push(f);
            return;
        }
    };
    let mut wanted = vec![Wanted { usage: 3, data: Sha256::digest(&chain.spki[0]).to_vec() }];
    if let Some(ca) = chain.spki.get(1) {
        wanted.push(Wanted { usage: 2, data: Sha256::digest(ca).to_vec() });
    }
    for host in hosts {
        host_line(ctx, host, &path, &chain, &wanted, out, publish).await;
    }
}

async fn host_line(
    ctx: &Ctx<'_>,
    host: &str,
    path: &Path,
    chain: &Chain,
    wanted: &[Wanted],
    out: &mut Vec<Finding>,
    publish: &mut Vec<Publish>,
) {
    let name = format!("_25._tcp.{host}");
    let records: Vec<String> = wanted.iter().map(|w| record(&name, w)).collect();
    let found = match ctx.dns.lookup_rdata(&name, RecordType::TLSA).await {
        Ok(rdata) => rdata.into_iter().filter_map(|r| if let RData::TLSA(t) = r { Some(t) } else { None }).collect(),
        Err(MxError::NotFound { .. }) => Vec::new(),
        Err(e) => {
            for r in &records {
                publish.push(Publish::new(r.clone(), Published::Unknown(e.to_string())));
            }
            out.push(Finding::new(Status::Fail, "TLSA", format!("cannot look up {name}: {e}")));
            return;
        }
    };
    for (w, r) in wanted.iter().zip(&records) {
        // Compared with the records of the same usage: a DANE-EE record is no stand-in for
        // the DANE-TA one.
        let same_usage: Vec<&TLSA> = found.iter().filter(|t| u8::from(t.cert_usage) == w.usage).collect();
        let state = if same_usage.iter().any(|t| same(t, w)) {
            Published::Yes
        } else if same_usage.is_empty() {
            Published::Missing
        } else {
            Published::Differs(same_usage.iter().map(|t| text(t)).collect::<Vec<_>>().join(", "))
        };
        let p = Publish::new(r.clone(), state);
        publish.push(if w.usage == 3 {
            p.note(DNSSEC_NOTE)
        } else {
            p.note("DANE-TA: pins the issuing CA; 3 1 1 above is recommended")
        });
    }
    out.push(verdict(&name, path, chain, &found, &records));
}

/// The finding for the records found at `name`.
fn verdict(name: &str, path: &Path, chain: &Chain, found: &[TLSA], records: &[String]) -> Finding {
    let cert = path.display();
    if found.is_empty() {
        let text = format!("{name}: no TLSA record (optional: DANE lets DNSSEC-validating senders verify TLS)");
        return Finding::new(Status::Info, "TLSA", text);
    }
    if let Some(t) = found.iter().find(|t| usable(t) && matches(t, chain)) {
        return Finding::new(Status::Ok, "TLSA", format!("{name}: \"{}\" matches the certificate in {cert}", text(t)));
    }
    if !found.iter().any(usable) {
        let text = format!(
            "{name}: only PKIX-TA/PKIX-EE records ({}), which SMTP senders ignore (RFC 7672 §3.1.3)",
            found.iter().map(text).collect::<Vec<_>>().join(", ")
        );
        let mut f = Finding::new(Status::Warn, "TLSA", text);
        f.fixes = records.to_vec();
        return f;
    }
    let text = format!(
        "{name}: {} does not match the certificate in {cert}: DANE senders will not deliver",
        found.iter().map(text).collect::<Vec<_>>().join(", ")
    );
    let mut f = Finding::new(Status::Fail, "TLSA", text);
    f.fixes = records.to_vec();
    f
}

/// DANE-TA (2) and DANE-EE (3); PKIX usages are unusable for SMTP (RFC 7672 §3.1.3).
fn usable(t: &TLSA) -> bool {
    matches!(u8::from(t.cert_usage), 2 | 3)
}

/// Whether a usable record matches the chain: DANE-EE the leaf, DANE-TA a CA in the file.
fn matches(t: &TLSA, chain: &Chain) -> bool {
    let candidates = match u8::from(t.cert_usage) {
        3 => 0..1,
        2 => 1..chain.certs.len(),
        _ => return false,
    };
    candidates.into_iter().any(|i| {
        let selected: &[u8] = match u8::from(t.selector) {
            0 => chain.certs[i].as_ref(),
            1 => &chain.spki[i],
            _ => return false,
        };
        match u8::from(t.matching) {
            0 => selected == t.cert_data.as_slice(),
            1 => Sha256::digest(selected).as_slice() == t.cert_data.as_slice(),
            2 => Sha512::digest(selected).as_slice() == t.cert_data.as_slice(),
            _ => false,
        }
    })
}

fn same(t: &TLSA, w: &Wanted) -> bool {
    u8::from(t.cert_usage) == w.usage && u8::from(t.selector) == 1 && u8::from(t.matching) == 1 && t.cert_data == w.data
}

/// `3 1 1 <hex>` as in a zone file.
fn text(t: &TLSA) -> String {
    format!("{} {} {} {}", u8::from(t.cert_usage), u8::from(t.selector), u8::from(t.matching), hex(&t.cert_data))
}

fn record(name: &str, w: &Wanted) -> String {
    format!("{} {} IN TLSA {} 1 1 {}", zone::fqdn(name), zone::TTL, w.usage, hex(&w.data))
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn load(path: &Path) -> Result<Chain, String> {
    if !path.exists() {
        return Err(format!("{} does not exist yet", path.display()));
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    let spki = certs.iter().map(spki).collect::<Result<Vec<_>, _>>().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Chain { certs, spki })
}

/// The DER SubjectPublicKeyInfo of a certificate (selector 1).
fn spki(cert: &CertificateDer<'_>) -> Result<Vec<u8>, String> {
    let parsed = webpki::EndEntityCert::try_from(cert).map_err(|e| format!("not a valid X.509 certificate ({e})"))?;
    Ok(parsed.subject_public_key_info().as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};

    fn chain() -> Chain {
        let ck = rcgen::generate_simple_self_signed(vec!["mail.d.test".to_string()]).unwrap();
        let der = CertificateDer::from(ck.cert.der().to_vec());
        // rcgen knows the key it made: its SPKI must be what we extract from the DER.
        let expected = ck.key_pair.public_key_der();
        let spki = spki(&der).unwrap();
        assert_eq!(spki, expected);
        Chain { certs: vec![der], spki: vec![spki] }
    }

    #[test]
    fn dane_ee_matches_by_key_or_whole_certificate() {
        let c = chain();
        let key_hash = Sha256::digest(&c.spki[0]).to_vec();
        let ee = TLSA::new(CertUsage::DaneEe, Selector::Spki, Matching::Sha256, key_hash.clone());
        assert!(matches(&ee, &c));
        let full = TLSA::new(
            CertUsage::DaneEe,
            Selector::Full,
            Matching::Sha512,
            Sha512::digest(c.certs[0].as_ref()).to_vec(),
        );
        assert!(matches(&full, &c));
        let wrong = TLSA::new(CertUsage::DaneEe, Selector::Spki, Matching::Sha256, vec![0; 32]);
        assert!(!matches(&wrong, &c));
        // DANE-TA needs a CA in the chain; a self-signed leaf alone has none.
        let ta = TLSA::new(CertUsage::DaneTa, Selector::Spki, Matching::Sha256, key_hash.clone());
        assert!(!matches(&ta, &c));
        let pkix = TLSA::new(CertUsage::PkixEe, Selector::Spki, Matching::Sha256, key_hash.clone());
        assert!(!usable(&pkix));
        assert!(same(&ee, &Wanted { usage: 3, data: key_hash.clone() }));
        let line = record("_25._tcp.mail.d.test", &Wanted { usage: 3, data: key_hash });
        assert!(line.starts_with("_25._tcp.mail.d.test. 3600 IN TLSA 3 1 1 "), "{line}");
        assert_eq!(line.len(), "_25._tcp.mail.d.test. 3600 IN TLSA 3 1 1 ".len() + 64);
    }
}
