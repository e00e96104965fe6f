// Test stack for the dashboard's browser tests: a real `clawback serve` on a
// temp data dir and real `clawback-agent` processes with bundles the
// controller issued, all on 127.0.0.1 port 0, plus a small REST client. Every
// child is killed when the stack stops or the test process exits.
//
// Binaries come from CLAWBACK_BIN / CLAWBACK_AGENT_BIN (CTest sets them);
// without them the default build dir build-web is tried. Logs of every
// process land in tests/artifacts/browser-logs/ for post-mortems.
import {spawn, execFile} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';

export const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
export const artifactsDir = path.join(repoRoot, 'tests/artifacts');
const logDir = path.join(artifactsDir, 'browser-logs');

export const CLAWBACK_BIN = process.env.CLAWBACK_BIN || path.join(repoRoot, 'build-web/controller/clawback');
export const AGENT_BIN = process.env.CLAWBACK_AGENT_BIN || path.join(repoRoot, 'build-web/agent/clawback-agent');
export const CHROMIUM = process.env.CLAWBACK_CHROMIUM || '/usr/bin/chromium';
export const ADMIN_PASSWORD = 'browser-test-admin-pw';

const children = new Set();
function killAll(signal = 'SIGKILL') {
  for (const child of children) {
    try { child.kill(signal); } catch { /* already gone */ }
  }
}
process.on('exit', () => killAll());
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); process.exit(130); });

