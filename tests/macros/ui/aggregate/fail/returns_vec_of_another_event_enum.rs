use es_core::prelude::*;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Opened;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Shipped;

#[derive(Command)]
pub struct Open {
    #[id]
    pub id: String,
}

#[derive(Command)]
pub struct Ship {
    #[id]
    pub id: String,
}

#[derive(Default)]
pub struct Account;

#[aggregate]
impl Account {
    #[handle]
    fn open(&self, _cmd: Open) -> Vec<OrderEvent> {
        vec![OrderEvent::Shipped(Shipped)]
    }

    #[apply]
    fn opened(&mut self, _: &Opened) {}
}

#[derive(Default)]
pub struct Order;

#[aggregate]
impl Order {
    #[handle]
    fn ship(&self, _cmd: Ship) -> Shipped {
        Shipped
    }

    #[apply]
    fn shipped(&mut self, _: &Shipped) {}
}

fn main() {}
