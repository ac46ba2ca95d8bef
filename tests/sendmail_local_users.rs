//! Any local user may hand mail to `sendmail` (as with Postfix's postdrop); only root and
//! the daemon's user may administer the queue over the control socket.
mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use support::TestServer;

/// Runs `postern ARGS` as uid/gid 65534 (nobody) with `stdin`.
fn as_nobody(server: &TestServer, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(support::server::postern_bin())
        .args(args)
        .arg("--config")
        .arg(server.config_path())
        .current_dir("/")
        .env_remove("POSTERN_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), stdin).unwrap();
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[test]
fn other_users_can_send_but_not_administer_the_queue() {
    support::peers::require_root("running a command as another user");
    support::peers::require_tool("setpriv");
    let server = TestServer::builder().park_delivery().set("server.data_dir", "data").start();
    // Let "nobody" reach the config and the socket, as a packaged install would.
    for p in [server.dir().to_path_buf(), server.dir().join("data")] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // The daemon reads the config with a relative data_dir: nobody needs it absolute.
    let cfg = std::fs::read_to_string(server.config_path()).unwrap();
    let abs = server.dir().join("data");
    let cfg_abs = cfg.replace("data_dir = \"data\"", &format!("data_dir = {:?}", abs.display().to_string()));
    let nobody_cfg = server.dir().join("nobody.toml");
    std::fs::write(&nobody_cfg, cfg_abs).unwrap();
    std::fs::set_permissions(&nobody_cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::copy(&nobody_cfg, server.config_path()).unwrap();

    let out = as_nobody(&server, &["send", "-t", "-oi", "-f", "app@example.com"], b"To: bob@example.net\nSubject: from an app user\n\nhello\n");
    assert!(out.status.success(), "sendmail as nobody: {}", support::server::describe(&out));
    let queued = server.queue_json();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].sender(), "app@example.com");

    let out = as_nobody(&server, &["queue", "list", "--json"], b"");
    assert!(!out.status.success(), "nobody must not list the queue");
    assert!(String::from_utf8_lossy(&out.stderr).contains("queue administration is for root"), "{}", support::server::describe(&out));
    let out = as_nobody(&server, &["queue", "delete", &queued[0].id], b"");
    assert!(!out.status.success());
    assert_eq!(server.queue_json().len(), 1, "nothing was deleted");
}
