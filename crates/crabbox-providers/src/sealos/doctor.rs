//! `doctor --provider sealos-devbox`: read-only checks of context, namespace,
//! the v1alpha2 Devbox API, and one SelfSubjectRulesReview from which every
//! `rbac.<verb>.<resource>` check is derived.

use serde_json::Value;

use super::cluster::{Cluster, API_VERSION};
use super::config::SealosSettings;
use crate::DoctorCheck;

const READS: [&str; 4] = ["devboxes", "secrets", "pods", "events"];
const WRITES: [&str; 4] = ["create", "update", "patch", "delete"];

fn check(
    status: &'static str,
    name: &str,
    message: impl Into<String>,
    hint: Option<&str>,
) -> DoctorCheck {
    DoctorCheck {
        status,
        check: name.to_string(),
        message: super::redact(&message.into()),
        hint: hint.map(str::to_string),
    }
}

fn group_of(resource: &str) -> &'static str {
    if resource == "devboxes" {
        super::cluster::GROUP
    } else {
        ""
    }
}

/// A rule counts only without `resourceNames`, and when its verbs, groups and
/// resources each contain the value or `*`.
pub fn rules_allow(rules: &Value, verb: &str, group: &str, resource: &str) -> bool {
    let has = |list: &Value, wanted: &str| {
        list.as_array()
            .is_some_and(|items| items.iter().any(|item| item == "*" || item == wanted))
    };
    rules.as_array().is_some_and(|rules| {
        rules.iter().any(|rule| {
            rule["resourceNames"].as_array().is_none_or(Vec::is_empty)
                && has(&rule["verbs"], verb)
                && has(&rule["apiGroups"], group)
                && has(&rule["resources"], resource)
        })
    })
}

/// Every rbac check from one review's `resourceRules`.
pub fn rbac_checks(rules: &Value) -> Vec<DoctorCheck> {
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    for verb in ["get", "list"] {
        for resource in READS {
            wanted.push((verb, resource));
        }
    }
    for verb in WRITES {
        wanted.push((verb, "devboxes"));
    }
    wanted
        .into_iter()
        .map(|(verb, resource)| {
            let name = format!("rbac.{verb}.{resource}");
            if rules_allow(rules, verb, group_of(resource), resource) {
                check("ok", &name, format!("allowed=true verb={verb} resource={resource}"), None)
            } else {
                check("failed", &name, format!("denied allowed=false verb={verb} resource={resource}"), Some("grant this verb to the kubeconfig user in the namespace (Role + RoleBinding)"))
            }
        })
        .collect()
}

pub async fn checks(settings: &SealosSettings) -> Vec<DoctorCheck> {
    let mut checks = Vec::new();
    let blocked = connectivity(settings, &mut checks).await;
    match settings
        .image
        .as_deref()
        .map(str::trim)
        .filter(|image| !image.is_empty())
    {
        Some(image) => checks.push(check("ok", "devbox.source", format!("image={image}"), None)),
        None => checks.push(check(
            "failed",
            "devbox.source",
            "no image configured",
            Some("set sealosDevbox.image or --sealos-devbox-image"),
        )),
    }
    match settings.validate() {
        Ok(route) => checks.push(check(
            "ok",
            "network",
            format!("network={}", route.network()),
            None,
        )),
        Err(error) => checks.push(check(
            "failed",
            "network",
            error.to_string(),
            Some("NodePort needs sealosDevbox.nodeHost; SSHGate needs sealosDevbox.sshGatewayHost"),
        )),
    }
    let ready = !blocked && checks.iter().all(|check| check.status == "ok");
    let plane = if ready { "ready" } else { "blocked" };
    checks.push(check(
        if ready { "ok" } else { "failed" },
        "automation_surface",
        format!("automation_surface=crd_first control_plane={plane} mutation=false"),
        None,
    ));
    checks
}

