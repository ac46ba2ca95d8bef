//! `postern acme status`: what ACME holds for this configuration — the names, the issued
//! certificate (issuer, serial, expiry), the next attempt and the last error — read from
//! data_dir/acme (status.json, written by the daemon after every step, and cert.pem).
//! Works whether or not the daemon runs.
use super::exit;
use postern::acme::{renew, store};
use postern::config::Config;

fn when(t: i64, now: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string());
    let d = t - now;
    // Minutes are precise enough past an hour.
    let secs = if d.unsigned_abs() >= 3600 { d.unsigned_abs() / 60 * 60 } else { d.unsigned_abs() };
    let rel = humantime::format_duration(std::time::Duration::from_secs(secs));
    if d > 0 { format!("{at} (in {rel})") } else { format!("{at} ({rel} ago)") }
}

pub fn status(cfg: &Config, json: bool) -> i32 {
    if !cfg.acme.enabled() {
        eprintln!("postern: ACME is off: set [acme] directory in the configuration");
        return exit::CONFIG;
    }
    let now = renew::unix_now();
    let mut s = store::read_status(cfg).unwrap_or_default();
    // The certificate on disk is the truth for what is served; status.json adds the schedule.
    s.domains = cfg.acme_domains();
    s.directory = cfg.acme.directory.trim().to_string();
    let (cert, _) = store::cert_paths(cfg);
    let info = std::fs::read(&cert).ok().and_then(|p| postern::acme::x509::parse_pem(&p));
    if let Some(i) = &info {
        (s.issuer, s.serial, s.not_after) = (Some(i.issuer.clone()), Some(i.serial.clone()), Some(i.not_after));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
        return exit::OK;
    }
    println!("directory:    {}", s.directory);
    if !s.challenge.is_empty() {
        println!("challenge:    {}", s.challenge);
    }
    println!("domains:      {}", s.domains.join(", "));
    match &info {
        Some(i) => {
            println!("certificate:  {}", cert.display());
            println!("issuer:       {}", i.issuer);
            println!("serial:       {}", i.serial);
            println!("not after:    {}", when(i.not_after, now));
        }
        None => println!("certificate:  none issued yet (the [tls] or self-signed certificate is served)"),
    }
    if let Some(t) = s.next_attempt {
        println!("next renewal: {}", when(t, now));
    }
    if let Some(t) = s.last_success {
        println!("last issued:  {}", when(t, now));
    }
    match &s.last_error {
        Some(e) => println!("last error:   {e} ({} failure(s) in a row)", s.failures),
        None => println!("last error:   none"),
    }
    exit::OK
}
