//! The Kubernetes API as this provider uses it, through the `kube` client: the
//! configured kubeconfig and context (exec credential plugins included), dynamic
//! Devbox objects, Secrets, events, discovery and one SelfSubjectRulesReview.

use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
    Preconditions, PropagationPolicy,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

use super::config::SealosSettings;
use super::redact::redact;

pub const GROUP: &str = "devbox.sealos.io";
pub const VERSION: &str = "v1alpha2";
pub const API_VERSION: &str = "devbox.sealos.io/v1alpha2";

/// How an API call failed, classified for the lifecycle decisions.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    /// Configuration, connection or any other failure (message already redacted).
    #[error("{0}")]
    Other(String),
}

impl ClusterError {
    fn from_kube(error: kube::Error) -> ClusterError {
        match error {
            kube::Error::Api(status) => {
                let message = redact(&format!("{} ({})", status.message, status.reason));
                if status.is_not_found() {
                    ClusterError::NotFound(message)
                } else if status.is_already_exists() {
                    ClusterError::AlreadyExists(message)
                } else if status.is_conflict() {
                    ClusterError::Conflict(message)
                } else if status.is_forbidden() {
                    ClusterError::Forbidden(message)
                } else {
                    ClusterError::Other(message)
                }
            }
            other => ClusterError::Other(redact(&other.to_string())),
        }
    }
}

pub type ClusterResult<T> = Result<T, ClusterError>;

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: if group.is_empty() {
            version.into()
        } else {
            format!("{group}/{version}")
        },
        kind: kind.into(),
        plural: plural.into(),
    }
}

fn to_value(object: DynamicObject) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// A connected client bound to the configured namespace.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    pub namespace: String,
}

