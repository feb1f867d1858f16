#!/usr/bin/env python3
"""The dashboard in headless Chromium, driven through the DevTools protocol on a pipe (as the
tests drive it): `dashboard_cdp.py URL RUNS COMMAND...` prints, in ms, the median first render
of the containers page (navigation start to every row shown), then the median delay between
COMMAND (the CLI creating a container, its name where `{}` is) returning and the container
showing in the page, without a reload."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="skiff-bench-chromium-")
        commands_read, self.commands = os.pipe()
        self.replies, replies_write = os.pipe()

        def pipe_on_3_and_4():
            low_in, low_out = os.dup(commands_read), os.dup(replies_write)
            os.dup2(low_in, 3)
            os.dup2(low_out, 4)

        self.process = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=pipe_on_3_and_4, close_fds=False,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(commands_read)
        os.close(replies_write)
        self.buffer = b""
        self.next_id = 0
        self.session = None

    def call(self, method, params=None, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.buffer:
                chunk = os.read(self.replies, 65536)
                if not chunk:
                    raise SystemExit(f"chromium exited during {method}")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise SystemExit(f"{method}: {reply['error']}")
                return reply["result"]

    def open(self, url):
        """A new tab showing `url`: navigated once attached, so that what runs next runs in
        its document."""
        target = self.call("Target.createTarget", {"url": "about:blank"},
                           session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        self.call("Page.navigate", {"url": url})
        return target

    def close(self, target):
        self.call("Target.closeTarget", {"targetId": target}, session=False)
        self.session = None

    def eval(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True})
        if "exceptionDetails" in result:
            raise SystemExit(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def quit(self):
        self.process.kill()
        self.process.wait()


def main():
    url, runs, create = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    browser = Browser()
    renders = []
    for _ in range(runs):
        target = browser.open(url + "#containers")
        # Runs in the page as soon as it has a document; performance.now() counts from the
        # navigation's start.
        renders.append(browser.eval("""new Promise((resolve) => {
            const rows = () => document.querySelectorAll('#container-rows tr').length;
            const check = () => rows() >= 100 ? resolve(performance.now()) : setTimeout(check, 1);
            check();
        })"""))
        browser.close(target)
    browser.open(url + "#containers")
    browser.eval("""new Promise((resolve) => {
        const check = () => document.querySelectorAll('#container-rows tr').length >= 100
            ? resolve() : setTimeout(check, 5);
        check();
    })""")
    browser.eval("""window.seen = {};
        new MutationObserver(() => {
            for (const row of document.querySelectorAll('#container-rows tr')) {
                if (!(row.dataset.container in window.seen)) window.seen[row.dataset.container] = Date.now();
            }
        }).observe(document.querySelector('#container-rows'), {childList: true});
        for (const row of document.querySelectorAll('#container-rows tr')) window.seen[row.dataset.container] = 0;""")
    delays = []
    for i in range(runs):
        name = f"bench-event-{i}"
        command = [name if arg == "{}" else arg for arg in create]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        returned = time.time() * 1000
        deadline = time.time() + 10
        while (shown := browser.eval(f"window.seen[{json.dumps(name)}]")) is None:
            if time.time() > deadline:
                raise SystemExit(f"{name} never showed in the page")
            time.sleep(0.002)
        delays.append(max(shown - returned, 0))
    browser.quit()
    print("%.1f %.1f" % (statistics.median(renders), statistics.median(delays)))


if __name__ == "__main__":
    main()
