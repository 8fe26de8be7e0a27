//! The store conformance suite: the [`EventStore`] contract as test functions, which every
//! backend runs, once directly and once behind [`AnyEventStore`](crate::AnyEventStore).
//!
//! Each function is one case: it takes a store, does its work in streams no other call uses
//! (names end in a fresh UUID), and panics with a message that names the case on a violation.
//! Cases can therefore share one store or database and run concurrently, and checks of the
//! global log only look at the case's own streams.
//!
//! # Running the suite on a backend
//!
//! [`conformance_tests!`](crate::conformance_tests) generates one `#[tokio::test]` per case,
//! named after it, twice: once on the store itself, and once in a `dyn_store` submodule on the
//! store behind [`AnyEventStore`](crate::AnyEventStore). The second argument is a future that makes a store; it
//! is awaited once per test (a fresh temporary file, a pool on a shared database):
//!
//! ```
//! use es_core::InMemoryEventStore;
//!
//! es_core::conformance_tests!(memory, async { InMemoryEventStore::new() });
//! // tests: memory::expected_version_matrix, .., memory::dyn_store::expected_version_matrix, ..
//! # fn main() {}
//! ```
//!
//! The generated tests run on es-core's own tokio (the `testing` feature enables its
//! multi-threaded runtime); the calling crate needs no tokio of its own. [`run_all`] runs every
//! case the macro generates, in sequence, for a harness of one's own.
//!
//! [`two_instances_see_each_other`] needs a second instance on the same database: give the
//! macro a third argument that makes one from the first, and it generates that test too:
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # mod cases {
//! use es_core::SqliteEventStore;
//!
//! fn temp_path() -> std::path::PathBuf {
//!     std::env::temp_dir().join(format!("es-conformance-{}.db", uuid::Uuid::now_v7()))
//! }
//!
//! es_core::conformance_tests!(
//!     sqlite,
//!     async { SqliteEventStore::open(temp_path()).await.unwrap() },
//!     |first: &SqliteEventStore| {
//!         let path = first.path().to_owned();
//!         async move { SqliteEventStore::open(path).await.unwrap() }
//!     },
//! );
//! # }
//! # fn main() {}
//! ```
//!
//! The cases that need a backend hook are called by hand: [`versions_past_2_31`] (put a stream
//! at a high version), [`gap_race`] and [`rolled_back_append`] (hold an append open before its
//! commit, through [`StalledAppend`]).
//!
//! # The cases
//!
//! The numbers are those of the project's conformance list.
//!
//! | Case | Function | Left to the backend |
//! |------|----------|---------------------|
//! | 1 | [`expected_version_matrix`], [`empty_batch`] | |
//! | 2 | [`concurrent_exact_appends_one_winner`] | |
//! | 3 | [`concurrent_any_appends_all_succeed`] | |
//! | 4 | [`failed_batch_leaves_no_trace`] | injected failures (a dropped connection) |
//! | 5 | [`unencodable_event_rejected`], [`panicking_apply_stores_nothing`] (through [`App`](crate::App)) | |
//! | 6 | [`large_versions_in_conflicts`], [`large_payloads_round_trip`] | |
//! | 6 | [`versions_past_2_31`] | a hook that seeds a high version |
//! | 7 | [`idempotent_retry`] | |
//! | 8 | [`stream_names`] | |
//! | 9 | [`range_reads`] | |
//! | 10 | [`round_trip`] | |
//! | 11 | [`long_stream_read_whole`] | |
//! | 12 | [`global_log_from_position`] | |
//! | 13 | [`gap_race`] | a hook that holds an append open before its commit |
//! | 14 | [`rolled_back_append`] | the same hook |
//! | 13, 15 | [`catch_up_subscription`], [`concurrent_appends_lose_nothing`] | |
//! | 16 | [`two_instances_see_each_other`] | a second instance; a database restart |
//! | 17 to 19 | (none) | all: SIGKILL, synchronous modes, raw SQL |
//! | | [`command_metadata_recorded`], [`idempotent_commands`] (the command path, through `App`) | |
//! | 20 | [`snapshots`], [`snapshot_restores_state`] (through `App`) | |
//! | 21 | [`snapshot_plus_tail_equals_replay`] (seeded random sequences, through `App`) | |
//! | 22 | [`checkpoints`] (store side) | a read model committed with its checkpoint |
//! | 23 | [`nul_characters_refused`], [`oversized_append_refused`], [`positions_past_i64_refused`] | |
//! | 24 | [`multi_stream_atomic`], [`multi_stream_positions_contiguous`], [`multi_stream_idempotent_retry`], [`multi_stream_transfers_conserve`] | a SIGKILL mid-call |
//!
//! Case 6 and versions past 2^31: no test can append 2^31 events, so the generic case checks
//! that expectations and read positions past 2^31, 2^32, `i64::MAX` and up to `u64::MAX` are
//! conflicts (reporting both numbers exactly) or empty reads, never backend errors; a backend
//! that can put a stream at a high version directly (one row inserted with SQL) passes that as
//! the hook of [`versions_past_2_31`], which then appends, reads and conflicts past 2^32.

