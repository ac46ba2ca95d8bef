use clap::Parser;

mod cli;

fn main() {
    tune_malloc();
    let cli = cli::Cli::parse();
    std::process::exit(cli::run(cli));
}

/// glibc raises its mmap threshold to the size of each large block freed (up to 32 MiB),
/// after which such blocks come from per-thread arenas that keep them: every argon2id
/// check (19 MiB) made on a new blocking thread then stayed resident — 100 IMAP logins
/// left 670 MiB behind. A fixed threshold keeps blocks of 1 MiB and more in their own
/// mappings, returned to the system when freed (big messages too).
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
