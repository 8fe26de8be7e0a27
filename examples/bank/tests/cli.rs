//! The bank's command line as a script would run it: exit statuses, refusals of bad input,
//! and several processes on one database at once.

use std::path::Path;
use std::process::{Command, Output};
use std::thread;

/// Runs the bank binary with `--database database` and `args`.
fn bank(database: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bank"))
        .arg("--database")
        .arg(database)
        .args(args)
        .output()
        .expect("run the bank binary")
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Asserts the exit status and that stdout or stderr holds `expected`.
fn expect(output: &Output, status: i32, expected: &str) {
    let shown = text(output);
    assert_eq!(output.status.code(), Some(status), "{shown}");
    assert!(shown.contains(expected), "expected {expected:?} in {shown}");
}

fn temp_db(dir: &Path) -> String {
    dir.join("bank.db")
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
}

#[test]
fn refusals_and_bad_input_have_their_own_exit_status() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = temp_db(dir.path());
    expect(&bank(&db, &["open", "a", "Ann"]), 0, "AccountOpened");
    let max = u64::MAX.to_string();
    expect(&bank(&db, &["deposit", "a", &max]), 0, "MoneyDeposited");
    expect(
        &bank(&db, &["deposit", "a", &max]),
        1,
        "would overflow the balance",
    );
    expect(&bank(&db, &["balance", "a"]), 0, &format!("{max} cents"));
    expect(&bank(&db, &["withdraw", "a", "0"]), 1, "must be positive");
    expect(
        &bank(&db, &["withdraw", "nobody", "5"]),
        1,
        "does not exist",
    );
    expect(&bank(&db, &["balance", "nobody"]), 1, "no such account");
    expect(&bank(&db, &["open", "", "Ann"]), 1, "must not be empty");
    let escape = bank(&db, &["open", "b", "\u{1b}[31mred"]);
    expect(&escape, 1, "control characters");
    assert!(
        !escape.stdout.contains(&0x1b),
        "an escape code reached the terminal: {}",
        text(&escape)
    );

    expect(&bank(&db, &["withdraw", "a", &max]), 0, "MoneyWithdrawn");
    expect(&bank(&db, &["close", "a"]), 0, "AccountClosed");
    expect(
        &bank(&db, &["open", "a", "Ann"]),
        1,
        "the account is closed",
    );
    expect(
        &bank(&db, &["deposit", "a", "1"]),
        1,
        "the account is closed",
    );

    expect(
        &bank("mysql://localhost/bank", &["balance", "a"]),
        2,
        "`mysql://..`",
    );
    expect(&bank("", &["balance", "a"]), 2, "--database is empty");
    expect(&bank("MEMORY", &["balance", "a"]), 1, "store: in memory");
    let not_a_database = dir.path().join("notes.txt");
    std::fs::write(&not_a_database, "these are notes, not a database").expect("write");
    let path = not_a_database.to_str().expect("a UTF-8 path");
    expect(&bank(path, &["balance", "a"]), 3, &format!("`{path}`"));
    expect(&bank(&db, &["frobnicate"]), 2, "unrecognized subcommand");
    // The demo's refusals are part of its script.
    expect(&bank("memory", &[]), 0, "refused: insufficient funds");
}

/// 8 processes x 20 deposits on one account: every deposit is applied exactly once, however the
/// processes' appends conflict, and `rebuild` run meanwhile raises no false alarm.
fn concurrent_processes_on_one_account(database: &str, account: &str) {
    expect(
        &bank(database, &["open", account, "Ann"]),
        0,
        "AccountOpened",
    );
    let depositors: Vec<_> = (0..8)
        .map(|_| {
            let (database, account) = (database.to_owned(), account.to_owned());
            thread::spawn(move || {
                let mut most_retries = 0;
                for _ in 0..20 {
                    let output = bank(&database, &["deposit", &account, "1"]);
                    expect(&output, 0, "MoneyDeposited");
                    let stdout = String::from_utf8_lossy(&output.stdout);
                    if let Some(rest) = stdout.split("retried after ").nth(1) {
                        let retries: u32 =
                            rest.split(' ').next().unwrap_or("0").parse().unwrap_or(0);
                        most_retries = most_retries.max(retries);
                    }
                }
                most_retries
            })
        })
        .collect();
    for _ in 0..3 {
        expect(
            &bank(database, &["rebuild"]),
            0,
            "match a replay up to position",
        );
    }
    let most_retries = depositors
        .into_iter()
        .map(|depositor| depositor.join().expect("a depositor"))
        .max();
    eprintln!("{database}: 8 processes x 20 deposits, at most {most_retries:?} retries for one");
    expect(&bank(database, &["balance", account]), 0, "160 cents");
    let history = bank(database, &["history", account]);
    let versions = String::from_utf8_lossy(&history.stdout)
        .lines()
        .filter(|line| line.starts_with("bank-account-"))
        .count();
    assert_eq!(versions, 161, "one event per command: {}", text(&history));
}

