// Feishu events received by the Node SDK's own EventDispatcher (@larksuiteoapi/node-sdk),
// mounted with its `adaptDefault` HTTP adapter on the app's request URL, with an Encrypt Key:
// the SDK decrypts each event and checks its signature (a bad one is dropped unhandled). The
// follower changes are made through the SDK's task client.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import lark from '@larksuiteoapi/node-sdk';
import { startRoster, temporaryDirectory } from './harness.mjs';

const APP_ID = 'cli_acme_tasks';
const ENCRYPT_KEY = 'node-encrypt-key';
const TOKEN = 'node-verification-token';
const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };

// Events the dispatcher handled, in arrival order; `next()` waits for the next one.
const handled = [];
const waiting = [];
function put(kind, data) {
  const waiter = waiting.shift();
  if (waiter) waiter({ kind, data });
  else handled.push({ kind, data });
}
function next(timeoutMs = 10000) {
  if (handled.length) return Promise.resolve(handled.shift());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no event arrived')), timeoutMs);
    waiting.push((event) => { clearTimeout(timer); resolve(event); });
  });
}

const dispatcher = new lark.EventDispatcher({ encryptKey: ENCRYPT_KEY, verificationToken: TOKEN, logger: quiet })
  .register({
    'task.task.updated_v1': async (data) => put('updated', data),
    'task.task.update_tenant_v1': async (data) => put('tenant', data),
  });
const receiver = http.createServer(lark.adaptDefault('/events', dispatcher, { autoChallenge: true }));
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const eventUrl = `http://127.0.0.1:${receiver.address().port}/events`;

const seeds = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'seeds');
const seed = path.join(temporaryDirectory('roster-node-events-'), 'feishu.toml');
writeFileSync(seed, readFileSync(path.join(seeds, 'feishu.toml'), 'utf8').replace(
  'app_secret = "acme-secret-1"\n',
  `app_secret = "acme-secret-1"\nevent_url = "${eventUrl}"\n`
    + `verification_token = "${TOKEN}"\nencrypt_key = "${ENCRYPT_KEY}"\n`,
));
const roster = await startRoster(seed);
after(async () => {
  await roster.stop();
  receiver.close();
});

const client = new lark.Client({
  appId: APP_ID, appSecret: 'acme-secret-1', domain: roster.url,
  cache: new lark.DefaultCache(), logger: quiet,
});

async function openId(userId) {
  const res = await client.contact.v3.user.get({
    path: { user_id: userId }, params: { user_id_type: 'user_id' },
  });
  return res.data.user.open_id;
}

test('the url_verification challenge is answered by adaptDefault with autoChallenge', async () => {
  let challenge;
  for (let i = 0; i < 50 && !challenge; i += 1) {
    const { body } = await roster.admin('GET', '/deliveries?space=feishu/acme');
    challenge = body.deliveries.find((d) => d.event === 'url_verification');
    if (!challenge) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(challenge.status, 200);
  assert.deepEqual(Object.keys(JSON.parse(challenge.request)), ['encrypt']);
  assert.deepEqual(Object.keys(JSON.parse(challenge.response)), ['challenge']);
});

test('follower changes arrive decrypted and signed', async () => {
  const created = await client.task.v1.task.create({
    params: { user_id_type: 'open_id' },
    data: { summary: 'Events', origin: { platform_i18n_name: '{"en_us": "SDK tests"}' } },
  });
  const taskId = created.data.task.id;
  const [alice, bob] = [await openId('alice'), await openId('bob')];
  const added = await client.task.v1.taskFollower.create({
    path: { task_id: taskId }, params: { user_id_type: 'open_id' }, data: { id_list: [alice, bob] },
  });
  assert.equal(added.code, 0);

  const events = Object.fromEntries([await next(), await next()].map((e) => [e.kind, e.data]));
  // The SDK flattens header and event into one object.
  assert.equal(events.updated.app_id, APP_ID);
  assert.equal(events.updated.tenant_key, 'acme');
  assert.equal(events.updated.token, TOKEN);
  assert.deepEqual([events.updated.task_id, events.updated.obj_type], [taskId, 3]);
  assert.equal(events.tenant.task_id, taskId);
  assert.deepEqual([events.tenant.object_type, events.tenant.event_type], ['follower', 'create']);
  assert.deepEqual(events.tenant.user_id_list.user_id_list.map((u) => u.open_id), [alice, bob]);

  const removed = await client.task.v1.taskFollower.delete({
    path: { task_id: taskId, follower_id: bob }, params: { user_id_type: 'open_id' },
  });
  assert.equal(removed.code, 0);
  const again = Object.fromEntries([await next(), await next()].map((e) => [e.kind, e.data]));
  assert.equal(again.tenant.event_type, 'delete');
  assert.deepEqual(again.tenant.user_id_list.user_id_list.map((u) => u.open_id), [bob]);
});
