//! `postern vacation set|off|show`: a mailbox's auto-reply, through the service layer
//! (`app::accounts`, shared with the admin API and web UI) and the directory's
//! `VacationStore` on whichever backend the config names (files, sqlite, postgres; postern
//! or PostfixAdmin schema). The daemon answers with it from the next message on.
use super::VacationCommand;
use postern::app::accounts::{self, Actor};
use postern::config::Config;
use postern::directory::admin::{AdminError, invalid};
use postern::directory::vacation::{Vacation, VacationStore, parse_time};
use std::io::Read;
use std::path::Path;

pub fn run(cfg: &Config, cmd: VacationCommand) -> i32 {
    super::accounts::with_directory(cfg, async |directory| {
        let store = directory.vacations().ok_or_else(|| AdminError::Failed("this directory keeps no vacations".into()))?;
        dispatch(store, cmd).await
    })
}

/// The reply text from a file, or stdin for `-`.
fn read_body(path: &Path) -> Result<String, AdminError> {
    let mut text = String::new();
    let read = if path == Path::new("-") {
        std::io::stdin().read_to_string(&mut text).map(drop)
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|e| invalid("body", format!("cannot read {}: {e}", path.display())))?;
    Ok(text)
}

fn time(field: &'static str, value: Option<&str>, end_of_day: bool) -> Result<Option<i64>, AdminError> {
    value.map(|v| parse_time(v, end_of_day).map_err(|e| invalid(field, e))).transpose()
}

/// A time as RFC 3339 in UTC.
fn show_time(t: Option<i64>, none: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match t {
        None => none.to_string(),
        Some(t) => time::OffsetDateTime::from_unix_timestamp(t).ok().and_then(|d| d.format(&Rfc3339).ok()).unwrap_or_else(|| t.to_string()),
    }
}

async fn dispatch(store: &dyn VacationStore, cmd: VacationCommand) -> Result<(), AdminError> {
    match cmd {
        VacationCommand::Set { address, subject, body_file, from, until, interval } => {
            let v = Vacation {
                address: address.clone(),
                subject,
                body: read_body(&body_file)?,
                from: time("from", from.as_deref(), false)?,
                until: time("until", until.as_deref(), true)?,
                interval,
                active: true,
            };
            accounts::set_vacation(store, Actor::CLI, v).await?;
            eprintln!("vacation of {address} set");
        }
        VacationCommand::Off { address } => {
            accounts::clear_vacation(store, Actor::CLI, &address).await?;
            eprintln!("vacation of {address} off");
        }
        VacationCommand::Show { address, json } => {
            let Some(v) = store.get_vacation(&address).await? else {
                return Err(AdminError::NotFound(format!("vacation of {address}")));
            };
            let state = v.state(postern::proto::rfc5322::unix_now() as i64);
            if json {
                let mut value = serde_json::to_value(&v).unwrap_or_default();
                value["state"] = state.into();
                println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
            } else {
                println!("address:  {}", v.address);
                println!("state:    {state}");
                println!("from:     {}", show_time(v.from, "-"));
                println!("until:    {}", show_time(v.until, "-"));
                let interval = if v.interval == 0 { "0 (each sender once)".to_string() } else { format!("{} s", v.interval) };
                println!("interval: {interval}");
                println!("subject:  {}", if v.subject.is_empty() { "(Auto: and the subject answered)" } else { &v.subject });
                println!();
                print!("{}", v.body);
                if !v.body.ends_with('\n') {
                    println!();
                }
            }
        }
    }
    Ok(())
}
