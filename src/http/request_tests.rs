use super::*;

fn req(json: &str) -> Result<Mail, ApiError> {
    parse(json.as_bytes())?.validate(10)
}

#[test]
fn string_object_and_list_forms() {
    let m = req(r#"{"from":"Alice <alice@example.com>","to":"b@example.net, \"Doe, J\" <j@example.net>",
        "cc":{"email":"c@example.net","name":"Cé"},"bcc":["d@example.net",{"address":"e@example.net"}],
        "replyTo":"r@example.com","subject":"hi","text":"body"}"#)
    .unwrap();
    assert_eq!(m.from.name.as_deref(), Some("Alice"));
    assert_eq!(m.from.addr(), "alice@example.com");
    assert_eq!(m.to[1].name.as_deref(), Some("Doe, J"));
    assert_eq!(m.cc[0].name.as_deref(), Some("Cé"));
    assert_eq!(
        m.recipients(),
        ["b@example.net", "j@example.net", "c@example.net", "d@example.net", "e@example.net"]
    );
    assert_eq!(m.reply_to[0].addr(), "r@example.com");
    assert!(!m.needs_smtputf8());
}

#[test]
fn from_is_one_mailbox_even_with_a_comma_in_the_name() {
    let m = req(r#"{"from":"Doe, John <j@example.com>","to":"b@example.net","text":"x"}"#).unwrap();
    assert_eq!((m.from.name.as_deref(), m.from.addr().as_str()), (Some("Doe, John"), "j@example.com"));
    assert!(matches!(req(r#"{"from":"a@example.com, b@example.com","to":"b@example.net","text":"x"}"#), Err(ApiError::BadAddress { .. })));
}

#[test]
fn idn_domains_become_a_labels_and_utf8_local_parts_need_smtputf8() {
    let m = req(r#"{"from":"a@bücher.example","to":"jörg@example.net","text":"x"}"#).unwrap();
    assert_eq!(m.from.addr(), "a@xn--bcher-kva.example");
    assert!(m.needs_smtputf8());
}

#[test]
fn header_injection_everywhere() {
    for json in [
        r#"{"from":"a@example.com","to":"b@example.net","subject":"hi\r\nBcc: x@evil.test","text":"x"}"#,
        r#"{"from":"a@example.com","to":"b@example.net","subject":"hi\nX: y","text":"x"}"#,
        r#"{"from":{"email":"a@example.com","name":"A\r\nBcc: x@evil.test"},"to":"b@example.net","text":"x"}"#,
        r#"{"from":"a@example.com","to":"b@example.net\r\nBcc: x@evil.test","text":"x"}"#,
        r#"{"from":"a@example.com","to":"b@example.net","headers":{"X-A":"1\r\nBcc: x@evil.test"},"text":"x"}"#,
        r#"{"from":"a@example.com","to":"b@example.net","headers":{"X-A\r\nBcc":"v"},"text":"x"}"#,
        r#"{"from":"a@example.com","to":"b@example.net","text":"x","attachments":[{"filename":"a\r\nb","content":""}]}"#,
    ] {
        assert!(matches!(req(json), Err(ApiError::HeaderInjection(_))), "{json}: {:?}", req(json));
    }
}

#[test]
fn bad_input_is_named() {
    let bad = |json: &str, needle: &str| {
        let e = req(json).unwrap_err();
        assert!(e.to_string().contains(needle), "{json}: {e}");
        assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST, "{json}");
    };
    bad(r#"{"to":"b@example.net","text":"x"}"#, "from is required");
    bad(r#"{"from":"a@example.com","text":"x"}"#, "at least one recipient");
    bad(r#"{"from":"not an address","to":"b@example.net","text":"x"}"#, "invalid address");
    bad(r#"{"from":"a@example.com","to":"b@","text":"x"}"#, "in to");
    bad(r#"{"from":"a@example.com","to":"b@example.net"}"#, "empty");
    bad(r#"{"from":"a@example.com","to":"b@example.net","text":"x","headers":{"From":"x@y"}}"#, "set from the request");
    bad(r#"{"from":"a@example.com","to":"b@example.net","text":"x","headers":{"Bad Name":"v"}}"#, "not a valid header name");
    bad(r#"{"from":"a@example.com","to":"b@example.net","text":"x","attachments":[{"content":"!!"}]}"#, "base64");
    bad(r#"{"from":"a@example.com","to":"b@example.net","text":"x","attachments":[{"content":"","contentType":"pdf"}]}"#, "type/subtype");
    bad(r#"{"from":"a@example.com","to":["b@example.net",5],"text":"x"}"#, "to");
    bad(r#"{"from":"a@example.com","#, "invalid JSON");
    let many: Vec<String> = (0..11).map(|i| format!("\"r{i}@example.net\"")).collect();
    bad(&format!(r#"{{"from":"a@example.com","to":[{}],"text":"x"}}"#, many.join(",")), "at most 10");
}

#[test]
fn attachments_decode() {
    let m = req(r#"{"from":"a@example.com","to":"b@example.net","attachments":[
        {"filename":"r.bin","contentType":"Application/Octet-Stream","content":"AAEC\n/w=="},
        {"filename":"n.txt","content":"plain","encoding":"utf-8"}]}"#)
    .unwrap();
    assert_eq!(m.attachments[0].content, [0, 1, 2, 255]);
    assert_eq!(m.attachments[0].content_type, "application/octet-stream");
    assert_eq!(m.attachments[1].content, b"plain");
}

#[test]
fn header_list_form_keeps_order() {
    let m = req(r#"{"from":"a@example.com","to":"b@example.net","text":"x",
        "headers":[{"name":"X-B","value":"2"},{"key":"X-A","value":"1"}]}"#)
    .unwrap();
    assert_eq!(m.headers, [("X-B".to_string(), "2".to_string()), ("X-A".into(), "1".into())]);
}
