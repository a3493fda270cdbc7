//! The shared server state: store, settings, brokered providers, clock, this
//! replica's identity, the maintenance wake-up and the control-socket hub.

use std::collections::BTreeMap;
use std::sync::Arc;

use crabbox_proto::Timestamp;
use crabbox_providers::{Provider, ProviderSettings};
use crabbox_store::Store;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::control::Hub;
use crate::settings::Settings;

/// The providers this coordinator creates machines with, by canonical name.
#[derive(Clone, Default)]
pub struct Providers(BTreeMap<String, Arc<dyn Provider>>);

impl Providers {
    /// Builds every provider named in `names`; only brokerable ones are accepted.
    pub fn build(names: &[String], settings: &ProviderSettings) -> Result<Providers, String> {
        let mut providers = Providers::default();
        for name in names {
            let canonical =
                crabbox_providers::canonical_name(name).map_err(|error| error.to_string())?;
            let provider = crabbox_providers::create(canonical, settings)
                .map_err(|error| error.to_string())?;
            if !provider.spec().coordinator {
                return Err(format!(
                    "provider {canonical} cannot be brokered by a coordinator"
                ));
            }
            providers.insert(canonical, provider);
        }
        Ok(providers)
    }

    pub fn insert(&mut self, name: &str, provider: Arc<dyn Provider>) {
        self.0.insert(name.to_string(), provider);
    }

    /// Looks a provider up by name or alias.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        let canonical = crabbox_providers::canonical_name(name).unwrap_or(name);
        self.0.get(canonical)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

#[derive(Clone)]
pub struct Coordinator {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    settings: Settings,
    providers: Providers,
    clock: Arc<dyn Clock>,
    instance: String,
    wake: Notify,
    control: Hub,
}

impl Coordinator {
    pub fn new(
        store: Store,
        settings: Settings,
        providers: Providers,
        clock: Arc<dyn Clock>,
    ) -> Coordinator {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).expect("the system random source");
        Coordinator {
            inner: Arc::new(Inner {
                store,
                settings,
                providers,
                clock,
                instance: format!(
                    "cbi_{}",
                    nonce
                        .iter()
                        .map(|byte| format!("{byte:02x}"))
                        .collect::<String>()
                ),
                wake: Notify::new(),
                control: Hub::default(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn providers(&self) -> &Providers {
        &self.inner.providers
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// This replica's identity, stamped on creates it starts.
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    /// Aborts the process at `point` when the crash-recovery tests ask for it
    /// (`CRABBOX_TEST_CRASH_POINT`); a no-op otherwise.
    pub fn crash_point(&self, point: &str) {
        if self.inner.settings.crash_point == point {
            tracing::error!(
                "coordinator: aborting at crash point {point} (CRABBOX_TEST_CRASH_POINT)"
            );
            std::process::abort();
        }
    }

    /// Asks the maintenance loop to run a pass now.
    pub fn wake_maintenance(&self) {
        self.inner.wake.notify_one();
    }

    pub(crate) fn wake_signal(&self) -> &Notify {
        &self.inner.wake
    }

    pub(crate) fn control(&self) -> &Hub {
        &self.inner.control
    }

    /// Control sockets open on this replica.
    pub fn control_sockets(&self) -> usize {
        self.inner.control.open_sockets()
    }
}
