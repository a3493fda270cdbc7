//! The `sealos-devbox` provider (aliases `sealos`, `sealos-dev`): one Sealos
//! DevBox (`devbox.sealos.io/v1alpha2`) per lease, reached over SSH through the
//! SSH gateway or a NodePort; release pauses it unless `deleteOnRelease`.

mod bootstrap;
mod cleanup;
mod cluster;
mod config;
mod doctor;
mod keys;
mod lease;
mod lifecycle;
mod manifest;
mod redact;
mod status;

use std::future::Future;

use async_trait::async_trait;
use serde_json::json;

pub use config::{parse_network, scope_id, Route, SealosSettings};
pub use manifest::devbox_name;
pub use redact::redact;

use crate::{
    AcquireRequest, Doctor, DoctorCheck, Feature, Lease, LeaseState, Provider, ProviderError,
    ProviderKind, ProviderSettings, ProviderSpec, Reaper, Released,
};
use lifecycle::{cluster_error, Session};

pub static SEALOS_SPEC: ProviderSpec = ProviderSpec {
    name: "sealos-devbox",
    aliases: &["sealos", "sealos-dev"],
    kind: ProviderKind::SshLease,
    features: &[Feature::Ssh, Feature::CrabboxSync, Feature::Cleanup],
    targets: &["linux"],
    coordinator: false,
    description: "a Sealos DevBox on Kubernetes per lease; release pauses it (or deletes with deleteOnRelease)",
};

pub struct SealosProvider {
    settings: SealosSettings,
    key_dir: std::path::PathBuf,
}

/// Runs async work to completion from a synchronous trait method (doctor, cleanup),
/// on a private runtime in its own thread so an outer runtime is never blocked on.
fn block<T: Send>(work: impl Future<Output = T> + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                runtime.block_on(work)
            })
            .join()
            .expect("sealos worker thread")
    })
}

fn not_found(lease_id: &str) -> ProviderError {
    ProviderError::NotFound {
        lease: lease_id.to_string(),
        provider: SEALOS_SPEC.name.into(),
        hint: Some(
            "`crabbox list --provider sealos-devbox` shows the devboxes of this scope".into(),
        ),
    }
}

impl SealosProvider {
    pub fn new(settings: &ProviderSettings) -> SealosProvider {
        SealosProvider {
            settings: settings.sealos.clone(),
            key_dir: settings.paths.testboxes_dir(),
        }
    }

    async fn session(&self) -> Result<Session, ProviderError> {
        let route = self.settings.validate()?;
        let cluster = cluster::Cluster::connect(&self.settings)
            .await
            .map_err(cluster_error)?;
        Ok(Session::new(
            &self.settings,
            cluster,
            route,
            self.key_dir.clone(),
        ))
    }
}

#[async_trait]
impl Provider for SealosProvider {
    fn spec(&self) -> &'static ProviderSpec {
        &SEALOS_SPEC
    }

    /// The raw scope (kubeconfig, context, namespace, route); only the local
    /// claim holds it, the cluster sees its hash.
    fn scope(&self) -> Option<String> {
        let route = self.settings.validate().ok()?;
        Some(self.settings.raw_scope(&route))
    }

    async fn acquire(&self, request: &AcquireRequest) -> Result<Lease, ProviderError> {
        let session = self.session().await?;
        session.acquire(request).await
    }

    async fn resolve(&self, lease_id: &str) -> Result<Lease, ProviderError> {
        let session = self.session().await?;
        let devbox = session
            .find(lease_id)
            .await?
            .ok_or_else(|| not_found(lease_id))?;
        session.resume(devbox).await
    }

    async fn inspect(&self, lease_id: &str) -> Result<Lease, ProviderError> {
        let session = self.session().await?;
        let devbox = session
            .find(lease_id)
            .await?
            .ok_or_else(|| not_found(lease_id))?;
        Ok(session.lease(&devbox))
    }

    async fn touch(
        &self,
        lease_id: &str,
        state: Option<LeaseState>,
        idle_timeout_secs: Option<i64>,
    ) -> Result<Lease, ProviderError> {
        let session = self.session().await?;
        let devbox = session
            .find(lease_id)
            .await?
            .ok_or_else(|| not_found(lease_id))?;
        let mut annotations =
            json!({"crabbox.dev/last_touched_at": crabbox_core::now_unix().to_string()});
        if let Some(state) = state {
            annotations["crabbox.dev/state"] = json!(state.as_str());
        }
        if let Some(idle) = idle_timeout_secs {
            annotations["crabbox.dev/idle_timeout_secs"] = json!(idle.to_string());
        }
        let patch = json!({"metadata": {"resourceVersion": devbox["metadata"]["resourceVersion"], "annotations": annotations}});
        let touched = session
            .cluster
            .patch(manifest::name(&devbox), &patch)
            .await
            .map_err(cluster_error)?;
        Ok(session.lease(&touched))
    }

    async fn release(&self, lease_id: &str) -> Result<Released, ProviderError> {
        let session = self.session().await?;
        match session.find(lease_id).await? {
            Some(devbox) => session.release(&devbox).await,
            None => Ok(Released::AlreadyGone),
        }
    }

    async fn list(&self) -> Result<Vec<Lease>, ProviderError> {
        let session = self.session().await?;
        Ok(session
            .in_scope_devboxes(false)
            .await?
            .iter()
            .map(|devbox| session.lease(devbox))
            .collect())
    }

    fn ready_check(&self, _lease: &Lease) -> Option<String> {
        Some(bootstrap::READY_CHECK.into())
    }

    fn doctor(&self) -> Option<&dyn Doctor> {
        Some(self)
    }

    fn reaper(&self) -> Option<&dyn Reaper> {
        Some(self)
    }
}

impl Doctor for SealosProvider {
    fn checks(&self) -> Vec<DoctorCheck> {
        block(doctor::checks(&self.settings))
    }
}

impl Reaper for SealosProvider {
    fn reap(&self, now: i64, dry_run: bool) -> Result<Vec<crate::CleanupDecision>, ProviderError> {
        block(async {
            let session = self.session().await?;
            cleanup::reap(&session, now, dry_run).await
        })
    }
}
