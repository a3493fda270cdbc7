//! A coordinator killed in the middle of the create pipeline or of a machine
//! delete (it aborts at a `CRABBOX_TEST_CRASH_POINT`, like `kill -9`) and then
//! restarted on the same database and state: no row stays `provisioning`
//! holding a cap slot, no machine survives, and a lease whose machine was
//! deleted never shows `active` while its owed delete is finished after the
//! dead replica's claim lapses. On SQLite, and on PostgreSQL when
//! `CRABBOX_TEST_POSTGRES_URL` is set.

use crabbox_client::LeaseFilter;
use crabbox_proto::wire::{CreateLeaseRequest, LeaseRecord, LeaseStatus};
use crabbox_store::ScratchDatabase;
use crabbox_testkit::{eventually, process_running, Sandbox};

use crate::common::{self, sandbox, Coordinator};

/// Short liveness marks, so a dead coordinator's creates are recovered quickly;
/// a cap of one lease, so a stuck row would block the next create.
const FAST: [(&str, &str); 2] = [
    ("CRABBOX_INSTANCE_TTL_MS", "1000"),
    ("CRABBOX_MAX_ACTIVE_LEASES", "1"),
];

/// One sandbox (state directory) and the database its coordinators share.
struct World {
    sandbox: Sandbox,
    /// `CRABBOX_DATABASE_URL` (dropped with the world); `None` is the SQLite
    /// file in the state directory.
    database: Option<ScratchDatabase>,
}

impl World {
    /// A world per database the tests run on: SQLite always, PostgreSQL when
    /// `CRABBOX_TEST_POSTGRES_URL` is set.
    fn each() -> Vec<World> {
        let mut databases = vec![None];
        match std::env::var("CRABBOX_TEST_POSTGRES_URL") {
            Ok(admin) if !admin.is_empty() => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let database = runtime
                    .block_on(ScratchDatabase::create(&admin))
                    .expect("scratch postgres database");
                databases.push(Some(database));
            }
            _ => eprintln!("SKIP postgres: CRABBOX_TEST_POSTGRES_URL is not set"),
        }
        databases
            .into_iter()
            .map(|database| World {
                sandbox: sandbox(),
                database,
            })
            .collect()
    }

    fn start(&self, env: &[(&str, &str)]) -> Coordinator {
        let mut env = env.to_vec();
        if let Some(database) = &self.database {
            env.push(("CRABBOX_DATABASE_URL", database.url()));
        }
        Coordinator::start_with_env(&self.sandbox, &env)
    }
}

fn create(coordinator: &Coordinator, key: &str, idle: i64) -> Result<LeaseRecord, String> {
    let (client, runtime) = coordinator.client();
    let body = CreateLeaseRequest {
        ssh_public_key: key.to_string(),
        idle_timeout_seconds: idle,
        ..CreateLeaseRequest::default()
    };
    runtime
        .block_on(client.create_lease(&body))
        .map_err(|error| error.to_string())
}

fn leases(coordinator: &Coordinator) -> Vec<LeaseRecord> {
    let (client, runtime) = coordinator.client();
    runtime
        .block_on(client.list_leases(&LeaseFilter::default()))
        .expect("list leases")
}

/// Starts a coordinator that aborts at `point`, sends one create, and returns
/// once that coordinator is dead.
fn crash_during_create(world: &World, key: &str, point: &str) {
    let mut crashing = world.start(&[FAST[0], FAST[1], ("CRABBOX_TEST_CRASH_POINT", point)]);
    let outcome = create(&crashing, key, 0);
    assert!(
        outcome.is_err(),
        "the create must die with its coordinator: {outcome:?}"
    );
    assert!(
        crashing.exited_within(30),
        "the coordinator aborted at {point}"
    );
}

fn only_lease(coordinator: &Coordinator) -> LeaseRecord {
    let all = leases(coordinator);
    assert_eq!(all.len(), 1, "{all:?}");
    all.into_iter().next().unwrap()
}

#[test]
fn a_create_killed_after_reserve_frees_its_row_and_cap_slot() {
    for world in World::each() {
        let sandbox = &world.sandbox;
        let key = common::client_public_key(sandbox);
        crash_during_create(&world, &key, "after-reserve");

        let coordinator = world.start(&FAST);
        let reserved = only_lease(&coordinator);
        assert!(
            eventually(60, || only_lease(&coordinator).state == LeaseStatus::Failed),
            "the orphaned reservation is failed, not left provisioning until it expires: {:?}",
            only_lease(&coordinator)
        );
        assert!(
            !sandbox.lease_dir(&reserved.id).exists(),
            "no machine was made"
        );
        let next = create(&coordinator, &key, 0).expect("the cap slot is free again");
        assert_eq!(next.state, LeaseStatus::Active);
    }
}

#[test]
fn a_machine_made_by_a_killed_create_is_deleted() {
    for world in World::each() {
        let sandbox = &world.sandbox;
        let key = common::client_public_key(sandbox);
        crash_during_create(&world, &key, "after-acquire");
        let orphan = {
            let dirs: Vec<_> = std::fs::read_dir(sandbox.state_dir().join("local"))
                .unwrap()
                .flatten()
                .filter(|entry| entry.path().is_dir())
                .collect();
            assert_eq!(
                dirs.len(),
                1,
                "the provider made the machine before the crash"
            );
            dirs[0].file_name().to_string_lossy().into_owned()
        };
        let sshd = sandbox.lease_dir(&orphan).join("sshd_config");
        let sshd = sshd.to_string_lossy().into_owned();
        assert!(process_running(&sshd), "its sshd outlived the coordinator");

        let coordinator = world.start(&FAST);
        assert!(
            eventually(60, || {
                let lease = only_lease(&coordinator);
                lease.state == LeaseStatus::Failed && !lease.cleanup_pending
            }),
            "the orphaned create is failed and its machine deleted: {:?}",
            only_lease(&coordinator)
        );
        assert!(!process_running(&sshd), "no orphan sshd survives");
        assert!(!sandbox.lease_dir(&orphan).exists());
        let next = create(&coordinator, &key, 0).expect("the cap slot is free again");
        assert_eq!(next.state, LeaseStatus::Active);
    }
}

#[test]
fn a_lease_whose_machine_was_deleted_before_a_kill_never_shows_active() {
    for world in World::each() {
        let sandbox = &world.sandbox;
        let key = common::client_public_key(sandbox);
        let mut crashing = world.start(&[
            FAST[0],
            ("CRABBOX_TEST_CRASH_POINT", "after-machine-delete"),
        ]);
        // Idle for one second: maintenance expires it and dies right after the delete.
        let lease = create(&crashing, &key, 1).expect("create");
        assert_eq!(lease.state, LeaseStatus::Active);
        assert!(
            crashing.exited_within(60),
            "maintenance reached the crash point"
        );
        assert!(
            !sandbox.lease_dir(&lease.id).exists(),
            "the machine was deleted"
        );

        let coordinator = world.start(&[FAST[0]]);
        // The dead replica's claim lapses with its liveness mark; the retried delete
        // finds the machine gone. Until then, and after, it is never `active`.
        let finished = eventually(60, || {
            let seen = coordinator.lease(&lease.id);
            assert_eq!(seen.state, LeaseStatus::Expired, "{seen:?}");
            !seen.cleanup_pending
        });
        assert!(finished, "the delete was recorded after the restart");
        assert!(coordinator.lease(&lease.id).cleanup_error.is_empty());
    }
}
