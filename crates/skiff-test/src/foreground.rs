//! A skiff running in the foreground (`compose up`, `kube play --wait`, `events`): in a process
//! group of its own, so nothing it started outlives the test (cargo waits for every holder of
//! a test's output), its output read by threads as it comes.
use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A child leading its own process group; the whole group is killed when this goes.
pub struct Group(pub Child);

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: killpg takes plain integers.
        unsafe { libc::killpg(self.0.id() as i32, libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

pub struct Foreground {
    group: Group,
    stdout: Receiver<String>,
    stderr: JoinHandle<String>,
}

impl Foreground {
    /// Starts `command` (its stdout and stderr piped) leading a process group of its own, with
    /// SIGINT and SIGHUP at their default actions as from a terminal (a test run in the
    /// background, or under nohup, would otherwise pass on their being ignored).
    pub fn spawn(mut command: Command) -> Self {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGHUP, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("start skiff");
        let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut { stderr }, &mut text);
            text
        });
        Self {
            group: Group(child),
            stdout: receive,
            stderr,
        }
    }

    /// The next line of stdout, if one comes within `timeout`.
    pub fn line(&self, timeout: Duration) -> Option<String> {
        self.stdout.recv_timeout(timeout).ok()
    }

    /// Waits (up to 60 s) for a line of stdout holding `text`.
    pub fn expect_line(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.line(left) {
                Some(line) if line.contains(text) => return,
                Some(_) => {}
                None => break,
            }
        }
        panic!("no line with {text:?}");
    }

    /// Ctrl-C (SIGINT to the process itself), then [`Foreground::finish`].
    pub fn interrupt(self) -> (Option<i32>, String, String) {
        // SAFETY: kill takes plain integers.
        unsafe { libc::kill(self.group.0.id() as i32, libc::SIGINT) };
        self.finish()
    }

    /// Waits (up to 60 s) for the process to end: its exit code, the rest of its stdout, and
    /// its stderr.
    pub fn finish(mut self) -> (Option<i32>, String, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.group.0.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "skiff still runs after 60 s");
            std::thread::sleep(Duration::from_millis(50));
        };
        let Foreground {
            group,
            stdout,
            stderr,
        } = self;
        drop(group);
        // The reader ends with the pipe; what still holds it (a stray child) is not waited for.
        let mut rest = Vec::new();
        while let Ok(line) = stdout.recv_timeout(Duration::from_secs(5)) {
            rest.push(line);
        }
        (status.code(), rest.join("\n"), stderr.join().unwrap())
    }
}
