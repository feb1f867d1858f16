//! Advisory file locks (flock) that serialise work between concurrent `skiff` processes. The
//! kernel drops a lock when its holder dies, so a SIGKILLed process never leaves one behind.
use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use crate::error::{IoContext, StorageError};

pub struct FileLock {
    _lock: Flock<File>,
}

impl FileLock {
    /// Blocks until this process holds `path` exclusively.
    pub fn exclusive(path: &Path) -> Result<Self, StorageError> {
        Self::take(path, FlockArg::LockExclusive)
    }

    /// Blocks until this process shares `path` with other readers.
    pub fn shared(path: &Path) -> Result<Self, StorageError> {
        Self::take(path, FlockArg::LockShared)
    }

    /// Takes `path` exclusively if nobody holds it; None if someone does.
    pub fn try_exclusive(path: &Path) -> std::io::Result<Option<Self>> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Some(Self { _lock: lock })),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, errno)) => Err(errno.into()),
        }
    }

    fn take(path: &Path, how: FlockArg) -> Result<Self, StorageError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .io("open lock", path)?;
        let _ = file.as_fd();
        let lock = Flock::lock(file, how)
            .map_err(|(_, errno)| std::io::Error::from(errno))
            .io("lock", path)?;
        Ok(Self { _lock: lock })
    }
}
