//! Sessions of the web UI: who is logged in, their CSRF token and a one-shot message for
//! the next page. Kept in memory (a restart logs everyone out); the browser holds only a
//! random token in the `postern_admin` cookie (HttpOnly, SameSite=Strict, Secure with TLS).
//!
//! Owns: tokens, expiry, roles (`Principal`) and what each role may see (`may_domain`).
//! Must not touch: passwords (the login handler checks them before `login`).
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const COOKIE: &str = "postern_admin";

/// Sessions kept at most (anonymous ones, made for the login form, go first).
const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Everything, including the queue and every domain.
    Super,
    /// Only these domains (their mailboxes, aliases, DKIM keys and DNS health).
    Domains(Vec<String>),
    /// A mailbox owner: own password and vacation.
    Mailbox,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The admin name, or the mailbox address.
    pub name: String,
    pub role: Role,
}

impl Principal {
    pub fn is_super(&self) -> bool {
        self.role == Role::Super
    }

    pub fn is_admin(&self) -> bool {
        self.role != Role::Mailbox
    }

    /// May this principal see and change `domain` (normalized)?
    pub fn may_domain(&self, domain: &str) -> bool {
        match &self.role {
            Role::Super => true,
            Role::Domains(ds) => ds.iter().any(|d| d == domain),
            Role::Mailbox => false,
        }
    }

    /// The audit name: `admin:NAME` or `mailbox:ADDRESS`.
    pub fn audit_name(&self) -> String {
        match self.role {
            Role::Mailbox => format!("mailbox:{}", self.name),
            _ => format!("admin:{}", self.name),
        }
    }

    pub fn role_label(&self) -> &'static str {
        match self.role {
            Role::Super => "superadmin",
            Role::Domains(_) => "domain admin",
            Role::Mailbox => "mailbox",
        }
    }
}

/// A one-shot message shown on the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flash {
    Ok(String),
    Err(String),
}

#[derive(Debug, Clone)]
pub struct Session {
    pub csrf: String,
    pub who: Option<Principal>,
    pub flash: Option<Flash>,
    last_seen: Instant,
}

pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    timeout: Duration,
}

pub fn token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    B64.encode(b)
}

impl Sessions {
    pub fn new(timeout: Duration) -> Sessions {
        Sessions { map: Mutex::new(HashMap::new()), timeout }
    }

    /// The live session of `token` (its idle timer restarted), if any.
    pub fn get(&self, token: &str) -> Option<Session> {
        let mut m = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let timeout = self.timeout;
        match m.get_mut(token) {
            Some(s) if s.last_seen.elapsed() < timeout => {
                s.last_seen = Instant::now();
                Some(s.clone())
            }
            Some(_) => {
                m.remove(token);
                None
            }
            None => None,
        }
    }

    /// A new session (anonymous, or logged in); returns its token.
    pub fn create(&self, who: Option<Principal>) -> (String, Session) {
        let s = Session { csrf: token(), who, flash: None, last_seen: Instant::now() };
        let t = token();
        let mut m = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if m.len() >= MAX_SESSIONS {
            let timeout = self.timeout;
            m.retain(|_, s| s.last_seen.elapsed() < timeout);
        }
        if m.len() >= MAX_SESSIONS {
            // Evict the oldest, anonymous first.
            if let Some(k) = m.iter().min_by_key(|(_, s)| (s.who.is_some(), s.last_seen)).map(|(k, _)| k.clone()) {
                m.remove(&k);
            }
        }
        m.insert(t.clone(), s.clone());
        (t, s)
    }

    pub fn remove(&self, token: &str) {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(token);
    }

    /// Sets the message for the next page of `token`.
    pub fn flash(&self, token: &str, f: Flash) {
        if let Some(s) = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_mut(token) {
            s.flash = Some(f);
        }
    }

    /// Takes the pending message of `token`.
    pub fn take_flash(&self, token: &str) -> Option<Flash> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_mut(token).and_then(|s| s.flash.take())
    }

    /// Ends every session of a principal whose password changed, but `keep`.
    pub fn end_all_of(&self, name: &str, keep: &str) {
        let mut m = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        m.retain(|t, s| t == keep || s.who.as_ref().is_none_or(|w| w.name != name));
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|p| p.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// The `Set-Cookie` value for a session token.
pub fn set_cookie(token: &str, secure: bool) -> String {
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{}", if secure { "; Secure" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_roles_limit_domains() {
        let s = Sessions::new(Duration::from_millis(50));
        let (t, sess) = s.create(None);
        assert_eq!(s.get(&t).unwrap().csrf, sess.csrf);
        std::thread::sleep(Duration::from_millis(80));
        assert!(s.get(&t).is_none(), "expired");
        let p = Principal { name: "ann".into(), role: Role::Domains(vec!["a.test".into()]) };
        assert!(p.may_domain("a.test") && !p.may_domain("b.test") && p.is_admin() && !p.is_super());
        assert!(!Principal { name: "x@a.test".into(), role: Role::Mailbox }.may_domain("a.test"));
        assert_eq!(cookie("a=1; postern_admin=tok; b=2", COOKIE), Some("tok"));
        assert!(set_cookie("t", true).ends_with("HttpOnly; SameSite=Strict; Secure"));
    }
}
