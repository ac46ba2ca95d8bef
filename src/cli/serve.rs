//! `postern serve`: start everything, wait for a signal, shut down gracefully.
use super::exit;
use postern::config::Loaded;

pub fn run(loaded: Loaded) -> i32 {
    init_logging(&loaded.config.log);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("postern: cannot start the runtime: {e}");
            return exit::SOFTWARE;
        }
    };
    match rt.block_on(postern::daemon::run(loaded)) {
        Ok(()) => exit::OK,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("postern: {e}");
            exit::CONFIG
        }
    }
}

fn init_logging(log: &postern::config::Log) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("POSTERN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&log.level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(postern::rewrite::anonymize::log_writer(log.anonymize))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
}