mod append;
mod derived;
mod limits;
mod live;
mod multi;
mod race;
mod read;
mod restore;
mod support;
mod typed;

pub use append::{
    HIGH_VERSION, concurrent_any_appends_all_succeed, concurrent_exact_appends_one_winner,
    empty_batch, expected_version_matrix, failed_batch_leaves_no_trace, idempotent_retry,
    large_payloads_round_trip, large_versions_in_conflicts, stream_names, versions_past_2_31,
};
pub use derived::{checkpoints, snapshots};
pub use limits::{nul_characters_refused, oversized_append_refused, positions_past_i64_refused};
pub use live::{
    catch_up_subscription, concurrent_appends_lose_nothing, two_instances_see_each_other,
};
pub use multi::{
    multi_stream_atomic, multi_stream_idempotent_retry, multi_stream_positions_contiguous,
    multi_stream_transfers_conserve,
};
pub use race::{StalledAppend, gap_race, rolled_back_append};
pub use read::{global_log_from_position, long_stream_read_whole, range_reads, round_trip};
pub use restore::{snapshot_plus_tail_equals_replay, snapshot_restores_state};
pub use typed::{
    command_metadata_recorded, idempotent_commands, panicking_apply_stores_nothing,
    unencodable_event_rejected,
};

use crate::store::EventStore;

/// Runs every case that needs nothing but the store, one after the other.
///
/// # Panics
/// On the first violation of the contract, naming the case.
pub async fn run_all<S: EventStore + Clone>(store: &S) {
    expected_version_matrix(store).await;
    empty_batch(store).await;
    concurrent_exact_appends_one_winner(store).await;
    concurrent_any_appends_all_succeed(store).await;
    failed_batch_leaves_no_trace(store).await;
    unencodable_event_rejected(store).await;
    panicking_apply_stores_nothing(store).await;
    nul_characters_refused(store).await;
    oversized_append_refused(store).await;
    positions_past_i64_refused(store).await;
    large_versions_in_conflicts(store).await;
    large_payloads_round_trip(store).await;
    idempotent_retry(store).await;
    stream_names(store).await;
    range_reads(store).await;
    round_trip(store).await;
    long_stream_read_whole(store).await;
    global_log_from_position(store).await;
    catch_up_subscription(store).await;
    concurrent_appends_lose_nothing(store).await;
    command_metadata_recorded(store).await;
    idempotent_commands(store).await;
    snapshots(store).await;
    snapshot_restores_state(store).await;
    snapshot_plus_tail_equals_replay(store).await;
    checkpoints(store).await;
    multi_stream_atomic(store).await;
    multi_stream_positions_contiguous(store).await;
    multi_stream_idempotent_retry(store).await;
    multi_stream_transfers_conserve(store).await;
}

