//! `crabbox doctor` checks of the local provider: its tools and lease count.

use super::LocalProvider;
use crate::{Doctor, DoctorCheck};

impl Doctor for LocalProvider {
    fn checks(&self) -> Vec<DoctorCheck> {
        let mut checks = Vec::new();
        for tool in ["sshd", "ssh-keygen"] {
            checks.push(match crabbox_ssh::find_tool(tool) {
                Ok(path) => DoctorCheck {
                    status: "ok",
                    check: tool.into(),
                    message: format!("path={}", path.display()),
                    hint: None,
                },
                Err(missing) => DoctorCheck {
                    status: "missing",
                    check: tool.into(),
                    message: missing.to_string(),
                    hint: Some(missing.hint()),
                },
            });
        }
        let leases = self.records().len();
        checks.push(DoctorCheck {
            status: "ok",
            check: "provider".into(),
            message: format!(
                "provider=local root={} leases={leases} mutation=false",
                self.root.display()
            ),
            hint: None,
        });
        checks
    }
}
