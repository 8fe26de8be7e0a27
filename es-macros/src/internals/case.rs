//! Case conversion for generated names.

/// `BankAccount` -> `bank-account`, `HTTPServer` -> `http-server`, `Account2` -> `account2`.
pub(crate) fn kebab(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            continue;
        }
        if c.is_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|next| next.is_lowercase());
            let boundary = previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_is_lower);
            if boundary && !out.ends_with('-') {
                out.push('-');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::kebab;

    #[test]
    fn kebab_case() {
        assert_eq!(kebab("BankAccount"), "bank-account");
        assert_eq!(kebab("Account"), "account");
        assert_eq!(kebab("HTTPServer"), "http-server");
        assert_eq!(kebab("ShoppingCart2"), "shopping-cart2");
        assert_eq!(kebab("Order2Line"), "order2-line");
        assert_eq!(kebab("snake_case"), "snake-case");
    }
}
