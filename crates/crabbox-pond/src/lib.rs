//! Ponds: the set of leases carrying `pond=<name>`, grouped, discoverable and
//! released together across providers.

pub mod bridge;
mod daemon;
mod error;
mod filter;
mod matrix;
mod mesh;
mod mesh_plan;
mod names;
mod peers;
pub mod tailnet;

pub use daemon::{command_matches, stop_daemons, DaemonProcess, DaemonState};
pub use error::PondError;
pub use filter::filter_view;
pub use matrix::{Matrix, MatrixCell};
pub use mesh::{
    disambiguate, env_key, export_lines, plan_forwards, render_env, render_hosts, Forward,
    MeshMember, FIRST_LOCAL_PORT, LAST_LOCAL_PORT,
};
pub use mesh_plan::{
    daemon_state_path, group_label, groups, ssh_args, MeshCommand, MeshPlan, Reachable,
};
pub use names::{
    decode_ports_label, encode_ports_label, normalize_pond, parse_exposed_ports, same_pond,
    validate_pond, EXPOSED_PORTS_LABEL, MAX_EXPOSED_PORTS, MAX_POND_NAME, POND_LABEL,
};
pub use peers::{build_row, sort_rows, Capabilities, PeerRow, PeerSource, PeerTarget, Transport};
