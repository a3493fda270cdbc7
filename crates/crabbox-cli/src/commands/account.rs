//! `login`, `logout` and `whoami`: the coordinator credentials in the user config
//! and the identity they authenticate as. The token is never printed.

use std::io::BufRead;

use crabbox_client::Client;
use serde_json::json;

use crate::cli::{JsonArgs, LoginArgs};
use crate::context::App;
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;
use crate::user_config;

fn read_token() -> CliResult<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|error| CliError::usage(format!("cannot read the token from stdin: {error}")))?;
    let token = line.trim().to_string();
    if token.is_empty() {
        return Err(CliError::usage("no token on standard input")
            .with_hint("printf '%s\\n' \"$TOKEN\" | crabbox login --url URL --token-stdin"));
    }
    Ok(token)
}

pub async fn login(app: &mut App, args: LoginArgs) -> CliResult<ExitStatus> {
    let config = app.config(None, Vec::new())?;
    let url = args
        .url
        .clone()
        .or_else(|| {
            config
                .settings()
                .coordinator()
                .map(|broker| broker.url.clone())
        })
        .ok_or_else(|| {
            CliError::usage("missing --url").with_hint("crabbox login --url URL --token-stdin")
        })?;
    if !args.token_stdin {
        return Err(CliError::usage(
            "browser login is not available; pass the token on standard input",
        )
        .with_hint(format!(
            "printf '%s\\n' \"$TOKEN\" | crabbox login --url {url} --token-stdin"
        )));
    }
    let token = read_token()?;
    // Verify before saving: a typo must not replace working credentials.
    let client = Client::new(&url, Some(token.clone()))?;
    let whoami = client.whoami().await?;
    let path = app.user_config_path();
    user_config::set_broker(&path, client.base_url(), &token)?;
    app.printer.note(format!(
        "logged in to {} owner={} org={} auth={} admin={}",
        client.base_url(),
        whoami.owner,
        dash(&whoami.org),
        whoami.auth,
        whoami.admin
    ));
    app.printer.note(format!("wrote {}", path.display()));
    Ok(ExitStatus::Success)
}

pub fn logout(app: &mut App) -> CliResult<ExitStatus> {
    let path = app.user_config_path();
    if user_config::remove_token(&path)? {
        app.printer.note(format!(
            "removed the coordinator token from {} (broker.url kept)",
            path.display()
        ));
    } else {
        app.printer
            .note(format!("no coordinator token in {}", path.display()));
    }
    if app.env.contains_key("CRABBOX_COORDINATOR_TOKEN") {
        app.printer
            .warn("CRABBOX_COORDINATOR_TOKEN is still set in this environment");
    }
    Ok(ExitStatus::Success)
}

pub async fn whoami(app: &mut App, args: JsonArgs) -> CliResult<ExitStatus> {
    let (_, config) = app.repo_config(Vec::new())?;
    let client = app.coordinator(&config)?.ok_or_else(requires_coordinator)?;
    let whoami = client.whoami().await?;
    if args.json {
        let mut value = json!({
            "owner": whoami.owner,
            "org": whoami.org,
            "auth": whoami.auth,
            "admin": whoami.admin,
            "coordinator": client.base_url(),
        });
        if let Some(expires) = whoami.token_expires_at {
            value["tokenExpiresAt"] = json!(expires.to_string());
        }
        app.printer.json(&value);
    } else {
        app.printer.out(format!(
            "owner={} org={} auth={} admin={} coordinator={}",
            whoami.owner,
            dash(&whoami.org),
            whoami.auth,
            whoami.admin,
            client.base_url()
        ));
    }
    Ok(ExitStatus::Success)
}

/// Commands that only make sense against a coordinator.
pub fn requires_coordinator() -> CliError {
    CliError::usage("command requires a configured coordinator")
        .with_hint("crabbox login --url URL --token-stdin, or set CRABBOX_COORDINATOR")
}

fn dash(text: &str) -> &str {
    if text.is_empty() {
        "-"
    } else {
        text
    }
}
