//! Access rules: what SelfSubjectRulesReview reports and what every request is checked against.

use serde_json::{json, Value};

/// One `resourceRules` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| value.to_string()).collect()
}

impl ResourceRule {
    pub fn new(verbs: &[&str], api_groups: &[&str], resources: &[&str]) -> ResourceRule {
        ResourceRule {
            verbs: strings(verbs),
            api_groups: strings(api_groups),
            resources: strings(resources),
            resource_names: Vec::new(),
        }
    }

    fn to_json(&self) -> Value {
        let mut rule =
            json!({"verbs": self.verbs, "apiGroups": self.api_groups, "resources": self.resources});
        if !self.resource_names.is_empty() {
            rule["resourceNames"] = json!(self.resource_names);
        }
        rule
    }

    fn allows(&self, verb: &str, group: &str, resource: &str, name: Option<&str>) -> bool {
        let has =
            |list: &[String], value: &str| list.iter().any(|item| item == "*" || item == value);
        has(&self.verbs, verb)
            && has(&self.api_groups, group)
            && has(&self.resources, resource)
            && (self.resource_names.is_empty()
                || name.is_some_and(|name| self.resource_names.iter().any(|n| n == name)))
    }
}

/// The rule set of the simulated user, plus the review's failure switches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub rules: Vec<ResourceRule>,
    pub incomplete: bool,
    pub evaluation_error: Option<String>,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules::allow_all()
    }
}

impl Rules {
    pub fn allow_all() -> Rules {
        Rules {
            rules: vec![ResourceRule::new(&["*"], &["*"], &["*"])],
            incomplete: false,
            evaluation_error: None,
        }
    }

    pub fn from_rules(rules: Vec<ResourceRule>) -> Rules {
        Rules {
            rules,
            incomplete: false,
            evaluation_error: None,
        }
    }

    /// Everything allowed except `verb` on `resource`.
    pub fn deny(verb: &str, resource: &str) -> Rules {
        Rules::deny_all(&[(verb, resource)])
    }

    /// Everything allowed except each (`verb`, `resource`) pair.
    pub fn deny_all(denied: &[(&str, &str)]) -> Rules {
        const VERBS: [&str; 8] = [
            "get",
            "list",
            "watch",
            "create",
            "update",
            "patch",
            "delete",
            "deletecollection",
        ];
        const RESOURCES: [(&str, &str); 5] = [
            ("", "namespaces"),
            ("", "secrets"),
            ("", "pods"),
            ("", "events"),
            ("devbox.sealos.io", "devboxes"),
        ];
        let mut rules = Vec::new();
        for (group, name) in RESOURCES {
            let verbs: Vec<&str> = VERBS
                .iter()
                .copied()
                .filter(|v| !denied.contains(&(*v, name)))
                .collect();
            rules.push(ResourceRule::new(&verbs, &[group], &[name]));
        }
        Rules::from_rules(rules)
    }

    pub fn allows(&self, verb: &str, group: &str, resource: &str, name: Option<&str>) -> bool {
        self.rules
            .iter()
            .any(|rule| rule.allows(verb, group, resource, name))
    }

    /// The SelfSubjectAccessReview response (`kubectl auth can-i`) for `spec`.
    pub fn access_review(&self, spec: &Value) -> Value {
        let attributes = &spec["resourceAttributes"];
        let text = |key: &str| attributes[key].as_str().unwrap_or("");
        let allowed = if attributes.is_object() {
            let name = Some(text("name")).filter(|name| !name.is_empty());
            self.allows(text("verb"), text("group"), text("resource"), name)
        } else {
            // Non-resource URLs: discovery is open to everyone.
            true
        };
        // Like RBAC, a denial carries no reason: `kubectl auth can-i` prints a bare `no`.
        let status = json!({"allowed": allowed});
        json!({
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": spec,
            "status": status,
        })
    }

    /// The SelfSubjectRulesReview response for `spec`.
    pub fn review(&self, spec: &Value) -> Value {
        let mut status = json!({
            "resourceRules": self.rules.iter().map(ResourceRule::to_json).collect::<Vec<_>>(),
            "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/version"]}],
            "incomplete": self.incomplete,
        });
        if let Some(error) = &self.evaluation_error {
            status["evaluationError"] = json!(error);
        }
        json!({
            "kind": "SelfSubjectRulesReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": spec,
            "status": status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_removes_exactly_one_verb() {
        let rules = Rules::deny("patch", "devboxes");
        assert!(!rules.allows("patch", "devbox.sealos.io", "devboxes", None));
        assert!(rules.allows("update", "devbox.sealos.io", "devboxes", None));
        assert!(rules.allows("patch", "", "secrets", None));
    }

    #[test]
    fn deny_all_removes_several_rules_and_access_reviews_follow() {
        let rules = Rules::deny_all(&[("patch", "devboxes"), ("get", "secrets")]);
        assert!(!rules.allows("patch", "devbox.sealos.io", "devboxes", None));
        assert!(!rules.allows("get", "", "secrets", None));
        assert!(rules.allows("list", "", "secrets", None));
        let spec = json!({"resourceAttributes": {"verb": "get", "group": "", "resource": "secrets", "namespace": "default"}});
        assert_eq!(rules.access_review(&spec)["status"]["allowed"], false);
        let spec = json!({"resourceAttributes": {"verb": "list", "resource": "secrets"}});
        assert_eq!(rules.access_review(&spec)["status"]["allowed"], true);
    }

    #[test]
    fn resource_names_limit_a_rule() {
        let mut rule = ResourceRule::new(&["get"], &[""], &["secrets"]);
        rule.resource_names = vec!["one".into()];
        let rules = Rules::from_rules(vec![rule]);
        assert!(rules.allows("get", "", "secrets", Some("one")));
        assert!(!rules.allows("get", "", "secrets", Some("two")));
        assert!(!rules.allows("list", "", "secrets", None));
    }
}