#[test]
fn concurrent_processes_on_one_sqlite_file_lose_no_deposit() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    concurrent_processes_on_one_account(&temp_db(dir.path()), "shared");
}

#[test]
fn concurrent_processes_on_one_postgres_database_lose_no_deposit() {
    let Ok(url) = std::env::var("ES_POSTGRES_URL") else {
        eprintln!("WARNING: PostgreSQL test DID NOT RUN: ES_POSTGRES_URL is not set");
        return;
    };
    let account = format!("shared-{}", uuid::Uuid::now_v7());
    concurrent_processes_on_one_account(&url, &account);
}

/// Transfers from the command line: both accounts change together, a refusal changes neither
/// and exits 1; 4 processes transferring back and forth at once conserve the money.
fn transfers_from_the_command_line(database: &str, prefix: &str) {
    let (a, b) = (format!("{prefix}-a"), format!("{prefix}-b"));
    expect(&bank(database, &["open", &a, "Ann"]), 0, "AccountOpened");
    expect(&bank(database, &["open", &b, "Bob"]), 0, "AccountOpened");
    expect(
        &bank(database, &["deposit", &a, "100"]),
        0,
        "MoneyDeposited",
    );
    expect(
        &bank(database, &["transfer", &a, &b, "30"]),
        0,
        "at position",
    );
    expect(
        &bank(database, &["transfer", &a, &b, "500"]),
        1,
        "insufficient funds: balance 70, requested 500",
    );
    expect(
        &bank(database, &["transfer", &a, &a, "5"]),
        1,
        "two different accounts",
    );
    let movers: Vec<_> = (0..4)
        .map(|n| {
            let (database, a, b) = (database.to_owned(), a.clone(), b.clone());
            thread::spawn(move || {
                for _ in 0..3 {
                    let (from, to) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
                    let output = bank(&database, &["transfer", from, to, "1"]);
                    assert!(
                        matches!(output.status.code(), Some(0 | 1)),
                        "{}",
                        text(&output)
                    );
                }
            })
        })
        .collect();
    for mover in movers {
        mover.join().expect("a transferring process");
    }
    let balance = |account: &str| -> u64 {
        let output = bank(database, &["balance", account]);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        stdout
            .lines()
            .find(|line| line.ends_with(" cents"))
            .and_then(|line| line.rsplit(": ").next())
            .and_then(|rest| rest.split(' ').next())
            .and_then(|cents| cents.parse().ok())
            .unwrap_or_else(|| panic!("a balance in {}", text(&output)))
    };
    assert_eq!(balance(&a) + balance(&b), 100, "the money is conserved");
}

#[test]
fn transfers_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    transfers_from_the_command_line(&temp_db(dir.path()), "t");
}

#[test]
fn transfers_on_postgres() {
    let Ok(url) = std::env::var("ES_POSTGRES_URL") else {
        eprintln!("WARNING: PostgreSQL test DID NOT RUN: ES_POSTGRES_URL is not set");
        return;
    };
    transfers_from_the_command_line(&url, &format!("t{}", uuid::Uuid::now_v7().simple()));
}

#[test]
fn transfers_in_memory() {
    // A memory store lives for one run: the accounts do not exist, so the transfer is refused.
    expect(
        &bank("memory", &["transfer", "a", "b", "1"]),
        1,
        "does not exist",
    );
}
