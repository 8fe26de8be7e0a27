use es_core::prelude::*;

/// No `#[query]` method takes it.
pub struct Count;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = App::builder(InMemoryEventStore::new()).build().expect("build the app");
    let _ = app.query(Count).await;
}
