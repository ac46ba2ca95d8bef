//! A private Dovecot 2.3 (IMAP and POP3, no TLS) over Maildirs at `<mail_root>/<domain>/<user>`
//! (postern's own layout under `data_dir/mail`), its config, logs and sockets in a temp dir;
//! stopped on drop. Mail is accessed as `nobody` (Dovecot refuses uid 0), so `start` hands
//! the mail tree to nobody:nogroup first. Facts in ../shared/peers/NOTES.md ("Dovecot").
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::peers::{free_port, require_root, require_tool, wait_listening};
use super::wait;

pub struct Dovecot {
    dir: tempfile::TempDir,
    conf: PathBuf,
    pub imap: SocketAddr,
    pub pop3: SocketAddr,
    running: bool,
}

impl Dovecot {
    /// Starts Dovecot for `users` (`user@domain`, password) over `mail_root`.
    pub fn start(mail_root: &Path, users: &[(&str, &str)]) -> Dovecot {
        require_root("a private Dovecot (it drops to nobody for mail access)");
        let dovecot = require_tool("dovecot");
        for lib in ["/usr/lib/dovecot/imap", "/usr/lib/dovecot/pop3"] {
            assert!(Path::new(lib).exists(), "{lib} missing: run scripts/install-peers (dovecot-imapd dovecot-pop3d)");
        }
        let dir = tempfile::Builder::new().prefix("postern-dovecot").tempdir().unwrap();
        let d = dir.path();
        chmod(d, 0o755);
        std::fs::create_dir_all(mail_root).unwrap();
        give_to_nobody(mail_root);
        let passwd: String = users.iter().map(|(u, p)| format!("{u}:{{PLAIN}}{p}\n")).collect();
        std::fs::write(d.join("users"), passwd).unwrap();
        let (imap, pop3) = (free_port(), free_port());
        let root = mail_root.display();
        let conf = d.join("dovecot.conf");
        std::fs::write(
            &conf,
            format!(
                "base_dir = {dir}/run\n\
                 state_dir = {dir}/state\n\
                 log_path = {dir}/dovecot.log\n\
                 protocols = imap pop3\n\
                 listen = 127.0.0.1\n\
                 ssl = no\n\
                 disable_plaintext_auth = no\n\
                 auth_mechanisms = plain login\n\
                 mail_location = maildir:{root}/%d/%n\n\
                 mail_uid = nobody\n\
                 mail_gid = nogroup\n\
                 first_valid_uid = 100\n\
                 passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {dir}/users\n}}\n\
                 userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={root}/%d/%n\n}}\n\
                 service imap-login {{\n  inet_listener imap {{\n    port = {imap}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
                 service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  inet_listener pop3s {{\n    port = 0\n  }}\n}}\n\
                 namespace inbox {{\n  inbox = yes\n  separator = .\n}}\n",
                dir = d.display()
            ),
        )
        .unwrap();
        // `dovecot` daemonizes and keeps stdout/stderr open: never capture them.
        let status = Command::new(&dovecot).arg("-c").arg(&conf).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
        let dc = Dovecot { dir, conf, imap: format!("127.0.0.1:{imap}").parse().unwrap(), pop3: format!("127.0.0.1:{pop3}").parse().unwrap(), running: status.success() };
        assert!(status.success(), "dovecot -c {} failed ({status}); log:\n{}", dc.conf.display(), dc.log());
        wait_listening(dc.imap, "dovecot imap");
        wait_listening(dc.pop3, "dovecot pop3");
        dc
    }

    /// Dovecot's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Stops Dovecot and waits until its master is gone (its files are then settled).
    pub fn stop(&mut self) {
        if !std::mem::replace(&mut self.running, false) {
            return;
        }
        let pid_file = self.dir.path().join("run/master.pid");
        let pid: Option<i32> = std::fs::read_to_string(&pid_file).ok().and_then(|p| p.trim().parse().ok());
        let _ = Command::new("dovecot").arg("-c").arg(&self.conf).arg("stop").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
        if let Some(pid) = pid {
            // SAFETY: signal 0 only checks that the process exists.
            wait::until(Duration::from_secs(15), Duration::from_millis(20), || unsafe { libc::kill(pid, 0) } != 0, |gone| *gone, |_| format!("dovecot (pid {pid}) did not stop"));
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Makes the tree owned by nobody:nogroup (what Dovecot accesses mail as), and its
/// parents traversable.
pub fn give_to_nobody(path: &Path) {
    let st = Command::new("chown").args(["-R", "nobody:nogroup"]).arg(path).status().unwrap();
    assert!(st.success(), "chown -R nobody:nogroup {} failed", path.display());
    let mut p = path.parent();
    while let Some(dir) = p {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(dir)
            && m.permissions().mode() & 0o001 == 0
        {
            chmod(dir, m.permissions().mode() | 0o011);
        }
        p = dir.parent();
    }
}
