//! Testing support for users and backend authors (feature `testing`).

pub mod conformance;
mod fixture;

pub use fixture::{Outcome, TestFixture};
