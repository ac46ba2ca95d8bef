//! Config loader (TOML + `POSTERN_*` and Postfix-image environment variables): never
//! panics, and an accepted configuration, printed as TOML (what `check config --print`
//! shows), loads again unchanged.
//!
//! Input: TOML text, optionally followed by a line `#ENV` and `NAME=value` lines.
//! Variables ending in `_FILE` are dropped: they name files to read, and a fuzzer that
//! finds `/dev/zero` would only test the kernel.
use postern::config::load_with_env;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One scratch file per process (see `super::scratch_dir`).
fn scratch() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| super::scratch_dir("postern-fuzz-config").join("postern.toml"))
}

fn split_env(data: &[u8]) -> (&[u8], Vec<(String, String)>) {
    const MARK: &[u8] = b"\n#ENV\n";
    let Some(at) = data.windows(MARK.len()).position(|w| w == MARK) else {
        return (data, Vec::new());
    };
    let vars = String::from_utf8_lossy(&data[at + MARK.len()..])
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| !k.ends_with("_FILE") && !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (&data[..at + 1], vars)
}

pub fn run(data: &[u8]) {
    let (text, vars) = split_env(data);
    let path = scratch();
    std::fs::write(path, text).expect("write scratch config");
    let Ok(loaded) = load_with_env(Some(path), vars.into_iter()) else { return };
    let printed = toml::to_string(&loaded.config).expect("an accepted config serializes");
    std::fs::write(path, &printed).expect("write scratch config");
    let again = load_with_env(Some(path), std::iter::empty())
        .unwrap_or_else(|e| panic!("printed config does not load: {e}\n{printed}"));
    let reprinted = toml::to_string(&again.config).expect("serializes");
    assert_eq!(printed, reprinted, "config changes when printed and loaded again");
    let _ = loaded.config.to_toml_masked();
}
