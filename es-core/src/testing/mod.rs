//! Testing support for users and backend authors (feature `testing`).

pub mod conformance;
mod fixture;
mod process_fixture;
mod projection_fixture;

pub use fixture::{Outcome, TestFixture};
pub use process_fixture::{ProcessFixture, ProcessOutcome};
pub use projection_fixture::ProjectionFixture;