// Polls `check` (sync or async) every `intervalMs` until it returns a truthy
// value; throws with `what` after `timeoutMs`. For conditions with no event to
// wait on (a port file appearing, a status turning over).
export async function waitFor(what, check, {timeoutMs = 15000, intervalMs = 50} = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError = null;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// Spawns a long-running process (no shell), logging to logDir/<name>.log.
function startProcess(name, bin, args, env = {}) {
  fs.mkdirSync(logDir, {recursive: true});
  const logFile = path.join(logDir, `${name}.log`);
  const log = fs.openSync(logFile, 'w');
  const child = spawn(bin, args, {env: {...process.env, ...env}, stdio: ['ignore', log, log]});
  fs.closeSync(log);
  children.add(child);
  child.exitInfo = null;
  child.on('exit', (code, signal) => { child.exitInfo = {code, signal}; children.delete(child); });
  child.logFile = logFile;
  child.readLog = () => { try { return fs.readFileSync(logFile, 'utf8'); } catch { return ''; } };
  return child;
}

async function waitForPort(child, portFile, name) {
  const port = await waitFor(`${name} to listen (${portFile})`, () => {
    if (child.exitInfo) throw new Error(`${name} exited (${JSON.stringify(child.exitInfo)}):\n${child.readLog()}`);
    const text = fs.existsSync(portFile) ? fs.readFileSync(portFile, 'utf8').trim() : '';
    return /^\d+$/.test(text) ? Number(text) : 0;
  }, {timeoutMs: 20000});
  return port;
}

async function stopProcess(child, timeoutMs = 5000) {
  if (!child || child.exitInfo) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

// A REST client with its own cookie session (and CSRF token), like one browser.
export class ApiClient {
  constructor(baseUrl) { this.baseUrl = baseUrl; this.cookie = ''; this.csrf = ''; }

  async request(method, p, body) {
    const headers = {Accept: 'application/json'};
    if (this.cookie) headers.Cookie = this.cookie;
    if (method !== 'GET' && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${this.baseUrl}/api/v1${p}`, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0];
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) {
      const err = new Error(`${method} ${p} -> ${res.status}: ${data && data.error}`);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  async login(username, password) {
    const data = await this.request('POST', '/auth/login', {username, password});
    this.csrf = data.csrf_token;
    return data.user;
  }
  get(p) { return this.request('GET', p); }
  post(p, body = {}) { return this.request('POST', p, body); }
  patch(p, body) { return this.request('PATCH', p, body); }
  put(p, body) { return this.request('PUT', p, body); }
  del(p) { return this.request('DELETE', p); }
}

// Writes a small "container root": /home/claworc with a few files, and /etc/app.
// `bulkBytes` of word-salad text make a backup take a moment at high zstd levels.
export function makeSampleRoot(dir, label, {bulkBytes = 0} = {}) {
  const home = path.join(dir, 'home/claworc');
  fs.mkdirSync(path.join(home, 'projects/app'), {recursive: true});
  fs.mkdirSync(path.join(home, '.config'), {recursive: true});
  fs.mkdirSync(path.join(dir, 'etc/app'), {recursive: true});
  fs.writeFileSync(path.join(home, 'notes.txt'), `notes of ${label}\n`);
  fs.writeFileSync(path.join(home, 'projects/app/main.py'), `print("hello from ${label}")\n`);
  fs.writeFileSync(path.join(home, '.config/settings.json'), JSON.stringify({owner: label}));
  fs.writeFileSync(path.join(dir, 'etc/app/app.conf'), `name=${label}\n`);
  if (bulkBytes) {
    // Deterministic pseudo-random words: compresses, but not trivially.
    let x = 0x9e3779b9;
    const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
    const vocab = Array.from({length: 4096}, () => Array.from({length: 3 + (rnd() % 8)}, () => String.fromCharCode(97 + (rnd() % 26))).join(''));
    const chunks = [];
    let size = 0;
    while (size < bulkBytes) {
      const line = Array.from({length: 12}, () => vocab[rnd() % vocab.length]).join(' ') + '\n';
      chunks.push(line);
      size += line.length;
    }
    fs.writeFileSync(path.join(home, 'bulk.log'), chunks.join(''));
  }
  return dir;
}

// The whole stack. start() returns once the controller listens, the admin is
// signed in via `admin` (ApiClient) and every agent is registered and running.
export class Stack {
  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawback-browser-'));
    this.agents = new Map();  // name -> {child, port, root, instance}
  }

  async start() {
    for (const bin of [CLAWBACK_BIN, AGENT_BIN]) {
      if (!fs.existsSync(bin)) throw new Error(`missing binary ${bin}: build it or set CLAWBACK_BIN/CLAWBACK_AGENT_BIN`);
    }
    this.dataDir = path.join(this.dir, 'data');
    fs.mkdirSync(this.dataDir);
    const portFile = path.join(this.dir, 'controller.port');
    this.controllerEnv = {CLAWORC_DATA_PATH: this.dataDir, CLAWORC_ADMIN_PASSWORD: ADMIN_PASSWORD};
    this.controller = startProcess('controller', CLAWBACK_BIN,
      ['serve', '--data-dir', this.dataDir, '--listen', '127.0.0.1:0', '--port-file', portFile], this.controllerEnv);
    this.port = await waitForPort(this.controller, portFile, 'clawback serve');
    this.baseUrl = `http://127.0.0.1:${this.port}`;
    this.admin = new ApiClient(this.baseUrl);
    await this.admin.login('admin', ADMIN_PASSWORD);
    return this;
  }

  // Registers instance `name`, issues its bundle with `clawback instance bundle`,
  // starts its agent over `root` and points the instance at it.
  async addAgent(name, root, extraArgs = []) {
    const instance = await this.admin.post('/instances', {name, agent_url: 'https://127.0.0.1:1'});
    const bundleDir = path.join(this.dir, `bundle-${name}`);
    await execFileP(CLAWBACK_BIN, ['instance', 'bundle', name, '--out', bundleDir, '--data-dir', this.dataDir],
                    {env: {...process.env, ...this.controllerEnv}, timeout: 30000});
    const portFile = path.join(this.dir, `agent-${name}.port`);
    const child = startProcess(`agent-${name}`, AGENT_BIN, ['--listen', '127.0.0.1:0',
      '--cert', path.join(bundleDir, 'agent.crt'), '--key', path.join(bundleDir, 'agent.key'),
      '--ca', path.join(bundleDir, 'ca.crt'), '--root', root, '--port-file', portFile, '--log-format', 'text', ...extraArgs]);
    const port = await waitForPort(child, portFile, `agent ${name}`);
    await this.admin.patch(`/instances/${instance.id}`, {agent_url: `https://127.0.0.1:${port}`});
    await this.waitInstanceStatus(name, 'running');
    const entry = {child, port, root, instance};
    this.agents.set(name, entry);
    return entry;
  }

  async instance(name) {
    const {instances} = await this.admin.get('/instances');
    return instances.find((i) => i.name === name);
  }

  async waitInstanceStatus(name, status, timeoutMs = 20000) {
    return waitFor(`instance ${name} to be ${status}`, async () => {
      const i = await this.instance(name);
      return i && i.status === status ? i : null;
    }, {timeoutMs, intervalMs: 200});
  }

  async stop() {
    await Promise.all([...this.agents.values()].map((a) => stopProcess(a.child)));
    await stopProcess(this.controller);
    if (!process.env.CLAWBACK_KEEP_TMP) fs.rmSync(this.dir, {recursive: true, force: true});
  }
}

// Chromium flags for a hermetic headless run (the machine has no internet).
// Playwright's launch() adds --headless and a fresh temporary --user-data-dir
// itself (it refuses one in args), so every run starts from an empty profile;
// the first test reads chrome://version to prove both.
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
