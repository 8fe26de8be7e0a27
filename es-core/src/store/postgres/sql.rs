//! The SQL text of the store's statements: one place to read what it asks the database.

/// A lone one-stream append: `es_append` does less work than a group of one.
pub(super) const APPEND: &str = "SELECT o_status, o_first_version, o_version, o_first_position, \
     o_position, o_dup_stream, o_dup_id \
     FROM es_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

pub(super) const APPEND_GROUP: &str = "SELECT o_append, o_part, o_status, o_first_version, \
     o_version, o_first_position, o_position, o_dup_stream, o_dup_id \
     FROM es_append_group($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

pub(super) const READ_STREAM: &str = "SELECT position, stream, version, id, name, schema_version, payload, \
     timestamp_us, correlation_id, causation_id, extra::text FROM es_events \
     WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3";

/// A replay's read: only the columns of a [`ReplayedEvent`](crate::record::ReplayedEvent).
pub(super) const FOLD_STREAM: &str = "SELECT version, name, schema_version, payload FROM es_events \
     WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3";

pub(super) const READ_ALL: &str = "SELECT position, stream, version, id, name, schema_version, payload, \
     timestamp_us, correlation_id, causation_id, extra::text FROM es_events \
     WHERE position > $1 ORDER BY position LIMIT $2";

pub(super) const FIND_EVENT: &str = "SELECT position, stream, version, id, name, schema_version, payload, \
     timestamp_us, correlation_id, causation_id, extra::text FROM es_events WHERE id = $1";

pub(super) const STREAM_VERSION: &str =
    "SELECT version FROM es_events WHERE stream = $1 ORDER BY version DESC LIMIT 1";

pub(super) const SAVE_SNAPSHOT: &str = "INSERT INTO es_snapshots (stream, version, schema_version, payload) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (stream, version) \
     DO UPDATE SET schema_version = excluded.schema_version, payload = excluded.payload";

pub(super) const LOAD_SNAPSHOT: &str = "SELECT version, schema_version, payload FROM es_snapshots \
     WHERE stream = $1 AND version <= $2 ORDER BY version DESC LIMIT 1";

pub(super) const SAVE_CHECKPOINT: &str = "INSERT INTO es_checkpoints (name, position) VALUES ($1, $2) \
     ON CONFLICT (name) DO UPDATE SET position = excluded.position";

pub(super) const LOAD_CHECKPOINT: &str = "SELECT position FROM es_checkpoints WHERE name = $1";

pub(super) const HEAD: &str = "SELECT coalesce(max(position), 0) FROM es_events";
