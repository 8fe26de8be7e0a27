use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Closed;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Renamed;

#[derive(Default)]
pub struct Owners;

#[projection]
impl Owners {
    #[on]
    fn no_event(&mut self) {}

    #[on]
    async fn is_async(&mut self, _: &Opened) {}

    #[on]
    fn shared_self(&self, _: &Closed) {}

    #[on]
    fn by_value(&mut self, _: Renamed) {}

    #[on]
    fn too_many(&mut self, _: &Renamed, _: &EventMeta, _: u32) {}
}

fn main() {}