/// Generates the conformance suite for one backend: a module `$name` with one test per case of
/// [`testing::conformance`](crate::testing::conformance) that needs only the store, named after
/// the case, and a submodule `dyn_store` with the same tests on the store behind
/// [`AnyEventStore`](crate::AnyEventStore).
///
/// `$factory` is an expression of a future resolving to the store; it is evaluated and awaited
/// at the start of every test, inside the generated module (which glob-imports its parent, so
/// the caller's imports are in scope). The store type must be `EventStore + Clone` (wrap it in
/// an `Arc` if it is not `Clone`). Each test runs on a multi-threaded runtime with two workers.
///
/// Written `optional $factory`, the future resolves to an `Option` of the store instead, and
/// each test passes without running its case when it is `None` (a database server that this
/// machine does not have), saying so on stderr.
///
/// An optional third argument, `$second`, is called with a reference to the first store and
/// returns a future of a second instance on the same database; with it the macro also generates
/// `two_instances_see_each_other` (in `dyn_store`, both instances behind
/// [`AnyEventStore`](crate::AnyEventStore)).
///
/// # Examples
/// ```
/// es_core::conformance_tests!(memory, async { es_core::InMemoryEventStore::new() });
///
/// # #[cfg(feature = "postgres")]
/// # mod cases {
/// use es_core::PostgresEventStore;
///
/// /// A store on the database `ES_POSTGRES_URL` names; none (the tests pass, saying so) when
/// /// it is not set.
/// async fn connect_if_configured() -> Option<PostgresEventStore> {
///     let url = std::env::var("ES_POSTGRES_URL").ok()?;
///     Some(PostgresEventStore::connect(&url).await.expect("connect"))
/// }
///
/// es_core::conformance_tests!(
///     postgres,
///     optional connect_if_configured(),
///     |_first: &PostgresEventStore| async {
///         connect_if_configured().await.expect("configured for the first")
///     },
/// );
/// # }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($name:ident, optional $factory:expr $(, $second:expr)? $(,)?) => {
        $crate::__conformance_modules!($name, ($factory).await $(, $second)?);
    };
    ($name:ident, $factory:expr $(, $second:expr)? $(,)?) => {
        $crate::__conformance_modules!(
            $name,
            ::core::option::Option::Some(($factory).await)
            $(, $second)?
        );
    };
}

/// The modules [`conformance_tests!`] generates, from an expression of an `Option` of the
/// store. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_modules {
    ($name:ident, $make:expr $(, $second:expr)?) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $crate::__conformance_cases!($make);
            $($crate::__conformance_two_instances!(direct, $make, $second);)?

            mod dyn_store {
                #[allow(unused_imports)]
                use super::super::*;

                $crate::__conformance_cases!($make.map(|store| {
                    $crate::AnyEventStore::new(store)
                }));
                $($crate::__conformance_two_instances!(dyn, $make, $second);)?
            }
        }
    };
}

/// The store of a generated test, or an early return when the factory gave none.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_store {
    ($make:expr) => {
        match $make {
            ::core::option::Option::Some(store) => store,
            ::core::option::Option::None => {
                ::std::eprintln!("skipped: the store factory returned None");
                return;
            }
        }
    };
}

/// The two-instance test of [`conformance_tests!`]. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_two_instances {
    (direct, $make:expr, $second:expr) => {
        #[$crate::__private::tokio::test(
            flavor = "multi_thread",
            worker_threads = 2,
            crate = "::es_core::__private::tokio"
        )]
        async fn two_instances_see_each_other() {
            let first = $crate::__conformance_store!($make);
            let second = ($second)(&first).await;
            $crate::testing::conformance::two_instances_see_each_other(&first, &second).await;
        }
    };
    (dyn, $make:expr, $second:expr) => {
        #[$crate::__private::tokio::test(
            flavor = "multi_thread",
            worker_threads = 2,
            crate = "::es_core::__private::tokio"
        )]
        async fn two_instances_see_each_other() {
            let first = $crate::__conformance_store!($make);
            let second = ($second)(&first).await;
            let first = $crate::AnyEventStore::new(first);
            let second = $crate::AnyEventStore::new(second);
            $crate::testing::conformance::two_instances_see_each_other(&first, &second).await;
        }
    };
}

/// The list of cases [`conformance_tests!`] generates tests for. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($make:expr) => {
        $crate::__conformance_cases!(@cases $make;
            expected_version_matrix
            empty_batch
            concurrent_exact_appends_one_winner
            concurrent_any_appends_all_succeed
            failed_batch_leaves_no_trace
            unencodable_event_rejected
            panicking_apply_stores_nothing
            nul_characters_refused
            oversized_append_refused
            positions_past_i64_refused
            large_versions_in_conflicts
            large_payloads_round_trip
            idempotent_retry
            stream_names
            range_reads
            round_trip
            long_stream_read_whole
            global_log_from_position
            catch_up_subscription
            concurrent_appends_lose_nothing
            command_metadata_recorded
            idempotent_commands
            snapshots
            snapshot_restores_state
            snapshot_plus_tail_equals_replay
            checkpoints
            multi_stream_atomic
            multi_stream_positions_contiguous
            multi_stream_idempotent_retry
            multi_stream_transfers_conserve
        );
    };
    (@cases $make:expr; $($case:ident)*) => {
        $(
            #[$crate::__private::tokio::test(
                flavor = "multi_thread",
                worker_threads = 2,
                crate = "::es_core::__private::tokio"
            )]
            async fn $case() {
                let store = $crate::__conformance_store!($make);
                $crate::testing::conformance::$case(&store).await;
            }
        )*
    };
}
