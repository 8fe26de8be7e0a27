-- Schema version 2 of the PostgreSQL event store: snapshots and projection checkpoints.
-- Derived state, so unlike events these rows may be replaced.

-- Per stream, snapshots of its aggregate's state by stream version.
CREATE TABLE es_snapshots (
    stream         text    NOT NULL CHECK (octet_length(stream) BETWEEN 1 AND 255),
    version        bigint  NOT NULL CHECK (version >= 0),
    schema_version integer NOT NULL CHECK (schema_version BETWEEN 0 AND 65535),
    payload        bytea   NOT NULL,
    PRIMARY KEY (stream, version)
);

-- Per projection, the global position it has processed up to.
CREATE TABLE es_checkpoints (
    name     text   NOT NULL PRIMARY KEY CHECK (octet_length(name) BETWEEN 1 AND 255),
    position bigint NOT NULL CHECK (position >= 0)
);
