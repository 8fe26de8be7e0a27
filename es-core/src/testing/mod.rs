//! Testing support for users and backend authors (feature `testing`).
