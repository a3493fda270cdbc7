//! The kinds of run events the CLI records and the run phase each one means: one
//! table for the CLI that sends the phase and the coordinator that derives it.

/// A run event's `type` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    LeasingStarted,
    LeaseCreated,
    LeaseReused,
    BootstrapWaiting,
    SyncStarted,
    SyncFinished,
    CommandStarted,
    Stdout,
    Stderr,
    CommandFinished,
    LeaseReleased,
    RunFailed,
}

impl EventKind {
    pub const ALL: [EventKind; 12] = [
        EventKind::LeasingStarted,
        EventKind::LeaseCreated,
        EventKind::LeaseReused,
        EventKind::BootstrapWaiting,
        EventKind::SyncStarted,
        EventKind::SyncFinished,
        EventKind::CommandStarted,
        EventKind::Stdout,
        EventKind::Stderr,
        EventKind::CommandFinished,
        EventKind::LeaseReleased,
        EventKind::RunFailed,
    ];

    pub fn as_str(self) -> &'static str {
        self.row().0
    }

    pub fn parse(kind: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|known| known.as_str() == kind)
    }

    /// The phase the CLI sends with an event of this kind.
    pub fn phase(self) -> &'static str {
        self.row().1
    }

    /// The phase a coordinator moves the run to when an event of this kind names
    /// none. Reused leases, finished commands and failures leave the phase alone
    /// (the finish sets the final state), as the reference coordinator does.
    pub fn implied_phase(self) -> Option<&'static str> {
        let (_, phase, implied) = self.row();
        implied.then_some(phase)
    }

    /// `(type, phase, implied when absent)`.
    fn row(self) -> (&'static str, &'static str, bool) {
        match self {
            EventKind::LeasingStarted => ("leasing.started", "leasing", true),
            EventKind::LeaseCreated => ("lease.created", "leased", true),
            EventKind::LeaseReused => ("lease.reused", "leased", false),
            EventKind::BootstrapWaiting => ("bootstrap.waiting", "bootstrap", true),
            EventKind::SyncStarted => ("sync.started", "sync", true),
            EventKind::SyncFinished => ("sync.finished", "synced", true),
            EventKind::CommandStarted => ("command.started", "command", true),
            EventKind::Stdout => ("stdout", "command", true),
            EventKind::Stderr => ("stderr", "command", true),
            EventKind::CommandFinished => ("command.finished", "command", false),
            EventKind::LeaseReleased => ("lease.released", "released", true),
            EventKind::RunFailed => ("run.failed", "failed", false),
        }
    }
}

/// The phase an event of type `kind` implies when it names none; `None` for kinds
/// that leave the phase alone and for kinds this build does not know.
pub fn implied_phase(kind: &str) -> Option<&'static str> {
    EventKind::parse(kind).and_then(EventKind::implied_phase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_wire_name() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("actions.hydrate.started"), None);
    }

    #[test]
    fn implied_phases_match_the_reference_coordinator() {
        let implied: Vec<(&str, &str)> = EventKind::ALL
            .into_iter()
            .filter_map(|kind| Some((kind.as_str(), kind.implied_phase()?)))
            .collect();
        assert_eq!(
            implied,
            [
                ("leasing.started", "leasing"),
                ("lease.created", "leased"),
                ("bootstrap.waiting", "bootstrap"),
                ("sync.started", "sync"),
                ("sync.finished", "synced"),
                ("command.started", "command"),
                ("stdout", "command"),
                ("stderr", "command"),
                ("lease.released", "released"),
            ]
        );
        assert_eq!(implied_phase("lease.reused"), None);
        assert_eq!(implied_phase("unknown"), None);
        assert_eq!(EventKind::RunFailed.phase(), "failed");
    }
}
