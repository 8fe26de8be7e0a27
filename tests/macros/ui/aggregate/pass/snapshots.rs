//! `snapshot_every` and `snapshot_version`: the policy, and a new app that starts from the
//! snapshot the first one saved.

use std::time::Duration;

use es_core::prelude::*;
use es_core::SnapshotPolicy;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Added(pub u32);

#[derive(Command, Clone)]
pub struct Add {
    #[id]
    pub id: u32,
    pub amount: u32,
}

#[derive(Default, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sum {
    total: u32,
}

#[aggregate(snapshot_every = 3, snapshot_version = 2)]
impl Sum {
    #[handle]
    fn add(&self, cmd: Add) -> Added {
        Added(cmd.amount)
    }

    #[apply]
    fn added(&mut self, e: &Added) {
        self.total += e.0;
    }
}

/// Without the options, no snapshots.
#[derive(Default, Debug, Clone)]
pub struct Plain;

#[aggregate]
impl Plain {
    #[apply]
    fn added(&mut self, _: &Added) {}
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(
        <Sum as Aggregate>::SNAPSHOT,
        Some(SnapshotPolicy { every: 3, schema_version: 2 })
    );
    assert_eq!(<Plain as Aggregate>::SNAPSHOT, None);
    assert!(Plain.encode_snapshot(&es_core::Json).is_none());

    let store = InMemoryEventStore::new();
    let app = App::builder(store.clone()).aggregate::<Sum>().build().expect("build the app");
    for amount in 1..=7 {
        app.send(Add { id: 1, amount }).await.unwrap();
    }
    let snapshot = loop {
        match store.load_snapshot("sum-1", u64::MAX).await.unwrap() {
            Some(snapshot) if snapshot.version == 6 => break snapshot,
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    };
    assert_eq!(snapshot.schema_version, 2);
    assert_eq!(&snapshot.payload[..], br#"{"total":21}"#);

    let again = App::builder(store).aggregate::<Sum>().build().expect("build the app");
    let (state, version) = again.load::<Sum>(&1).await.unwrap();
    assert_eq!((state, version), (Sum { total: 28 }, 7));
}
