// skiff's dashboard: the Docker-compatible API of the same service, read and acted on from
// the page. Lists refresh on each event of the engine's event stream, so what the CLI does
// shows here too, without a reload.
"use strict";
const API = "/v1.44";
const LIBPOD = "/v4.0.0/libpod";
const PROJECT = "com.docker.compose.project";
const $ = (selector) => document.querySelector(selector);
let tab = "overview";
// The last event shown (Docker's timeNano), where a broken event stream picks up again.
let lastEvent = (Date.now() - 600 * 1000) * 1e6;

function say(text, ok) {
  const message = $("#message");
  message.textContent = text;
  message.className = ok ? "ok" : "";
  message.hidden = !text;
}

// A failed response as an error with the engine's message.
async function failure(response) {
  let text = response.statusText;
  try { text = (await response.json()).message || text; } catch (_) { /* not JSON */ }
  return new Error(text);
}

async function call(method, path, body) {
  const response = await fetch((path.startsWith("/libpod/") ? LIBPOD + path.slice(7) : API + path), {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
  });
  if (!response.ok) throw await failure(response);
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.arrayBuffer();
}

// A description list of [term, description] pairs, replacing what `list` showed.
function describe(list, pairs) {
  list.replaceChildren();
  for (const [key, value] of pairs) {
    const dt = document.createElement("dt");
    dt.textContent = key;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function button(td, label, onClick) {
  const element = document.createElement("button");
  element.textContent = label;
  element.addEventListener("click", onClick);
  td.appendChild(element);
}

// The objects whose inspect is shown, by API path: shown again when their list refreshes.
const inspected = new Set();

// An Inspect button that shows (or hides) the object's inspect in a row under `row`.
function inspectButton(td, row, path) {
  const show = async () => {
    try {
      const shown = document.createElement("tr");
      shown.className = "inspect";
      const pre = document.createElement("pre");
      pre.textContent = JSON.stringify(await call("GET", path), null, 2);
      const inside = cell(shown, "");
      inside.colSpan = row.children.length;
      inside.appendChild(pre);
      row.after(shown);
    } catch (error) {
      inspected.delete(path);
      say("Inspect: " + error.message);
    }
  };
  button(td, "Inspect", () => {
    const next = row.nextElementSibling;
    if (next && next.classList.contains("inspect")) {
      inspected.delete(path);
      return next.remove();
    }
    inspected.add(path);
    return show();
  });
  // Once the row is in its table (the list is drawn in one go).
  if (inspected.has(path)) queueMicrotask(show);
}

// A click that acts on the engine (after the user confirms, if asked), says how it went and
// refreshes.
function acting(label, run, confirmText) {
  return async () => {
    if (confirmText && !window.confirm(confirmText)) return;
    try {
      await run();
      say(label + ": done", true);
    } catch (error) {
      say(label + ": " + error.message);
    }
    refresh();
  };
}

function action(td, label, run, confirmText) {
  button(td, label, acting(label, run, confirmText));
}

const views = {
  async overview() {
    const info = await call("GET", "/info");
    const rows = [
      ["Engine", "skiff " + (info.ServerVersion || "")],
      ["Containers", `${info.Containers} (${info.ContainersRunning} running, ${info.ContainersPaused} paused, ${info.ContainersStopped} stopped)`],
      ["Images", String(info.Images)],
      ["Storage", info.DockerRootDir || ""],
      ["Kernel", info.KernelVersion || ""],
    ];
    describe($("#info"), rows);
    const df = await call("GET", "/system/df");
    const size = (items, field) => items.reduce((sum, item) => sum + Math.max(item[field] || 0, 0), 0);
    const body = $("#disk-rows");
    body.replaceChildren();
    const volumes = df.Volumes || [];
    for (const [kind, items, active, used] of [
      ["Images", df.Images || [], (df.Images || []).filter((i) => i.Containers > 0).length, df.LayersSize || 0],
      ["Containers", df.Containers || [], (df.Containers || []).filter((c) => c.State === "running").length, size(df.Containers || [], "SizeRw")],
      ["Local volumes", volumes, volumes.filter((v) => ((v.UsageData || {}).RefCount || 0) > 0).length, size(volumes.map((v) => v.UsageData || {}), "Size")],
    ]) {
      const row = document.createElement("tr");
      row.dataset.kind = kind;
      cell(row, kind);
      cell(row, String(items.length));
      cell(row, String(active));
      cell(row, bytes(used));
      body.appendChild(row);
    }
  },

  async containers() {
    const [containers, pods] = await Promise.all([
      call("GET", "/containers/json?all=1"),
      call("GET", "/libpod/pods/json").catch(() => []),
    ]);
    const podOf = new Map();
    for (const pod of pods) for (const member of pod.Containers || []) podOf.set(member.Id, pod.Name);
    // What is gone is no longer selected.
    const present = new Set(containers.map((c) => c.Id));
    for (const id of selected) if (!present.has(id)) selected.delete(id);
    const filter = $("#filter").value.toLowerCase();
    const body = $("#container-rows");
    body.replaceChildren();
    for (const c of containers) {
      const name = (c.Names[0] || c.Id).replace(/^\//, "");
      if (filter && !name.toLowerCase().includes(filter) && !c.Image.toLowerCase().includes(filter)) continue;
      const row = document.createElement("tr");
      row.dataset.container = name;
      cell(row, name);
      cell(row, c.Image);
      cell(row, c.State, "state-" + c.State);
      cell(row, c.Status);
      // Published TCP ports link to where they answer on this host.
      const ports = cell(row, "");
      (c.Ports || []).filter((p) => p.PublicPort).forEach((p, i) => {
        if (i) ports.append(", ");
        const text = `${p.PublicPort}->${p.PrivatePort}/${p.Type}`;
        if (p.Type !== "tcp") return ports.append(text);
        const link = document.createElement("a");
        link.href = `http://${location.hostname}:${p.PublicPort}/`;
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = text;
        ports.append(link);
      });
      const sparks = cell(row, "");
      for (const kind of ["cpu", "memory"]) {
        const canvas = document.createElement("canvas");
        canvas.className = "spark";
        canvas.width = 60;
        canvas.height = 18;
        canvas.dataset.id = c.Id;
        canvas.dataset.kind = kind;
        canvas.setAttribute("aria-label", `${kind === "cpu" ? "CPU" : "memory"} of ${name}`);
        sparks.appendChild(canvas);
      }
      drawUsage(c.Id);
      cell(row, podOf.get(c.Id) || "");
      // Docker's status ends with the healthcheck's word.
      const health = (/\((healthy|unhealthy|starting)\)$/.exec(c.Status) || [])[1] || "";
      cell(row, health, health && "health-" + health);
      const actions = cell(row, "");
      const pick = document.createElement("input");
      pick.type = "checkbox";
      pick.setAttribute("aria-label", "Select " + name);
      pick.checked = selected.has(c.Id);
      pick.addEventListener("change", () => (pick.checked ? selected.add(c.Id) : selected.delete(c.Id)));
      actions.appendChild(pick);
      const id = encodeURIComponent(c.Id);
      if (c.State === "running") {
        action(actions, "Stop", () => call("POST", `/containers/${id}/stop`));
        action(actions, "Restart", () => call("POST", `/containers/${id}/restart`));
        action(actions, "Pause", () => call("POST", `/containers/${id}/pause`));
        action(actions, "Kill", () => call("POST", `/containers/${id}/kill`));
      } else if (c.State === "paused") {
        action(actions, "Unpause", () => call("POST", `/containers/${id}/unpause`));
      } else {
        action(actions, "Start", () => call("POST", `/containers/${id}/start`));
      }
      button(actions, "Details", () => showDetails(c.Id, name).catch((error) => say("Details: " + error.message)));
      action(actions, "Remove", () => call("DELETE", `/containers/${id}?force=1`), `Remove container ${name}?`);
      body.appendChild(row);
    }
  },

  async pods() {
    const pods = await call("GET", "/libpod/pods/json");
    const body = $("#pod-rows");
    body.replaceChildren();
    for (const pod of pods) {
      const row = document.createElement("tr");
      row.dataset.pod = pod.Name;
      cell(row, pod.Name);
      cell(row, pod.Status);
      cell(row, pod.Containers.map((c) => c.Names).join(", "));
      const actions = cell(row, "");
      const name = encodeURIComponent(pod.Name);
      if (pod.Status === "Running") {
        action(actions, "Stop", () => call("POST", `/libpod/pods/${name}/stop`));
      } else {
        action(actions, "Start", () => call("POST", `/libpod/pods/${name}/start`));
      }
      action(actions, "Remove", () => call("DELETE", `/libpod/pods/${name}?force=true`), `Remove pod ${pod.Name} and its containers?`);
      const yaml = document.createElement("a");
      yaml.href = `${LIBPOD}/generate/kube?names=${name}`;
      yaml.download = pod.Name + ".yaml";
      yaml.textContent = "Kubernetes YAML";
      actions.appendChild(yaml);
      body.appendChild(row);
    }
  },

  // Compose projects: the containers grouped by their com.docker.compose labels.
  async compose() {
    const containers = await call("GET", "/containers/json?all=1");
    const projects = new Map();
    for (const c of containers) {
      const labels = c.Labels || {};
      const project = labels[PROJECT];
      if (!project) continue;
      if (!projects.has(project)) projects.set(project, []);
      projects.get(project).push(c);
    }
    const body = $("#project-rows");
    body.replaceChildren();
    for (const [project, members] of [...projects].sort((a, b) => a[0].localeCompare(b[0]))) {
      const row = document.createElement("tr");
      row.dataset.project = project;
      cell(row, project);
      const services = new Map();
      for (const c of members) {
        const service = c.Labels["com.docker.compose.service"] || "?";
        services.set(service, (services.get(service) || []).concat(c.State));
      }
      cell(row, [...services].sort().map(([s, states]) => `${s} (${states.join(", ")})`).join(", "));
      const counts = new Map();
      for (const c of members) counts.set(c.State, (counts.get(c.State) || 0) + 1);
      cell(row, [...counts].sort().map(([state, n]) => `${state}(${n})`).join(", "));
      cell(row, ((members[0].Labels || {})["com.docker.compose.project.config_files"]) || "");
      const actions = cell(row, "");
      const each = (states, verb) => Promise.all(members.filter((c) => states.includes(c.State))
        .map((c) => call("POST", `/containers/${encodeURIComponent(c.Id)}/${verb}`)));
      if (members.some((c) => c.State !== "running")) action(actions, "Start", () => each(["created", "exited"], "start"));
      if (members.some((c) => c.State === "running")) action(actions, "Stop", () => each(["running"], "stop"));
      action(actions, "Down", () => down(project, members), `Stop and remove the containers and networks of project ${project}?`);
      body.appendChild(row);
    }
  },

  async images() {
    const images = await call("GET", "/images/json");
    const body = $("#image-rows");
    body.replaceChildren();
    for (const image of images) {
      const name = (image.RepoTags || [])[0] || "<none>";
      const row = document.createElement("tr");
      row.dataset.image = name;
      cell(row, name);
      cell(row, image.Id.replace("sha256:", "").slice(0, 12));
      cell(row, (image.Size / 1e6).toFixed(1) + " MB");
      const actions = cell(row, "");
      button(actions, "Details", () => showImage(image.Id, name).catch((error) => say("Details: " + error.message)));
      action(actions, "Remove", () => call("DELETE", `/images/${encodeURIComponent(image.Id)}`), `Remove image ${name}?`);
      body.appendChild(row);
    }
  },

  async volumes() {
    const result = await call("GET", "/volumes");
    const body = $("#volume-rows");
    body.replaceChildren();
    for (const volume of result.Volumes || []) {
      const row = document.createElement("tr");
      row.dataset.volume = volume.Name;
      cell(row, volume.Name);
      cell(row, volume.Driver);
      cell(row, volume.Mountpoint);
      const actions = cell(row, "");
      inspectButton(actions, row, `/volumes/${encodeURIComponent(volume.Name)}`);
      action(actions, "Remove", () => call("DELETE", `/volumes/${encodeURIComponent(volume.Name)}`), `Remove volume ${volume.Name}?`);
      body.appendChild(row);
    }
  },

  async networks() {
    const networks = await call("GET", "/networks");
    const body = $("#network-rows");
    body.replaceChildren();
    for (const network of networks) {
      const row = document.createElement("tr");
      row.dataset.network = network.Name;
      cell(row, network.Name);
      cell(row, network.Driver);
      cell(row, ((network.IPAM || {}).Config || []).map((c) => c.Subnet).join(", "));
      const actions = cell(row, "");
      inspectButton(actions, row, `/networks/${encodeURIComponent(network.Id)}`);
      action(actions, "Remove", () => call("DELETE", `/networks/${encodeURIComponent(network.Id)}`), `Remove network ${network.Name}?`);
      body.appendChild(row);
    }
  },
};

// `compose down` from the page: the project's containers, then its networks.
async function down(project, members) {
  for (const c of members) await call("DELETE", `/containers/${encodeURIComponent(c.Id)}?force=1`);
  for (const network of await call("GET", "/networks")) {
    if ((network.Labels || {})[PROJECT] === project) await call("DELETE", `/networks/${encodeURIComponent(network.Id)}`);
  }
}

// Each running container's last readings (CPU %, memory bytes and limit), from Podman's stats
// stream, drawn as sparklines in its row.
const usage = new Map();

function drawUsage(id) {
  const seen = usage.get(id);
  if (!seen) return;
  for (const canvas of document.querySelectorAll(`canvas.spark[data-id="${id}"]`)) {
    if (canvas.dataset.kind === "cpu") chart(canvas, seen.cpu, Math.max(100, ...seen.cpu));
    else chart(canvas, seen.memory, seen.limit || Math.max(...seen.memory));
    canvas.title = canvas.dataset.kind === "cpu"
      ? `CPU ${seen.cpu[seen.cpu.length - 1].toFixed(1)} %`
      : `memory ${bytes(seen.memory[seen.memory.length - 1])}`;
  }
}

// Followed for as long as the page is open; where there are no stats (rootless on cgroup v1)
// the column stays empty and the stream is asked for again later.
function followUsage() {
  follow(() => `${LIBPOD}/containers/stats?stream=true&interval=2`, 30000, (message) => {
    for (const stats of message.Stats || []) {
      const seen = usage.get(stats.ContainerID) || { cpu: [], memory: [], limit: 0 };
      seen.cpu.push(stats.CPU || 0);
      seen.memory.push(stats.MemUsage || 0);
      seen.limit = stats.MemLimit || 0;
      for (const series of [seen.cpu, seen.memory]) if (series.length > 30) series.shift();
      usage.set(stats.ContainerID, seen);
      drawUsage(stats.ContainerID);
    }
  });
}

// The containers ticked for a bulk action, by ID: kept across the list's refreshes.
const selected = new Set();

// One action on every selected container, all at once.
function bulk(label, run, confirmText) {
  return () => {
    const ids = [...selected];
    if (ids.length === 0) return say(label + ": select containers first");
    return acting(label, () => Promise.all(ids.map((id) => run(encodeURIComponent(id)))),
      confirmText && confirmText(ids.length))();
  };
}

// The container whose details are shown: its live logs and stats, its inspect; the streams
// stop when the details close or another container's open.
let details = null;

// Logs come in Docker's multiplexed frames (an 8-byte header each) unless the container has a
// terminal: a demultiplexer that takes the bytes as they come, frames split or not.
function demultiplexer(tty) {
  const decoder = new TextDecoder();
  let pending = new Uint8Array(0);
  return (chunk) => {
    if (tty) return decoder.decode(chunk, { stream: true });
    const bytes = new Uint8Array(pending.length + chunk.length);
    bytes.set(pending);
    bytes.set(chunk, pending.length);
    let text = "";
    let at = 0;
    while (at + 8 <= bytes.length) {
      const size = ((bytes[at + 4] << 24) | (bytes[at + 5] << 16) | (bytes[at + 6] << 8) | bytes[at + 7]) >>> 0;
      if (at + 8 + size > bytes.length) break;
      text += decoder.decode(bytes.subarray(at + 8, at + 8 + size));
      at += 8 + size;
    }
    pending = bytes.slice(at);
    return text;
  };
}

function showLogLines() {
  const search = $("#log-search").value.toLowerCase();
  const stamps = $("#log-timestamps").checked;
  const lines = details.lines.filter((line) => !search || line.toLowerCase().includes(search))
    .map((line) => (stamps ? line : line.replace(/^\S+ /, "")));
  $("#logs").textContent = lines.join("\n") || "(no output)";
}

// The logs from their last 200 lines on, followed while the details are open.
async function followLogs(id, tty, signal) {
  const response = await fetch(`${API}/containers/${encodeURIComponent(id)}/logs?stdout=1&stderr=1&timestamps=1&tail=200&follow=1`,
    { credentials: "same-origin", signal });
  if (!response.ok) throw await failure(response);
  const split = demultiplexer(tty);
  const reader = response.body.getReader();
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += split(value);
    const lines = rest.split("\n");
    rest = lines.pop();
    details.lines.push(...lines);
    if (details.lines.length > 2000) details.lines.splice(0, details.lines.length - 2000);
    showLogLines();
  }
}

// A line chart of the last samples, drawn on a canvas from 0 to `top`.
function chart(canvas, samples, top) {
  // One reading is a level line until the next.
  const values = samples.length === 1 ? [samples[0], samples[0]] : samples;
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  context.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue("--accent");
  context.lineWidth = 2;
  context.beginPath();
  values.forEach((value, i) => {
    const x = (i / Math.max(values.length - 1, 1)) * width;
    const y = height - (Math.min(value, top) / (top || 1)) * (height - 4) - 2;
    if (i === 0) context.moveTo(x, y);
    else context.lineTo(x, y);
  });
  context.stroke();
}

function bytes(count) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = count;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

// Docker's stats, one JSON object a second: CPU as `docker stats` computes it, memory, IO.
async function followStats(id, signal) {
  const response = await fetch(`${API}/containers/${encodeURIComponent(id)}/stats?stream=1`,
    { credentials: "same-origin", signal });
  if (!response.ok) throw await failure(response);
  await eachMessage(response, (stats) => {
    const cpu = stats.cpu_stats || {};
    const before = stats.precpu_stats || {};
    const used = ((cpu.cpu_usage || {}).total_usage || 0) - ((before.cpu_usage || {}).total_usage || 0);
    const system = (cpu.system_cpu_usage || 0) - (before.system_cpu_usage || 0);
    const cpus = cpu.online_cpus || 1;
    const percent = system > 0 && used > 0 ? (used / system) * cpus * 100 : 0;
    const memory = stats.memory_stats || {};
    details.cpu.push(percent);
    details.memory.push(memory.usage || 0);
    for (const series of [details.cpu, details.memory]) if (series.length > 60) series.shift();
    chart($("#cpu-chart"), details.cpu, Math.max(100 * cpus, 1));
    chart($("#memory-chart"), details.memory, memory.limit || Math.max(...details.memory));
    $("#cpu-now").textContent = percent.toFixed(2) + " %";
    $("#memory-now").textContent = `${bytes(memory.usage || 0)} / ${bytes(memory.limit || 0)}`;
    const networks = Object.values(stats.networks || {});
    const received = networks.reduce((sum, n) => sum + (n.rx_bytes || 0), 0);
    const sent = networks.reduce((sum, n) => sum + (n.tx_bytes || 0), 0);
    const block = ((stats.blkio_stats || {}).io_service_bytes_recursive) || [];
    const read = block.filter((e) => /read/i.test(e.op)).reduce((sum, e) => sum + e.value, 0);
    const written = block.filter((e) => /write/i.test(e.op)).reduce((sum, e) => sum + e.value, 0);
    describe($("#io"), [
      ["Net IO", `${bytes(received)} / ${bytes(sent)}`],
      ["Block IO", `${bytes(read)} / ${bytes(written)}`],
      ["PIDs", String((stats.pids_stats || {}).current || 0)],
    ]);
  });
}

// A shell in the container: an exec with a terminal, its streams on a WebSocket, shown by
// xterm.js; the container's terminal takes the page terminal's size.
let terminal = null;

function closeTerminal() {
  if (terminal) {
    terminal.socket.close();
    terminal.term.dispose();
  }
  terminal = null;
  $("#terminal").replaceChildren();
}

// xterm.js (and its styles), loaded the first time a terminal opens: the other pages do
// without its 300 kB.
let xtermLoaded = null;

function loadXterm() {
  // Both: a terminal opened before its styles measures its cells wrong and shows nothing.
  const load = (element) => new Promise((resolve, reject) => {
    element.onload = resolve;
    element.onerror = () => reject(new Error("could not load the terminal"));
    document.head.append(element);
  });
  if (!xtermLoaded) {
    const style = document.createElement("link");
    style.rel = "stylesheet";
    style.href = "/vendor/xterm.css";
    const script = document.createElement("script");
    script.src = "/vendor/xterm.js";
    xtermLoaded = Promise.all([load(style), load(script)]).catch((error) => {
      xtermLoaded = null;
      throw error;
    });
  }
  return xtermLoaded;
}

async function openTerminal(id) {
  closeTerminal();
  await loadXterm();
  const exec = await call("POST", `/containers/${encodeURIComponent(id)}/exec`, {
    AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true, Cmd: ["/bin/sh"],
  });
  const term = new Terminal({ cols: 100, rows: 24 });
  term.open($("#terminal"));
  // In sight: xterm.js draws only a terminal that is.
  $("#terminal").scrollIntoView({ block: "center" });
  const resize = (rows, cols) => call("POST", `/exec/${exec.Id}/resize?h=${rows}&w=${cols}`);
  await resize(term.rows, term.cols);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${API}/exec/${exec.Id}/ws`);
  socket.binaryType = "arraybuffer";
  const encoder = new TextEncoder();
  socket.onmessage = (message) => term.write(new Uint8Array(message.data));
  socket.onclose = () => term.write("\r\n[the shell ended]\r\n");
  term.onData((data) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
  });
  term.onResize(({ rows, cols }) => resize(rows, cols).catch(() => {}));
  terminal = { term, socket };
  term.focus();
}

function closeDetails() {
  if (details) details.abort.abort();
  details = null;
  closeTerminal();
  $("#details").hidden = true;
}

async function showDetails(id, name) {
  closeDetails();
  const inspect = await call("GET", `/containers/${encodeURIComponent(id)}/json`);
  details = { id, abort: new AbortController(), lines: [], cpu: [], memory: [] };
  $("#details").dataset.container = name;
  $("#details-title").textContent = "Container " + name;
  $("#inspect").textContent = JSON.stringify(inspect, null, 2);
  $("#logs").textContent = "";
  $("#io").replaceChildren();
  for (const canvas of [$("#cpu-chart"), $("#memory-chart")]) chart(canvas, [], 1);
  $("#details").hidden = false;
  $("#terminal-open").hidden = !(inspect.State && inspect.State.Running);
  const { signal } = details.abort;
  const saying = (promise, what) => promise.catch((error) => { if (!signal.aborted) say(`${what}: ${error.message}`); });
  saying(followLogs(id, inspect.Config && inspect.Config.Tty, signal), "Logs");
  if (inspect.State && inspect.State.Running) saying(followStats(id, signal), "Stats");
}

function showEvent(event) {
  const item = document.createElement("li");
  const name = (event.Actor && event.Actor.Attributes && event.Actor.Attributes.name) || event.id || "";
  item.textContent = `${new Date(event.time * 1000).toLocaleTimeString()} ${event.Type} ${event.Action} ${name}`;
  const list = $("#events");
  list.prepend(item);
  while (list.children.length > 50) list.lastChild.remove();
}

// A streamed response's JSON messages (one a line), each handed to `onMessage` as it comes.
async function eachMessage(response, onMessage) {
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += decoder.decode(value, { stream: true });
    const lines = rest.split("\n");
    rest = lines.pop();
    for (const line of lines) {
      if (line.trim()) onMessage(JSON.parse(line));
    }
  }
}

// The event stream, followed for as long as the page is open: each event is listed and has
// the section shown refreshed. A broken stream is taken up again from the last event seen.
function followEvents() {
  follow(() => `${API}/events?since=${(lastEvent / 1e9).toFixed(9)}`, 1000, (event) => {
    if (event.timeNano <= lastEvent) return;
    lastEvent = event.timeNano;
    showEvent(event);
    refreshSoon();
  });
}

// A stream of JSON messages followed for as long as the page is open, each handed to
// `onMessage`; a stream that breaks or is refused is asked for again (at `url()`) after
// `retry` ms.
async function follow(url, retry, onMessage) {
  for (;;) {
    try {
      const response = await fetch(url(), { credentials: "same-origin" });
      if (!response.ok) throw await failure(response);
      await eachMessage(response, onMessage);
    } catch (_) { /* asked again below */ }
    await new Promise((resolve) => setTimeout(resolve, retry));
  }
}

// A pull, with a progress bar per layer as Docker's progress messages tell it.
async function pull(reference) {
  const box = $("#pull-progress");
  box.replaceChildren();
  const layers = new Map();
  const layer = (id) => {
    if (!layers.has(id)) {
      const row = document.createElement("div");
      row.className = "layer";
      row.dataset.layer = id;
      const name = document.createElement("code");
      name.textContent = id;
      const bar = document.createElement("progress");
      bar.max = 1;
      bar.value = 0;
      const status = document.createElement("span");
      row.append(name, bar, status);
      box.append(row);
      layers.set(id, { row, bar, status });
    }
    return layers.get(id);
  };
  const response = await fetch(`${API}/images/create?fromImage=${encodeURIComponent(reference)}`, {
    method: "POST",
    credentials: "same-origin",
  });
  if (!response.ok) throw await failure(response);
  await eachMessage(response, (message) => {
    if (message.error) throw new Error(message.error);
    if (!message.id || !("progressDetail" in message)) return;
    const { row, bar, status } = layer(message.id);
    status.textContent = message.status;
    const detail = message.progressDetail;
    if (detail.total) {
      bar.max = detail.total;
      bar.value = detail.current;
    }
    if (message.status === "Pull complete" || message.status === "Already exists") {
      bar.value = bar.max;
      row.dataset.done = "";
    }
  });
}

// One refresh at a time; asked for during one, another follows it. Events come in bursts
// (a start is init and start): they are gathered for a moment first.
let refreshing = null;
let again = false;
let pending = null;

async function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      try {
        await views[tab]();
      } catch (error) {
        say(error.message);
      }
    } while (again);
  })();
  try {
    await refreshing;
  } finally {
    refreshing = null;
  }
}

function refreshSoon() {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    refresh();
  }, 20);
}

function show(name) {
  tab = name;
  for (const section of document.querySelectorAll("[data-section]")) section.hidden = section.id !== name;
  for (const button of document.querySelectorAll("nav button")) {
    if (button.dataset.tab === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  history.replaceState(null, "", "#" + name);
  refresh();
}

for (const button of document.querySelectorAll("nav button")) {
  button.addEventListener("click", () => show(button.dataset.tab));
}
$("#filter").addEventListener("input", refresh);
$("#bulk-stop").addEventListener("click", bulk("Stop selected", (id) => call("POST", `/containers/${id}/stop`)));
$("#bulk-remove").addEventListener("click", bulk("Remove selected", (id) => call("DELETE", `/containers/${id}?force=1`),
  (count) => `Remove ${count} container${count === 1 ? "" : "s"}?`));
$("#details-close").addEventListener("click", closeDetails);
$("#terminal-open").addEventListener("click", () => {
  if (details) openTerminal(details.id).catch((error) => say("Terminal: " + error.message));
});
$("#log-search").addEventListener("input", () => details && showLogLines());
$("#log-timestamps").addEventListener("change", () => details && showLogLines());
$("#create").addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const form = new FormData(submitted.target);
  const ports = String(form.get("ports") || "").split(/[\s,]+/).filter(Boolean);
  const body = {
    Image: form.get("image"),
    Cmd: String(form.get("command") || "").split(/\s+/).filter(Boolean),
    Env: String(form.get("env") || "").split(/\s+/).filter(Boolean),
    ExposedPorts: {},
    HostConfig: {
      PortBindings: {},
      Binds: String(form.get("volumes") || "").split(/\s+/).filter(Boolean),
    },
  };
  if (body.Cmd.length === 0) delete body.Cmd;
  for (const port of ports) {
    const [host, container] = port.includes(":") ? port.split(":") : ["", port];
    body.ExposedPorts[`${container}/tcp`] = {};
    body.HostConfig.PortBindings[`${container}/tcp`] = [{ HostPort: host }];
  }
  const name = String(form.get("name") || "");
  try {
    const created = await call("POST", "/containers/create" + (name ? "?name=" + encodeURIComponent(name) : ""), body);
    await call("POST", `/containers/${created.Id}/start`);
    say(`Container ${name || created.Id.slice(0, 12)} started`, true);
  } catch (error) {
    say("Create: " + error.message);
  }
  refresh();
});

$("#pull").addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const reference = String(new FormData(submitted.target).get("reference") || "");
  say("Pulling " + reference, true);
  try {
    await pull(reference);
    say("Pulled " + reference, true);
  } catch (error) {
    say("Pull: " + error.message);
  }
  refresh();
});

// An image's details: tag and push it, its history and inspect.
let shownImage = null;

async function showImage(id, name) {
  const key = encodeURIComponent(id);
  const [inspect, history] = await Promise.all([call("GET", `/images/${key}/json`), call("GET", `/images/${key}/history`)]);
  shownImage = id;
  $("#image-details").dataset.image = name;
  $("#image-title").textContent = "Image " + name;
  $("#image-push [name=name]").value = name === "<none>" ? "" : name;
  $("#image-inspect").textContent = JSON.stringify(inspect, null, 2);
  const body = $("#history-rows");
  body.replaceChildren();
  for (const layer of history) {
    const row = document.createElement("tr");
    cell(row, layer.CreatedBy || "");
    cell(row, bytes(layer.Size || 0));
    cell(row, layer.Created ? new Date(layer.Created * 1000).toLocaleString() : "");
    body.appendChild(row);
  }
  $("#image-details").hidden = false;
}

// A name as Docker's API takes it apart: repository and tag.
function repositoryAndTag(name) {
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  return colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [name, "latest"];
}

$("#image-close").addEventListener("click", () => {
  shownImage = null;
  $("#image-details").hidden = true;
});
onSubmit("#image-tag", "Tag", (form) => {
  const [repo, tag] = repositoryAndTag(String(form.get("target")));
  const query = new URLSearchParams({ repo, tag });
  return call("POST", `/images/${encodeURIComponent(shownImage)}/tag?${query}`);
});
$("#image-push").addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const name = String(new FormData(submitted.target).get("name"));
  const [repo, tag] = repositoryAndTag(name);
  say("Pushing " + name, true);
  try {
    const response = await fetch(`${API}/images/${repo}/push?tag=${encodeURIComponent(tag)}`, {
      method: "POST",
      headers: { "X-Registry-Auth": btoa("{}") },
      credentials: "same-origin",
    });
    if (!response.ok) throw await failure(response);
    await eachMessage(response, (message) => {
      if (message.error) throw new Error(message.error);
    });
    say("Pushed " + name, true);
  } catch (error) {
    say("Push: " + error.message);
  }
});

// A tar archive of one file, as a build context: a ustar header, the data, the end.
function tarOf(name, text) {
  const encoder = new TextEncoder();
  const data = encoder.encode(text);
  const header = new Uint8Array(512);
  const put = (offset, value) => header.set(encoder.encode(value), offset);
  const octal = (value, width) => value.toString(8).padStart(width - 1, "0") + "\0";
  put(0, name);
  put(100, octal(0o644, 8));
  put(108, octal(0, 8));
  put(116, octal(0, 8));
  put(124, octal(data.length, 12));
  put(136, octal(Math.floor(Date.now() / 1000), 12));
  put(148, "        ");
  put(156, "0");
  put(257, "ustar\0");
  put(263, "00");
  put(148, octal(header.reduce((sum, byte) => sum + byte, 0), 7) + " ");
  const tar = new Uint8Array(512 + Math.ceil(data.length / 512) * 512 + 1024);
  tar.set(header);
  tar.set(data, 512);
  return tar;
}

// A build of the uploaded context, or of the Containerfile typed in, its output streamed.
async function build(tag, containerfile, context) {
  const log = $("#build-log");
  log.hidden = false;
  log.textContent = "";
  const query = new URLSearchParams({ dockerfile: "Containerfile" });
  if (tag) query.set("t", tag);
  if (context) query.delete("dockerfile");
  const response = await fetch(`${API}/build?${query}`, {
    method: "POST",
    headers: { "Content-Type": "application/x-tar" },
    body: context || tarOf("Containerfile", containerfile),
    credentials: "same-origin",
  });
  if (!response.ok) throw await failure(response);
  let id = "";
  await eachMessage(response, (message) => {
    if (message.error) throw new Error(message.error);
    if (message.stream) log.textContent += message.stream;
    if (message.aux && message.aux.ID) id = message.aux.ID;
    log.scrollTop = log.scrollHeight;
  });
  return id;
}

$("#build").addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const form = new FormData(submitted.target);
  const tag = String(form.get("tag") || "");
  const file = form.get("context");
  say("Building " + (tag || "an image"), true);
  try {
    const id = await build(tag, String(form.get("containerfile") || ""), file && file.size ? file : null);
    say(`Built ${tag || id.replace("sha256:", "").slice(0, 12)}`, true);
  } catch (error) {
    say("Build: " + error.message);
  }
  refresh();
});

// A form whose submission is one engine call, said and refreshed as the buttons are.
function onSubmit(selector, label, run) {
  $(selector).addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const form = new FormData(submitted.target);
    try {
      await run(form);
      say(label + ": done", true);
      submitted.target.reset();
    } catch (error) {
      say(label + ": " + error.message);
    }
    refresh();
  });
}

// Kubernetes YAML, pasted or from a file, played as `kube play` plays it.
$("#play").addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const form = new FormData(submitted.target);
  const file = form.get("file");
  try {
    const yaml = file && file.size ? await file.text() : String(form.get("yaml") || "");
    const response = await fetch(`${LIBPOD}/play/kube`, {
      method: "POST",
      headers: { "Content-Type": "application/yaml" },
      body: yaml,
      credentials: "same-origin",
    });
    if (!response.ok) throw await failure(response);
    const report = await response.json();
    const pods = report.Pods || [];
    say(`Played ${pods.length} pod${pods.length === 1 ? "" : "s"}`, true);
    submitted.target.reset();
  } catch (error) {
    say("Play: " + error.message);
  }
  refresh();
});

onSubmit("#volume-create", "Create volume", (form) =>
  call("POST", "/volumes/create", form.get("name") ? { Name: form.get("name") } : {}));
onSubmit("#network-create", "Create network", (form) => call("POST", "/networks/create", {
  Name: form.get("name"),
  IPAM: form.get("subnet") ? { Config: [{ Subnet: form.get("subnet") }] } : undefined,
}));
for (const [selector, label, path] of [["#volume-prune", "Prune volumes", "/volumes/prune"], ["#network-prune", "Prune networks", "/networks/prune"]]) {
  $(selector).addEventListener("click", acting(label, () => call("POST", path), label + ": remove every one no container uses?"));
}

const initial = location.hash.slice(1);
show(views[initial] ? initial : "overview");
followEvents();
followUsage();
