// Start and stop a real `roster serve` process for a test file (see ../python/roster_harness.py).
// A test file touches only what it made: the databases (marked as scratch, as the Rust suites'
// sweep expects) and temporary directories made here are removed when its process exits, after
// the processes it started are killed.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import net from 'node:net';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ADMIN_TOKEN = 'conformance-admin-token';

function rosterBinary() {
  if (process.env.ROSTER_BIN) return process.env.ROSTER_BIN;
  const target = process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target');
  return path.join(target, 'debug', 'roster');
}

// The comment that marks a scratch database (SCRATCH_MARK in test_support.rs), then its
// creation time in Unix seconds.
const SCRATCH_MARK = 'roster scratch database, created at ';

const made = { databases: [], directories: [], children: [] };

process.on('exit', () => {
  for (const child of made.children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const name of made.databases) {
    try {
      execFileSync('psql', [process.env.ROSTER_TEST_DATABASE_URL, '-qc',
        `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    } catch {
      // best effort: a database left behind is marked, and swept by a later run
    }
  }
  for (const directory of made.directories) rmSync(directory, { recursive: true, force: true });
});

// A new temporary directory, removed when this process exits.
export function temporaryDirectory(prefix) {
  const directory = mkdtempSync(path.join(tmpdir(), prefix));
  made.directories.push(directory);
  return directory;
}

function scratchPostgres() {
  const base = process.env.ROSTER_TEST_DATABASE_URL;
  const now = Math.floor(Date.now() / 1000);
  const name = `roster_sdk_${now}_${randomBytes(4).toString('hex')}`;
  execFileSync('psql', [base, '-qc', `CREATE DATABASE ${name}`]);
  made.databases.push(name);
  execFileSync('psql', [base, '-qc', `COMMENT ON DATABASE ${name} IS '${SCRATCH_MARK}${now}'`]);
  return base.slice(0, base.lastIndexOf('/') + 1) + name;
}

// With ROSTER_SDK_PROCESSES=N (PostgreSQL only), every test file runs against N roster
// processes on one database behind a round-robin proxy.
export const PROCESSES = Number(process.env.ROSTER_SDK_PROCESSES || '1');

// `seed`: a file of tests/sdk/seeds, or an absolute path. A roster, or a cluster of
// PROCESSES behind a round-robin proxy with the same interface.
export async function startRoster(seed) {
  if (PROCESSES <= 1) {
    const database = process.env.ROSTER_SDK_BACKEND === 'postgres' ? scratchPostgres() : undefined;
    return startProcess(seed, database);
  }
  const database = scratchPostgres();
  const members = [];
  for (let i = 0; i < PROCESSES; i++) members.push(await startProcess(seed, database));
  const proxy = await roundRobin(members.map((m) => new URL(m.url)));
  // roster's own routes that keep per-process state go to every process.
  const perProcess = ['/clock', '/faults', '/requests'];
  return {
    url: proxy.url,
    async admin(method, route, body) {
      if (method !== 'GET' && perProcess.some((p) => route.startsWith(p))) {
        const answers = [];
        for (const member of members) answers.push(await member.admin(method, route, body));
        return answers[0];
      }
      return members[0].admin(method, route, body);
    },
    async stop() {
      proxy.close();
      for (const member of members) await member.stop();
    },
  };
}

// A TCP proxy on a free local port that hands each new connection to the next backend in
// turn (what a load balancer in front of several roster processes does).
async function roundRobin(backends) {
  let next = 0;
  const server = net.createServer((client) => {
    const { hostname, port } = backends[next++ % backends.length];
    const backend = net.connect(Number(port), hostname);
    client.pipe(backend).pipe(client);
    const end = () => { client.destroy(); backend.destroy(); };
    client.on('error', end);
    backend.on('error', end);
    client.on('close', end);
    backend.on('close', end);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close() { server.close(); },
  };
}

async function startProcess(seed, database) {
  const args = [
    'serve', '--listen', '127.0.0.1:0',
    '--data', temporaryDirectory('roster-sdk-'),
    '--seed', path.isAbsolute(seed) ? seed : path.join(ROOT, 'tests', 'sdk', 'seeds', seed),
    '--admin-token', ADMIN_TOKEN,
  ];
  if (database) args.push('--database', database);
  const child = spawn(rosterBinary(), args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ROSTER_LOG: process.env.ROSTER_LOG || 'warn' },
  });
  made.children.push(child);
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`roster exited with ${code}`)));
  });
  const prefix = 'roster listening on ';
  if (!first.startsWith(prefix)) throw new Error(`roster did not start: ${first}`);
  lines.on('line', () => {});
  const url = first.slice(prefix.length);
  return {
    url,
    async admin(method, route, body) {
      const response = await fetch(url + '/_roster' + route, {
        method,
        headers: { Authorization: 'Bearer ' + ADMIN_TOKEN, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

// Non-2xx answers make the Feishu SDK throw the AxiosError: its status and Feishu code.
export async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    return { status: e.response.status, code: e.response.data.code, msg: e.response.data.msg };
  }
  throw new Error('expected the request to be refused');
}
