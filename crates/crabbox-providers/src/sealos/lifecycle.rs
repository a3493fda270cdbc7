//! Lease lifecycle against the cluster: create and reconcile, wait until
//! prepared, take the key from the owned Secret, resume, pause or delete with
//! preconditions, and roll back on every failure after a create.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::cluster::{Cluster, ClusterError};
use super::config::{scope_id, Route, SealosSettings};
use super::manifest::{self, in_scope, label, name, NewDevbox, LEASE_LABEL, SLUG_LABEL};
use super::status::{node_port, state, DevboxState};
use super::{keys, lease};
use crate::{AcquireRequest, Lease, ProviderError};

/// Everything one operation needs: validated settings, the route, the scope and a client.
pub struct Session {
    pub settings: SealosSettings,
    pub route: Route,
    pub raw_scope: String,
    pub scope_id: String,
    pub cluster: Cluster,
    pub key_dir: std::path::PathBuf,
    pub poll: Duration,
    pub timeout: Duration,
}

fn lease_gone(devbox_name: &str) -> ProviderError {
    ProviderError::NotFound {
        lease: devbox_name.to_string(),
        provider: lease::PROVIDER.into(),
        hint: Some("the devbox was deleted or taken over while Crabbox resumed it".into()),
    }
}

pub fn cluster_error(error: ClusterError) -> ProviderError {
    match error {
        ClusterError::Forbidden(message) => ProviderError::Prerequisite {
            message: format!("kubernetes RBAC denied: {message}"),
            hint: "run `crabbox doctor --provider sealos-devbox` to see which verbs are missing".into(),
        },
        ClusterError::AlreadyExists(message) | ClusterError::Conflict(message) => ProviderError::Conflict {
            message,
            hint: "another client changed the devbox; retry, or list devboxes with `crabbox list`".into(),
        },
        // Gets map NotFound to None; a NotFound here is a missing namespace or API.
        ClusterError::NotFound(message) => ProviderError::Prerequisite {
            message: format!("kubernetes API: {message}"),
            hint: "the namespace (sealosDevbox.namespace) must exist and the cluster must serve devbox.sealos.io/v1alpha2 devboxes; `crabbox doctor --provider sealos-devbox` checks both".into(),
        },
        ClusterError::Other(message) => ProviderError::Prerequisite {
            message: format!("kubernetes API: {message}"),
            hint: "check sealosDevbox.kubeconfig, sealosDevbox.context and sealosDevbox.namespace; `crabbox doctor --provider sealos-devbox` checks them".into(),
        },
    }
}

impl Session {
    pub fn new(
        settings: &SealosSettings,
        cluster: Cluster,
        route: Route,
        key_dir: std::path::PathBuf,
    ) -> Session {
        let raw_scope = settings.raw_scope(&route);
        Session {
            scope_id: scope_id(&raw_scope),
            raw_scope,
            settings: settings.clone(),
            route,
            cluster,
            key_dir,
            poll: Duration::from_millis(500),
            timeout: Duration::from_secs(20 * 60),
        }
    }

    pub fn lease(&self, devbox: &Value) -> Lease {
        lease::to_lease(devbox, &self.settings, &self.route)
    }

    pub async fn in_scope_devboxes(&self, cleanup: bool) -> Result<Vec<Value>, ProviderError> {
        let all = self.cluster.list().await.map_err(cluster_error)?;
        Ok(all
            .into_iter()
            .filter(|devbox| in_scope(devbox, &self.scope_id, &self.raw_scope, cleanup))
            .collect())
    }

    /// The in-scope devbox of a lease, by lease ID, slug or name.
    pub async fn find(&self, value: &str) -> Result<Option<Value>, ProviderError> {
        let devboxes = self.in_scope_devboxes(false).await?;
        let by_id = devboxes
            .iter()
            .find(|devbox| label(devbox, LEASE_LABEL) == value);
        if by_id.is_some() || value.starts_with("cbx_") {
            return Ok(by_id.cloned());
        }
        Ok(devboxes.into_iter().find(|devbox| {
            label(devbox, SLUG_LABEL) == value
                || name(devbox) == value
                || lease::cloud_id(devbox) == value
        }))
    }

