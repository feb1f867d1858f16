//! Pods' rows in the container database (`pods`, beside `containers`): a pod and its
//! members change in one database, and pods and containers share one set of names.
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use skiff_spec::PodSpec;

use crate::container::store::{ContainerRecord, ContainerStore, name_owner, time};
use crate::error::EngineError;

#[derive(Debug, Clone)]
pub struct PodRecord {
    pub id: String,
    pub name: String,
    pub created: DateTime<Utc>,
    /// The container holding the shared namespaces, if the pod has one.
    pub infra_id: Option<String>,
    pub spec: PodSpec,
}

const COLUMNS: &str = "id, name, created, infra_id, spec";

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PodRecord> {
    let infra: String = row.get(3)?;
    let spec: String = row.get(4)?;
    Ok(PodRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        created: time(row.get(2)?).unwrap_or_default(),
        infra_id: (!infra.is_empty()).then_some(infra),
        spec: serde_json::from_str(&spec).unwrap_or_default(),
    })
}

impl ContainerStore {
    /// Registers a new pod; fails with PodExists if a pod or container has its name.
    pub fn insert_pod(&mut self, record: &PodRecord) -> Result<(), EngineError> {
        let tx = self
            .db
            .get_mut()?
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if name_owner(&tx, &record.name, "")?.is_some() {
            return Err(EngineError::PodExists(record.name.clone()));
        }
        tx.execute(
            &format!("INSERT INTO pods ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"),
            params![
                record.id,
                record.name,
                record.created.to_rfc3339(),
                record.infra_id.as_deref().unwrap_or_default(),
                serde_json::to_string(&record.spec)?,
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn set_pod_infra(&self, pod: &str, infra: &str) -> Result<(), EngineError> {
        self.db
            .get()?
            .execute("UPDATE pods SET infra_id = ?2 WHERE id = ?1", [pod, infra])?;
        Ok(())
    }

    /// Newest first, as `pod ps` lists them.
    pub fn list_pods(&self) -> Result<Vec<PodRecord>, EngineError> {
        let mut statement = self
            .db
            .get()?
            .prepare(&format!("SELECT {COLUMNS} FROM pods ORDER BY created DESC"))?;
        let rows = statement.query_map([], read_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn pod(&self, id: &str) -> Result<Option<PodRecord>, EngineError> {
        Ok(self
            .db
            .get()?
            .query_row(
                &format!("SELECT {COLUMNS} FROM pods WHERE id = ?1"),
                [id],
                read_row,
            )
            .optional()?)
    }

    /// Finds by exact name, full ID, or unique ID prefix.
    pub fn lookup_pod(&self, name_or_id: &str) -> Result<PodRecord, EngineError> {
        let db = self.db.get()?;
        if let Some(found) = db
            .query_row(
                &format!("SELECT {COLUMNS} FROM pods WHERE name = ?1 OR id = ?1"),
                [name_or_id],
                read_row,
            )
            .optional()?
        {
            return Ok(found);
        }
        if !name_or_id.is_empty() && name_or_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut statement = db.prepare(&format!(
                "SELECT {COLUMNS} FROM pods WHERE id >= ?1 AND id < ?2 LIMIT 2"
            ))?;
            let upper = format!("{name_or_id}\u{7f}");
            let found: Vec<PodRecord> = statement
                .query_map([name_or_id, upper.as_str()], read_row)?
                .collect::<Result<_, _>>()?;
            if let [one] = found.as_slice() {
                return Ok(one.clone());
            }
        }
        Err(EngineError::NoSuchPod(name_or_id.to_string()))
    }

    /// The pod's containers, its infra container among them, oldest first.
    pub fn pod_members(&self, pod: &str) -> Result<Vec<ContainerRecord>, EngineError> {
        let mut members: Vec<ContainerRecord> = self
            .list()?
            .into_iter()
            .filter(|c| c.spec.pod.as_deref() == Some(pod))
            .collect();
        members.reverse();
        Ok(members)
    }

    /// Deletes the pod's row if no container belongs to it any more; false if one does.
    pub fn delete_pod(&mut self, id: &str) -> Result<bool, EngineError> {
        let tx = self
            .db
            .get_mut()?
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let members: i64 = tx.query_row(
            "SELECT count(*) FROM containers WHERE json_extract(spec, '$.pod') = ?1",
            [id],
            |r| r.get(0),
        )?;
        if members > 0 {
            return Ok(false);
        }
        tx.execute("DELETE FROM pods WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(true)
    }
}
