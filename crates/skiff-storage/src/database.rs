//! SQLite as the stores use it: one file many `skiff` processes open at once. WAL lets readers
//! go on during a write; the busy timeout makes a second writer wait instead of failing.
use std::path::Path;

use rusqlite::Connection;

pub fn open_database(path: &Path, schema: &str) -> rusqlite::Result<Connection> {
    let db = Connection::open(path)?;
    db.busy_timeout(std::time::Duration::from_secs(30))?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "NORMAL")?;
    db.pragma_update(None, "foreign_keys", "ON")?;
    db.execute_batch(schema)?;
    Ok(db)
}
