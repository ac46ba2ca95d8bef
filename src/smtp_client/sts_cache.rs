//! MTA-STS (RFC 8461) policies per recipient domain, cached for their max_age.
//!
//! A fetch failure keeps using a cached policy (§5.1) and otherwise delivers without one:
//! MTA-STS only protects domains whose policy we have seen.
use super::mta_sts::{StsError, StsFetcher, StsMode, StsPolicy};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long "this domain publishes no policy" is remembered.
const ABSENT_TTL: Duration = Duration::from_secs(3600);
/// How long to wait before asking again after a failed discovery.
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(300);

pub struct StsCache {
    fetcher: StsFetcher,
    policies: Mutex<HashMap<String, (Option<StsPolicy>, Instant)>>,
}

impl StsCache {
    pub fn new(fetcher: StsFetcher) -> StsCache {
        StsCache { fetcher, policies: Mutex::default() }
    }

    /// The policy in force for `domain`, if any (mode `none` counts as no policy).
    pub async fn policy(&self, domain: &str) -> Option<StsPolicy> {
        self.policy_checked(domain).await.0
    }

    /// Like `policy`, with the discovery error when one happened just now (for TLS-RPT's
    /// sts-policy-fetch-error / sts-policy-invalid).
    pub async fn policy_checked(&self, domain: &str) -> (Option<StsPolicy>, Option<StsError>) {
        let cached = self.policies.lock().unwrap().get(domain).cloned();
        if let Some((p, until)) = &cached
            && Instant::now() < *until
        {
            return (p.clone().filter(|p| p.mode != StsMode::None), None);
        }
        let fresh = match self.fetcher.discover(domain).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(domain, error = %e, "MTA-STS policy unavailable");
                // Keep what we had, and do not ask again for every message meanwhile.
                let kept = cached.and_then(|(p, _)| p);
                let retry = Instant::now() + RETRY_AFTER_ERROR;
                self.policies.lock().unwrap().insert(domain.to_string(), (kept.clone(), retry));
                return (kept.filter(|p| p.mode != StsMode::None), Some(e));
            }
        };
        let ttl = fresh.as_ref().map_or(ABSENT_TTL, |p| Duration::from_secs(p.max_age));
        if let Some(p) = &fresh {
            tracing::info!(domain, mode = ?p.mode, id = %p.id, "MTA-STS policy fetched");
        }
        self.policies.lock().unwrap().insert(domain.to_string(), (fresh.clone(), Instant::now() + ttl));
        (fresh.filter(|p| p.mode != StsMode::None), None)
    }
}
