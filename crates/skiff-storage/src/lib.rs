//! skiff-storage owns bytes on disk below an image: layers unpacked once and shared by every image
//! that names them, and the writable root filesystem of each container (overlayfs, or a vfs copy
//! where overlay cannot be mounted).
#![deny(unsafe_code)]

pub mod beneath;
pub mod changes;
pub mod database;
mod digest;
mod driver;
mod error;
mod layer;
pub mod lock;
pub mod rootcopy;
pub mod trash;
mod unpack;

pub use digest::{Digester, hex_digest, sha256_hex};
pub use driver::{Driver, RootfsLayout};
pub use error::StorageError;
pub use layer::{Compression, Expected, LayerBlob, LayerInfo, LayerStore};
pub use unpack::{OpaqueXattr, UnpackError};
