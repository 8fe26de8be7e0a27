//! Testing support for users and backend authors (feature `testing`).

pub mod conformance;
