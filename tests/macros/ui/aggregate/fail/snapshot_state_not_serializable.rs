use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

/// No `Serialize`/`Deserialize`: its state cannot be snapshotted.
#[derive(Default)]
pub struct Account {
    open: bool,
}

#[aggregate(snapshot_every = 100)]
impl Account {
    #[apply]
    fn opened(&mut self, _: &Opened) {
        self.open = true;
    }
}

fn main() {}
