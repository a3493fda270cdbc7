//! `--sealos-devbox-*` flags: clap types and the config keys they override.

use clap::Args;

#[derive(Debug, Args, Clone, Default)]
pub struct SealosArgs {
    /// Sealos DevBox: kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long = "sealos-devbox-kubeconfig")]
    pub kubeconfig: Option<String>,
    /// Sealos DevBox: kubeconfig context (required; never the current context).
    #[arg(long = "sealos-devbox-context")]
    pub context: Option<String>,
    /// Sealos DevBox: namespace (default: default).
    #[arg(long = "sealos-devbox-namespace")]
    pub namespace: Option<String>,
    /// Sealos DevBox: image of new devboxes.
    #[arg(long = "sealos-devbox-image")]
    pub image: Option<String>,
    /// Sealos DevBox: template ID (metadata only).
    #[arg(long = "sealos-devbox-template-id")]
    pub template_id: Option<String>,
    /// Sealos DevBox: CPU of new devboxes (default: 2).
    #[arg(long = "sealos-devbox-cpu")]
    pub cpu: Option<String>,
    /// Sealos DevBox: memory of new devboxes (default: 4Gi).
    #[arg(long = "sealos-devbox-memory")]
    pub memory: Option<String>,
    /// Sealos DevBox: storage limit (default: 20Gi).
    #[arg(long = "sealos-devbox-storage-limit")]
    pub storage_limit: Option<String>,
    /// Sealos DevBox: SSHGate (default) or NodePort.
    #[arg(long = "sealos-devbox-network")]
    pub network: Option<String>,
    /// Sealos DevBox: SSH gateway host (SSHGate).
    #[arg(long = "sealos-devbox-ssh-gateway-host")]
    pub ssh_gateway_host: Option<String>,
    /// Sealos DevBox: SSH gateway port (default: 2233).
    #[arg(long = "sealos-devbox-ssh-gateway-port")]
    pub ssh_gateway_port: Option<String>,
    /// Sealos DevBox: SSH user (default: devbox).
    #[arg(long = "sealos-devbox-ssh-user")]
    pub ssh_user: Option<String>,
    /// Sealos DevBox: guest work root (default: /home/devbox/project).
    #[arg(long = "sealos-devbox-work-root")]
    pub work_root: Option<String>,
    /// Sealos DevBox: node host for NodePort.
    #[arg(long = "sealos-devbox-node-host")]
    pub node_host: Option<String>,
    /// Sealos DevBox: delete instead of pause on release.
    #[arg(long = "sealos-devbox-delete-on-release", num_args = 0..=1, default_missing_value = "true")]
    pub delete_on_release: Option<String>,
}

impl SealosArgs {
    /// (config key, flag, value) for every flag given.
    pub fn overrides(&self) -> Vec<(&'static str, &'static str, &Option<String>)> {
        vec![
            (
                "sealosDevbox.kubeconfig",
                "--sealos-devbox-kubeconfig",
                &self.kubeconfig,
            ),
            (
                "sealosDevbox.context",
                "--sealos-devbox-context",
                &self.context,
            ),
            (
                "sealosDevbox.namespace",
                "--sealos-devbox-namespace",
                &self.namespace,
            ),
            ("sealosDevbox.image", "--sealos-devbox-image", &self.image),
            (
                "sealosDevbox.templateID",
                "--sealos-devbox-template-id",
                &self.template_id,
            ),
            ("sealosDevbox.cpu", "--sealos-devbox-cpu", &self.cpu),
            (
                "sealosDevbox.memory",
                "--sealos-devbox-memory",
                &self.memory,
            ),
            (
                "sealosDevbox.storageLimit",
                "--sealos-devbox-storage-limit",
                &self.storage_limit,
            ),
            (
                "sealosDevbox.network",
                "--sealos-devbox-network",
                &self.network,
            ),
            (
                "sealosDevbox.sshGatewayHost",
                "--sealos-devbox-ssh-gateway-host",
                &self.ssh_gateway_host,
            ),
            (
                "sealosDevbox.sshGatewayPort",
                "--sealos-devbox-ssh-gateway-port",
                &self.ssh_gateway_port,
            ),
            (
                "sealosDevbox.sshUser",
                "--sealos-devbox-ssh-user",
                &self.ssh_user,
            ),
            (
                "sealosDevbox.workRoot",
                "--sealos-devbox-work-root",
                &self.work_root,
            ),
            (
                "sealosDevbox.nodeHost",
                "--sealos-devbox-node-host",
                &self.node_host,
            ),
            (
                "sealosDevbox.deleteOnRelease",
                "--sealos-devbox-delete-on-release",
                &self.delete_on_release,
            ),
        ]
    }
}
