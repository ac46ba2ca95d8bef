//! The CLI around the daemon: `check config`, `user add/list/delete`, `queue list/show`.

mod support;

use std::fs;

use support::server::describe;
use support::{Dialog, ServerBuilder, TestServer};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn check_config_accepts_the_test_config() {
    let server = ServerBuilder::new().park_delivery().prepare();
    let out = server.cli(&["check", "config"], b"");
    assert!(out.status.success(), "{}", describe(&out));
}

#[test]
fn check_config_names_the_bad_key() {
    let server = ServerBuilder::new()
        .set("limits.recipients", "many")
        .prepare();
    let out = server.cli(&["check", "config"], b"");
    assert!(
        !out.status.success(),
        "a string for limits.recipients passed: {}",
        describe(&out)
    );
    assert!(
        describe(&out).contains("recipients"),
        "error does not name the key: {}",
        describe(&out)
    );

    let server = ServerBuilder::new()
        .set("relay.no_such_key", true)
        .prepare();
    let out = server.cli(&["check", "config"], b"");
    assert!(
        !out.status.success(),
        "unknown key passed: {}",
        describe(&out)
    );
    assert!(describe(&out).contains("no_such_key"), "{}", describe(&out));
}

#[test]
fn serve_refuses_an_invalid_config() {
    let server = ServerBuilder::new().set("listener", "not-a-list").prepare();
    let out = server.cli(&["serve"], b"");
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(describe(&out).contains("listener"), "{}", describe(&out));
}

#[test]
fn user_add_list_delete() {
    let server = ServerBuilder::new().prepare();
    let add = server.cli(&["user", "add", "erin"], b"first-pass");
    assert!(add.status.success(), "{}", describe(&add));
    let add = server.cli(&["user", "add", "frank"], b"frank-pass");
    assert!(add.status.success(), "{}", describe(&add));

    let file = fs::read_to_string(server.dir().join(support::config::USERS_FILE)).unwrap();
    assert!(
        file.contains("$argon2id$"),
        "no argon2id hash stored: {file}"
    );
    assert!(
        !file.contains("first-pass") && !file.contains("frank-pass"),
        "password stored in clear: {file}"
    );

    let list = stdout(&server.cli(&["user", "list"], b""));
    assert!(list.contains("erin") && list.contains("frank"), "{list}");

    let del = server.cli(&["user", "delete", "erin"], b"");
    assert!(del.status.success(), "{}", describe(&del));
    let list = stdout(&server.cli(&["user", "list"], b""));
    assert!(!list.contains("erin") && list.contains("frank"), "{list}");
}

#[test]
fn updated_password_replaces_the_old_one() {
    let mut server = ServerBuilder::new().user("gina", "old-password").prepare();
    let again = server.cli(&["user", "add", "gina"], b"new-password");
    assert!(again.status.success(), "{}", describe(&again));
    server.spawn();
    let mut d = Dialog::connect_tls(server.submissions(), &server.cert_path());
    d.ehlo();
    d.auth_plain("gina", "old-password").assert(535, "5.7.8");
    d.auth_plain("gina", "new-password").assert(235, "2.7.0");
}

#[test]
fn queue_show_prints_a_queued_message() {
    let server = TestServer::parked();
    let mut d = Dialog::connect(server.smtp());
    d.ehlo();
    let id = d.send_mail(
        "show@example.org",
        &["rcpt@example.com"],
        "Subject: show me\r\n\r\nbody\r\n",
    );
    let out = server.cli(&["queue", "show", &id], b"");
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&id)
            && text.contains("show@example.org")
            && text.contains("rcpt@example.com"),
        "{text}"
    );

    let human = stdout(&server.cli(&["queue", "list"], b""));
    assert!(
        human.contains(&id),
        "queue list does not show {id}: {human}"
    );

    let missing = server.cli(&["queue", "show", "no-such-id"], b"");
    assert!(!missing.status.success(), "{}", describe(&missing));
}
