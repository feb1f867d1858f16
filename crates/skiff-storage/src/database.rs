//! SQLite as the stores use it: one file many `skiff` processes open at once. WAL lets readers
//! go on during a write; the busy timeout makes a second writer wait instead of failing.
use std::cell::OnceCell;
use std::path::{Path, PathBuf};

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
        let connection = open_database(&self.path, self.schema)?;
        (self.prepare)(&connection)?;
        Ok(self.connection.get_or_init(|| connection))
    }

    /// For transactions, which need the connection to themselves.
    pub fn get_mut(&mut self) -> rusqlite::Result<&mut Connection> {
        self.get()?;
        self.connection
            .get_mut()
            .ok_or(rusqlite::Error::InvalidQuery)
    }
}

/// No upgrade after opening.
pub fn unchanged(_: &Connection) -> rusqlite::Result<()> {
    Ok(())
}
