//! `postern check dns DOMAIN` (the real binary) against dnsmasq zones that are right and
//! wrong in each way. The MTA-STS policy is served by a Python HTTPS server
//! (tests/peers/outbound_sts_https.py) with a certificate from a test CA; the DKIM keys and
//! the p= values expected in the zone and in the suggested fixes come from openssl, not
//! from postern.
//!
//! Public IPs are documentation addresses (192.0.2.10, 2001:db8::10): only DNS is asked
//! about them, and hickory would answer the PTR of any 127/8 address itself.
//!
//! The server certificate is a leaf and its CA from rcgen (tests/support/pki.rs); the TLSA
//! data the zone publishes and the tests expect is computed by openssl from those files.
//! The blocklists are zones under `.test` served by the same dnsmasq.
mod support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use support::dns::Dnsmasq;
use support::peers::{Peer, peer_file, spawn_printing_port};
use support::pki::write_test_pki;

const GOOD_POLICY: &str = "version: STSv1\nmode: enforce\nmx: mail.shop.test\nmax_age: 86400\n";

/// DKIM keys made by openssl: RSA as PKCS#1 ("BEGIN RSA PRIVATE KEY"), Ed25519 as PKCS#8.
struct Keys {
    rsa: PathBuf,
    ed: PathBuf,
    /// DNS p= values: RSA SubjectPublicKeyInfo, Ed25519 raw 32 bytes (RFC 8463).
    rsa_p: String,
    ed_p: String,
    /// The p= of another RSA key, for the mismatch case.
    other_p: String,
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn public_der(key: &Path) -> Vec<u8> {
    openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout", "-outform", "DER"])
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        // One directory per test process: nextest runs each test in its own process, and
        // two writing the same files at once left a half-written rsa.pem for a third.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("check_dns_keys").join(std::process::id().to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let path = |name: &str| dir.join(name);
        for (name, args) in [
            ("rsa.pem", &["genrsa", "-traditional", "-out", "", "2048"][..]),
            ("other.pem", &["genrsa", "-traditional", "-out", "", "2048"][..]),
            ("ed.pem", &["genpkey", "-algorithm", "ed25519", "-out", ""][..]),
        ] {
            let target = path(name);
            let out = target.to_str().unwrap();
            let args: Vec<&str> = args.iter().map(|a| if a.is_empty() { out } else { a }).collect();
            openssl(&args);
        }
        let ed_spki = public_der(&path("ed.pem"));
        Keys {
            rsa_p: B64.encode(public_der(&path("rsa.pem"))),
            other_p: B64.encode(public_der(&path("other.pem"))),
            ed_p: B64.encode(&ed_spki[ed_spki.len() - 32..]),
            rsa: path("rsa.pem"),
            ed: path("ed.pem"),
        }
    })
}

/// A TXT value as zone-file character-strings of at most 255 bytes.
fn chunks(value: &str) -> Vec<String> {
    value.as_bytes().chunks(255).map(|c| format!("\"{}\"", std::str::from_utf8(c).unwrap())).collect()
}

fn txt_line(name: &str, value: &str) -> String {
    format!("txt-record={name},{}", chunks(value).join(","))
}

/// What `check dns` should suggest publishing for the RSA selector.
fn rsa_fix() -> String {
    let value = format!("v=DKIM1; k=rsa; p={}", keys().rsa_p);
    format!("s1._domainkey.shop.test. 3600 IN TXT {}", chunks(&value).join(" "))
}

/// `sha256(SubjectPublicKeyInfo)` of the certificate in `pem`, by openssl, as hex.
fn spki_sha256(pem: &Path) -> String {
    let spki = openssl(&["x509", "-in", pem.to_str().unwrap(), "-noout", "-pubkey"]);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("pub.pem");
    std::fs::write(&key, spki).unwrap();
    let der = openssl(&["pkey", "-pubin", "-in", key.to_str().unwrap(), "-outform", "DER"]);
    let digest = openssl_stdin(&["dgst", "-sha256", "-r"], &der);
    String::from_utf8(digest).unwrap().split_whitespace().next().unwrap().to_string()
}

fn openssl_stdin(args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl {args:?}");
    out.stdout
}

/// The MTA-STS id postern should derive for `policy`: 20 hex digits of its SHA-256.
fn policy_id(policy: &str) -> String {
    let digest = openssl_stdin(&["dgst", "-sha256", "-r"], policy.as_bytes());
    String::from_utf8(digest).unwrap()[..20].to_string()
}

/// The policy `check dns` recommends for shop.test.
const OUR_POLICY: &str = "version: STSv1\nmode: testing\nmx: mail.shop.test\nmax_age: 604800\n";

/// A dnsmasq TLSA record (type 52): usage, selector 1 (SPKI), matching 1 (SHA-256).
fn tlsa_line(name: &str, usage: u8, hex: &str) -> String {
    format!("dns-rr={name},52,{usage:02x}0101{hex}")
}

