//! Helpers shared by every macro: the error accumulator, attribute names, suggestions for
//! misspelt keys, the path of the runtime crate, the `const _` wrapper of generated items, and
//! the front end of the attribute macros on `impl` blocks.

pub(crate) mod case;
pub(crate) mod crate_path;
pub(crate) mod dummy;
pub(crate) mod errors;
pub(crate) mod impl_block;
pub(crate) mod keys;
pub(crate) mod signature;
pub(crate) mod suggest;
pub(crate) mod symbol;
pub(crate) mod tokens;

pub(crate) use crate_path::CratePath;
pub(crate) use errors::Errors;
