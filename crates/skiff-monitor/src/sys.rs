//! The few system calls the monitor makes, as small safe wrappers over libc.
use alloc::ffi::CString;
use alloc::vec::Vec;

/// The calling thread's errno.
pub fn errno() -> i32 {
    // SAFETY: __errno_location returns a valid pointer to this thread's errno.
    #[allow(unsafe_code)]
    unsafe {
        *libc::__errno_location()
    }
}

fn c_string(text: &str) -> Option<CString> {
    CString::new(text.as_bytes()).ok()
}

/// Writes all of `bytes` to `fd`; gives up on errors (the reader may be gone).
pub fn write_all(fd: i32, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: writing from a valid slice.
        #[allow(unsafe_code)]
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            return false;
        }
        bytes = &bytes[n as usize..];
    }
    true
}

/// Reads into `buffer`; the count, 0 at end of file, or -1 with errno set.
pub fn read(fd: i32, buffer: &mut [u8]) -> isize {
    // SAFETY: reading into a valid, writable slice.
    #[allow(unsafe_code)]
    unsafe {
        libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len())
    }
}

/// Accepts one connection on a listening socket (close-on-exec); None if there is none.
pub fn accept(listener: i32) -> Option<i32> {
    // SAFETY: accept4 without an address buffer.
    #[allow(unsafe_code)]
    let fd = unsafe {
        libc::accept4(
            listener,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            libc::SOCK_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    // A client that stops reading must not stall the container: a send that cannot go on
    // for two seconds fails, and the monitor drops that client (the log keeps everything).
    let timeout = libc::timeval {
        tv_sec: 2,
        tv_usec: 0,
    };
    // SAFETY: setsockopt reads the timeval given, of the size given.
    #[allow(unsafe_code)]
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&timeout as *const libc::timeval).cast(),
            core::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    Some(fd)
}

/// Waits up to `timeout_ms` for `fd` to be readable (or at its end); false on timeout.
pub fn wait_readable(fd: i32, timeout_ms: i32) -> bool {
    let mut watched = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let deadline = monotonic_millis() + i64::from(timeout_ms);
    loop {
        let left = (deadline - monotonic_millis()).max(0) as i32;
        // SAFETY: one valid pollfd.
        #[allow(unsafe_code)]
        let ready = unsafe { libc::poll(&mut watched, 1, left) };
        if ready >= 0 || errno() != libc::EINTR {
            return ready > 0;
        }
    }
}

/// Milliseconds on the monotonic clock.
pub fn monotonic_millis() -> i64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec given.
    #[allow(unsafe_code)]
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now);
    }
    now.tv_sec * 1000 + now.tv_nsec / 1_000_000
}

/// One write; the count, or -1 with errno set (EAGAIN on a full non-blocking descriptor).
pub fn write(fd: i32, bytes: &[u8]) -> isize {
    // SAFETY: writing from a valid slice.
    #[allow(unsafe_code)]
    unsafe {
        libc::write(fd, bytes.as_ptr().cast(), bytes.len())
    }
}

pub fn set_nonblocking(fd: i32) {
    // SAFETY: fcntl on an integer descriptor with integer flags.
    #[allow(unsafe_code)]
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

pub fn close(fd: i32) {
    // SAFETY: the caller owns `fd` and does not use it afterwards.
    #[allow(unsafe_code)]
    unsafe {
        libc::close(fd);
    }
}

/// Points standard input, output and error at /dev/null.
pub fn stdio_to_null() {
    // SAFETY: a NUL-terminated literal path, then plain descriptor calls.
    #[allow(unsafe_code)]
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            if null > 2 {
                libc::close(null);
            }
        }
    }
}

/// Opens `path` for appending (created 0640 if missing); -1 on failure.
/// The size of an open file (0 when it cannot be told).
pub fn file_size(fd: i32) -> u64 {
    // SAFETY: lseek on a descriptor; no pointers.
    #[allow(unsafe_code)]
    let end = unsafe { libc::lseek(fd, 0, libc::SEEK_END) };
    end.max(0) as u64
}

/// Empties a file (one opened for appending goes on writing at its start).
pub fn truncate(fd: i32) {
    // SAFETY: ftruncate on a descriptor; no pointers.
    #[allow(unsafe_code)]
    unsafe {
        libc::ftruncate(fd, 0);
    }
}

pub fn open_append(path: &str) -> i32 {
    let Some(path) = c_string(path) else {
        return -1;
    };
    // SAFETY: a NUL-terminated path.
    #[allow(unsafe_code)]
    unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC,
            0o640,
        )
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers see all or nothing.
pub fn write_file_atomically(path: &str, bytes: &[u8]) -> bool {
    let temporary = alloc::format!("{path}.tmp");
    let (Some(c_temporary), Some(c_path)) = (c_string(&temporary), c_string(path)) else {
        return false;
    };
    // SAFETY: NUL-terminated paths; the descriptor is closed before the rename.
    #[allow(unsafe_code)]
    unsafe {
        let fd = libc::open(
            c_temporary.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
            0o644,
        );
        if fd < 0 {
            return false;
        }
        let written = write_all(fd, bytes);
        libc::close(fd);
        written && libc::rename(c_temporary.as_ptr(), c_path.as_ptr()) == 0
    }
}

/// Nanoseconds since the Unix epoch.
pub fn unix_nanos() -> i64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the local.
    #[allow(unsafe_code)]
    unsafe {
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut now);
    }
    now.tv_sec * 1_000_000_000 + now.tv_nsec
}

/// Replaces this process with `command` (argv[0] is the program path). Returns on failure.
pub fn exec(command: &[alloc::string::String]) {
    let Some(strings) = command
        .iter()
        .map(|a| c_string(a))
        .collect::<Option<Vec<_>>>()
    else {
        return;
    };
    if strings.is_empty() {
        return;
    }
    let mut pointers: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
    pointers.push(core::ptr::null());
    // SAFETY: a NULL-terminated array of valid C strings that outlive the call.
    #[allow(unsafe_code)]
    unsafe {
        libc::execv(pointers[0], pointers.as_ptr());
    }
}

/// Starts `command` in a child process with stdio on /dev/null, no descriptor of ours beyond
/// those and no blocked signal; its PID, or None when it could not be forked.
pub fn spawn(command: &[alloc::string::String]) -> Option<i32> {
    // SAFETY: fork, then only async-signal-safe calls in the child before exec (or _exit).
    #[allow(unsafe_code)]
    unsafe {
        let pid = libc::fork();
        if pid != 0 {
            return (pid > 0).then_some(pid);
        }
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, core::ptr::null_mut());
        stdio_to_null();
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        exec(command);
        libc::_exit(127);
    }
}
