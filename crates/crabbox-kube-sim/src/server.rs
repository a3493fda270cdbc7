//! The HTTP API: one handler that routes discovery, SelfSubjectRulesReview and
//! resource requests, checks the bearer token and the access rules, and answers
//! with Kubernetes-shaped JSON.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use crate::patch::PatchKind;
use crate::resources::{parse_path, Target};
use crate::selector::Selector;
use crate::status::ApiError;
use crate::store::Preconditions;
use crate::world::Shared;

pub fn router(shared: Shared) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

fn reply(code: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match respond(&shared, &method, &uri, &headers, &body) {
        Ok((code, value)) => reply(code, value),
        Err(error) => reply(error.code, error.to_status()),
    }
}

/// Decodes `application/x-www-form-urlencoded` query parameters.
fn query(uri: &Uri) -> Vec<(String, String)> {
    let decode = |text: &str| {
        let bytes = text.replace('+', " ").into_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut index = 0;
        while index < bytes.len() {
            let hex = bytes
                .get(index + 1..index + 3)
                .and_then(|pair| std::str::from_utf8(pair).ok())
                .and_then(|pair| u8::from_str_radix(pair, 16).ok());
            match (bytes[index], hex) {
                (b'%', Some(value)) => {
                    out.push(value);
                    index += 3;
                }
                (byte, _) => {
                    out.push(byte);
                    index += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .unwrap_or("")
}

fn respond(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(u16, Value), ApiError> {
    let mut world = shared.lock();
    let bearer = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if world
        .options
        .token
        .as_ref()
        .is_some_and(|token| bearer != format!("Bearer {token}"))
    {
        return Err(ApiError::unauthorized());
    }
    let path = uri.path().trim_end_matches('/');
    let devbox_version = world.options.devbox_version.clone();
    let discovery = match (method, path) {
        (&Method::GET, "/version") => Some(crate::discovery::version()),
        (&Method::GET, "/api") => Some(crate::discovery::core_versions(&world.server_address)),
        (&Method::GET, "/apis") => Some(crate::discovery::groups(&devbox_version)),
        _ => None,
    };
    if let Some(document) = discovery {
        return Ok((200, document));
    }
    if path == "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews" && method == Method::POST {
        let review = decode_body(body)?;
        return Ok((201, world.rules.review(&review["spec"])));
    }
    if path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" && method == Method::POST {
        let spec = if crate::protobuf::is_protobuf(body) {
            crate::protobuf::access_review_spec(body).ok_or_else(|| {
                ApiError::bad_request("malformed protobuf SelfSubjectAccessReview")
            })?
        } else {
            decode_body(body)?["spec"].clone()
        };
        return Ok((201, world.rules.access_review(&spec)));
    }
    if path == "/openapi/v3" {
        return Ok((200, crate::openapi::root(&world.catalog)));
    }
    if let Some(requested) = path.strip_prefix("/openapi/v3/") {
        return crate::openapi::group_version(&world.catalog, requested)
            .map(|document| (200, document))
            .ok_or_else(|| ApiError::path_not_found(path));
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let listing = match segments.as_slice() {
        ["api", version] => crate::discovery::resources(&world.catalog, "", version),
        ["apis", group, version] => crate::discovery::resources(&world.catalog, group, version),
        _ => None,
    };
    if let Some(document) = listing {
        return Ok((200, document));
    }
    let content_type = headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if content_type.contains("protobuf") {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    let target = parse_path(path, &world.catalog).ok_or_else(|| ApiError::path_not_found(path))?;
    let params = query(uri);
    let verb = match (method, &target.name) {
        (&Method::GET, Some(_)) => "get",
        (&Method::GET, None)
            if param(&params, "watch") == "true" || param(&params, "watch") == "1" =>
        {
            "watch"
        }
        (&Method::GET, None) => "list",
        (&Method::POST, None) => "create",
        (&Method::PUT, Some(_)) => "update",
        (&Method::PATCH, Some(_)) => "patch",
        (&Method::DELETE, Some(_)) => "delete",
        _ => return Err(ApiError::method_not_allowed()),
    };
    let kind = &target.kind;
    if !world
        .rules
        .allows(verb, kind.group, kind.plural, target.name.as_deref())
    {
        return Err(ApiError::forbidden(kind, verb, target.namespace.as_deref()));
    }
    let dry_run = !param(&params, "dryRun").is_empty();
    let Target {
        kind,
        namespace,
        name,
        subresource,
    } = target;
    let namespace = namespace.as_deref();
    let status_only = subresource.as_deref() == Some("status");
    let store = &mut world.store;
    let parse_body = || decode_body(body);
    match (verb, name.as_deref()) {
        ("get", Some(name)) => Ok((200, store.get(&kind, namespace, name)?)),
        ("list" | "watch", _) => {
            if verb == "watch" {
                return Err(ApiError::method_not_allowed());
            }
            if let Some(namespace) = namespace {
                if kind.namespaced && !store.namespace_exists(namespace) {
                    return Ok((200, list_document(&kind, Vec::new(), store.revision())));
                }
            }
            let items = store.list(
                &kind,
                namespace,
                &Selector::parse(param(&params, "labelSelector")),
                &Selector::parse(param(&params, "fieldSelector")),
            );
            Ok((200, list_document(&kind, items, store.revision())))
        }
        ("create", _) if dry_run => Ok((201, parse_body()?)),
        ("create", _) => {
            let created = store.create(&kind, namespace, parse_body()?)?;
            if world.ambiguous_creates > 0 {
                world.ambiguous_creates -= 1;
                return Err(ApiError::timeout());
            }
            Ok((201, created))
        }
        ("update", Some(name)) => Ok((
            200,
            store.replace(&kind, namespace, name, parse_body()?, status_only)?,
        )),
        ("patch", Some(name)) => {
            let patch_kind = PatchKind::from_content_type(content_type)?;
            let existed = store.get(&kind, namespace, name).is_ok();
            let object = store.patch(&kind, namespace, name, patch_kind, body, status_only)?;
            Ok((if existed { 200 } else { 201 }, object))
        }
        ("delete", Some(name)) => {
            let options: Value = if body.is_empty() {
                json!({})
            } else {
                parse_body()?
            };
            let text = |value: &Value| {
                value
                    .as_str()
                    .filter(|text| !text.is_empty())
                    .map(str::to_string)
            };
            let preconditions = Preconditions {
                uid: text(&options["preconditions"]["uid"]),
                resource_version: text(&options["preconditions"]["resourceVersion"]),
            };
            Ok((200, store.delete(&kind, namespace, name, &preconditions)?))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// A request body in JSON or YAML (which the API server accepts too, e.g.
/// `kubectl create --raw -f manifest.yaml`).
fn decode_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice::<Value>(body).or_else(|json_error| {
        std::str::from_utf8(body)
            .ok()
            .and_then(|text| serde_yaml_ng::from_str::<Value>(text).ok())
            .filter(Value::is_object)
            .ok_or_else(|| ApiError::bad_request(format!("invalid body: {json_error}")))
    })
}

fn list_document(kind: &crate::resources::ResourceKind, items: Vec<Value>, revision: u64) -> Value {
    json!({
        "apiVersion": kind.api_version(),
        "kind": format!("{}List", kind.kind),
        "metadata": {"resourceVersion": revision.to_string()},
        "items": items,
    })
}
