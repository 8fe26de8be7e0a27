//! "Did you mean" for misspelt keys.

/// The candidate closest to `word`, when it is close enough to be a likely typo.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (distance(word, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// The message for an unknown `key` of `#[attribute(..)]`.
pub(crate) fn unknown_key(key: &str, attribute: &str, candidates: &[&str]) -> String {
    if let Some(suggestion) = closest(key, candidates) {
        return format!(
            "unknown key `{key}` in `#[{attribute}(..)]`; did you mean `{suggestion}`?"
        );
    }
    let expected = candidates
        .iter()
        .map(|candidate| format!("`{candidate}`"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("unknown key `{key}` in `#[{attribute}(..)]`; expected one of {expected}")
}

/// Edit distance counting insertions, deletions, substitutions and adjacent transpositions
/// (optimal string alignment), case-insensitively.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::{closest, distance};

    #[test]
    fn distances() {
        assert_eq!(distance("name", "name"), 0);
        assert_eq!(distance("nmae", "name"), 1);
        assert_eq!(distance("versoin", "version"), 1);
        assert_eq!(distance("eror", "error"), 1);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn suggestions() {
        let keys = ["name", "version", "crate"];
        assert_eq!(closest("nam", &keys), Some("name"));
        assert_eq!(closest("Version", &keys), Some("version"));
        assert_eq!(closest("verison", &keys), Some("version"));
        assert_eq!(closest("crates", &keys), Some("crate"));
        assert_eq!(closest("schema", &keys), None);
    }
}
