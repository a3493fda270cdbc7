//! `crabbox coordinator serve` (the coordinator on its own multi-thread runtime;
//! the rest of the CLI uses a current-thread one) and `coordinator token`.

use std::net::ToSocketAddrs;

use crabbox_proto::ExitCode;

use crate::cli::{ServeArgs, TokenArgs};
use crate::context::App;
use crate::error::{CliError, CliResult};

const DATABASE_SCHEMES: [&str; 3] = ["sqlite:", "postgres://", "postgresql://"];

/// Checks the flags, then serves until SIGINT or SIGTERM.
pub fn serve(app: &App, args: ServeArgs) -> CliResult<i32> {
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
    let database_url = args.database.clone().or_else(|| {
        app.env
            .get("CRABBOX_DATABASE_URL")
            .filter(|url| !url.trim().is_empty())
            .cloned()
    });
    if let Some(url) = &database_url {
        if !DATABASE_SCHEMES
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            return Err(CliError::usage(
                "invalid database URL; use sqlite://PATH or postgres://…",
            )
            .with_hint(
                "check --database / CRABBOX_DATABASE_URL; without either the coordinator uses a SQLite file in the state directory",
            ));
        }
    }
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
            CliError::new(
                ExitCode::Failure,
                format!("cannot start a runtime: {error}"),
            )
        })?;
    let result = runtime.block_on(crabbox_coordinator::run(options));
    runtime.shutdown_background();
    result
        .map(|()| 0)
        .map_err(|message| CliError::new(ExitCode::Failure, message))
}

const TOKEN_TTL_RANGE: std::ops::RangeInclusive<u64> = 3600..=365 * 86_400;

/// Prints a `cbxu_` user token for `--owner`, signed with the session secret the
/// coordinator verifies it with. There is no browser login on this build, so this
/// is how an operator hands a teammate a personal token.
pub fn token(app: &App, args: TokenArgs) -> CliResult<i32> {
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
    Ok(0)
}
