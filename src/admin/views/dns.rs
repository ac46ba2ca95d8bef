//! DNS health of a domain (its admins): `postern check dns` run for the domain, each
//! finding with the record or change that fixes it.
use super::super::server::{Page, Req, Shared};
use super::domains::allowed_domain;
use super::{Layout, render};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

pub struct Row {
    pub status: &'static str,
    pub check: &'static str,
    pub message: String,
    pub fixes: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/dns.html")]
struct DnsPage {
    l: Layout,
    domain: String,
    hostname: String,
    rows: Vec<Row>,
    error: String,
}

pub async fn show(State(ui): State<Shared>, r: Req, Path(domain): Path<String>) -> Result<Response, Page> {
    let (key, _) = allowed_domain(&r, &domain)?;
    let opts = crate::dnscheck::Options { domain: key.clone(), ips: Vec::new() };
    let (rows, hostname, error) = match crate::dnscheck::check(&ui.ctx.config, &opts).await {
        Ok(report) => (
            report
                .findings
                .into_iter()
                .map(|f| Row { status: f.status.label(), check: f.check, message: f.message, fixes: f.fixes })
                .collect(),
            report.hostname,
            String::new(),
        ),
        Err(e) => (Vec::new(), String::new(), e.to_string()),
    };
    Ok(render(&DnsPage { l: Layout::new(&ui, &r, format!("DNS health of {key}")), domain: key, hostname, rows, error }))
}
