//! Containers: their records in `containers.db`, their lifecycle, and the reports about them.
pub mod commit;
pub mod cp;
pub mod exec;
pub mod files;
pub mod filter;
pub mod freezer;
pub mod health;
pub mod lifecycle;
pub mod limits;
pub mod logs;
pub mod report;
pub mod run;
pub mod stats;
pub mod store;
pub mod top;
mod userns;
