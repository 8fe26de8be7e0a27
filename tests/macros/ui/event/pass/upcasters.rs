//! `upcasters = [..]`: payloads of older schema versions are upcast on read, oldest first.

use es_core::prelude::*;
use es_core::{JsonValue, json};

/// v1 `{"name": ..}`; v2 renamed the field to `owner`; v3 added `currency`.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(version = 3, upcasters = [v1_to_v2, self::v2_to_v3])]
pub struct AccountOpened {
    pub owner: String,
    pub currency: String,
}

fn v1_to_v2(mut payload: JsonValue) -> JsonValue {
    let name = payload["name"].take();
    json!({ "owner": name })
}

fn v2_to_v3(mut payload: JsonValue) -> JsonValue {
    payload["currency"] = json!("EUR");
    payload
}

/// Without upcasters, an older payload decodes as it is.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[event(version = 2)]
pub struct Closed {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Default)]
pub struct Account;

#[aggregate]
impl Account {
    #[apply]
    fn opened(&mut self, _: &AccountOpened) {}
    #[apply]
    fn closed(&mut self, _: &Closed) {}
}

fn decode(name: &str, schema_version: u16, payload: &str) -> Result<AccountEvent, es_core::Error> {
    AccountEvent::decode(&es_core::Json, name, schema_version, payload.as_bytes())
}

fn main() {
    assert_eq!(<AccountOpened as Event>::UPCASTERS.len(), 2);
    let opened = AccountEvent::AccountOpened(AccountOpened {
        owner: "Ada".into(),
        currency: "EUR".into(),
    });
    assert_eq!(decode("AccountOpened", 1, r#"{"name":"Ada"}"#).unwrap(), opened);
    assert_eq!(decode("AccountOpened", 2, r#"{"owner":"Ada"}"#).unwrap(), opened);
    let current = r#"{"owner":"Ada","currency":"EUR"}"#;
    assert_eq!(decode("AccountOpened", 3, current).unwrap(), opened);
    let future = decode("AccountOpened", 4, current).unwrap_err();
    assert!(matches!(future, es_core::Error::FutureSchema { schema_version: 4, supported: 3, .. }));
    let broken = decode("AccountOpened", 1, r#"{"nom":"Ada"}"#).unwrap_err();
    let source = std::error::Error::source(&broken).unwrap().to_string();
    assert!(source.contains("after upcasting from schema version 1"), "{source}");

    assert_eq!(
        decode("Closed", 1, "{}").unwrap(),
        AccountEvent::Closed(Closed { reason: None })
    );
}
