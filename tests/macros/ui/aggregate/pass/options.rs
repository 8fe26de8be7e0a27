//! Every option of `#[aggregate(..)]`: the stream name, the enum names and visibility, the
//! runtime crate path; and the kebab-case default name.

mod model {
    use es_core::prelude::*;

    #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
    #[event(name = "cart.item-added", version = 3)]
    pub struct ItemAdded {
        pub sku: String,
    }

    // The enums, the aggregate and its commands agree in visibility: each is named in an
    // associated type of another's trait impl.
    #[derive(Command, Clone)]
    pub(crate) struct AddItem {
        #[id]
        pub(crate) cart: u64,
        pub(crate) sku: String,
    }

    #[derive(Default)]
    pub(crate) struct ShoppingCart {
        pub(crate) items: Vec<String>,
    }

    #[es_core::aggregate(
        name = "cart",
        event = CartEvent,
        command = CartRequest,
        vis = pub(crate),
        crate = "::es_core",
    )]
    impl ShoppingCart {
        #[handle]
        fn add(&self, cmd: AddItem) -> ItemAdded {
            ItemAdded { sku: cmd.sku }
        }

        #[apply]
        fn added(&mut self, e: &ItemAdded) {
            self.items.push(e.sku.clone());
        }
    }

    #[derive(Default)]
    pub struct HTTPServerPool;

    #[es_core::aggregate]
    impl HTTPServerPool {}
}

use es_core::prelude::*;
use model::{AddItem, CartEvent, CartRequest, HTTPServerPool, ItemAdded, ShoppingCart};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(<ShoppingCart as Aggregate>::NAME, "cart");
    assert_eq!(<HTTPServerPool as Aggregate>::NAME, "http-server-pool");
    assert_eq!(<CartEvent as EventSet>::NAMES, ["cart.item-added"]);
    let event = CartEvent::from(ItemAdded { sku: "x".into() });
    assert_eq!(event.version(), 3);
    let payload = event.encode(&es_core::Json).unwrap();
    assert_eq!(payload, br#"{"sku":"x"}"#);
    let decoded = CartEvent::decode(&es_core::Json, "cart.item-added", 3, &payload).unwrap();
    assert_eq!(decoded, event);
    assert!(CartEvent::decode(&es_core::Json, "cart.item-added", 4, &payload).is_err());
    assert!(CartEvent::decode(&es_core::Json, "other", 1, &payload).is_err());

    let command: CartRequest = AddItem { cart: 1, sku: "y".into() }.into();
    let events = ShoppingCart::default().handle(command, &()).await.unwrap();
    assert_eq!(events, vec![ItemAdded { sku: "y".into() }.into()]);

    let app = App::builder(InMemoryEventStore::new()).aggregate::<ShoppingCart>().build().expect("build the app");
    let committed = app.send(AddItem { cart: 9, sku: "z".into() }).await.unwrap();
    assert_eq!(committed.stream, "cart-9");
    let cart = ShoppingCart::default();
    assert!(cart.items.is_empty());
}