/// The first five steps, stopping at the first failure. Returns whether blocked.
async fn connectivity(settings: &SealosSettings, checks: &mut Vec<DoctorCheck>) -> bool {
    let context = settings.context.clone().unwrap_or_default();
    let cluster = match Cluster::connect(settings).await {
        Ok(cluster) => {
            checks.push(check("ok", "context", format!("context={context}"), None));
            cluster
        }
        Err(error) => {
            checks.push(check("failed", "context", error.to_string(), Some("set sealosDevbox.kubeconfig and sealosDevbox.context to an existing kubeconfig context")));
            return true;
        }
    };
    match cluster.namespace_exists().await {
        Ok(true) => checks.push(check(
            "ok",
            "namespace",
            format!("namespace={}", cluster.namespace),
            None,
        )),
        Ok(false) => {
            checks.push(check(
                "failed",
                "namespace",
                format!("namespace {} does not exist", cluster.namespace),
                Some("set sealosDevbox.namespace to an existing namespace"),
            ));
            return true;
        }
        Err(error) => {
            checks.push(check("failed", "namespace", error.to_string(), None));
            return true;
        }
    }
    match cluster.devbox_resources().await {
        Ok(resources) if resources.iter().any(|name| name == "devboxes") => checks.push(check(
            "ok",
            "crd.devboxes",
            format!("{API_VERSION} serves devboxes"),
            None,
        )),
        Ok(_) => {
            checks.push(check(
                "failed",
                "crd.devboxes",
                format!("{API_VERSION} does not list devboxes"),
                Some("install the Sealos DevBox controller"),
            ));
            return true;
        }
        Err(error) => {
            checks.push(check(
                "failed",
                "crd.devboxes",
                format!("{API_VERSION} is not served: {error}"),
                Some("the cluster needs the Sealos DevBox CRD at devbox.sealos.io/v1alpha2"),
            ));
            return true;
        }
    }
    match cluster.rules_review().await {
        Ok(status)
            if status["incomplete"].as_bool() == Some(true)
                || status["evaluationError"]
                    .as_str()
                    .is_some_and(|e| !e.is_empty()) =>
        {
            checks.push(check(
                "failed",
                "rbac.rules",
                format!(
                    "the rules review is incomplete: {}",
                    status["evaluationError"].as_str().unwrap_or("")
                ),
                None,
            ));
            true
        }
        Ok(status) => {
            checks.push(check(
                "ok",
                "rbac.rules",
                "one SelfSubjectRulesReview",
                None,
            ));
            checks.extend(rbac_checks(&status["resourceRules"]));
            false
        }
        Err(error) => {
            checks.push(check("failed", "rbac.rules", error.to_string(), None));
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_allow_exact_and_wildcards_but_not_named_or_wrong_group() {
        let exact = json!([{"verbs": ["get"], "apiGroups": ["devbox.sealos.io"], "resources": ["devboxes"]}]);
        assert!(rules_allow(&exact, "get", "devbox.sealos.io", "devboxes"));
        assert!(!rules_allow(&exact, "list", "devbox.sealos.io", "devboxes"));
        let wildcard = json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]);
        assert!(rules_allow(
            &wildcard,
            "patch",
            "devbox.sealos.io",
            "devboxes"
        ));
        let wrong_group = json!([{"verbs": ["*"], "apiGroups": [""], "resources": ["devboxes"]}]);
        assert!(!rules_allow(
            &wrong_group,
            "get",
            "devbox.sealos.io",
            "devboxes"
        ));
        let named = json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "resourceNames": ["x"]}]);
        assert!(!rules_allow(&named, "get", "", "secrets"));
    }

    #[test]
    fn empty_review_fails_every_rbac_check() {
        let checks = rbac_checks(&json!([]));
        assert_eq!(checks.len(), 12);
        assert!(checks
            .iter()
            .all(|check| check.status == "failed" && check.message.contains("allowed=false")));
        assert!(checks
            .iter()
            .any(|check| check.check == "rbac.get.devboxes"));
    }
}
