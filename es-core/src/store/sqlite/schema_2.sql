-- Schema version 2: snapshots and projection checkpoints. Derived state, so unlike events these
-- rows may be replaced.

-- Per stream, snapshots of its aggregate's state by stream version.
CREATE TABLE snapshots (
    stream         TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 0),
    schema_version INTEGER NOT NULL CHECK (schema_version BETWEEN 0 AND 65535),
    payload        BLOB    NOT NULL,
    PRIMARY KEY (stream, version)
) STRICT, WITHOUT ROWID;

-- Per projection, the global position it has processed up to.
CREATE TABLE checkpoints (
    name     TEXT    NOT NULL PRIMARY KEY,
    position INTEGER NOT NULL CHECK (position >= 0)
) STRICT, WITHOUT ROWID;
