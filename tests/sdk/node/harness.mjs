// Start and stop a real `roster serve` process for a test file (see ../python/roster_harness.py).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ADMIN_TOKEN = 'conformance-admin-token';

function rosterBinary() {
  if (process.env.ROSTER_BIN) return process.env.ROSTER_BIN;
  const target = process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target');
  return path.join(target, 'debug', 'roster');
}

function scratchPostgres() {
  const base = process.env.ROSTER_TEST_DATABASE_URL;
  const name = `roster_sdk_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  execFileSync('psql', [base, '-qc', `CREATE DATABASE ${name}`]);
  return base.slice(0, base.lastIndexOf('/') + 1) + name;
}

// `seed`: a file of tests/sdk/seeds, or an absolute path.
export async function startRoster(seed) {
  const args = [
    'serve', '--listen', '127.0.0.1:0',
    '--data', mkdtempSync(path.join(tmpdir(), 'roster-sdk-')),
    '--seed', path.isAbsolute(seed) ? seed : path.join(ROOT, 'tests', 'sdk', 'seeds', seed),
    '--admin-token', ADMIN_TOKEN,
  ];
  if (process.env.ROSTER_SDK_BACKEND === 'postgres') args.push('--database', scratchPostgres());
  const child = spawn(rosterBinary(), args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ROSTER_LOG: process.env.ROSTER_LOG || 'warn' },
  });
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
