//! Peer rows with URL bridges consulted (reference §3.4–3.5), against the fake
//! Islo API: listing, publishing, degrade-in-place and the fan-out rules.

use std::cell::Cell;
use std::time::Duration;

use crabbox_core::Secret;
use crabbox_pond::bridge::{
    declaration, probe_targets, resolve_pond, BridgeAdapter, BridgeError, IsloAdapter,
    ShareRequest, PROBE_TIMEOUT,
};
use crabbox_pond::{Capabilities, PeerSource, Transport};
use crabbox_testkit::fakes::islo::FakeIslo;

const KEY: &str = "islo-resolve-key";

fn member(slug: &str, lease: &str, provider: &str) -> PeerSource {
    let declared = declaration(provider);
    PeerSource {
        slug: slug.into(),
        lease_id: lease.into(),
        provider: provider.into(),
        pond: "alpha".into(),
        capabilities: declared
            .map(|declared| declared.capabilities)
            .unwrap_or_default(),
        provider_owns_connectivity: declared.is_some_and(|declared| declared.owns_connectivity),
        ..PeerSource::default()
    }
}

fn ssh_member(slug: &str) -> PeerSource {
    PeerSource {
        ssh_host: "10.0.0.2".into(),
        ssh_port: 22,
        capabilities: Capabilities {
            ssh_mesh: true,
            ..Capabilities::default()
        },
        ..member(slug, "cbx_000000000001", "local")
    }
}

type Loaded = Result<Option<Box<dyn BridgeAdapter>>, BridgeError>;

