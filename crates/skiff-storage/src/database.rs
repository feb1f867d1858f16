//! SQLite as the stores use it: one file many `skiff` processes open at once. WAL lets readers
//! go on during a write; the busy timeout makes a second writer wait instead of failing.
use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::JoinHandle;

use rusqlite::Connection;

use crate::lock::FileLock;

pub fn open_database(path: &Path, schema: &str) -> rusqlite::Result<Connection> {
    let db = Connection::open(path)?;
    db.busy_timeout(std::time::Duration::from_secs(30))?;
    // Switching a new file to WAL, and creating tables, can fail with SQLITE_BUSY at once (no
    // busy wait) when several processes open a fresh database together: serialise that part.
    let _setup = FileLock::exclusive(&path.with_extension("setup.lock")).map_err(|e| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(e.to_string()),
        )
    })?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "NORMAL")?;
    // Every skiff process is short-lived and often the only one with the file open: closing the
    // last connection would checkpoint and delete the WAL (two fsyncs), and the next process
    // would create it again (one more). The WAL stays instead. The next first connection
    // reads all of it to rebuild its index, so it is kept short: checkpointed every 64 pages
    // (a few container lifecycles) instead of SQLite's 1000.
    db.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    db.pragma_update(None, "wal_autocheckpoint", 64)?;
    db.pragma_update(None, "foreign_keys", "ON")?;
    db.execute_batch(schema)?;
    Ok(db)
}

/// Databases opened ahead of their first use, by file: on another thread while this one does
/// other work, or while this process waits for something else. `LazyDatabase::get` takes its
/// connection from here when it is there.
static AHEAD: Mutex<Vec<(PathBuf, Ahead)>> = Mutex::new(Vec::new());

enum Ahead {
    Open(rusqlite::Result<Connection>),
    Opening(JoinHandle<rusqlite::Result<Connection>>),
}

impl Ahead {
    fn wait(self) -> rusqlite::Result<Connection> {
        match self {
            Ahead::Open(connection) => connection,
            Ahead::Opening(thread) => thread.join().unwrap_or_else(|_| {
                Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                    Some("the thread opening the database failed".into()),
                ))
            }),
        }
    }
}

/// Closes the connections opened ahead and not taken yet: in a forked child, before it opens
/// a database (see `LazyDatabase::close`).
pub fn close_ahead() {
    drop(ahead().drain(..).collect::<Vec<_>>());
}

fn ahead() -> std::sync::MutexGuard<'static, Vec<(PathBuf, Ahead)>> {
    AHEAD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits for the databases being opened on other threads: before this process forks, it must
/// be the only thread.
pub fn settle_ahead() {
    let mut ahead = ahead();
    let settled: Vec<_> = ahead
        .drain(..)
        .map(|(path, entry)| (path, Ahead::Open(entry.wait())))
        .collect();
    *ahead = settled;
}

/// A database opened on first use: most commands need only one of the stores, and the
/// monitor's side of a start needs none it was not handed already. `prepare` runs once after
/// the open (a schema upgrade).
pub struct LazyDatabase {
    path: PathBuf,
    schema: &'static str,
    prepare: fn(&Connection) -> rusqlite::Result<()>,
    connection: OnceCell<Connection>,
}

impl LazyDatabase {
    pub fn new(
        path: PathBuf,
        schema: &'static str,
        prepare: fn(&Connection) -> rusqlite::Result<()>,
    ) -> Self {
        Self {
            path,
            schema,
            prepare,
            connection: OnceCell::new(),
        }
    }

    pub fn get(&self) -> rusqlite::Result<&Connection> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection);
        }
        let connection = match self.take_ahead() {
            Some(Ok(connection)) => connection,
            // Opened ahead and failed: once more here, for the error of this moment.
            _ => self.open()?,
        };
        Ok(self.connection.get_or_init(|| connection))
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        open_database_prepared(&self.path, self.schema, self.prepare)
    }

    /// Opens the database now, for the first `get` of this process (in any `LazyDatabase` of
    /// the same file) to use.
    pub fn open_ahead(&self) {
        if !self.is_open_or_opening() {
            let connection = self.open();
            ahead().push((self.path.clone(), Ahead::Open(connection)));
        }
    }

    /// `open_ahead` on another thread. `get` or `settle_ahead` waits for it.
    pub fn open_ahead_in_background(&self) {
        if !self.is_open_or_opening() {
            let (path, schema, prepare) = (self.path.clone(), self.schema, self.prepare);
            let thread = std::thread::spawn(move || open_database_prepared(&path, schema, prepare));
            ahead().push((self.path.clone(), Ahead::Opening(thread)));
        }
    }

    fn is_open_or_opening(&self) -> bool {
        self.connection.get().is_some() || ahead().iter().any(|(path, _)| *path == self.path)
    }

    fn take_ahead(&self) -> Option<rusqlite::Result<Connection>> {
        let entry = {
            let mut ahead = ahead();
            let index = ahead.iter().position(|(path, _)| *path == self.path)?;
            ahead.remove(index).1
        };
        Some(entry.wait())
    }

    /// Closes the connection; the next `get` opens one again. A forked child calls it on the
    /// connection the parent had open before it opens this database or any other: SQLite
    /// keeps its record of the locks a process holds on a file in the process's memory, one
    /// per file, shared by all its connections to it; a child inherits that record but not
    /// the locks (fcntl locks belong to the process). A connection the child opened while
    /// the parent's was still in its memory would believe it holds the parent's shared lock,
    /// take none, and another process could checkpoint and reset the WAL under it (seen as
    /// "file is not a database" or "attempt to write a readonly database" in the next
    /// `skiff`). Closing in the child is safe: a connection never
    /// checkpoints on close (`SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE`) and the parent forks with
    /// no transaction open, so the close only releases the child's copies of the mapping
    /// and descriptors; the parent's connection, locks and WAL are untouched.
    pub fn close(&mut self) {
        self.connection.take();
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For transactions, which need the connection to themselves.
    pub fn get_mut(&mut self) -> rusqlite::Result<&mut Connection> {
        self.get()?;
        self.connection
            .get_mut()
            .ok_or(rusqlite::Error::InvalidQuery)
    }
}

fn open_database_prepared(
    path: &Path,
    schema: &str,
    prepare: fn(&Connection) -> rusqlite::Result<()>,
) -> rusqlite::Result<Connection> {
    let connection = open_database(path, schema)?;
    prepare(&connection)?;
    Ok(connection)
}

/// No upgrade after opening.
pub fn unchanged(_: &Connection) -> rusqlite::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS t (v INTEGER);";

    fn count(db: &LazyDatabase) -> i64 {
        db.get()
            .unwrap()
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn databases_opened_ahead_serve_the_first_get_once() {
        let dir = std::env::temp_dir().join(format!("skiff-ahead-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.db"), dir.join("b.db"));
        let first = LazyDatabase::new(a.clone(), SCHEMA, unchanged);
        first.open_ahead_in_background();
        // Asked twice, opened once.
        first.open_ahead_in_background();
        LazyDatabase::new(b.clone(), SCHEMA, unchanged).open_ahead();
        settle_ahead();
        assert_eq!(
            ahead().iter().filter(|(p, _)| *p == a || *p == b).count(),
            2
        );
        assert_eq!(count(&first), 0);
        let second = LazyDatabase::new(b.clone(), SCHEMA, unchanged);
        assert_eq!(count(&second), 0);
        assert!(!ahead().iter().any(|(p, _)| *p == a || *p == b));
        // Nothing ahead: opened on first use as before.
        assert_eq!(count(&LazyDatabase::new(a, SCHEMA, unchanged)), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
