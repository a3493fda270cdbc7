//! The reachability matrix of a pond: which member plane can reach which.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{PeerRow, Transport};

/// One ordered pair of planes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatrixCell {
    pub from: Transport,
    pub to: Transport,
    /// `ok`, `warn` or `no`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub note: &'static str,
}

/// Counts per transport and every pair of the transports present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matrix {
    pub pond: String,
    pub members: usize,
    pub breakdown: BTreeMap<&'static str, usize>,
    pub transports: Vec<Transport>,
    pub cells: Vec<MatrixCell>,
}

const BRIDGE: &str = "requires operator-side bridge";
const NO_ENDPOINT: &str = "destination has no published endpoint";

fn cell(from: Transport, to: Transport) -> (&'static str, &'static str) {
    use Transport::*;
    match (from, to) {
        (Pending, _) => ("no", "endpoint not yet discovered"),
        (None, _) => ("no", "source provider owns its own connectivity"),
        (_, Pending | None) => ("no", NO_ENDPOINT),
        (Tailnet, Tailnet) => ("ok", ""),
        (Tailnet, Url) | (Ssh, Url) => ("ok", "via outbound HTTPS"),
        (Tailnet, Ssh) => (
            "warn",
            "requires operator-side bridge — see SSH-mesh DRAFT PR",
        ),
        (Url, Tailnet) => ("no", "no public endpoint on tailnet members"),
        (Url, Url) => ("ok", ""),
        (Url, Ssh) | (Ssh, Tailnet) => ("warn", BRIDGE),
        (Ssh, Ssh) => (
            "warn",
            "requires operator-side bridge — peers do not share a mesh",
        ),
    }
}

impl Matrix {
    pub fn build(pond: &str, rows: &[PeerRow]) -> Matrix {
        let mut transports: Vec<Transport> = rows.iter().map(|row| row.transport).collect();
        transports.sort();
        transports.dedup();
        let mut breakdown = BTreeMap::new();
        for row in rows {
            *breakdown.entry(row.transport.as_str()).or_default() += 1;
        }
        let mut cells = Vec::new();
        for &from in &transports {
            for &to in &transports {
                let (state, note) = cell(from, to);
                cells.push(MatrixCell {
                    from,
                    to,
                    state,
                    note,
                });
            }
        }
        Matrix {
            pond: pond.to_string(),
            members: rows.len(),
            breakdown,
            transports,
            cells,
        }
    }

    pub fn text(&self) -> Vec<String> {
        let breakdown: Vec<String> = self
            .breakdown
            .iter()
            .map(|(transport, count)| format!("{transport}={count}"))
            .collect();
        let mut lines = vec![
            format!("pond {:?}: {} members", self.pond, self.members),
            format!("  transport breakdown: {}", breakdown.join(" ")),
            "  reachability:".to_string(),
        ];
        for cell in &self.cells {
            let mut line = format!(
                "    {:<7} -> {:<7} : {}",
                cell.from.as_str(),
                cell.to.as_str(),
                cell.state.to_ascii_uppercase()
            );
            if !cell.note.is_empty() {
                line.push_str(&format!(" ({})", cell.note));
            }
            lines.push(line);
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{build_row, Capabilities, PeerSource};

    #[test]
    fn ssh_only_ponds_warn_between_members() {
        let source = PeerSource {
            slug: "a".into(),
            ssh_host: "h".into(),
            ssh_port: 22,
            capabilities: Capabilities {
                ssh_mesh: true,
                ..Capabilities::default()
            },
            ..PeerSource::default()
        };
        let mut pending = source.clone();
        pending.ssh_port = 0;
        let matrix = Matrix::build("alpha", &[build_row(&source), build_row(&pending)]);
        assert_eq!(matrix.transports, vec![Transport::Ssh, Transport::Pending]);
        assert_eq!(matrix.cells.len(), 4);
        assert_eq!(matrix.cells[0].state, "warn");
        assert_eq!(matrix.cells[1].note, NO_ENDPOINT);
        assert_eq!(matrix.cells[2].note, "endpoint not yet discovered");
        let text = matrix.text();
        assert_eq!(text[0], "pond \"alpha\": 2 members");
        assert_eq!(text[1], "  transport breakdown: pending=1 ssh=1");
        assert!(text[3].starts_with("    ssh     -> ssh     : WARN ("));
    }
}