impl Cluster {
    /// Loads the kubeconfig (`kubeconfig` setting, else `$KUBECONFIG`, else
    /// `~/.kube/config`) with the configured context; never the current context.
    pub async fn connect(settings: &SealosSettings) -> ClusterResult<Cluster> {
        let context = settings
            .context
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| ClusterError::Other("sealosDevbox.context is not set".into()))?;
        let kubeconfig = match &settings.kubeconfig {
            Some(path) => Kubeconfig::read_from(path),
            None => Kubeconfig::read(),
        }
        .map_err(|error| {
            // Parse errors quote the file; only their first line is kept.
            let text = error.to_string();
            let first = text.lines().next().unwrap_or_default();
            ClusterError::Other(redact(&format!("cannot read the kubeconfig: {first}")))
        })?;
        if !kubeconfig
            .contexts
            .iter()
            .any(|named| named.name == context)
        {
            return Err(ClusterError::Other(format!(
                "context {context:?} is not in the kubeconfig"
            )));
        }
        let options = KubeConfigOptions {
            context: Some(context),
            ..KubeConfigOptions::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|error| {
                ClusterError::Other(redact(&format!("cannot use the kubeconfig: {error}")))
            })?;
        let client = kube::Client::try_from(config).map_err(ClusterError::from_kube)?;
        Ok(Cluster {
            client,
            namespace: settings.namespace.clone(),
        })
    }

    fn devboxes(&self) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            &self.namespace,
            &resource(GROUP, VERSION, "Devbox", "devboxes"),
        )
    }

    fn core(&self, kind: &str, plural: &str) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            &self.namespace,
            &resource("", "v1", kind, plural),
        )
    }

    pub async fn namespace_exists(&self) -> ClusterResult<bool> {
        let namespaces: Api<DynamicObject> = Api::all_with(
            self.client.clone(),
            &resource("", "v1", "Namespace", "namespaces"),
        );
        Ok(namespaces
            .get_opt(&self.namespace)
            .await
            .map_err(ClusterError::from_kube)?
            .is_some())
    }

    /// Resource names served at `devbox.sealos.io/v1alpha2` (NotFound when the version is not served).
    pub async fn devbox_resources(&self) -> ClusterResult<Vec<String>> {
        let list = self
            .client
            .list_api_group_resources(API_VERSION)
            .await
            .map_err(ClusterError::from_kube)?;
        if list.group_version != API_VERSION {
            return Err(ClusterError::Other(format!(
                "the server reports {} instead of {API_VERSION}",
                list.group_version
            )));
        }
        Ok(list
            .resources
            .into_iter()
            .map(|resource| resource.name)
            .collect())
    }

    pub async fn get(&self, name: &str) -> ClusterResult<Option<Value>> {
        Ok(self
            .devboxes()
            .get_opt(name)
            .await
            .map_err(ClusterError::from_kube)?
            .map(to_value))
    }

    /// Devboxes managed by Crabbox (further scope checks are the caller's).
    pub async fn list(&self) -> ClusterResult<Vec<Value>> {
        let params = ListParams::default().labels("app.kubernetes.io/managed-by=crabbox");
        let list = self
            .devboxes()
            .list(&params)
            .await
            .map_err(ClusterError::from_kube)?;
        Ok(list.items.into_iter().map(to_value).collect())
    }

    pub async fn create(&self, manifest: &Value) -> ClusterResult<Value> {
        let object: DynamicObject = serde_json::from_value(manifest.clone())
            .map_err(|error| ClusterError::Other(error.to_string()))?;
        Ok(to_value(
            self.devboxes()
                .create(&PostParams::default(), &object)
                .await
                .map_err(ClusterError::from_kube)?,
        ))
    }

    /// A JSON merge patch; callers put `metadata.resourceVersion` in it as the precondition.
    pub async fn patch(&self, name: &str, patch: &Value) -> ClusterResult<Value> {
        if patch["metadata"]["resourceVersion"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            return Err(ClusterError::Other(
                "refusing to patch a devbox without a resourceVersion".into(),
            ));
        }
        let patched = self
            .devboxes()
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(ClusterError::from_kube)?;
        Ok(to_value(patched))
    }

    /// Deletes with uid + resourceVersion preconditions; NotFound counts as done.
    pub async fn delete(&self, name: &str, uid: &str, resource_version: &str) -> ClusterResult<()> {
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.into()),
                resource_version: Some(resource_version.into()),
            }),
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        match self
            .devboxes()
            .delete(name, &params)
            .await
            .map_err(ClusterError::from_kube)
        {
            Ok(_) | Err(ClusterError::NotFound(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    pub async fn secret(&self, name: &str) -> ClusterResult<Option<Value>> {
        Ok(self
            .core("Secret", "secrets")
            .get_opt(name)
            .await
            .map_err(ClusterError::from_kube)?
            .map(to_value))
    }

    /// Event messages about one devbox, oldest first.
    pub async fn events(&self, name: &str) -> ClusterResult<Vec<String>> {
        let params = ListParams::default().fields(&format!("involvedObject.name={name}"));
        let list = self
            .core("Event", "events")
            .list(&params)
            .await
            .map_err(ClusterError::from_kube)?;
        Ok(list
            .items
            .into_iter()
            .map(to_value)
            .map(|event| {
                redact(&format!(
                    "{} {}: {}",
                    event["type"].as_str().unwrap_or(""),
                    event["reason"].as_str().unwrap_or(""),
                    event["message"].as_str().unwrap_or("")
                ))
            })
            .collect())
    }

    /// The `status` of one SelfSubjectRulesReview for the namespace.
    pub async fn rules_review(&self) -> ClusterResult<Value> {
        use k8s_openapi::api::authorization::v1::{
            SelfSubjectRulesReview, SelfSubjectRulesReviewSpec,
        };
        let reviews: Api<SelfSubjectRulesReview> = Api::all(self.client.clone());
        let review = SelfSubjectRulesReview {
            spec: SelfSubjectRulesReviewSpec {
                namespace: Some(self.namespace.clone()),
            },
            ..SelfSubjectRulesReview::default()
        };
        let created = reviews
            .create(&PostParams::default(), &review)
            .await
            .map_err(ClusterError::from_kube)?;
        Ok(serde_json::to_value(created.status).unwrap_or(Value::Null))
    }
}
