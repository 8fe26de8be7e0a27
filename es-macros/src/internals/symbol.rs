//! The names of our attributes and their keys, in one place.

/// `#[event(..)]` on a `#[derive(Event)]` type.
pub(crate) const EVENT: &str = "event";
/// `#[id]` on the routing field of a command.
pub(crate) const ID: &str = "id";
/// `#[handle]` on a method of an `#[aggregate]` block.
pub(crate) const HANDLE: &str = "handle";
/// `#[apply]` on a method of an `#[aggregate]` block.
pub(crate) const APPLY: &str = "apply";
/// `#[cfg(..)]`, copied onto what is generated for a method.
pub(crate) const CFG: &str = "cfg";

/// Keys of `#[event(..)]`.
pub(crate) const NAME: &str = "name";
pub(crate) const VERSION: &str = "version";
pub(crate) const CRATE: &str = "crate";
pub(crate) const UPCASTERS: &str = "upcasters";
pub(crate) const EVENT_KEYS: &[&str] = &[NAME, VERSION, UPCASTERS, CRATE];

/// Keys of `#[aggregate(..)]`.
pub(crate) const ERROR: &str = "error";
pub(crate) const SERVICES: &str = "services";
pub(crate) const COMMAND: &str = "command";
pub(crate) const VIS: &str = "vis";
pub(crate) const SNAPSHOT_EVERY: &str = "snapshot_every";
pub(crate) const SNAPSHOT_VERSION: &str = "snapshot_version";
pub(crate) const AGGREGATE_KEYS: &[&str] = &[
    NAME,
    ERROR,
    SERVICES,
    EVENT,
    COMMAND,
    VIS,
    SNAPSHOT_EVERY,
    SNAPSHOT_VERSION,
    CRATE,
];

/// `#[projection(..)]` on a read model's `impl` block, and its method attributes.
pub(crate) const ON: &str = "on";
pub(crate) const QUERY: &str = "query";

/// Keys of `#[projection(..)]`.
pub(crate) const DURABLE: &str = "durable";
pub(crate) const SKIP_NEWER: &str = "skip_newer";
pub(crate) const PROJECTION_KEYS: &[&str] = &[NAME, DURABLE, SKIP_NEWER, CRATE];

/// `#[process_manager(..)]` on a process manager's `impl` block, and its method attributes
/// (`#[on(key = field)]` shares `ON`).
pub(crate) const REFUSED: &str = "refused";
pub(crate) const DEADLINE: &str = "deadline";
/// Keys of `#[process_manager(..)]`.
pub(crate) const PROCESS_KEYS: &[&str] = &[NAME, SERVICES, CRATE];
/// Keys of `#[on(..)]` in a process manager.
pub(crate) const KEY: &str = "key";
pub(crate) const ON_KEYS: &[&str] = &[KEY];
/// Keys of `#[reactor(..)]`.
pub(crate) const REACTOR_KEYS: &[&str] = &[NAME, SERVICES, CRATE];
