//! Command-line surface: clap types only, no behaviour.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "crabbox",
    version,
    about = "Warm a box, sync the diff, run the suite.",
    disable_help_subcommand = false,
    propagate_version = true
)]
pub struct Cli {
    /// Trust this checkout's crabbox.yaml for this invocation, including keys
    /// that decide where data, secrets or keys go (env.allow, static.*, ssh.*,
    /// broker.*, workRoot).
    #[arg(long, global = true)]
    pub trust_repo: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lease (or reuse) a box, sync the checkout, run a command, release.
    Run(RunArgs),
    /// Lease a box, wait until SSH is ready and keep it.
    Warmup(WarmupArgs),
    /// One-line lease state; --wait blocks until ready.
    Status(StatusArgs),
    /// List leases of a provider.
    List(ListArgs),
    /// Full key=value record of one lease.
    Inspect(LeaseJsonArgs),
    /// Print a ready-to-paste ssh command for a lease.
    Ssh(LeaseArgs),
    /// Open an interactive shell on a lease.
    Connect(LeaseArgs),
    /// End a lease.
    #[command(visible_alias = "release")]
    Stop(LeaseArgs),
    /// Refresh a lease's idle deadline once.
    Heartbeat(HeartbeatArgs),
    /// Non-mutating readiness checks.
    Doctor(DoctorArgs),
    /// Print the sync manifest and size hotspots without leasing.
    #[command(name = "sync-plan")]
    SyncPlan(SyncPlanArgs),
    /// Built-in providers with their kind and features.
    Providers(JsonArgs),
    /// Remove expired leases.
    Cleanup(CleanupArgs),
    /// Recorded runs, newest first.
    History(HistoryArgs),
    /// The retained output of a run.
    Logs(LogsArgs),
    /// The ordered events of a run.
    Events(EventsArgs),
    /// Follow a run live on the coordinator and exit with its exit code.
    Attach(AttachArgs),
    /// Local claim files.
    #[command(subcommand)]
    Claims(ClaimsCommand),
    /// Cross-provider peer groups: peers, SSH mesh, release.
    #[command(subcommand)]
    Pond(PondCommand),
    /// Save a coordinator URL and token in the user config (token read from stdin).
    Login(LoginArgs),
    /// Remove the coordinator token from the user config (the URL stays).
    Logout,
    /// Who the coordinator token authenticates as.
    Whoami(JsonArgs),
    /// Run the coordinator.
    #[command(subcommand)]
    Coordinator(CoordinatorCommand),
    /// Inspect configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Internal: the per-checkout file watcher started by `run`.
    #[command(name = "__watch", hide = true)]
    Watch(WatchArgs),
}

/// Go-style booleans: `--flag`, `--flag=true`, `--flag=false`.
fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("invalid boolean {text:?} (use true or false)")),
    }
}

#[derive(Debug, Args, Clone, Default)]
pub struct ProviderArgs {
    /// Provider name or alias (default: local).
    #[arg(long)]
    pub provider: Option<String>,
    /// Host of the `ssh` (static) provider.
    #[arg(long = "static-host")]
    pub static_host: Option<String>,
    /// SSH user on the static host.
    #[arg(long = "static-user")]
    pub static_user: Option<String>,
    /// SSH port of the static host.
    #[arg(long = "static-port")]
    pub static_port: Option<String>,
    /// Work root on the static host.
    #[arg(long = "static-work-root")]
    pub static_work_root: Option<String>,
    #[command(flatten)]
    pub sealos: Box<crate::sealos_flags::SealosArgs>,
}

/// Flags that shape a new lease.
#[derive(Debug, Args, Clone, Default)]
pub struct LeaseCreateArgs {
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// Config profile.
    #[arg(long)]
    pub profile: Option<String>,
    /// Machine class (tiny|small|standard|fast|large|beast).
    #[arg(long)]
    pub class: Option<String>,
    /// Maximum lease lifetime, e.g. 90m.
    #[arg(long)]
    pub ttl: Option<String>,
    /// Idle time before the lease expires, e.g. 30m.
    #[arg(long = "idle-timeout")]
    pub idle_timeout: Option<String>,
    /// Requested slug for a new lease.
    #[arg(long)]
    pub slug: Option<String>,
    /// Join the lease to this pond (label `pond=<name>`).
    #[arg(long)]
    pub pond: Option<String>,
    /// Port pond peers may reach on this lease (repeatable, comma lists, at most 10).
    #[arg(long)]
    pub expose: Vec<String>,
    /// Run a local lease's sshd in its own network namespace (root only).
    #[arg(long = "local-netns", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub local_netns: Option<bool>,
}

