//! DKIM keys of a domain (its admins): generate a key into `data_dir/dkim` and start
//! signing with it at once (the signer is reloaded); the domain's page shows the TXT
//! record to publish for every key.
use super::super::server::{Page, Req, Shared};
use super::super::session::Flash;
use super::domains::allowed_domain;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    selector: String,
    #[serde(default)]
    algorithm: String,
}

pub async fn generate(State(ui): State<Shared>, r: Req, Path(domain): Path<String>, Form(f): Form<KeyForm>) -> Result<Response, Page> {
    let (key, who) = allowed_domain(&r, &domain)?;
    let back = format!("/domains/{key}");
    let algorithm = match f.algorithm.parse::<crate::dkim::Algorithm>() {
        Ok(a) => a,
        Err(e) => return Ok(r.done(&ui, &back, Flash::Err(e.to_string()))),
    };
    let cfg = ui.ctx.config.clone();
    let selector = f.selector.trim().to_string();
    let (d, s) = (key.clone(), selector.clone());
    let made = tokio::task::spawn_blocking(move || crate::dkim::managed::generate(&crate::dkim::managed::dir(&cfg), &d, &s, algorithm))
        .await
        .map_err(|_| Page::Internal)?;
    match made {
        Ok(k) => {
            tracing::info!(who = %who.audit_name(), from = %r.ip, entity = "dkim", action = "generate", key = %k.record_name, algorithm = %algorithm, "DKIM key generated");
            match crate::dkim::DkimSigner::load(&crate::dkim::managed::effective(&ui.ctx.config)) {
                Ok(signer) => *ui.ctx.dkim.write().unwrap_or_else(std::sync::PoisonError::into_inner) = signer,
                Err(e) => tracing::error!(error = %e, "DKIM keys not reloaded"),
            }
            Ok(r.done(&ui, &back, Flash::Ok(format!("DKIM key {selector} generated: publish the TXT record below, then mail from {key} is signed with it"))))
        }
        Err(e) => Ok(r.done(&ui, &back, Flash::Err(e.to_string()))),
    }
}
