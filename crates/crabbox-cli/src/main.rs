//! The `crabbox` binary: parse, dispatch, and turn every failure into the
//! documented exit code.

mod cli;
mod commands;
mod flags;
mod sealos_flags;
mod user_config;

use clap::{CommandFactory, Parser};
// The engine's modules under their old paths, so commands read `crate::leases`.
use crabbox_run::{brokered, cancel, error, exit, leases, printer};

/// The engine's invocation context plus the flag-to-config helpers.
mod context {
    pub use crate::flags::{create_flags, provider_flags};
    pub use crabbox_run::context::*;
}

use cli::{ClaimsCommand, Cli, Command, ConfigCommand, CoordinatorCommand, PondCommand};
use context::App;
use error::CliResult;
use exit::ExitStatus;

fn main() {
    if let Some(code) = commands::pond::anchor_main() {
        std::process::exit(code);
    }
    if std::env::args_os().len() <= 1 {
        // No command: help on stdout, usage exit code.
        let _ = Cli::command().print_help();
        std::process::exit(2);
    }
    let cli = Cli::parse();
    let mut app = App::from_env();
    app.trust_repo = cli.trust_repo;
    let result = match cli.command {
        // The coordinator needs a multi-thread runtime of its own.
        Command::Coordinator(CoordinatorCommand::Serve(args)) => {
            commands::coordinator::serve(&app, args)
        }
        command => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            let result = runtime.block_on(dispatch(&mut app, command));
            // Background tasks (heartbeats, signal listeners) must not delay the exit.
            runtime.shutdown_background();
            result
        }
    };
    let code = match result {
        Ok(status) => status.code(),
        Err(error) => {
            app.printer.error_line(format!("error: {}", error.message));
            for cause in error.causes() {
                app.printer.error_line(format!("caused by: {cause}"));
            }
            if let Some(hint) = &error.hint {
                app.printer.error_line(format!("hint: {hint}"));
            }
            error.code()
        }
    };
    std::process::exit(code);
}

async fn dispatch(app: &mut App, command: Command) -> CliResult<ExitStatus> {
    use commands::*;
    match command {
        Command::Run(args) => run::run(app, args).await,
        Command::Warmup(args) => warmup::warmup(app, args).await,
        Command::Status(args) => status::status(app, args).await,
        Command::List(args) => status::list(app, args).await,
        Command::Inspect(args) => status::inspect(app, args).await,
        Command::Ssh(args) => access::ssh(app, args).await,
        Command::Connect(args) => access::connect(app, args).await,
        Command::Stop(args) => stop::stop(app, args).await,
        Command::Heartbeat(args) => heartbeat::heartbeat(app, args).await,
        Command::Doctor(args) => doctor::doctor(app, args).await,
        Command::Providers(args) => providers::providers(app, args),
        Command::SyncPlan(args) => sync_plan::sync_plan(app, args),
        Command::Cleanup(args) => cleanup::cleanup(app, args).await,
        Command::History(args) => history::history(app, args).await,
        Command::Logs(args) => history::logs(app, args).await,
        Command::Events(args) => history::events(app, args).await,
        Command::Attach(args) => attach::attach(app, args).await,
        Command::Login(args) => account::login(app, args).await,
        Command::Logout => account::logout(app),
        Command::Whoami(args) => account::whoami(app, args).await,
        Command::Coordinator(CoordinatorCommand::Token(args)) => coordinator::token(app, args),
        Command::Coordinator(CoordinatorCommand::Serve(_)) => {
            unreachable!("main runs the coordinator on its own runtime")
        }
        Command::Claims(ClaimsCommand::List(args)) => claims::list(app, args),
        Command::Pond(PondCommand::Peers(args)) => pond::peers(app, args).await,
        Command::Pond(PondCommand::Connect(args)) => pond::connect(app, args).await,
        Command::Pond(PondCommand::Disconnect(args)) => pond::disconnect(app, args).await,
        Command::Pond(PondCommand::Release(args)) => pond::release(app, args).await,
        Command::Config(ConfigCommand::Path) => config::path(app),
        Command::Config(ConfigCommand::Show(args)) => config::show(app, args),
        Command::Watch(args) => {
            crabbox_sync::run_watcher(&args.root, &args.dir, &args.prune).map_err(|error| {
                error::CliError::classified(crabbox_proto::ErrorClass::Failed, error)
            })?;
            Ok(ExitStatus::Success)
        }
    }
}