    pub async fn acquire(&self, request: &AcquireRequest) -> Result<Lease, ProviderError> {
        let image = self.settings.image()?;
        let annotations = lease::request_annotations(request, crabbox_core::now_unix());
        let new = NewDevbox {
            lease_id: request.lease_id.as_str(),
            slug: &request.slug,
            scope_id: &self.scope_id,
            labels: &annotations,
        };
        let manifest = manifest::build(&self.settings, &self.route, image, &new);
        let devbox_name = name(&manifest).to_string();
        let created = match self.cluster.create(&manifest).await {
            Ok(created) => created,
            // A retried create whose first response was lost also lands here: the
            // fresh lease ID in the labels tells our devbox from anyone else's.
            Err(ClusterError::AlreadyExists(message)) => match self.cluster.get(&devbox_name).await
            {
                Ok(Some(existing))
                    if self.is_ours(&existing, request.lease_id.as_str(), &request.slug) =>
                {
                    existing
                }
                _ => {
                    return Err(ProviderError::Conflict {
                        message: format!("devbox {devbox_name} already exists: {message}"),
                        hint: "pick another --slug; nothing was changed".into(),
                    })
                }
            },
            Err(error) => {
                // The create may have landed: adopt only an exact match.
                match self.cluster.get(&devbox_name).await {
                    Ok(Some(existing))
                        if self.is_ours(&existing, request.lease_id.as_str(), &request.slug) =>
                    {
                        existing
                    }
                    _ => return Err(cluster_error(error)),
                }
            }
        };
        match self.prepare(&created).await {
            Ok(lease) => Ok(lease),
            Err(error) => {
                self.rollback(&devbox_name, request.lease_id.as_str()).await;
                Err(error)
            }
        }
    }

    fn is_ours(&self, devbox: &Value, lease_id: &str, slug: &str) -> bool {
        label(devbox, LEASE_LABEL) == lease_id
            && label(devbox, SLUG_LABEL) == slug
            && in_scope(devbox, &self.scope_id, &self.raw_scope, false)
    }

    /// Waits until Running (with a NodePort in NodePort mode), then stores the key.
    pub async fn prepare(&self, devbox: &Value) -> Result<Lease, ProviderError> {
        let ready = self.wait_prepared(name(devbox)).await?;
        let secret = self.wait_secret(&ready).await?;
        keys::check_owner(&secret, &ready)?;
        let pair = keys::parse(&secret)?;
        let lease = self.lease(&ready);
        keys::persist(&self.key_dir.join(&lease.id), &pair)?;
        Ok(lease)
    }

