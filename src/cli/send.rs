//! `postern send` / `sendmail`: reads a message from stdin and hands it to the running
//! daemon over the control socket (no credentials: the socket's permissions are the auth).
//!
//! Exit codes follow sysexits, as mail programs expect: 0 queued; 64 usage (bad flag,
//! unsupported mode, no recipients); 65 bad input; 75 the daemon is not reachable or
//! busy — nothing was queued and the caller must keep the message and retry.
use super::sendmail::{self, InputError, Options};
use super::{SendArgs, daemon, exit};
use postern::config::Config;
use postern::proto::smtp::address::Address;
use std::io::Read;

pub fn run(cfg: &Config, args: SendArgs) -> i32 {
    if let Some(code) = refuse_mode(args.mode.as_deref()) {
        return code;
    }
    if !args.extract && args.recipients.is_empty() {
        return fail(exit::USAGE, InputError::NoRecipients);
    }
    let sender = match envelope_sender(cfg, args.from.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(exit::DATAERR, e),
    };
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        return fail(exit::TEMPFAIL, format!("cannot read the message from stdin: {e}"));
    }
    let opts = Options {
        ignore_dots: args.ignore_dots || args.options.iter().any(|o| o == "i"),
        extract: args.extract,
        full_name: args.full_name.clone(),
    };
    let prepared = match sendmail::prepare(&input, &opts, &args.recipients, &sender, &cfg.server.hostname) {
        Ok(p) => p,
        Err(e) => return fail(exit::DATAERR, e),
    };
    for r in &prepared.recipients {
        if let Err(e) = Address::parse(r.trim_start_matches('<').trim_end_matches('>'), true) {
            return fail(exit::DATAERR, format!("invalid recipient {r:?}: {e}"));
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(submit(cfg, &sender, prepared, args.verbose))
}

fn fail(code: i32, msg: impl std::fmt::Display) -> i32 {
    eprintln!("postern: {msg}");
    code
}

/// Only -bm (deliver mail) is a submission; the other sendmail modes are refused.
fn refuse_mode(mode: Option<&str>) -> Option<i32> {
    let why = match mode? {
        "m" => return None,
        "s" => "-bs (SMTP on stdin) is not supported: connect to the SMTP listener instead",
        "d" | "D" => "-bd (daemon mode) is not supported: run `postern serve`",
        "v" => "-bv (verify addresses) is not supported",
        "p" => "-bp (print the queue) is not supported here: run `postern queue list` or `mailq`",
        "i" => "-bi (rebuild aliases) is not needed: postern reads its alias files directly",
        "t" | "h" | "H" | "P" => "this sendmail mode is not supported",
        other => return Some(fail(exit::USAGE, format!("-b{other}: unknown mode"))),
    };
    Some(fail(exit::USAGE, why))
}

/// -f SENDER, or the login name at server.origin (Postfix myorigin); "" or "<>" means the null sender.
fn envelope_sender(cfg: &Config, from: Option<&str>) -> Result<String, String> {
    let raw = match from {
        Some(f) => f.trim().trim_start_matches('<').trim_end_matches('>').to_string(),
        None => format!("{}@{}", login_name(), cfg.server.origin()),
    };
    if raw.is_empty() {
        return Ok(raw);
    }
    Address::parse(&raw, true).map(|_| raw.clone()).map_err(|e| format!("invalid sender {raw:?}: {e}"))
}

fn login_name() -> String {
    for var in ["LOGNAME", "USER"] {
        if let Ok(v) = std::env::var(var)
            && !v.is_empty()
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return v;
        }
    }
    // SAFETY: getpwuid returns null or a pointer to a static passwd entry, read at once.
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if !pw.is_null() && !(*pw).pw_name.is_null() {
            return std::ffi::CStr::from_ptr((*pw).pw_name).to_string_lossy().into_owned();
        }
    }
    "postern".into()
}

async fn submit(cfg: &Config, sender: &str, p: sendmail::Prepared, verbose: bool) -> i32 {
    let mut path = format!("/v1/messages?mail_from={}", if sender.is_empty() { "%3C%3E".into() } else { daemon::encode(sender) });
    for r in &p.recipients {
        path.push_str(&format!("&rcpt_to={}", daemon::encode(r)));
    }
    let headers = [("content-type", "message/rfc822")];
    let answer = match daemon::call(cfg, "POST", &path, &headers, p.message).await {
        Ok(a) => a,
        Err(e) => {
            return fail(
                exit::TEMPFAIL,
                format!("{e}\npostern: the message was NOT queued; exit 75 (EX_TEMPFAIL) tells the caller to keep it and try again later"),
            );
        }
    };
    match answer.status {
        202 => {
            if verbose {
                let id = serde_json::from_slice::<postern::http::api::Queued>(&answer.body).map(|q| q.id).unwrap_or_default();
                eprintln!("postern: queued as {id}");
            }
            exit::OK
        }
        400 | 413 => fail(exit::DATAERR, answer.error_text()),
        503 => fail(exit::TEMPFAIL, format!("{} (not queued; try again later)", answer.error_text())),
        _ => fail(exit::SOFTWARE, answer.error_text()),
    }
}
