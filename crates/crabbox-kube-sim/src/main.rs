//! `crabbox-kube-sim`: run the Kubernetes API simulator by hand.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crabbox_kube_sim::{KubeSim, NetworkShape, Options, Rules, CONTEXT};

const USAGE: &str =
    "usage: crabbox-kube-sim [--listen ADDR] [--kubeconfig-out PATH] [--namespace NS]... \
[--network nodeport|sshgate] [--node-host HOST] [--devbox-version V] [--pending-ms N] \
[--error-image IMAGE]... [--netns on|off] [--deny VERB:RESOURCE[,VERB:RESOURCE]]...";

fn parse(arguments: Vec<String>) -> Result<(Options, Option<PathBuf>), String> {
    let mut options = Options::default();
    let mut kubeconfig = None;
    let mut denied: Vec<(String, String)> = Vec::new();
    let mut arguments = arguments.into_iter();
    while let Some(flag) = arguments.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = arguments
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--listen" => options.listen = value,
            "--kubeconfig-out" => kubeconfig = Some(PathBuf::from(value)),
            "--namespace" => options.namespaces.push(value),
            "--network" => {
                options.network = match value.to_ascii_lowercase().replace(['-', '_'], "").as_str()
                {
                    "nodeport" => NetworkShape::NodePort,
                    "sshgate" => NetworkShape::SshGate,
                    _ => {
                        return Err(format!(
                            "--network must be nodeport or sshgate, not {value:?}"
                        ))
                    }
                }
            }
            "--node-host" => options.node_host = value,
            "--devbox-version" => options.devbox_version = value,
            "--pending-ms" => {
                let millis = value
                    .parse()
                    .map_err(|_| format!("--pending-ms wants a number, not {value:?}"))?;
                options.pending_for = Duration::from_millis(millis);
            }
            "--error-image" => options.error_images.push(value),
            "--netns" => {
                options.isolate = match value.as_str() {
                    "on" | "true" => true,
                    "off" | "false" => false,
                    _ => return Err(format!("--netns wants on or off, not {value:?}")),
                }
            }
            "--deny" => {
                // Repeatable, and each value may be a comma list.
                for rule in value.split(',').filter(|rule| !rule.trim().is_empty()) {
                    let (verb, resource) = rule
                        .trim()
                        .split_once(':')
                        .ok_or("--deny wants VERB:RESOURCE, e.g. patch:devboxes")?;
                    denied.push((verb.to_string(), resource.to_string()));
                }
            }
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        }
    }
    if !denied.is_empty() {
        let pairs: Vec<(&str, &str)> = denied
            .iter()
            .map(|(verb, resource)| (verb.as_str(), resource.as_str()))
            .collect();
        options.rules = Rules::deny_all(&pairs);
    }
    Ok((options, kubeconfig))
}

fn main() -> ExitCode {
    let (options, kubeconfig) = match parse(std::env::args().skip(1).collect()) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let sim = match KubeSim::start(options) {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!(
                "error: cannot start the simulator: {error}\nhint: pick another --listen address"
            );
            return ExitCode::from(1);
        }
    };
    eprintln!("crabbox-kube-sim listening on {}", sim.url());
    if let Some(port) = sim.gateway_port() {
        eprintln!("ssh gateway (SSHGate) on port {port} of the node host");
    }
    if sim.isolated() {
        eprintln!("devboxes: own network namespace each (10.214.0.0/16), sshd serving user devbox");
    } else {
        eprintln!(
            "devboxes: not root, so their sshd runs on the node host as the current user; set CRABBOX_SEALOS_DEVBOX_SSH_USER=$(id -un)"
        );
    }
    if let Some(path) = kubeconfig {
        if let Err(error) = sim.write_kubeconfig(&path, "default") {
            eprintln!("error: cannot write {}: {error}", path.display());
            return ExitCode::from(1);
        }
        eprintln!(
            "kubeconfig written to {} (context {CONTEXT})",
            path.display()
        );
    }
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return ExitCode::from(1);
    };
    runtime.block_on(async {
        let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    });
    drop(sim);
    ExitCode::SUCCESS
}
