//! skiff-image owns local images: their names (`registry/repo:tag`), OCI configs and ordered layer
//! lists, kept in an SQLite database beside the layer store that holds their content.
#![deny(unsafe_code)]

mod archive;
mod commit;
mod error;
mod reference;
mod store;
mod transfer;

pub use archive::{ArchiveFormat, SaveItem};
pub use commit::ChildImage;
pub use error::ImageError;
pub use reference::{Reference, ReferenceError, repository_and_tag};
pub use store::{Change, Image, ImageStore, ImportOptions, oci_architecture};
pub use transfer::{ManifestFormat, TransferEvent};