    async fn wait_prepared(&self, devbox_name: &str) -> Result<Value, ProviderError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let Some(devbox) = self.cluster.get(devbox_name).await.map_err(cluster_error)? else {
                return Err(ProviderError::NotFound {
                    lease: devbox_name.to_string(),
                    provider: lease::PROVIDER.into(),
                    hint: Some("the devbox was deleted while Crabbox waited for it".into()),
                });
            };
            match state(&devbox) {
                DevboxState::Running
                    if matches!(self.route, Route::Gateway { .. })
                        || node_port(&devbox).is_some() =>
                {
                    return Ok(devbox)
                }
                DevboxState::Error => {
                    let events = self.cluster.events(devbox_name).await.unwrap_or_default();
                    return Err(ProviderError::NotReady {
                        message: format!("devbox {devbox_name} is in Error state; events: {}", events.join("; ")),
                        hint: "check the image (sealosDevbox.image) and the cluster events; the devbox was rolled back".into(),
                    });
                }
                _ => {}
            }
            if Instant::now() > deadline {
                return Err(ProviderError::NotReady {
                    message: format!(
                        "devbox {devbox_name} was not ready within {}s (state {})",
                        self.timeout.as_secs(),
                        state(&devbox).as_str()
                    ),
                    hint: "check the cluster's capacity and events".into(),
                });
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    async fn wait_secret(&self, devbox: &Value) -> Result<Value, ProviderError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(secret) = self
                .cluster
                .secret(name(devbox))
                .await
                .map_err(cluster_error)?
            {
                return Ok(secret);
            }
            if Instant::now() > deadline {
                return Err(ProviderError::NotReady {
                    message: format!("the Secret of devbox {} never appeared", name(devbox)),
                    hint: "the Sealos controller publishes it once the devbox runs".into(),
                });
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// Deletes a devbox this operation created, fenced by uid + resourceVersion;
    /// a devbox that now belongs to another lease is left alone.
    pub async fn rollback(&self, devbox_name: &str, lease_id: &str) {
        if let Ok(Some(current)) = self.cluster.get(devbox_name).await {
            if label(&current, LEASE_LABEL) == lease_id
                && in_scope(&current, &self.scope_id, &self.raw_scope, false)
            {
                let _ = self.delete(&current).await;
            }
        }
        let _ = std::fs::remove_dir_all(self.key_dir.join(lease_id));
    }

    pub async fn delete(&self, devbox: &Value) -> Result<(), ProviderError> {
        let meta = &devbox["metadata"];
        self.cluster
            .delete(
                name(devbox),
                meta["uid"].as_str().unwrap_or(""),
                meta["resourceVersion"].as_str().unwrap_or(""),
            )
            .await
            .map_err(cluster_error)
    }

    /// A resolved lease is usable: a paused devbox is resumed, the key refreshed.
    pub async fn resume(&self, devbox: Value) -> Result<Lease, ProviderError> {
        // A pause the controller has not acted on yet still reports Running: what
        // was asked for decides.
        let requested = devbox["spec"]["state"].as_str().unwrap_or("Running");
        let observed = state(&devbox);
        let asked_to_stop = !requested.eq_ignore_ascii_case("running");
        match observed {
            DevboxState::Running | DevboxState::Pending if asked_to_stop => {
                self.wake(&devbox).await
            }
            DevboxState::Error => {
                let events = self.cluster.events(name(&devbox)).await.unwrap_or_default();
                Err(ProviderError::NotReady {
                    message: format!(
                        "devbox {} is in Error state; events: {}",
                        name(&devbox),
                        events.join("; ")
                    ),
                    hint: format!(
                        "release it with `crabbox stop {}` and start a new lease",
                        label(&devbox, LEASE_LABEL)
                    ),
                })
            }
            DevboxState::Running
                if node_port(&devbox).is_some() || matches!(self.route, Route::Gateway { .. }) =>
            {
                if self
                    .key_dir
                    .join(label(&devbox, LEASE_LABEL))
                    .join("id_ed25519")
                    .is_file()
                {
                    return Ok(self.lease(&devbox));
                }
                self.prepare(&devbox).await
            }
            DevboxState::Running | DevboxState::Pending => self.prepare(&devbox).await,
            _ => self.wake(&devbox).await,
        }
    }

    /// Asks for `Running` (with the resourceVersion as precondition) and waits
    /// until the devbox is prepared again.
    async fn wake(&self, devbox: &Value) -> Result<Lease, ProviderError> {
        let resumed = self.ask_running(devbox).await?;
        match self.prepare(&resumed).await {
            Ok(lease) => Ok(lease),
            Err(error) => {
                // Resumed for nothing (a foreign Secret, no key, never ready): put it
                // back to sleep rather than leave it running unused.
                self.pause_again(name(devbox)).await;
                Err(error)
            }
        }
    }

    /// The resume patch. A conflict from the controller publishing status in
    /// between is retried against a fresh read of the same lease's devbox.
    async fn ask_running(&self, devbox: &Value) -> Result<Value, ProviderError> {
        let lease_id = label(devbox, LEASE_LABEL).to_string();
        let mut current = devbox.clone();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let patch = json!({"metadata": {"resourceVersion": current["metadata"]["resourceVersion"], "annotations": {"crabbox.dev/state": "resumed"}}, "spec": {"state": "Running"}});
            match self.cluster.patch(name(devbox), &patch).await {
                Ok(resumed) => return Ok(resumed),
                Err(ClusterError::Conflict(_)) if attempt < 5 => {
                    match self
                        .cluster
                        .get(name(devbox))
                        .await
                        .map_err(cluster_error)?
                    {
                        Some(fresh)
                            if label(&fresh, LEASE_LABEL) == lease_id
                                && in_scope(&fresh, &self.scope_id, &self.raw_scope, false) =>
                        {
                            current = fresh
                        }
                        _ => return Err(lease_gone(name(devbox))),
                    }
                }
                Err(error) => return Err(cluster_error(error)),
            }
        }
    }

    async fn pause_again(&self, devbox_name: &str) {
        let Ok(Some(current)) = self.cluster.get(devbox_name).await else {
            return;
        };
        let patch = json!({"metadata": {"resourceVersion": current["metadata"]["resourceVersion"], "annotations": {"crabbox.dev/state": "paused"}}, "spec": {"state": "Paused"}});
        let _ = self.cluster.patch(devbox_name, &patch).await;
    }

    /// Pause (keep) or delete, per `deleteOnRelease`.
    pub async fn release(&self, devbox: &Value) -> Result<crate::Released, ProviderError> {
        if self.settings.delete_on_release {
            let patch = json!({"metadata": {"resourceVersion": devbox["metadata"]["resourceVersion"]}, "spec": {"state": "Shutdown"}});
            let current = match self.cluster.patch(name(devbox), &patch).await {
                Ok(current) => current,
                Err(ClusterError::NotFound(_)) => return Ok(crate::Released::AlreadyGone),
                Err(error) => return Err(cluster_error(error)),
            };
            self.delete(&current).await?;
            return Ok(crate::Released::Deleted);
        }
        let patch = json!({
            "metadata": {
                "resourceVersion": devbox["metadata"]["resourceVersion"],
                "annotations": {"crabbox.dev/state": "paused", "crabbox.dev/release": "pause", "crabbox.dev/provider_scope": null, "crabbox.dev/gateway_host": null, "crabbox.dev/gateway_port": null, "crabbox.dev/node_host": null},
            },
            "spec": {"state": "Paused"},
        });
        match self.cluster.patch(name(devbox), &patch).await {
            Ok(_) => Ok(crate::Released::Paused),
            Err(ClusterError::NotFound(_)) => Ok(crate::Released::AlreadyGone),
            Err(error) => Err(cluster_error(error)),
        }
    }
}
