//! Human output for the queue: `mailq`'s layout for lists, a readable block for one message.
use postern::http::api::{QueueEntry, QueueMessage};
use postern::queue::RcptState;

fn date(unix: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix as i64).map(postern::proto::rfc5322::date).unwrap_or_default()
}

/// Postfix `mailq` layout: id (`!` = held, `*` = being delivered is not tracked), size,
/// arrival, sender; then per recipient its last error in parentheses and the address.
pub fn print_list(list: &[QueueEntry]) {
    if list.is_empty() {
        println!("Mail queue is empty");
        return;
    }
    println!("{:<20} {:>8} {:<20} Sender/Recipient", "-Queue ID-", "--Size--", "----Arrival Time----");
    let mut total = 0;
    for e in list {
        let env = &e.envelope;
        total += env.size;
        let arrived = date(env.arrived);
        let mark = if env.held { "!" } else { "" };
        let sender = if env.mail_from.is_empty() { "MAILER-DAEMON" } else { &env.mail_from };
        println!("{:<20} {:>8} {:<20} {sender}", format!("{}{mark}", env.id), env.size, arrived.get(..22).unwrap_or(&arrived));
        for r in &env.recipients {
            if let Some(err) = &r.last_error {
                println!("{:51}({err})", "");
            }
            let state = match r.state {
                RcptState::Pending => "",
                RcptState::Delivered => " (delivered)",
                RcptState::Failed => " (failed)",
            };
            println!("{:51}{}{state}", "", r.address);
        }
        println!();
    }
    println!("-- {} Kbytes in {} Request{}.", total.div_ceil(1024), list.len(), if list.len() == 1 { "" } else { "s" });
}

/// One message: envelope, each recipient's state, then the stored headers.
pub fn print_message(m: &QueueMessage) {
    let env = &m.message.envelope;
    let sender = if env.mail_from.is_empty() { "<>".to_string() } else { format!("<{}>", env.mail_from) };
    println!("id:       {}", env.id);
    println!("state:    {:?}", m.message.state);
    println!("arrived:  {}", date(env.arrived));
    println!("size:     {}", env.size);
    println!("sender:   {sender}");
    if let Some(ip) = &env.client_ip {
        println!("client:   {ip} ({})", env.helo.as_deref().unwrap_or("unknown"));
    }
    for r in &env.recipients {
        let next = if r.next_attempt == 0 { "now".to_string() } else { date(r.next_attempt) };
        println!("recipient: {} {:?} attempts={} next={next}", r.address, r.state, r.attempts);
        if let Some(err) = &r.last_error {
            println!("           last error: {err}");
        }
    }
    println!();
    print!("{}", m.headers);
}
