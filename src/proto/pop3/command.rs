//! POP3 commands (RFC 1939 §§4-7, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH): one line
//! in, one typed `Command` out; `encode` writes it back (the fuzz target checks that
//! `parse(encode(c)) == c`).
use super::reply::Reply;

/// A message number as the client names it: 1-based, as listed in this session.
pub type MsgNum = u32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Capa,
    /// `USER name`: the rest of the line (names may hold spaces).
    User(String),
    /// `PASS secret`: the rest of the line, verbatim (RFC 1939 §7 lets it hold spaces).
    Pass(String),
    /// `AUTH` alone lists the mechanisms; `AUTH mech [initial-response]` (RFC 5034).
    Auth { mechanism: Option<String>, initial: Option<String> },
    /// Not offered (it needs the plaintext password on the server); answered with -ERR.
    Apop,
    Stls,
    Stat,
    List(Option<MsgNum>),
    Uidl(Option<MsgNum>),
    Retr(MsgNum),
    /// `TOP msg n`: the header and the first `n` body lines.
    Top(MsgNum, u64),
    Dele(MsgNum),
    Noop,
    Rset,
    Quit,
}

/// Why a line is not a command; each has its `-ERR` reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty command")]
    Empty,
    #[error("unknown command")]
    Unknown,
    #[error("command line is not UTF-8 or holds control characters")]
    BadCharacters,
    #[error("wrong number of arguments")]
    Arguments,
    #[error("invalid number")]
    BadNumber,
}

impl ParseError {
    pub fn reply(&self) -> Reply {
        match self {
            ParseError::Empty | ParseError::Unknown => Reply::unknown_command(),
            ParseError::BadCharacters => Reply::bad_characters(),
            ParseError::Arguments => Reply::bad_arguments(),
            ParseError::BadNumber => Reply::bad_number(),
        }
    }
}

/// Parses one command line (without its CRLF). Verbs are case-insensitive; arguments are
/// separated by spaces, except that USER and PASS take the rest of the line.
pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    let line = std::str::from_utf8(line).map_err(|_| ParseError::BadCharacters)?;
    // TAB aside, control characters in a command line are noise or an attack (NUL).
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ParseError::BadCharacters);
    }
    let (verb, rest) = match line.split_once(' ') {
        Some((v, r)) => (v, r),
        None => (line, ""),
    };
    if verb.is_empty() {
        return Err(if line.trim().is_empty() { ParseError::Empty } else { ParseError::Unknown });
    }
    let verb = verb.to_ascii_uppercase();
    let args: Vec<&str> = rest.split(' ').filter(|a| !a.is_empty()).collect();
    let none = |c: Command| if args.is_empty() { Ok(c) } else { Err(ParseError::Arguments) };
    match verb.as_str() {
        "CAPA" => none(Command::Capa),
        "STLS" => none(Command::Stls),
        "STAT" => none(Command::Stat),
        "NOOP" => none(Command::Noop),
        "RSET" => none(Command::Rset),
        "QUIT" => none(Command::Quit),
        "APOP" => Ok(Command::Apop),
        "USER" if !rest.is_empty() => Ok(Command::User(rest.to_string())),
        "PASS" if !rest.is_empty() => Ok(Command::Pass(rest.to_string())),
        "USER" | "PASS" => Err(ParseError::Arguments),
        "AUTH" => match args[..] {
            [] => Ok(Command::Auth { mechanism: None, initial: None }),
            [m] => Ok(Command::Auth { mechanism: Some(m.to_ascii_uppercase()), initial: None }),
            [m, i] => Ok(Command::Auth { mechanism: Some(m.to_ascii_uppercase()), initial: Some(i.to_string()) }),
            _ => Err(ParseError::Arguments),
        },
        "LIST" | "UIDL" => {
            let n = match args[..] {
                [] => None,
                [n] => Some(msg_num(n)?),
                _ => return Err(ParseError::Arguments),
            };
            Ok(if verb == "LIST" { Command::List(n) } else { Command::Uidl(n) })
        }
        "RETR" | "DELE" => match args[..] {
            [n] => Ok(if verb == "RETR" { Command::Retr(msg_num(n)?) } else { Command::Dele(msg_num(n)?) }),
            _ => Err(ParseError::Arguments),
        },
        "TOP" => match args[..] {
            [n, lines] => Ok(Command::Top(msg_num(n)?, number(lines)?)),
            _ => Err(ParseError::Arguments),
        },
        _ => Err(ParseError::Unknown),
    }
}

/// A message number: decimal digits only, at least 1.
fn msg_num(s: &str) -> Result<MsgNum, ParseError> {
    match number(s)? {
        0 => Err(ParseError::BadNumber),
        n => MsgNum::try_from(n).map_err(|_| ParseError::BadNumber),
    }
}

