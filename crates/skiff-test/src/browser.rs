//! A real browser for tests: headless Chromium driven through the DevTools protocol on a pipe
//! (`--remote-debugging-pipe`, as Playwright drives it). A test opens a page, runs script in
//! it, waits for what the page shows, has its dialogs answered and takes screenshots.
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

pub struct Browser {
    child: Child,
    commands: File,
    replies: BufReader<File>,
    session: String,
    next_id: u64,
    /// The messages of the dialogs (`confirm`, `alert`) the page opened, each accepted.
    pub dialogs: Vec<String>,
}

impl Browser {
    /// Chromium with a fresh profile under `profile`, showing `url`.
    pub fn open(url: &str, profile: &Path) -> Self {
        let (commands_read, commands) = pipe();
        let (replies, replies_write) = pipe();
        let (theirs_in, theirs_out) = (commands_read.as_raw_fd(), replies_write.as_raw_fd());
        let mut command = Command::new("chromium");
        command
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--window-size=1280,900",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only fcntl and dup2 between fork and exec: the protocol's pipe is fds 3 and
        // 4 (moved above them first, in case either is already one of them).
        #[allow(unsafe_code)]
        unsafe {
            command.pre_exec(move || {
                let (input, output) = (
                    libc::fcntl(theirs_in, libc::F_DUPFD, 10),
                    libc::fcntl(theirs_out, libc::F_DUPFD, 10),
                );
                if input < 0 || output < 0 || libc::dup2(input, 3) < 0 || libc::dup2(output, 4) < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .expect("chromium (tests/setup.sh installs it)");
        drop((commands_read, replies_write));
        let mut browser = Self {
            child,
            commands: File::from(commands),
            replies: BufReader::new(File::from(replies)),
            session: String::new(),
            next_id: 0,
            dialogs: Vec::new(),
        };
        let target = browser.call("Target.createTarget", json!({"url": url}));
        let target = target["targetId"]
            .as_str()
            .expect("a target id")
            .to_string();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        browser.session = attached["sessionId"].as_str().expect("a session").into();
        browser.call("Page.enable", json!({}));
        browser
    }

    /// Sends a command (to the page once attached) and returns its result, answering the
    /// page's dialogs while it waits.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .unwrap_or_else(|e| panic!("chromium went away: {e}"));
        loop {
            let mut raw = Vec::new();
            let read = self
                .replies
                .read_until(0, &mut raw)
                .expect("read from chromium");
            assert!(read > 0, "chromium exited during {method}");
            raw.pop();
            let reply: Value = serde_json::from_slice(&raw).expect("a protocol message");
            if reply["id"] == json!(id) {
                if let Some(error) = reply.get("error") {
                    panic!("{method}: {error}");
                }
                return reply["result"].clone();
            }
            if reply["method"] == "Page.javascriptDialogOpening" {
                let text = reply["params"]["message"].as_str().unwrap_or_default();
                self.dialogs.push(text.to_string());
                self.next_id += 1;
                let answer = json!({
                    "id": self.next_id,
                    "method": "Page.handleJavaScriptDialog",
                    "params": {"accept": true},
                    "sessionId": self.session,
                });
                let mut bytes = answer.to_string().into_bytes();
                bytes.push(0);
                self.commands.write_all(&bytes).expect("answer a dialog");
            }
        }
    }

    /// The value of a script expression in the page (a promise is awaited); a script that
    /// throws fails the test with the page's message.
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression}: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is true in the page; on timeout the test fails with `what`
    /// and the page's text.
    pub fn wait_for(&mut self, expression: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let probe = format!(
            "(() => {{ try {{ return !!({expression}); }} catch (_) {{ return false; }} }})()"
        );
        while self.eval(&probe) != json!(true) {
            if Instant::now() > deadline {
                let text = self.eval("document.body ? document.body.innerText : ''");
                panic!("timed out waiting for {what}; the page shows:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `text` into the focused element, as a keyboard would (one input event).
    pub fn type_text(&mut self, text: &str) {
        self.call("Input.insertText", json!({ "text": text }));
    }

    /// Presses Enter in the focused element.
    pub fn press_enter(&mut self) {
        for kind in ["keyDown", "keyUp"] {
            let mut event = json!({
                "type": kind,
                "key": "Enter",
                "code": "Enter",
                "windowsVirtualKeyCode": 13,
            });
            if kind == "keyDown" {
                event["text"] = json!("\r");
            }
            self.call("Input.dispatchKeyEvent", event);
        }
    }

    /// A PNG of the whole page as it is now.
    pub fn screenshot(&mut self, path: &Path) {
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or_default())
            .expect("a base64 screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create the screenshot directory");
        }
        std::fs::write(path, png).expect("write the screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let (read, write) = std::io::pipe().expect("pipe");
    (read.into(), write.into())
}