/// The hex SPKI digests of the mail server's certificate (`{ee}`) and of its CA (`{ta}`),
/// substituted into zone lines when the scenario runs.
struct Pins {
    ee: String,
    ta: String,
}

/// A domain whose records are all right, one entry per record so a test can break one.
struct Scenario {
    zone: Vec<(&'static str, String)>,
    public_ips: Option<&'static str>,
    policy: &'static str,
    args: Vec<&'static str>,
    /// Configure the two `[[dkim]]` keys.
    dkim: bool,
    /// `[check] dnsbl`.
    dnsbl: Vec<&'static str>,
    /// Configure `[tls]` with the test certificate (else none exists yet).
    tls: bool,
    /// More configuration, appended.
    extra: &'static str,
}

impl Scenario {
    fn good() -> Scenario {
        let k = keys();
        let zone = vec![
            ("local", "local=/test/\nlocal=/2.0.192.in-addr.arpa/\nlocal=/8.b.d.0.1.0.0.2.ip6.arpa/".to_string()),
            ("host", "host-record=mail.shop.test,192.0.2.10,2001:db8::10".into()),
            ("mx", "mx-host=shop.test,mail.shop.test,10".into()),
            ("spf", txt_line("shop.test", "v=spf1 a:mail.shop.test -all")),
            ("helo-spf", txt_line("mail.shop.test", "v=spf1 a -all")),
            ("dkim-s1", txt_line("s1._domainkey.shop.test", &format!("v=DKIM1; k=rsa; p={}", k.rsa_p))),
            ("dkim-ed1", txt_line("ed1._domainkey.shop.test", &format!("v=DKIM1; k=ed25519; p={}", k.ed_p))),
            ("dmarc", txt_line("_dmarc.shop.test", "v=DMARC1; p=reject; adkim=s; aspf=r")),
            ("sts", txt_line("_mta-sts.shop.test", "v=STSv1; id=20260101")),
            ("sts-host", "host-record=mta-sts.shop.test,127.0.0.1".into()),
            ("tlsrpt", txt_line("_smtp._tls.shop.test", "v=TLSRPTv1; rua=mailto:tlsrpt@shop.test")),
            ("tlsa", tlsa_line("_25._tcp.mail.shop.test", 3, "{ee}")),
            (
                "bimi",
                txt_line(
                    "default._bimi.shop.test",
                    "v=BIMI1; l=https://shop.test/logo.svg; a=https://shop.test/vmc.pem",
                ),
            ),
        ];
        let public_ips = Some(r#"["192.0.2.10", "2001:db8::10"]"#);
        Scenario {
            zone,
            public_ips,
            policy: GOOD_POLICY,
            args: Vec::new(),
            dkim: true,
            dnsbl: vec!["bl.test"],
            tls: true,
            extra: "",
        }
    }

    fn without(mut self, key: &str) -> Scenario {
        let before = self.zone.len();
        self.zone.retain(|(k, _)| *k != key);
        assert_eq!(self.zone.len() + 1, before, "no zone entry {key}");
        self
    }

    fn with(mut self, key: &'static str, line: String) -> Scenario {
        self.zone.retain(|(k, _)| *k != key);
        self.zone.push((key, line));
        self
    }

    /// Starts dnsmasq and the policy server, runs the binary, stops them.
    fn run(self, domain: &str) -> Run {
        let dir = tempfile::tempdir().unwrap();
        // The mail server's certificate: leaf then CA in one file, as a chain is configured.
        let mail = dir.path().join("mail");
        let mail_ca = write_test_pki(&mail, &["mail.shop.test"]);
        let chain = mail.join("chain.pem");
        let pem = std::fs::read_to_string(mail.join("cert.pem")).unwrap() + &std::fs::read_to_string(&mail_ca).unwrap();
        std::fs::write(&chain, pem).unwrap();
        let pins = Pins { ee: spki_sha256(&mail.join("cert.pem")), ta: spki_sha256(&mail_ca) };
        let zone: Vec<String> =
            self.zone.iter().map(|(_, l)| l.replace("{ee}", &pins.ee).replace("{ta}", &pins.ta)).collect();
        let dns = Dnsmasq::start(&(zone.join("\n") + "\n"));
        let ca = write_test_pki(dir.path(), &["mta-sts.shop.test"]);
        std::fs::write(dir.path().join("policy.txt"), self.policy).unwrap();
        let mut https = Command::new("python3");
        https.arg(peer_file("outbound_sts_https.py"));
        for (flag, file) in [("--cert", "cert.pem"), ("--key", "key.pem"), ("--policy", "policy.txt")] {
            https.arg(flag).arg(dir.path().join(file));
        }
        let (child, https_addr) = spawn_printing_port(https);
        let _https = Peer(child);
        let k = keys();
        let ips = self.public_ips.map(|ips| format!("public_ips = {ips}\n")).unwrap_or_default();
        let mut config = format!(
            "[server]\nhostname = \"mail.shop.test\"\ndata_dir = \"{data}\"\n{ips}\n\
             [delivery]\nresolver = \"{dns}\"\ntls_ca_file = \"{ca}\"\nmta_sts_port = {port}\n",
            data = dir.path().join("data").display(),
            dns = dns.spec(),
            ca = ca.display(),
            port = https_addr.port(),
        );
        let zones: Vec<String> = self.dnsbl.iter().map(|z| format!("\"{z}\"")).collect();
        config.push_str(&format!("\n[check]\ndnsbl = [{}]\n", zones.join(", ")));
        if self.tls {
            let key = mail.join("key.pem");
            config.push_str(&format!("\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n", chain.display(), key.display()));
        }
        if self.dkim {
            for (selector, key) in [("s1", &k.rsa), ("ed1", &k.ed)] {
                let key = key.display();
                let entry = format!("\n[[dkim]]\ndomain = \"shop.test\"\nselector = \"{selector}\"\nkey = \"{key}\"\n");
                config.push_str(&entry);
            }
        }
        config.push_str(self.extra);
        let config_path = dir.path().join("postern.toml");
        std::fs::write(&config_path, config).unwrap();
        // An empty domain: none on the command line.
        let domain: &[&str] = if domain.is_empty() { &[] } else { &[domain] };
        let out = Command::new(env!("CARGO_BIN_EXE_postern"))
            .args(["check", "dns"])
            .args(domain)
            .arg("--config")
            .arg(&config_path)
            .args(&self.args)
            .env_remove("POSTERN_CONFIG")
            .output()
            .unwrap();
        Run {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
            pins: Some(pins),
        }
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    pins: Option<Pins>,
}

/// One check line of the output and the `fix:` lines under it.
#[derive(Debug)]
struct Line {
    text: String,
    fixes: Vec<String>,
}

impl Run {
    /// The check lines (not the header, fixes or totals), each as `STATUS CHECK` and as parsed.
    fn lines(&self) -> Vec<(String, Line)> {
        let mut lines: Vec<(String, Line)> = Vec::new();
        for raw in self.stdout.lines() {
            if let Some(fix) = raw.strip_prefix("      fix: ") {
                lines.last_mut().expect("a fix follows a check").1.fixes.push(fix.to_string());
            } else if let Some(more) = raw.strip_prefix("           ") {
                let fix = lines.last_mut().unwrap().1.fixes.last_mut().unwrap();
                fix.push('\n');
                fix.push_str(more);
            } else if let [status @ ("ok" | "info" | "warn" | "fail"), check, ..] =
                raw.split_whitespace().collect::<Vec<_>>().as_slice()
            {
                lines.push((format!("{status} {check}"), Line { text: raw.to_string(), fixes: Vec::new() }));
            }
        }
        lines
    }

    fn expect_statuses(&self, expected: &[&str], code: i32) {
        let got: Vec<String> = self.lines().into_iter().map(|(s, _)| s).collect();
        assert_eq!(got, expected, "output:\n{}{}", self.stdout, self.stderr);
        assert_eq!(self.code, Some(code), "exit code; output:\n{}{}", self.stdout, self.stderr);
    }

    /// The "records to publish" section: (state, record's first line, the lines below it).
    fn publish(&self) -> Vec<(String, String, Vec<String>)> {
        let mut out: Vec<(String, String, Vec<String>)> = Vec::new();
        let mut inside = false;
        for raw in self.stdout.lines() {
            if raw.starts_with("records to publish") {
                inside = true;
            } else if !inside || !raw.starts_with("  ") {
                inside = inside && raw.starts_with("  ");
            } else if let Some(more) = raw.strip_prefix("    ") {
                out.last_mut().expect("a record first").2.push(more.to_string());
            } else {
                let (state, record) = raw.trim_start().split_once(' ').unwrap();
                out.push((state.to_string(), record.trim_start().to_string(), Vec::new()));
            }
        }
        out
    }

    /// The publish entry whose record starts with `prefix`: its state and following lines.
    fn published(&self, prefix: &str) -> (String, String, Vec<String>) {
        self.publish()
            .into_iter()
            .find(|(_, r, _)| r.starts_with(prefix))
            .unwrap_or_else(|| panic!("no record to publish starting {prefix:?} in:\n{}", self.stdout))
    }

    fn pins(&self) -> &Pins {
        self.pins.as_ref().unwrap()
    }

    /// The line `STATUS CHECK` whose text contains `needle`.
    fn line(&self, status_check: &str, needle: &str) -> Line {
        self.lines()
            .into_iter()
            .find(|(s, l)| s == status_check && l.text.contains(needle))
            .map(|(_, l)| l)
            .unwrap_or_else(|| panic!("no {status_check:?} line containing {needle:?} in:\n{}", self.stdout))
    }
}

const ALL_OK: &[&str] = &[
    "info IPS",
    "ok A",
    "ok PTR",
    "ok PTR",
    "ok EHLO",
    "ok EHLO",
    "ok MX",
    "ok SPF",
    "ok DKIM",
    "ok DKIM",
    "ok DMARC",
    "ok DMARC",
    "ok MTA-STS",
    "ok TLS-RPT",
    "ok TLSA",
    "ok BIMI",
    "ok DNSBL",
    "ok DNSBL",
];

/// ALL_OK with the lines at `changes` (index, new status) replaced.
fn all_ok_but(changes: &[(usize, &'static str)]) -> Vec<&'static str> {
    let mut v = ALL_OK.to_vec();
    for (i, s) in changes {
        v[*i] = s;
    }
    v
}

#[test]
fn a_correct_domain_passes_every_check() {
    let run = Scenario::good().run("shop.test");
    run.expect_statuses(ALL_OK, 0);
    assert!(run.stdout.starts_with("DNS check for shop.test (server.hostname = mail.shop.test)\n"));
    assert!(run.stdout.ends_with("17 ok, 0 warn, 0 fail\n"), "{}", run.stdout);
    run.line("info IPS", "checking 192.0.2.10, 2001:db8::10 (from server.public_ips)");
    run.line("ok A", "mail.shop.test has A/AAAA 192.0.2.10, 2001:db8::10");
    run.line("ok PTR", "192.0.2.10 -> mail.shop.test -> 192.0.2.10 (forward-confirmed)");
    run.line("ok PTR", "2001:db8::10 -> mail.shop.test -> 2001:db8::10 (forward-confirmed)");
    run.line("ok EHLO", "SPF of the EHLO name mail.shop.test: \"v=spf1 a -all\" passes for 192.0.2.10, 2001:db8::10");
    run.line("ok MX", "shop.test MX 10 mail.shop.test");
    run.line("ok SPF", "shop.test: \"v=spf1 a:mail.shop.test -all\" passes for 192.0.2.10, 2001:db8::10");
    run.line("ok DKIM", "s1._domainkey.shop.test matches the rsa key");
    run.line("ok DKIM", "ed1._domainkey.shop.test matches the ed25519 key");
    run.line("ok DMARC", "(p=reject)");
    run.line("ok DMARC", "passes aligned DKIM (d=shop.test, adkim=s) and SPF (MAIL FROM @shop.test, aspf=r)");
    run.line("ok MTA-STS", "(id=20260101, mode enforce) covers MX mail.shop.test");
    let all_fixes: usize = run.lines().iter().map(|(_, l)| l.fixes.len()).sum();
    assert_eq!(all_fixes, 0);
}

#[test]
fn without_configured_ips_the_hosts_addresses_are_used_and_said() {
    let mut s = Scenario::good();
    s.public_ips = None;
    let run = s.run("shop.test");
    run.expect_statuses(ALL_OK, 0);
    run.line(
        "info IPS",
        "checking 192.0.2.10, 2001:db8::10: the A/AAAA records of mail.shop.test, as neither server.public_ips nor --ip is set",
    );
    // --ip wins over server.public_ips: one IP, one PTR line.
    let mut s = Scenario::good();
    s.args = vec!["--ip", "192.0.2.10"];
    let run = s.run("shop.test");
    run.line("info IPS", "checking 192.0.2.10 (from --ip)");
    run.line("warn A", "also resolves to 2001:db8::10, which is not in --ip");
    assert_eq!(run.lines().iter().filter(|(s, _)| s.ends_with(" PTR")).count(), 1);
    assert_eq!(run.code, Some(0));
}

#[test]
fn missing_a_record() {
    let run = Scenario::good()
        .with(
            "host",
            "ptr-record=10.2.0.192.in-addr.arpa,mail.shop.test\n\
             ptr-record=0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa,mail.shop.test"
                .into(),
        )
        .run("shop.test");
    let failing = [(1, "fail A"), (2, "fail PTR"), (3, "fail PTR"), (5, "fail EHLO"), (6, "fail MX"), (7, "fail SPF")];
    run.expect_statuses(&all_ok_but(&failing), 1);
    let a = run.line("fail A", "mail.shop.test (server.hostname) has no A or AAAA record");
    assert_eq!(a.fixes, ["mail.shop.test. 3600 IN A 192.0.2.10", "mail.shop.test. 3600 IN AAAA 2001:db8::10"]);
    let ptr = run.line("fail PTR", "192.0.2.10 -> mail.shop.test, but mail.shop.test does not resolve to 192.0.2.10");
    assert_eq!(ptr.fixes, ["mail.shop.test. 3600 IN A 192.0.2.10"]);
    let helo = run.line(
        "fail EHLO",
        "SPF of the EHLO name mail.shop.test: \"v=spf1 a -all\" does not authorize 192.0.2.10, 2001:db8::10 (result: fail)",
    );
    assert_eq!(helo.fixes, ["mail.shop.test. 3600 IN TXT \"v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 a -all\""]);
    let mx = run.line("fail MX", "shop.test MX mail.shop.test, but no MX host has an A/AAAA record");
    assert_eq!(mx.fixes, a.fixes, "the MX is this server: publish its addresses");
    // DKIM still passes, so DMARC does.
    run.line("ok DMARC", "passes aligned DKIM");
}

#[test]
fn ptr_naming_another_host_or_missing() {
    let run = Scenario::good()
        .with(
            "host",
            "address=/mail.shop.test/192.0.2.10\naddress=/mail.shop.test/2001:db8::10\n\
             host-record=vps-10.hoster.test,192.0.2.10"
                .into(),
        )
        .run("shop.test");
    run.expect_statuses(&all_ok_but(&[(2, "fail PTR"), (3, "fail PTR")]), 1);
    let other = run.line(
        "fail PTR",
        "192.0.2.10 -> vps-10.hoster.test, not mail.shop.test (server.hostname); it resolves back, but receivers expect the PTR name to be the EHLO name",
    );
    assert_eq!(other.fixes[0], "10.2.0.192.in-addr.arpa. 3600 IN PTR mail.shop.test.");
    assert!(other.fixes[1].contains("hosting provider"), "{:?}", other.fixes);
    let none = run.line("fail PTR", "2001:db8::10 has no PTR record");
    assert_eq!(
        none.fixes[0],
        "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 3600 IN PTR mail.shop.test."
    );
}

#[test]
fn no_mx_record() {
    let run = Scenario::good().without("mx").run("shop.test");
    run.expect_statuses(&all_ok_but(&[(6, "fail MX")]), 1);
    let mx = run.line("fail MX", "shop.test has no MX record");
    assert_eq!(mx.fixes, ["shop.test. 3600 IN MX 10 mail.shop.test."]);
    run.line("ok MTA-STS", "(no MX hosts to compare)");
}

#[test]
fn spf_without_this_servers_ips() {
    let run = Scenario::good().with("spf", txt_line("shop.test", "v=spf1 ip4:198.51.100.7 ~all")).run("shop.test");
    run.expect_statuses(&all_ok_but(&[(7, "fail SPF")]), 1);
    let spf = run.line("fail SPF", "does not authorize 192.0.2.10, 2001:db8::10 (result: softfail)");
    assert_eq!(spf.fixes, ["shop.test. 3600 IN TXT \"v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 ip4:198.51.100.7 ~all\""]);
    run.line("ok DMARC", "SPF (MAIL FROM @shop.test, aspf=r) does not pass from every IP (see SPF)");
}

#[test]
fn spf_record_missing() {
    let run = Scenario::good().without("spf").run("shop.test");
    run.expect_statuses(&all_ok_but(&[(7, "fail SPF")]), 1);
    let spf = run.line("fail SPF", "shop.test publishes no SPF record");
    assert_eq!(spf.fixes, ["shop.test. 3600 IN TXT \"v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 ~all\""]);
}

#[test]
fn dkim_record_publishes_another_key() {
    let other = format!("v=DKIM1; k=rsa; p={}", keys().other_p);
    let run = Scenario::good().with("dkim-s1", txt_line("s1._domainkey.shop.test", &other)).run("shop.test");
    run.expect_statuses(&all_ok_but(&[(8, "fail DKIM")]), 1);
    let dkim = run.line("fail DKIM", "s1._domainkey.shop.test publishes another key than the one in");
    assert!(dkim.text.contains(keys().rsa.to_str().unwrap()), "{}", dkim.text);
    assert_eq!(dkim.fixes, [rsa_fix()], "the fix publishes the key openssl derives");
}

#[test]
fn dkim_selector_missing() {
    let run = Scenario::good().without("dkim-ed1").run("shop.test");
    run.expect_statuses(&all_ok_but(&[(9, "fail DKIM")]), 1);
    let dkim = run.line("fail DKIM", "ed1._domainkey.shop.test: no record");
    let expected = format!("ed1._domainkey.shop.test. 3600 IN TXT \"v=DKIM1; k=ed25519; p={}\"", keys().ed_p);
    assert_eq!(dkim.fixes, [expected]);
    // With no DKIM record at all, DMARC passes through SPF alone: a warning.
    let run = Scenario::good().without("dkim-ed1").without("dkim-s1").run("shop.test");
    run.expect_statuses(&all_ok_but(&[(8, "fail DKIM"), (9, "fail DKIM"), (11, "warn DMARC")]), 1);
    assert_eq!(run.line("fail DKIM", "s1._domainkey.shop.test: no record").fixes, [rsa_fix()]);
    run.line("warn DMARC", "passes by SPF (MAIL FROM @shop.test, aspf=r) alone: forwarded mail will fail DMARC");
}

#[test]
fn no_dkim_key_configured_is_a_warning() {
    let mut s = Scenario::good();
    s.dkim = false;
    let run = s.run("shop.test");
    let mut expected = all_ok_but(&[(8, "warn DKIM"), (11, "warn DMARC")]);
    expected.remove(9);
    run.expect_statuses(&expected, 0);
    let dkim = run.line("warn DKIM", "no [[dkim]] key for shop.test: its mail leaves unsigned");
    assert!(dkim.fixes[0].starts_with("postern dkim keygen --domain shop.test --selector s1"), "{:?}", dkim.fixes);
}

#[test]
fn no_dmarc_record() {
    let run = Scenario::good().without("dmarc").run("shop.test");
    let mut expected = all_ok_but(&[(10, "fail DMARC"), (15, "warn BIMI")]);
    expected.remove(11);
    run.expect_statuses(&expected, 1);
    let dmarc = run.line("fail DMARC", "_dmarc.shop.test: no DMARC record");
    run.line("warn BIMI", "receivers ignore it: no DMARC record");
    assert_eq!(dmarc.fixes, ["_dmarc.shop.test. 3600 IN TXT \"v=DMARC1; p=quarantine\""]);
}

#[test]
fn dmarc_p_none_is_a_warning_only() {
    let record = "v=DMARC1; p=none; rua=mailto:dmarc@shop.test";
    let run = Scenario::good().with("dmarc", txt_line("_dmarc.shop.test", record)).run("shop.test");
    run.expect_statuses(&all_ok_but(&[(10, "warn DMARC"), (15, "warn BIMI")]), 0);
    run.line("warn BIMI", "is valid, but receivers ignore it: DMARC p=none");
    let dmarc = run.line("warn DMARC", "has p=none: it only monitors");
    assert_eq!(
        dmarc.fixes,
        [
            "once reports show your mail passes: _dmarc.shop.test. 3600 IN TXT \"v=DMARC1; p=quarantine; rua=mailto:dmarc@shop.test\""
        ]
    );
    assert!(run.stdout.ends_with("15 ok, 2 warn, 0 fail\n"), "{}", run.stdout);
}

#[test]
fn mta_sts_record_without_a_policy() {
    let run = Scenario::good().without("sts-host").run("shop.test");
    run.expect_statuses(&all_ok_but(&[(12, "fail MTA-STS")]), 1);
    let sts =
        run.line("fail MTA-STS", "_mta-sts.shop.test is published (id=20260101) but its policy cannot be fetched");
    assert_eq!(
        sts.fixes,
        [
            "serve https://mta-sts.shop.test/.well-known/mta-sts.txt over HTTPS with a certificate for mta-sts.shop.test, containing:\n\
             version: STSv1\nmode: testing\nmx: mail.shop.test\nmax_age: 604800",
            "or delete the _mta-sts.shop.test record",
        ]
    );
}

#[test]
fn mta_sts_policy_not_listing_the_mx() {
    let mut s = Scenario::good();
    s.policy = "version: STSv1\nmode: enforce\nmx: mx.elsewhere.test\nmax_age: 86400\n";
    let run = s.run("shop.test");
    run.expect_statuses(&all_ok_but(&[(12, "fail MTA-STS")]), 1);
    let sts = run.line("fail MTA-STS", "(mode enforce) does not list MX mail.shop.test");
    let policy = "serve instead:\nversion: STSv1\nmode: testing\nmx: mail.shop.test\nmax_age: 604800";
    assert_eq!(sts.fixes[0], policy);
    let new_id = "then change the id: _mta-sts.shop.test. 3600 IN TXT \"v=STSv1; id=";
    assert!(sts.fixes[1].starts_with(new_id), "{:?}", sts.fixes);
}

#[test]
fn tls_rpt_and_mta_sts_absent_are_information_only() {
    let run = Scenario::good().without("sts").without("tlsrpt").run("shop.test");
    run.expect_statuses(&all_ok_but(&[(12, "info MTA-STS"), (13, "info TLS-RPT")]), 0);
    assert!(run.line("info TLS-RPT", "not published").fixes.is_empty());
}

#[test]
fn a_resolver_that_does_not_answer_stops_the_check_early() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("postern.toml");
    let port = support::peers::free_udp_tcp_port();
    std::fs::write(
        &config,
        format!("[server]\nhostname = \"mail.shop.test\"\n[delivery]\nresolver = \"127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_postern"))
        .args(["check", "dns", "shop.test", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::new(),
        pins: None,
    };
    run.expect_statuses(&["fail DNS"], 1);
    run.line("fail DNS", &format!("cannot query DNS for shop.test through 127.0.0.1:{port}"));
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "one probe, not one timeout per check");
}

#[test]
fn bad_domain_is_a_usage_error() {
    let run = Scenario::good().run("not a domain");
    assert_eq!(run.code, Some(64), "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("invalid domain \"not a domain\""), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn records_to_publish_for_a_domain_using_another_policy() {
    let run = Scenario::good().run("shop.test");
    let pins = run.pins();
    let id = policy_id(OUR_POLICY);
    let publish = run.publish();
    let firsts: Vec<(&str, &str)> = publish.iter().map(|(s, r, _)| (s.as_str(), r.as_str())).collect();
    let tlsa_ee = format!("_25._tcp.mail.shop.test. 3600 IN TLSA 3 1 1 {}", pins.ee);
    let tlsa_ta = format!("_25._tcp.mail.shop.test. 3600 IN TLSA 2 1 1 {}", pins.ta);
    let sts = format!("_mta-sts.shop.test. 3600 IN TXT \"v=STSv1; id={id}\"");
    assert_eq!(
        firsts,
        [
            ("differs", sts.as_str()),
            ("differs", "https://mta-sts.shop.test/.well-known/mta-sts.txt must serve:"),
            ("published", "_smtp._tls.shop.test. 3600 IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@shop.test\""),
            ("published", tlsa_ee.as_str()),
            ("missing", tlsa_ta.as_str()),
        ],
        "{}",
        run.stdout
    );
    // The policy text to serve, then what is served now.
    let (_, _, below) = run.published("https://mta-sts.shop.test/");
    assert_eq!(below[..4], ["version: STSv1", "mode: testing", "mx: mail.shop.test", "max_age: 604800"]);
    assert!(below[4].starts_with("now published: mode enforce, mx mail.shop.test, max_age 86400"), "{below:?}");
    assert_eq!(run.published("_mta-sts.").2[0], "now published: \"v=STSv1; id=20260101\"");
    assert!(run.published(&tlsa_ee).2[0].contains("DNSSEC-signed zone"));
    run.line("ok TLSA", &format!("_25._tcp.mail.shop.test: \"3 1 1 {}\" matches the certificate in", pins.ee));
}

#[test]
fn records_to_publish_all_published() {
    let mut s = Scenario::good()
        .with("sts", txt_line("_mta-sts.shop.test", &format!("v=STSv1; id={}", policy_id(OUR_POLICY))))
        .with(
            "tlsa",
            format!(
                "{}\n{}",
                tlsa_line("_25._tcp.mail.shop.test", 3, "{ee}"),
                tlsa_line("_25._tcp.mail.shop.test", 2, "{ta}")
            ),
        );
    s.policy = OUR_POLICY;
    let run = s.run("shop.test");
    run.expect_statuses(ALL_OK, 0);
    let states: Vec<String> = run.publish().into_iter().map(|(s, _, _)| s).collect();
    assert_eq!(states, ["published"; 5], "{}", run.stdout);
    run.line("ok MTA-STS", &format!("(id={}, mode testing) covers MX mail.shop.test", policy_id(OUR_POLICY)));
}

#[test]
fn tlsa_missing_mismatching_or_only_for_the_ca() {
    let missing = Scenario::good().without("tlsa").run("shop.test");
    missing.expect_statuses(&all_ok_but(&[(14, "info TLSA")]), 0);
    let line = missing.line("info TLSA", "_25._tcp.mail.shop.test: no TLSA record");
    assert!(line.fixes.is_empty(), "optional: the records are in the publish list");
    assert_eq!(missing.published("_25._tcp.mail.shop.test. 3600 IN TLSA 3 1 1").0, "missing");

    let wrong = "ab".repeat(32);
    let run = Scenario::good().with("tlsa", tlsa_line("_25._tcp.mail.shop.test", 3, &wrong)).run("shop.test");
    run.expect_statuses(&all_ok_but(&[(14, "fail TLSA")]), 1);
    let pins = run.pins();
    let f = run.line("fail TLSA", &format!("3 1 1 {wrong} does not match the certificate in"));
    assert_eq!(
        f.fixes,
        [
            format!("_25._tcp.mail.shop.test. 3600 IN TLSA 3 1 1 {}", pins.ee),
            format!("_25._tcp.mail.shop.test. 3600 IN TLSA 2 1 1 {}", pins.ta),
        ]
    );
    let (state, _, below) = run.published("_25._tcp.mail.shop.test. 3600 IN TLSA 3 1 1");
    assert_eq!((state.as_str(), below[0].as_str()), ("differs", format!("now published: 3 1 1 {wrong}").as_str()));

    // DANE-TA for the issuing CA alone also verifies the chain.
    let run = Scenario::good().with("tlsa", tlsa_line("_25._tcp.mail.shop.test", 2, "{ta}")).run("shop.test");
    run.expect_statuses(ALL_OK, 0);
    run.line("ok TLSA", &format!("\"2 1 1 {}\" matches", run.pins().ta));
}

#[test]
fn no_certificate_yet_means_no_tlsa_to_suggest() {
    let mut s = Scenario::good();
    s.tls = false;
    let run = s.run("shop.test");
    run.expect_statuses(&all_ok_but(&[(14, "info TLSA")]), 0);
    let f = run.line("info TLSA", "no TLSA records to suggest");
    assert!(f.text.contains("tls/cert.pem does not exist yet"), "{}", f.text);
    assert!(run.publish().iter().all(|(_, r, _)| !r.contains("TLSA")), "{}", run.stdout);
}

#[test]
fn bimi_invalid_or_absent() {
    let bad = "l=https://shop.test/logo.svg; v=BIMI1";
    let run = Scenario::good().with("bimi", txt_line("default._bimi.shop.test", bad)).run("shop.test");
    run.expect_statuses(&all_ok_but(&[(15, "warn BIMI")]), 0);
    let f = run.line("warn BIMI", "is invalid: v=BIMI1 must come first");
    assert_eq!(f.fixes.len(), 1);
    let run = Scenario::good()
        .with("bimi", txt_line("default._bimi.shop.test", "v=BIMI1; l=http://shop.test/logo.svg"))
        .run("shop.test");
    run.line("warn BIMI", "l=http://shop.test/logo.svg: must be an https:// URL");
    let run = Scenario::good().without("bimi").run("shop.test");
    run.expect_statuses(&all_ok_but(&[(15, "info BIMI")]), 0);
    run.line("info BIMI", "default._bimi.shop.test: not published");
    let run = Scenario::good().run("shop.test");
    run.line("ok BIMI", "is valid; DMARC p=reject allows it");
}

#[test]
fn blocklisted_ips_refusing_and_failing_lists() {
    let v6 = "9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2";
    let mut s = Scenario::good().with(
        "bl",
        format!(
            "host-record=99.2.0.192.bl.test,127.0.0.2\n{}\nhost-record={v6}.bl.test,127.0.0.3\n\
             host-record=99.2.0.192.refuse.test,127.255.255.254\n\
             host-record={v6}.refuse.test,127.255.255.254\n\
             server=/dead.test/127.0.0.1#9",
            txt_line("99.2.0.192.bl.test", "Listed for spam, see https://bl.test/q?ip=192.0.2.99")
        ),
    );
    s.args = vec!["--ip", "192.0.2.99", "--ip", "2001:db8::99"];
    s.dnsbl = vec!["bl.test", "refuse.test", "dead.test"];
    let run = s.run("shop.test");
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let dnsbl: Vec<String> = run.lines().into_iter().filter(|(s, _)| s.ends_with("DNSBL")).map(|(s, _)| s).collect();
    assert_eq!(
        dnsbl,
        ["fail DNSBL", "warn DNSBL", "warn DNSBL", "fail DNSBL", "warn DNSBL", "warn DNSBL"],
        "{}",
        run.stdout
    );
    let listed = run.line(
        "fail DNSBL",
        "192.0.2.99 is listed in bl.test (127.0.0.2): Listed for spam, see https://bl.test/q?ip=192.0.2.99",
    );
    assert!(listed.fixes[0].contains("ask bl.test to delist 192.0.2.99"), "{:?}", listed.fixes);
    run.line("fail DNSBL", "2001:db8::99 is listed in bl.test (127.0.0.3)");
    let refused = run.line(
        "warn DNSBL",
        "192.0.2.99 could not be checked in refuse.test: the list refuses queries through public resolvers (127.255.255.254)",
    );
    assert!(refused.fixes[0].contains("delivery.resolver"));
    run.line("warn DNSBL", "192.0.2.99 could not be checked in dead.test");
    // The good IPs are in no list.
    let run = Scenario::good().run("shop.test");
    run.line("ok DNSBL", "192.0.2.10 is not listed in bl.test");
    run.line("ok DNSBL", "2001:db8::10 is not listed in bl.test");
}

#[test]
fn without_a_domain_each_local_domain_is_checked() {
    let mut s = Scenario::good();
    s.extra = "\n[relay]\nlocal_domains = [\"shop.test\"]\n";
    let run = s.run("");
    run.expect_statuses(ALL_OK, 0);
    assert!(run.stdout.starts_with("DNS check for shop.test "), "{}", run.stdout);
    let run = Scenario::good().run("");
    assert_eq!(run.code, Some(64), "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("give a DOMAIN (relay.local_domains is empty)"), "{}", run.stderr);
}
