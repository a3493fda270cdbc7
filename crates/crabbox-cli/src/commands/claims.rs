//! `crabbox claims list`: this machine's lease claims.

use crabbox_proto::ErrorClass;

use crate::cli::JsonArgs;
use crate::context::App;
use crate::error::CliResult;
use crate::exit::ExitStatus;

pub fn list(app: &App, args: JsonArgs) -> CliResult<ExitStatus> {
    let listing = app.claims.list();
    if args.json {
        app.printer.out(crabbox_core::listing_json_string(&listing));
    } else {
        let text = crabbox_core::listing_text(&listing);
        app.printer.out(text.trim_end());
    }
    // The listing names the malformed claim files; the exit code says there were some.
    Ok(if listing.is_clean() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure(ErrorClass::Usage)
    })
}