#[derive(Debug, Args, Default)]
#[command(trailing_var_arg = true)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: LeaseCreateArgs,
    /// Reuse this lease (ID or slug) instead of creating one.
    #[arg(long)]
    pub id: Option<String>,
    /// Claim the lease for this checkout even if another one holds it.
    #[arg(long)]
    pub reclaim: bool,
    /// Keep a newly created lease after the run.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub keep: Option<bool>,
    /// Keep a newly created lease when the command fails.
    #[arg(long = "keep-on-failure")]
    pub keep_on_failure: bool,
    /// When to release: success|always|failure|never.
    #[arg(long = "stop-after")]
    pub stop_after: Option<String>,
    /// Skip syncing the checkout.
    #[arg(long = "no-sync")]
    pub no_sync: bool,
    /// Sync and stop without running a command.
    #[arg(long = "sync-only")]
    pub sync_only: bool,
    /// Delete the remote workdir first, then send everything.
    #[arg(long = "full-resync", visible_alias = "fresh-sync")]
    pub full_resync: bool,
    /// Compare file checksums instead of size and mtime.
    #[arg(long)]
    pub checksum: bool,
    /// Allow a sync over the failure thresholds.
    #[arg(long = "force-sync-large")]
    pub force_sync_large: bool,
    /// Run the words as one `bash -lc` script.
    #[arg(long)]
    pub shell: bool,
    /// Run the command without a login shell (the user's profile is not read;
    /// `run.loginShell: false` in config).
    #[arg(long = "no-login-shell")]
    pub no_login_shell: bool,
    /// Forward these local env vars too (repeatable, comma lists, PREFIX*).
    #[arg(long = "allow-env", value_delimiter = ',')]
    pub allow_env: Vec<String>,
    /// Print the timing report as JSON on stderr.
    #[arg(long = "timing-json")]
    pub timing_json: bool,
    /// The command to run. Flags before the first word of the command are
    /// crabbox's own (a typo is a usage error, never a command); everything from
    /// the first word on, or after `--`, belongs to the command.
    #[arg(trailing_var_arg = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct WarmupArgs {
    #[command(flatten)]
    pub create: LeaseCreateArgs,
    /// Keep the lease after warmup (default true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub keep: Option<bool>,
    #[arg(long)]
    pub reclaim: bool,
    #[arg(long = "timing-json")]
    pub timing_json: bool,
}

/// A lease given as `--id` or the first positional argument.
#[derive(Debug, Args, Clone, Default)]
pub struct LeaseArgs {
    #[arg(long)]
    pub id: Option<String>,
    #[command(flatten)]
    pub provider: ProviderArgs,
    #[arg(long)]
    pub reclaim: bool,
    /// Lease ID or slug.
    #[arg(value_name = "LEASE")]
    pub lease: Option<String>,
}

#[derive(Debug, Args)]
pub struct LeaseJsonArgs {
    #[command(flatten)]
    pub lease: LeaseArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub lease: LeaseArgs,
    #[arg(long)]
    pub json: bool,
    /// Block until the lease is ready.
    #[arg(long)]
    pub wait: bool,
    /// Give up waiting after this long.
    #[arg(long = "wait-timeout", default_value = "5m")]
    pub wait_timeout: String,
}

