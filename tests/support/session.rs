//! In-process SMTP sessions: the daemon's `Services` built from a test config in a temp
//! dir, each connection one end of a socket pair run by the listener's own
//! `listener::handle` (limits, STARTTLS, the session). Dialogue tests need no process and
//! no port; the queue is read in process.
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use postern::app::Services;
use postern::config::ListenerKind;
use postern::queue::Envelope;

use super::config::{self, Config, CERT_FILE, KEY_FILE, USERS_FILE};
use super::dialog::Dialog;

pub struct InProcess {
    pub dir: tempfile::TempDir,
    pub services: Arc<Services>,
    rt: tokio::runtime::Runtime,
    _stop: tokio::sync::watch::Sender<bool>,
}

impl InProcess {
    /// The standard test config (`Config::standard`).
    pub fn standard() -> InProcess {
        InProcess::new(Config::standard())
    }

    /// Services for `config`, with the data dir, certificate and users file in a temp dir.
    pub fn new(mut config: Config) -> InProcess {
        let dir = tempfile::Builder::new().prefix("postern-inproc").tempdir().unwrap();
        let root = dir.path();
        config::write_test_cert(root);
        config.set("server.data_dir", root.join("data").display().to_string());
        config.set("users.file", root.join(USERS_FILE).display().to_string());
        if config.has("tls") {
            config.set("tls.cert", root.join(CERT_FILE).display().to_string());
            config.set("tls.key", root.join(KEY_FILE).display().to_string());
        }
        let path = root.join("postern.toml");
        std::fs::write(&path, config.to_toml()).unwrap();
        let cfg = postern::config::load_with_env(Some(&path), std::iter::empty()).expect("test config loads").config;
        let cfg = Arc::new(cfg);
        // One worker: sessions run while the test thread blocks on its socket.
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let services = rt.block_on(async {
            std::fs::create_dir_all(&cfg.server.data_dir).unwrap();
            let queue = postern::queue::Queue::open(&cfg.server.data_dir).expect("queue");
            let tls = postern::net::tls::load(&cfg).expect("tls");
            let dkim = postern::dkim::DkimSigner::load(&cfg.dkim).expect("dkim");
            let checks = postern::app::checks::Checker::from_config(&cfg).expect("checks");
            let directory = Arc::new(postern::directory::Directory::connect(&cfg).await.expect("directory"));
            Services::new(cfg.clone(), queue, tls, dkim, checks, directory, stop_rx, None)
        });
        InProcess { dir, services, rt, _stop: stop }
    }

    /// A client of the `kind` listener (`smtp`, `submission`, `submissions`) from `peer`,
    /// greeting read.
    pub fn connect(&self, kind: &str, peer: &str) -> Dialog {
        Dialog::over(self.socket(kind, peer))
    }

    fn socket(&self, kind: &str, peer: &str) -> UnixStream {
        let kind = match kind {
            "smtp" => ListenerKind::Smtp,
            "submission" => ListenerKind::Submission,
            "submissions" => ListenerKind::Submissions,
            other => panic!("unknown listener kind {other}"),
        };
        let peer: SocketAddr = peer.parse().expect("peer is ip:port");
        let (client, server) = UnixStream::pair().unwrap();
        server.set_nonblocking(true).unwrap();
        let services = self.services.clone();
        self.rt.spawn(async move {
            let server = tokio::net::UnixStream::from_std(server).expect("tokio socket");
            postern::server::smtp::listener::handle(services, server, peer, kind).await;
        });
        client
    }

    pub fn cert_path(&self) -> std::path::PathBuf {
        self.dir.path().join(CERT_FILE)
    }

    /// Everything in the queue.
    pub fn queued(&self) -> Vec<Envelope> {
        self.services.queue.list().expect("queue list")
    }

    /// The stored message `id` (as the 250 named it).
    pub fn body(&self, id: &str) -> Vec<u8> {
        let env = self.queued().into_iter().find(|e| e.id.to_string() == id).unwrap_or_else(|| panic!("{id} not queued"));
        self.services.queue.body(&env.id).expect("queue read").expect("body present").to_vec().expect("body readable")
    }
}
