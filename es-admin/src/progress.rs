//! Progress bars on stderr for the long subcommands; hidden for `--json` and when stderr is not
//! a terminal, so scripts and logs get none of their redraws.

use indicatif::{ProgressBar, ProgressStyle};

use crate::output::Output;

/// A bar over `total` events, labelled `what`.
pub(crate) fn bar(total: u64, what: &'static str, out: Output) -> ProgressBar {
    if out.json() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events ({per_sec}, {eta} left)")
            .map(|style| style.progress_chars("=> "));
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar.set_message(what);
    bar
}