fn islo_loader(fake: &FakeIslo) -> impl Fn(&str) -> Loaded + '_ {
    move |provider: &str| -> Loaded {
        match provider {
            "islo" => Ok(Some(Box::new(IsloAdapter::new(
                &fake.url,
                Secret::new(KEY),
            )?))),
            _ => Ok(None),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_members_list_their_shares_and_publish_on_request() {
    let fake = FakeIslo::start(KEY, &["crabbox-web-aaaaaa"]).await;
    fake.add_share("crabbox-web-aaaaaa", 8080, "https://web.islo.test", None);
    let sources = [
        member("web", "isb_crabbox-web-aaaaaa", "islo"),
        ssh_member("db"),
    ];
    let loader = islo_loader(&fake);

    let rows = resolve_pond(&sources, false, None, &loader).await.unwrap();
    assert_eq!(
        rows.iter().map(|row| row.slug.as_str()).collect::<Vec<_>>(),
        ["db", "web"]
    );
    let web = &rows[1];
    assert_eq!(
        (web.transport, web.endpoint.as_str()),
        (Transport::Url, "https://web.islo.test")
    );
    assert_eq!(web.targets.len(), 1);
    assert_eq!(rows[0].endpoint, "ssh://10.0.0.2:22");

    let share = ShareRequest {
        port: 3000,
        ttl: Duration::from_secs(600),
    };
    let rows = resolve_pond(&sources[..1], true, Some(share), &loader)
        .await
        .unwrap();
    assert_eq!(rows[0].targets[0].url, "https://shr_1.share.islo.test");
    assert_eq!(fake.state.lock().create_requests.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_member_degrades_in_place() {
    let fake = FakeIslo::start(KEY, &["crabbox-web-aaaaaa"]).await;
    fake.add_share("crabbox-web-aaaaaa", 8080, "https://web.islo.test", None);
    let sources = [
        member("web", "isb_crabbox-web-aaaaaa", "islo"),
        member("odd", "isb_not-ours", "islo"),
    ];
    let rows = resolve_pond(&sources, true, None, &islo_loader(&fake))
        .await
        .unwrap();
    let odd = rows.iter().find(|row| row.slug == "odd").unwrap();
    assert_eq!(
        (odd.transport, odd.bridge_state.as_str()),
        (Transport::None, "error")
    );
    assert!(
        odd.note.starts_with("list bridge targets failed:"),
        "{}",
        odd.note
    );
    let web = rows.iter().find(|row| row.slug == "web").unwrap();
    assert_eq!(web.endpoint, "https://web.islo.test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_provider_is_kept_beside_healthy_ones_or_fails_alone() {
    let fake = FakeIslo::start(KEY, &["crabbox-web-aaaaaa"]).await;
    fake.state.lock().fail_list = true;
    let islo = member("web", "isb_crabbox-web-aaaaaa", "islo");
    let loader = islo_loader(&fake);

    let rows = resolve_pond(&[islo.clone(), ssh_member("db")], false, None, &loader)
        .await
        .unwrap();
    let web = rows.iter().find(|row| row.slug == "web").unwrap();
    assert_eq!(
        (web.transport, web.bridge_state.as_str()),
        (Transport::None, "error")
    );

    let error = resolve_pond(std::slice::from_ref(&islo), false, None, &loader)
        .await
        .unwrap_err();
    assert_eq!(error.provider, "islo");
    assert!(
        error
            .to_string()
            .starts_with("islo: list bridge targets failed"),
        "{error}"
    );

    let single = resolve_pond(&[islo], true, None, &loader).await;
    assert!(single.is_err(), "single-provider mode is all or nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_without_planes_never_load_an_adapter() {
    let loads = Cell::new(0);
    let loader = |_: &str| -> Loaded {
        loads.set(loads.get() + 1);
        Ok(None)
    };
    let sources = [
        member("m", "mdl_1", "modal"),
        member("b", "bsx_1", "blacksmith"),
        ssh_member("db"),
    ];
    let rows = resolve_pond(&sources, false, None, &loader).await.unwrap();
    assert_eq!(loads.get(), 0);
    let modal = rows.iter().find(|row| row.slug == "m").unwrap();
    assert_eq!(
        (modal.transport, modal.bridge_state.as_str()),
        (Transport::None, "")
    );
    assert_eq!(
        modal.note,
        "no advertised pond transport for provider modal"
    );
    let blacksmith = rows.iter().find(|row| row.slug == "b").unwrap();
    assert_eq!(
        (blacksmith.transport, blacksmith.note.as_str()),
        (Transport::None, "blacksmith owns connectivity")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapter_load_failures_degrade_or_fail_with_share_port() {
    let loader = |_: &str| -> Loaded {
        Err(BridgeError::MissingSetting {
            provider: "islo",
            name: "ISLO_API_KEY",
        })
    };
    let islo = member("web", "isb_crabbox-web-aaaaaa", "islo");
    let rows = resolve_pond(&[islo.clone(), ssh_member("db")], false, None, &loader)
        .await
        .unwrap();
    let web = rows.iter().find(|row| row.slug == "web").unwrap();
    assert_eq!(
        (web.transport, web.bridge_state.as_str()),
        (Transport::None, "error")
    );
    assert!(web.note.contains("requires ISLO_API_KEY"), "{}", web.note);

    let share = ShareRequest {
        port: 80,
        ttl: Duration::ZERO,
    };
    let error = resolve_pond(&[islo], true, Some(share), &loader)
        .await
        .unwrap_err();
    assert_eq!(error.class, crabbox_proto::ErrorClass::Prerequisite);
    assert!(error.hint.contains("ISLO_API_KEY"), "{}", error.hint);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_report_any_http_answer_as_reachable() {
    let fake = FakeIslo::start(KEY, &["crabbox-web-aaaaaa"]).await;
    // The fake answers 404 for this path: still an HTTP answer.
    fake.add_share(
        "crabbox-web-aaaaaa",
        8080,
        &format!("{}/nothing-here", fake.url),
        None,
    );
    let closed = crabbox_testkit::free_port();
    fake.add_share(
        "crabbox-api-bbbbbb",
        9090,
        &format!("http://127.0.0.1:{closed}/"),
        None,
    );
    fake.state
        .lock()
        .sandboxes
        .push("crabbox-api-bbbbbb".into());
    let sources = [
        member("web", "isb_crabbox-web-aaaaaa", "islo"),
        member("api", "isb_crabbox-api-bbbbbb", "islo"),
        member("m", "mdl_1", "modal"),
    ];
    let rows = resolve_pond(&sources, false, None, &islo_loader(&fake))
        .await
        .unwrap();
    let probes = probe_targets(&rows, PROBE_TIMEOUT).await;
    let by_slug = |slug: &str| {
        probes
            .iter()
            .find(|probe| probe.slug == slug)
            .unwrap()
            .clone()
    };
    let web = by_slug("web");
    assert_eq!(
        (web.state.as_str(), web.status_code),
        ("reachable", Some(404))
    );
    let api = by_slug("api");
    assert_eq!((api.state.as_str(), api.status_code), ("unreachable", None));
    assert!(
        !api.detail.is_empty() && !api.detail.contains(": "),
        "{}",
        api.detail
    );
    assert_eq!(by_slug("m").state, "no-targets");
    let json = serde_json::to_value(&web).unwrap();
    assert_eq!(json["statusCode"], 404);
}

/// An adapter whose vendor has no URL API.
struct Unsupported;

#[async_trait::async_trait]
impl BridgeAdapter for Unsupported {
    fn provider(&self) -> &'static str {
        "e2b"
    }

    async fn publish(
        &self,
        _: &str,
        _: u16,
        _: Duration,
    ) -> Result<crabbox_pond::PeerTarget, BridgeError> {
        Err(BridgeError::NotImplemented { provider: "e2b" })
    }

    async fn list(&self, _: &str) -> Result<Vec<crabbox_pond::PeerTarget>, BridgeError> {
        Err(BridgeError::NotImplemented { provider: "e2b" })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_bridges_are_none_rows_never_url() {
    let sources = [member("e", "cbx_eeeeeeeeeeee", "e2b"), ssh_member("db")];
    let unsupported = |_: &str| -> Loaded { Ok(Some(Box::new(Unsupported))) };
    for share in [
        None,
        Some(ShareRequest {
            port: 80,
            ttl: Duration::ZERO,
        }),
    ] {
        let rows = resolve_pond(&sources, false, share, &unsupported)
            .await
            .unwrap();
        let row = rows.iter().find(|row| row.slug == "e").unwrap();
        assert_eq!(
            (row.transport, row.bridge_state.as_str()),
            (Transport::None, "unsupported")
        );
        assert_eq!(
            row.note,
            "bridge adapter for provider e2b reports unsupported"
        );
    }
    let missing = |_: &str| -> Loaded { Ok(None) };
    let rows = resolve_pond(&sources, false, None, &missing).await.unwrap();
    let row = rows.iter().find(|row| row.slug == "e").unwrap();
    assert_eq!(
        (row.transport, row.bridge_state.as_str()),
        (Transport::None, "unsupported-provider")
    );
    assert_eq!(row.note, "no bridge adapter for provider e2b");
}
