//! The container database. One row per container; every change is one transaction, so a
//! `skiff` killed at any point leaves each container either fully registered or absent.
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use skiff_spec::ContainerSpec;
use skiff_storage::database::LazyDatabase;

use crate::error::EngineError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL,
    image_name TEXT NOT NULL,
    created TEXT NOT NULL,
    spec TEXT NOT NULL,
    driver TEXT NOT NULL,
    runtime TEXT NOT NULL,
    state TEXT NOT NULL,
    pid INTEGER NOT NULL DEFAULT 0,
    pid_start INTEGER NOT NULL DEFAULT 0,
    monitor_pid INTEGER NOT NULL DEFAULT 0,
    monitor_start INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER NOT NULL DEFAULT 0,
    started_at TEXT,
    finished_at TEXT,
    restart_count INTEGER NOT NULL DEFAULT 0,
    stopped_by_user INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS containers_by_image ON containers(image_id);
CREATE TABLE IF NOT EXISTS pods (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    infra_id TEXT NOT NULL DEFAULT '',
    spec TEXT NOT NULL
);
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Created,
    Running,
    Exited,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Running => "running",
            State::Exited => "exited",
        }
    }
    fn parse(value: &str) -> Self {
        match value {
            "running" => State::Running,
            "exited" => State::Exited,
            _ => State::Created,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    pub image_id: String,
    pub image_name: String,
    pub created: DateTime<Utc>,
    pub spec: ContainerSpec,
    pub driver: String,
    pub runtime: String,
    pub state: State,
    pub pid: i32,
    pub pid_start: u64,
    pub monitor_pid: i32,
    pub monitor_start: u64,
    pub exit_code: i32,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Restarts by the restart policy since the user last started it.
    pub restart_count: u32,
    /// `stop` (or `rm -f`) was asked for: the restart policy must not bring it back.
    pub stopped_by_user: bool,
}

/// Containers and pods (`crate::pod::store`): one database, so a member and its pod change
/// in one transaction.
pub struct ContainerStore {
    pub(crate) db: LazyDatabase,
}

const COLUMNS: &str = "id, name, image_id, image_name, created, spec, driver, runtime, state, pid, pid_start, monitor_pid, monitor_start, exit_code, started_at, finished_at, restart_count, stopped_by_user";

/// Columns added after the first release, for databases created before them.
const ADDED_COLUMNS: &[(&str, &str)] = &[
    ("restart_count", "INTEGER NOT NULL DEFAULT 0"),
    ("stopped_by_user", "INTEGER NOT NULL DEFAULT 0"),
];

/// The container or pod other than `except` that has `name`: containers and pods share
/// one set of names, as in Podman.
pub(crate) fn name_owner(
    db: &Connection,
    name: &str,
    except: &str,
) -> rusqlite::Result<Option<String>> {
    db.query_row(
        "SELECT id FROM containers WHERE name = ?1 AND id != ?2 UNION ALL SELECT id FROM pods WHERE name = ?1 AND id != ?2 LIMIT 1",
        [name, except],
        |r| r.get::<_, String>(0),
    )
    .optional()
}

pub(crate) fn time(value: Option<String>) -> Option<DateTime<Utc>> {
    value.and_then(|v| v.parse().ok())
}

/// Columns later versions added, to a database an earlier one made.
fn add_columns(db: &Connection) -> rusqlite::Result<()> {
    let present: Vec<String> = db
        .prepare("SELECT name FROM pragma_table_info('containers')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (column, definition) in ADDED_COLUMNS {
        if !present.iter().any(|p| p == column) {
            // Two processes may race here: the loser's "duplicate column" is harmless.
            let _ = db.execute_batch(&format!(
                "ALTER TABLE containers ADD COLUMN {column} {definition}"
            ));
        }
    }
    Ok(())
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ContainerRecord> {
    let spec: String = row.get(5)?;
    Ok(ContainerRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        image_id: row.get(2)?,
        image_name: row.get(3)?,
        created: time(row.get(4)?).unwrap_or_default(),
        spec: serde_json::from_str(&spec).unwrap_or_default(),
        driver: row.get(6)?,
        runtime: row.get(7)?,
        state: State::parse(&row.get::<_, String>(8)?),
        pid: row.get(9)?,
        pid_start: row.get::<_, i64>(10)? as u64,
        monitor_pid: row.get(11)?,
        monitor_start: row.get::<_, i64>(12)? as u64,
        exit_code: row.get(13)?,
        started_at: time(row.get(14)?),
        finished_at: time(row.get(15)?),
        restart_count: row.get::<_, i64>(16)? as u32,
        stopped_by_user: row.get::<_, i64>(17)? != 0,
    })
}

impl ContainerStore {
    /// The database opens on first use.
    pub fn open(root: &Path) -> Self {
        Self {
            db: Self::database(root),
        }
    }

    fn database(root: &Path) -> LazyDatabase {
        LazyDatabase::new(root.join("containers.db"), SCHEMA, add_columns)
    }

    /// See `Engine::close_databases`.
    pub fn close_database(&mut self) {
        self.db.close();
    }

    /// Opens the database of the store under `root` now, for the store opened later in this
    /// process (see `LazyDatabase::open_ahead`).
    pub fn open_database_ahead(root: &Path) {
        Self::database(root).open_ahead();
    }

    /// Opens the database on another thread (see `LazyDatabase::open_ahead_in_background`).
    pub fn open_ahead_in_background(&self) {
        self.db.open_ahead_in_background();
    }

    /// Registers a new container; fails with NameInUse if the name is taken (by a container
    /// or a pod), and with NoSuchPod when the pod it joins is gone.
    pub fn insert(&mut self, record: &ContainerRecord) -> Result<(), EngineError> {
        let tx = self
            .db
            .get_mut()?
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(owner) = name_owner(&tx, &record.name, "")? {
            return Err(EngineError::NameInUse(record.name.clone(), owner));
        }
        if let Some(pod) = &record.spec.pod
            && tx
                .query_row("SELECT 1 FROM pods WHERE id = ?1", [pod], |_| Ok(()))
                .optional()?
                .is_none()
        {
            return Err(EngineError::NoSuchPod(pod.clone()));
        }
        tx.execute(
            &format!("INSERT INTO containers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, 0, 0, 0, 0, NULL, NULL, 0, 0)"),
            params![
                record.id,
                record.name,
                record.image_id,
                record.image_name,
                record.created.to_rfc3339(),
                serde_json::to_string(&record.spec)?,
                record.driver,
                record.runtime,
                record.state.as_str()
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn list(&self) -> Result<Vec<ContainerRecord>, EngineError> {
        let mut statement = self.db.get()?.prepare(&format!(
            "SELECT {COLUMNS} FROM containers ORDER BY created DESC"
        ))?;
        let rows = statement.query_map([], read_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn get(&self, id: &str) -> Result<Option<ContainerRecord>, EngineError> {
        Ok(self
            .db
            .get()?
            .query_row(
                &format!("SELECT {COLUMNS} FROM containers WHERE id = ?1"),
                [id],
                read_row,
            )
            .optional()?)
    }

    /// Finds by exact name, full ID, or unique ID prefix.
    pub fn lookup(&self, name_or_id: &str) -> Result<ContainerRecord, EngineError> {
        if let Some(found) = self
            .db
            .get()?
            .query_row(
                &format!("SELECT {COLUMNS} FROM containers WHERE name = ?1 OR id = ?1"),
                [name_or_id],
                read_row,
            )
            .optional()?
        {
            return Ok(found);
        }
        if !name_or_id.is_empty() && name_or_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut statement = self.db.get()?.prepare(&format!(
                "SELECT {COLUMNS} FROM containers WHERE id >= ?1 AND id < ?2 LIMIT 2"
            ))?;
            let upper = format!("{name_or_id}\u{7f}");
            let found: Vec<ContainerRecord> = statement
                .query_map([name_or_id, upper.as_str()], read_row)?
                .collect::<Result<_, _>>()?;
            if let [one] = found.as_slice() {
                return Ok(one.clone());
            }
        }
        Err(EngineError::NoSuchContainer(name_or_id.to_string()))
    }

    pub fn set_running(
        &self,
        id: &str,
        pid: i32,
        pid_start: u64,
        monitor_pid: i32,
        monitor_start: u64,
    ) -> Result<(), EngineError> {
        self.db.get()?.execute(
            "UPDATE containers SET state = 'running', pid = ?2, pid_start = ?3, monitor_pid = ?4, monitor_start = ?5, exit_code = 0, started_at = ?6, finished_at = NULL WHERE id = ?1",
            params![id, pid, pid_start as i64, monitor_pid, monitor_start as i64, Utc::now().to_rfc3339()],
        )?;
        Ok(())
    }

    /// Records an exit. Only a container still marked running changes, so a late or repeated
    /// report cannot overwrite a newer start.
    pub fn set_exited(
        &self,
        id: &str,
        pid: i32,
        code: i32,
        finished: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        self.db.get()?.execute(
            "UPDATE containers SET state = 'exited', exit_code = ?3, finished_at = ?4 WHERE id = ?1 AND state = 'running' AND pid = ?2",
            params![id, pid, code, finished.to_rfc3339()],
        )?;
        Ok(())
    }

    /// A start by the user: the restart policy applies again, counting from zero.
    pub fn started_by_user(&self, id: &str) -> Result<(), EngineError> {
        self.db.get()?.execute(
            "UPDATE containers SET stopped_by_user = 0, restart_count = 0 WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    pub fn set_stopped_by_user(&self, id: &str) -> Result<(), EngineError> {
        self.db.get()?.execute(
            "UPDATE containers SET stopped_by_user = 1 WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    pub fn count_restart(&self, id: &str) -> Result<(), EngineError> {
        self.db.get()?.execute(
            "UPDATE containers SET restart_count = restart_count + 1 WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    pub fn update_spec(&self, id: &str, spec: &ContainerSpec) -> Result<(), EngineError> {
        self.db.get()?.execute(
            "UPDATE containers SET spec = ?2 WHERE id = ?1",
            params![id, serde_json::to_string(spec)?],
        )?;
        Ok(())
    }

    /// Gives a container a new name; fails with NameInUse if another has it.
    pub fn rename(&mut self, id: &str, name: &str) -> Result<(), EngineError> {
        let tx = self
            .db
            .get_mut()?
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(owner) = name_owner(&tx, name, id)? {
            return Err(EngineError::NameInUse(name.to_string(), owner));
        }
        tx.execute("UPDATE containers SET name = ?2 WHERE id = ?1", [id, name])?;
        tx.commit()?;
        Ok(())
    }

    pub fn delete(&self, id: &str) -> Result<bool, EngineError> {
        Ok(self
            .db
            .get()?
            .execute("DELETE FROM containers WHERE id = ?1", [id])?
            > 0)
    }

    /// The containers made from the image, or that mount it (`--mount type=image`).
    pub fn users_of_image(&self, image_id: &str) -> Result<Vec<String>, EngineError> {
        let mut statement = self.db.get()?.prepare(
            "SELECT id FROM containers WHERE image_id = ?1 OR EXISTS (SELECT 1 FROM json_each(spec, '$.mounts') WHERE json_extract(value, '$.type') = 'image' AND json_extract(value, '$.image') = ?1)",
        )?;
        let ids = statement
            .query_map([image_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }
}