#[derive(Debug, Args)]
pub struct HeartbeatArgs {
    #[command(flatten)]
    pub lease: LeaseArgs,
    /// Replace the idle timeout.
    #[arg(long = "idle-timeout")]
    pub idle_timeout: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// Only leases of this pond.
    #[arg(long)]
    pub pond: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// Also check this pond: reachability matrix, SSH mesh, URL targets, tailnet policy.
    #[arg(long)]
    pub pond: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum PondCommand {
    /// How each member of a pond is reached.
    Peers(PondPeersArgs),
    /// Forward every member's exposed ports to loopback over SSH.
    Connect(PondConnectArgs),
    /// Stop the SSH-mesh daemons started by `pond connect --export`.
    Disconnect(PondNameArgs),
    /// Release every member of a pond.
    Release(PondReleaseArgs),
}

#[derive(Debug, Args)]
pub struct PondPeersArgs {
    #[arg(long)]
    pub pond: Option<String>,
    /// Only members of this provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// Publish this port through URL bridges (1-65535; 0 = off).
    #[arg(long = "share-port", default_value_t = 0)]
    pub share_port: u32,
    /// Lifetime of published shares.
    #[arg(long = "share-ttl", default_value = "24h")]
    pub share_ttl: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PondConnectArgs {
    /// Pond name.
    pub name: String,
    /// Only members of this provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// Start background daemons and print `export` lines for `eval`.
    #[arg(long)]
    pub export: bool,
    /// Print the forward table only; no files, no probes, no ssh.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PondNameArgs {
    /// Pond name.
    pub name: String,
}

#[derive(Debug, Args)]
pub struct PondReleaseArgs {
    /// Pond name (words are joined with spaces, then normalized).
    #[arg(required = true, num_args = 1..)]
    pub name: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// Only report what would be removed.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ClaimsCommand {
    /// Dump local claim files without asking any provider.
    List(JsonArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the user config file path.
    Path,
    /// Print the effective configuration and where each value came from.
    Show(ConfigShowArgs),
}

#[derive(Debug, Args)]
pub struct ConfigShowArgs {
    #[command(flatten)]
    pub provider: ProviderArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Coordinator URL (default: the configured broker.url).
    #[arg(long)]
    pub url: Option<String>,
    /// Read the token from the first line of standard input.
    #[arg(long = "token-stdin")]
    pub token_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum CoordinatorCommand {
    /// Serve the coordinator API until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Mint a signed user token (cbxu_…) with CRABBOX_SESSION_SECRET.
    Token(TokenArgs),
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Owner the token authenticates as.
    #[arg(long)]
    pub owner: String,
    /// Org of the owner (default: none, which the coordinator maps to CRABBOX_DEFAULT_ORG).
    #[arg(long, default_value = "")]
    pub org: String,
    /// Lifetime as a Go duration, 1h to 8760h (365 days); default 180 days.
    #[arg(long, default_value = "4320h")]
    pub ttl: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: String,
    /// `sqlite://…` or `postgres://…` (default: CRABBOX_DATABASE_URL or the file
    /// named by CRABBOX_DATABASE_URL_FILE, else a SQLite file under the state
    /// directory). A password here is visible in `ps`; prefer --database-file.
    #[arg(long, conflicts_with = "database_file")]
    pub database: Option<String>,
    /// A file holding the database URL (surrounding whitespace ignored), so a
    /// password stays out of the process list.
    #[arg(long, value_name = "PATH")]
    pub database_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only runs on this lease (ID or slug).
    #[arg(long)]
    pub lease: Option<String>,
    /// Only runs in this state (running|succeeded|failed|canceled).
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[arg(long)]
    pub id: Option<String>,
    /// Run ID (run_…).
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    /// Only the last N lines.
    #[arg(long)]
    pub tail: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    #[arg(long)]
    pub id: Option<String>,
    /// Run ID (run_…).
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    /// Only events after this sequence number.
    #[arg(long, default_value_t = 0)]
    pub after: u64,
    #[arg(long, default_value_t = 500)]
    pub limit: usize,
    /// Only events of this type.
    #[arg(long = "type")]
    pub kind: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    #[arg(long)]
    pub id: Option<String>,
    /// Run ID (run_…).
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    /// Only events after this sequence number.
    #[arg(long, default_value_t = 0)]
    pub after: u64,
    /// How long a read may wait before checking whether the run still runs.
    #[arg(long, default_value = "1s")]
    pub poll: String,
    /// One JSON event per line on stdout instead of the replayed output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SyncPlanArgs {
    /// How many paths, files and directories to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    pub root: std::path::PathBuf,
    pub dir: std::path::PathBuf,
    #[arg(long)]
    pub prune: Vec<String>,
}
