use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct AccountClosed {
    pub account: String,
}

pub struct OnClose;

#[reactor]
impl OnClose {
    #[on]
    fn closed(&self, _e: AccountClosed) -> Steps {
        Steps::new()
    }
}

fn main() {}
