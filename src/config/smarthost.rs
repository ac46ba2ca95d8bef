//! `[host]:port` / `host:port` smarthost notation (brackets: no MX lookup, as in Postfix).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smarthost {
    pub host: String,
    pub port: u16,
}

pub fn parse(s: &str) -> Option<Smarthost> {
    let s = s.trim();
    let (host, port) = match s.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']')?;
            let port = match after {
                "" => 25,
                p => p.strip_prefix(':')?.parse().ok()?,
            };
            (host, port)
        }
        None => match s.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (s, 25),
        },
    };
    (!host.is_empty() && !host.contains(char::is_whitespace)).then(|| Smarthost { host: host.into(), port })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn forms() {
        assert_eq!(parse("[smtp.x.net]:587"), Some(Smarthost { host: "smtp.x.net".into(), port: 587 }));
        assert_eq!(parse("smtp.x.net:465").unwrap().port, 465);
        assert_eq!(parse("[smtp.x.net]").unwrap().port, 25);
        assert_eq!(parse("[127.0.0.1]:2526").unwrap().host, "127.0.0.1");
        assert!(parse("[x]:notaport").is_none());
        assert!(parse("").is_none());
    }
}
