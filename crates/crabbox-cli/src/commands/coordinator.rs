//! `crabbox coordinator serve` (the coordinator on its own multi-thread runtime;
//! the rest of the CLI uses a current-thread one) and `coordinator token`.

use std::net::ToSocketAddrs;

use crabbox_proto::ErrorClass;

use crate::cli::{ServeArgs, TokenArgs};
use crate::context::App;
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;

const DATABASE_SCHEMES: [&str; 3] = ["sqlite:", "postgres://", "postgresql://"];
const URL_FILE_HINT: &str = "put the URL in CRABBOX_DATABASE_URL, or in a file named by --database-file or CRABBOX_DATABASE_URL_FILE";

/// Checks the flags, then serves until SIGINT or SIGTERM.
pub fn serve(app: &App, args: ServeArgs) -> CliResult<ExitStatus> {
    if args
        .listen
        .to_socket_addrs()
        .map_or(true, |mut addresses| addresses.next().is_none())
    {
        return Err(
            CliError::usage(format!("invalid --listen {:?}; use HOST:PORT", args.listen))
                .with_hint("for example --listen 127.0.0.1:8787 (port 0 picks a free port)"),
        );
    }
    let database_url = database_url(app, &args)?;
    let options = crabbox_coordinator::ServeOptions {
        listen: args.listen,
        database_url,
        state_dir: app.paths.state_dir.clone(),
        env: app.env.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            CliError::of(
                ErrorClass::Failed,
                format!("cannot start a runtime: {error}"),
            )
        })?;
    crabbox_coordinator::log_to_stderr();
    let result = runtime.block_on(crabbox_coordinator::run(options));
    runtime.shutdown_background();
    result
        .map(|()| ExitStatus::Success)
        .map_err(|error| CliError::classified(ErrorClass::Failed, error))
}

/// The database URL from, in order, `--database`, `--database-file`,
/// `CRABBOX_DATABASE_URL` and `CRABBOX_DATABASE_URL_FILE`; `None` means the
/// default SQLite file. No message repeats the URL, which may hold a password.
fn database_url(app: &App, args: &ServeArgs) -> CliResult<Option<String>> {
    let env = |name: &str| {
        app.env
            .get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    };
    let (url, source) = if let Some(url) = &args.database {
        if crabbox_coordinator::redact_url(url) != *url {
            app.printer.warn(format!(
                "--database puts the database password where other local users can read it (ps, /proc)\nhint: {URL_FILE_HINT}"
            ));
        }
        (url.trim().to_string(), "--database")
    } else if let Some(path) = &args.database_file {
        (read_url_file(path, "--database-file")?, "--database-file")
    } else {
        match (
            env("CRABBOX_DATABASE_URL"),
            env("CRABBOX_DATABASE_URL_FILE"),
        ) {
            (Some(_), Some(_)) => {
                return Err(CliError::usage(
                    "both CRABBOX_DATABASE_URL and CRABBOX_DATABASE_URL_FILE are set",
                )
                .with_hint("unset one of them"))
            }
            (Some(url), None) => (url.to_string(), "CRABBOX_DATABASE_URL"),
            (None, Some(path)) => (
                read_url_file(path.as_ref(), "CRABBOX_DATABASE_URL_FILE")?,
                "CRABBOX_DATABASE_URL_FILE",
            ),
            (None, None) => return Ok(None),
        }
    };
    if !DATABASE_SCHEMES
        .iter()
        .any(|scheme| url.starts_with(scheme))
    {
        return Err(CliError::usage(format!(
            "invalid database URL from {source}; use sqlite://PATH or postgres://…"
        ))
        .with_hint(
            "without a database URL the coordinator uses a SQLite file in the state directory",
        ));
    }
    Ok(Some(url))
}

fn read_url_file(path: &std::path::Path, source: &str) -> CliResult<String> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        CliError::usage(format!(
            "cannot read the database URL file {} ({source}): {error}",
            path.display()
        ))
    })?;
    let url = text.trim();
    if url.is_empty() {
        return Err(CliError::usage(format!(
            "the database URL file {} ({source}) is empty",
            path.display()
        )));
    }
    Ok(url.to_string())
}

const TOKEN_TTL_RANGE: std::ops::RangeInclusive<u64> = 3600..=365 * 86_400;

/// Prints a `cbxu_` user token for `--owner`, signed with the session secret the
/// coordinator verifies it with. There is no browser login on this build, so this
/// is how an operator hands a teammate a personal token.
pub fn token(app: &App, args: TokenArgs) -> CliResult<ExitStatus> {
    let secret = crabbox_core::Secret::from_setting(
        app.env.get("CRABBOX_SESSION_SECRET").map(String::as_str),
    )
    .ok_or_else(|| {
        CliError::usage("CRABBOX_SESSION_SECRET is not set")
            .with_hint("export the same CRABBOX_SESSION_SECRET the coordinator runs with")
    })?;
    let owner = args.owner.trim();
    if owner.is_empty() || owner.len() > 320 || owner.chars().any(char::is_control) {
        return Err(CliError::usage(
            "--owner must be 1-320 printable characters",
        ));
    }
    let ttl = crabbox_core::parse_duration(&args.ttl)
        .map_err(|error| CliError::usage(format!("invalid --ttl: {error}")))?
        .as_secs();
    if !TOKEN_TTL_RANGE.contains(&ttl) {
        return Err(CliError::usage(
            "--ttl must be between 1h and 8760h (365 days)",
        ));
    }
    let token = crabbox_coordinator::user_token::mint(
        &secret,
        owner,
        args.org.trim(),
        owner,
        crabbox_core::now_unix(),
        ttl as i64,
    );
    app.printer.out(token);
    Ok(ExitStatus::Success)
}
