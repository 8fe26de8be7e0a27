//! PostgreSQL workloads (W3, W3c, W4 from PostgreSQL): being written.
