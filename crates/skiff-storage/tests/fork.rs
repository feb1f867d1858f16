//! A forked child that uses a database the parent has open (the container's monitor records
//! the start; a healthcheck reads the record) must hold real locks of its own on it. Alone in
//! its test binary: the child runs SQLite after fork(), which no other test thread may be in.
use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use skiff_storage::database::{LazyDatabase, unchanged};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS t (v INTEGER);";
/// Where SQLite's unix VFS takes a connection's shared lock on the database file
/// (`SHARED_FIRST`, `SHARED_SIZE`): a connection in WAL mode holds it while it is open.
const SHARED_FIRST: i64 = 0x4000_0002;
const SHARED_SIZE: i64 = 510;

#[test]
fn a_forked_child_holds_its_own_lock_on_a_database_the_parent_has_open() {
    let dir = std::env::temp_dir().join(format!("skiff-fork-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.db");
    let mut parent = LazyDatabase::new(path.clone(), SCHEMA, unchanged);
    parent
        .get()
        .unwrap()
        .execute("INSERT INTO t VALUES (1)", [])
        .unwrap();
    let (mut ready_read, mut ready_write) = std::io::pipe().unwrap();
    let (mut done_read, mut done_write) = std::io::pipe().unwrap();
    // SAFETY: this binary's only test; the child uses SQLite and leaves with _exit.
    #[allow(unsafe_code)]
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            parent.close();
            let own = LazyDatabase::new(path.clone(), SCHEMA, unchanged);
            let rows: i64 = own
                .get()
                .and_then(|db| db.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
                .unwrap_or(-1);
            let _ = ready_write.write_all(&[rows as u8]);
            let _ = done_read.read(&mut [0]);
            // SAFETY: leaving the child without the parent's destructors.
            #[allow(unsafe_code)]
            unsafe {
                libc::_exit(0)
            }
        }
        nix::unistd::ForkResult::Parent { child } => {
            let mut rows = [0u8];
            ready_read.read_exact(&mut rows).unwrap();
            assert_eq!(rows[0], 1, "the child reads the parent's row");
            // The lock this process's own would not conflict with: the child's, if it holds one.
            let file = std::fs::File::open(&path).unwrap();
            let mut probe = libc::flock {
                l_type: libc::F_WRLCK as i16,
                l_whence: libc::SEEK_SET as i16,
                l_start: SHARED_FIRST,
                l_len: SHARED_SIZE,
                l_pid: 0,
            };
            // SAFETY: F_GETLK fills in the flock structure it is given.
            #[allow(unsafe_code)]
            let probed = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut probe) };
            // Closing any descriptor of the file would drop this process's SQLite locks.
            std::mem::forget(file);
            done_write.write_all(b"x").unwrap();
            nix::sys::wait::waitpid(child, None).unwrap();
            assert_eq!(probed, 0);
            assert_eq!(
                (probe.l_type, probe.l_pid),
                (libc::F_RDLCK as i16, child.as_raw()),
                "the child holds a shared lock on the database file"
            );
        }
    }
    drop(parent);
    std::fs::remove_dir_all(dir).unwrap();
}
