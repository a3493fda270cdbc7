//! Where the coordinator's diagnostics go when it runs as `coordinator serve`:
//! plain lines on stderr, exactly the text of each event (no timestamp, level or
//! target), because operators and tests read lines such as `… listening on URL`.

/// Installs the stderr logger for this process; a logger installed earlier
/// (an embedding program's own) is kept.
pub fn log_to_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .without_time()
        .with_level(false)
        .with_target(false)
        .try_init();
}