/// Decimal digits only (no sign, no spaces), within u64.
fn number(s: &str) -> Result<u64, ParseError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadNumber);
    }
    s.parse().map_err(|_| ParseError::BadNumber)
}

impl Command {
    /// The command line as a client sends it, without CRLF.
    pub fn encode(&self) -> String {
        let opt = |verb: &str, n: &Option<MsgNum>| match n {
            Some(n) => format!("{verb} {n}"),
            None => verb.to_string(),
        };
        match self {
            Command::Capa => "CAPA".into(),
            Command::User(u) => format!("USER {u}"),
            Command::Pass(p) => format!("PASS {p}"),
            Command::Auth { mechanism: None, .. } => "AUTH".into(),
            Command::Auth { mechanism: Some(m), initial: None } => format!("AUTH {m}"),
            Command::Auth { mechanism: Some(m), initial: Some(i) } => format!("AUTH {m} {i}"),
            Command::Apop => "APOP".into(),
            Command::Stls => "STLS".into(),
            Command::Stat => "STAT".into(),
            Command::List(n) => opt("LIST", n),
            Command::Uidl(n) => opt("UIDL", n),
            Command::Retr(n) => format!("RETR {n}"),
            Command::Top(n, l) => format!("TOP {n} {l}"),
            Command::Dele(n) => format!("DELE {n}"),
            Command::Noop => "NOOP".into(),
            Command::Rset => "RSET".into(),
            Command::Quit => "QUIT".into(),
        }
    }

    /// The verb, for logs (never the arguments: PASS and AUTH carry secrets).
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Capa => "CAPA",
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Auth { .. } => "AUTH",
            Command::Apop => "APOP",
            Command::Stls => "STLS",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Uidl(_) => "UIDL",
            Command::Retr(_) => "RETR",
            Command::Top(..) => "TOP",
            Command::Dele(_) => "DELE",
            Command::Noop => "NOOP",
            Command::Rset => "RSET",
            Command::Quit => "QUIT",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_verb() {
        assert_eq!(parse(b"capa"), Ok(Command::Capa));
        assert_eq!(parse(b"USER alice@example.org"), Ok(Command::User("alice@example.org".into())));
        assert_eq!(parse(b"PASS  two  spaces "), Ok(Command::Pass(" two  spaces ".into())));
        assert_eq!(parse(b"AUTH"), Ok(Command::Auth { mechanism: None, initial: None }));
        assert_eq!(parse(b"auth plain"), Ok(Command::Auth { mechanism: Some("PLAIN".into()), initial: None }));
        assert_eq!(parse(b"AUTH PLAIN AGEAYg=="), Ok(Command::Auth { mechanism: Some("PLAIN".into()), initial: Some("AGEAYg==".into()) }));
        assert_eq!(parse(b"LIST"), Ok(Command::List(None)));
        assert_eq!(parse(b"list 3"), Ok(Command::List(Some(3))));
        assert_eq!(parse(b"UIDL 12 "), Ok(Command::Uidl(Some(12))));
        assert_eq!(parse(b"RETR 1"), Ok(Command::Retr(1)));
        assert_eq!(parse(b"TOP 2 0"), Ok(Command::Top(2, 0)));
        assert_eq!(parse(b"DELE 9"), Ok(Command::Dele(9)));
        assert_eq!(parse(b"STLS"), Ok(Command::Stls));
        assert_eq!(parse(b"QUIT"), Ok(Command::Quit));
    }

    #[test]
    fn refuses_bad_lines() {
        assert_eq!(parse(b""), Err(ParseError::Empty));
        assert_eq!(parse(b"HELO x"), Err(ParseError::Unknown));
        assert_eq!(parse(b"RETR"), Err(ParseError::Arguments));
        assert_eq!(parse(b"RETR 0"), Err(ParseError::BadNumber));
        assert_eq!(parse(b"RETR -1"), Err(ParseError::BadNumber));
        assert_eq!(parse(b"RETR 99999999999"), Err(ParseError::BadNumber));
        assert_eq!(parse(b"TOP 1"), Err(ParseError::Arguments));
        assert_eq!(parse(b"STAT 1"), Err(ParseError::Arguments));
        assert_eq!(parse(b"USER"), Err(ParseError::Arguments));
        assert_eq!(parse(b"PASS a\0b"), Err(ParseError::BadCharacters));
        assert_eq!(parse(b"USER \xff"), Err(ParseError::BadCharacters));
    }

    #[test]
    fn encode_round_trips() {
        for line in ["CAPA", "USER a b", "PASS  x ", "AUTH PLAIN =", "LIST 4", "UIDL", "TOP 1 10", "RSET"] {
            let c = parse(line.as_bytes()).unwrap();
            assert_eq!(parse(c.encode().as_bytes()), Ok(c));
        }
    }
}
