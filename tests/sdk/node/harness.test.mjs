// The real binary as the SDK suites use it: start-up line, health, admin clock.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRoster } from './harness.mjs';

const roster = await startRoster('empty.toml');
after(() => roster.stop());

test('health answers JSON', async () => {
  const response = await fetch(roster.url + '/healthz');
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { status: 'ok' });
});

test('the admin clock needs the admin token', async () => {
  const denied = await fetch(roster.url + '/_roster/clock');
  assert.equal(denied.status, 401);
  const { status, body } = await roster.admin('POST', '/clock', { offset_seconds: 30 });
  assert.equal(status, 200);
  assert.equal(body.offset_seconds, 30);
});
