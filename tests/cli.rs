//! The command line, run as a user would: seed a demo fleet, rebuild its read model (which
//! must find nothing to change: incremental evidence equals a rebuild), migrate, help.

use std::process::Command;

fn owner_console(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_owner-console"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A database file for one test. It is removed when dropped (also when the test fails),
/// with the WAL and shared-memory files SQLite keeps beside it: removing only the database
/// left those two behind in the temporary directory after every run.
struct TempDb {
    path: std::path::PathBuf,
    url: String,
}

impl TempDb {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("oc-cli-{}-{name}.db", std::process::id()));
        let db = TempDb {
            url: format!("sqlite://{}", path.display()),
            path,
        };
        db.remove();
        db
    }

    fn files(&self) -> [std::path::PathBuf; 3] {
        ["", "-wal", "-shm"].map(|suffix| format!("{}{suffix}", self.path.display()).into())
    }

    fn remove(&self) {
        for file in self.files() {
            let _ = std::fs::remove_file(file);
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Drops `db` and checks nothing of it is left.
fn removed(db: TempDb) {
    let files = db.files();
    assert!(files[0].exists(), "the database was written");
    drop(db);
    for file in files {
        assert!(!file.exists(), "{} was left behind", file.display());
    }
}

#[test]
fn seed_then_rebuild_finds_nothing_to_change() {
    let db = TempDb::new("seed");
    let url = &db.url;
    let (ok, out) = owner_console(&["seed-demo", "--database-url", url]);
    assert!(ok, "{out}");
    let connections: u64 = out
        .split("fleet: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("seed report: {out}"));
    assert!(connections >= 12, "{out}");

    let (ok, again) = owner_console(&["seed-demo", "--database-url", url]);
    assert!(
        ok && again.contains("nothing seeded"),
        "a second seed is refused: {again}"
    );

    let (ok, out) = owner_console(&[
        "rebuild-summaries",
        "--database-url",
        url,
        "--batch-size",
        "5",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("Rebuilt {connections} connections"))
            && out.contains(" 0 created, 0 changed"),
        "incrementally maintained evidence must equal a rebuild: {out}"
    );
}

#[test]
fn bad_arguments_are_clear_errors() {
    let (ok, out) = owner_console(&["rebuild-summaries", "--batch-size", "0"]);
    assert!(!ok);
    assert!(out.contains("batch-size"), "{out}");
    let (ok, out) = owner_console(&["migrate", "--database-url", "mysql://nope"]);
    assert!(!ok);
    assert!(out.contains("error"), "{out}");
    let (ok, out) = owner_console(&["simulate", "--simulate-failure-rate", "1.5"]);
    assert!(!ok);
    assert!(out.contains("not a share between 0 and 1"), "{out}");
    let (ok, out) = owner_console(&["--help"]);
    assert!(ok);
    for command in [
        "serve",
        "migrate",
        "seed-demo",
        "rebuild-summaries",
        "simulate",
    ] {
        assert!(out.contains(command), "--help lists {command}: {out}");
    }
}

#[test]
fn migrate_creates_a_usable_database() {
    let db = TempDb::new("migrate");
    let url = &db.url;
    let (ok, out) = owner_console(&["migrate", "--database-url", url]);
    assert!(ok, "{out}");
    let (ok, out) = owner_console(&["migrate", "--database-url", url]);
    assert!(ok, "migrations are idempotent: {out}");
    removed(db);
}

#[test]
fn the_first_serve_after_a_seed_prints_how_to_log_in() {
    use std::io::{BufRead, BufReader};
    let db = TempDb::new("first-serve");
    let url = &db.url;
    let (ok, out) = owner_console(&["seed-demo", "--database-url", url]);
    assert!(ok, "{out}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_owner-console"))
        .args(["serve", "--database-url", url])
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env_remove("OWNER_PASSWORD")
        .env_remove("OWNER_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while printed.len() < 3 {
        match lines.next() {
            Some(Ok(line)) => printed.push(line),
            _ => break,
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    // The killed server leaves its WAL and shared-memory files behind.
    removed(db);
    assert!(
        printed[0].starts_with("Owner console: http://127.0.0.1:"),
        "{printed:?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.starts_with("Owner password (generated")),
        "{printed:?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.starts_with("Owner API token (generated")),
        "{printed:?}"
    );
}
