//! Testing support for users and backend authors (feature `testing`).

mod fixture;

pub use fixture::{Outcome, TestFixture};
