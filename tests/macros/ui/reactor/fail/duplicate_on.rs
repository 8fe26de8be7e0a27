use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct AccountClosed {
    pub account: String,
}

pub struct OnClose;

#[reactor]
impl OnClose {
    #[on]
    fn closed(&self, _e: &AccountClosed) {}

    #[on]
    fn closed_again(&self, _e: &AccountClosed) {}
}

fn main() {}
