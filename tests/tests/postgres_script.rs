//! `scripts/postgres`, the throwaway cluster the tests and the README use: a data directory
//! created with one port starts on another when asked, and `start` on a running cluster creates
//! the test database when an interrupted first start left it missing.
//!
//! Runs where the tests have PostgreSQL (`ES_POSTGRES_URL` set, as `scripts/test` does); makes a
//! cluster of its own in a temporary directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn script(data: &Path, port: u16, action: &str) -> String {
    let output = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres"))
        .arg(action)
        .env("ES_PG_DIR", data)
        .env("ES_PG_PORT", port.to_string())
        .output()
        .expect("run scripts/postgres");
    assert!(
        output.status.success(),
        "scripts/postgres {action} on port {port} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("a UTF-8 URL")
        .trim()
        .to_owned()
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|error| panic!("connect to {url}: {error}"));
    tokio::spawn(connection);
    client
}

/// Stops and deletes the cluster however the test ends.
struct Cluster {
    dir: PathBuf,
    port: u16,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres"))
            .arg("destroy")
            .env("ES_PG_DIR", self.dir.join("data"))
            .env("ES_PG_PORT", self.port.to_string())
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn the_script_starts_on_the_port_asked_for_and_recreates_a_missing_database() {
    if std::env::var("ES_POSTGRES_URL").is_err() {
        eprintln!("WARNING: PostgreSQL test DID NOT RUN: ES_POSTGRES_URL is not set");
        return;
    }
    // Under /tmp with its mode opened: as root the server runs as `postgres`, which must reach
    // the data directory.
    let dir = std::env::temp_dir().join(format!("es-pg-script-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("a directory");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let data = dir.join("data");
    let first = free_port();
    let mut cluster = Cluster {
        dir: dir.clone(),
        port: first,
    };
    let url = script(&data, first, "start");
    assert!(url.contains(&format!(":{first}/")), "{url}");
    connect(&url).await;

    let second = free_port();
    cluster.port = second;
    let url = script(&data, second, "start");
    assert!(url.contains(&format!(":{second}/")), "{url}");
    let client = connect(&url.replace("/es_test", "/postgres")).await;
    client
        .batch_execute("DROP DATABASE es_test")
        .await
        .expect("drop the test database");
    let url = script(&data, second, "start");
    connect(&url).await;
}
