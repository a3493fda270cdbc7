//! Fake vendor APIs for the vendors our tests cannot reach. Each fake enforces
//! the vendor's semantics that our clients depend on (auth headers, ETags,
//! status codes) and records what it was asked, so tests can assert on writes.

pub mod e2b;
pub mod islo;
pub mod node_coordinator;
pub mod railway;
pub mod tailscale;

use std::sync::{Arc, Mutex, MutexGuard};

/// Binds 127.0.0.1 on a free port and serves `router` in the background;
/// returns the base URL (`http://127.0.0.1:<port>`). Call inside a tokio runtime.
pub(crate) async fn spawn(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a fake vendor API on 127.0.0.1");
    let address = listener.local_addr().expect("fake vendor API address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{address}")
}

/// The header value of `name`, or "" when absent or not UTF-8.
pub(crate) fn header<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// Shared mutable state of one fake; a poisoned lock (a panicking handler)
/// still yields the state so the test reports the original panic.
#[derive(Debug, Default)]
pub struct Shared<T>(Arc<Mutex<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> Shared<T> {
    pub(crate) fn new(value: T) -> Shared<T> {
        Shared(Arc::new(Mutex::new(value)))
    }

    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
