// Feishu through the official Node SDK (@larksuiteoapi/node-sdk), as a user would call it:
// tokens, directory, Task v1 with its followers and collaborators, and their error paths.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import lark from '@larksuiteoapi/node-sdk';
import { refusal, startRoster } from './harness.mjs';

const roster = await startRoster('feishu.toml');
after(() => roster.stop());

const APP_ID = 'cli_acme_tasks';
const APP_SECRET = 'acme-secret-1';
const ORIGIN = { platform_i18n_name: '{"en_us": "SDK tests"}' };

// The SDK logs every refused request; the assertions say what matters. (`loggerLevel: fatal`
// is 0, which the SDK reads as "unset".)
const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };

// Each client gets its own token cache: the SDK's default one is shared by the whole process.
function clientOf({ appId = APP_ID, appSecret = APP_SECRET, disableTokenCache = false } = {}) {
  return new lark.Client({
    appId,
    appSecret,
    domain: roster.url,
    disableTokenCache,
    cache: new lark.DefaultCache(),
    logger: quiet,
  });
}

const client = clientOf();

async function openId(userId) {
  const res = await client.contact.v3.user.get({
    path: { user_id: userId },
    params: { user_id_type: 'user_id' },
  });
  return res.data.user.open_id;
}

async function createTask(data = {}, options) {
  const res = await client.task.v1.task.create(
    { params: { user_id_type: 'open_id' }, data: { summary: 'Prepare the report', origin: ORIGIN, ...data } },
    options,
  );
  assert.equal(res.code, 0);
  return res.data.task;
}

function addFollowers(taskId, ids, userIdType = 'open_id', options) {
  return client.task.v1.taskFollower.create(
    { path: { task_id: taskId }, params: { user_id_type: userIdType }, data: { id_list: ids } },
    options,
  );
}

async function listAll(resource, taskId, params) {
  const pages = [];
  for await (const page of await resource.listWithIterator({ path: { task_id: taskId }, params })) {
    pages.push(page.items.map((item) => item.id));
  }
  return pages;
}

// A user access token without a browser: a login code from roster, exchanged by the SDK.
async function userToken(userId) {
  const { status, body } = await roster.admin('POST', '/feishu/login_codes', { app_id: APP_ID, user_id: userId });
  assert.equal(status, 200);
  await client.userAccessToken.initWithCode({ [userId]: body.code });
  const token = await client.userAccessToken.get(userId);
  assert.match(token, /^u-/);
  return token;
}

test('a tenant token comes from the internal endpoint', async () => {
  const res = await client.auth.v3.tenantAccessToken.internal({
    data: { app_id: APP_ID, app_secret: APP_SECRET },
  });
  assert.equal(res.code, 0);
  assert.match(res.tenant_access_token, /^t-/);
  assert.ok(res.expire > 1800 && res.expire <= 7200);
});

test('a wrong secret makes the token fetch fail', async () => {
  const wrong = clientOf({ appSecret: 'not-the-secret' });
  await assert.rejects(
    wrong.task.v1.task.list({}),
    /failed to get tenant_access_token, code: 10014, msg: app secret invalid/,
  );
});

test('directory: create a user, get it by each id type', async () => {
  const created = await client.contact.v3.user.create({
    params: { user_id_type: 'user_id' },
    data: { user_id: 'yuri', name: 'Yuri', email: 'yuri@acme.example' },
  });
  const user = created.data.user;
  for (const [idType, id] of [['open_id', user.open_id], ['union_id', user.union_id], ['user_id', 'yuri']]) {
    const got = await client.contact.v3.user.get({ path: { user_id: id }, params: { user_id_type: idType } });
    assert.equal(got.data.user.user_id, 'yuri');
  }
  const unknown = await refusal(client.contact.v3.user.get({ path: { user_id: 'ou_nobody' } }));
  assert.deepEqual([unknown.status, unknown.code], [400, 99992351]);
});

test('task lifecycle', async () => {
  const task = await createTask({ due: { time: '1735689600', timezone: 'Asia/Shanghai' } });
  assert.equal(task.source, 6);
  assert.equal(task.complete_time, '0');
  assert.equal(task.due.time, '1735689600');
  const path = { task_id: task.id };
  const patched = await client.task.v1.task.patch({
    path,
    data: { task: { summary: 'Renamed' }, update_fields: ['summary'] },
  });
  assert.equal(patched.data.task.summary, 'Renamed');
  await client.task.v1.task.complete({ path });
  assert.notEqual((await client.task.v1.task.get({ path })).data.task.complete_time, '0');
  const done = await client.task.v1.task.list({ params: { task_completed: true } });
  assert.ok(done.data.items.some((t) => t.id === task.id));
  await client.task.v1.task.uncomplete({ path });
  assert.equal((await client.task.v1.task.get({ path })).data.task.complete_time, '0');
  await client.task.v1.task.delete({ path });
  const gone = await refusal(client.task.v1.task.get({ path }));
  assert.deepEqual([gone.status, gone.code], [400, 1470602]);
});

test('followers: add alice and bob with id_list, list them across pages of one', async () => {
  const task = await createTask();
  const [alice, bob] = [await openId('alice'), await openId('bob')];
  const added = await addFollowers(task.id, [alice, bob]);
  assert.deepEqual(added.data.follower, { id_list: [alice, bob] });

  const first = await client.task.v1.taskFollower.list({ path: { task_id: task.id }, params: { page_size: 1 } });
  assert.deepEqual(first.data.items, [{ id: alice }]);
  assert.equal(first.data.has_more, true);
  const second = await client.task.v1.taskFollower.list({
    path: { task_id: task.id },
    params: { page_size: 1, page_token: first.data.page_token },
  });
  assert.deepEqual(second.data.items, [{ id: bob }]);
  assert.equal(second.data.has_more, false);
  const pages = await listAll(client.task.v1.taskFollower, task.id, { page_size: 1, user_id_type: 'user_id' });
  assert.deepEqual(pages, [['alice'], ['bob']]);

  await client.task.v1.taskFollower.delete({ path: { task_id: task.id, follower_id: bob } });
  const missing = await refusal(client.task.v1.taskFollower.delete({ path: { task_id: task.id, follower_id: bob } }));
  assert.deepEqual([missing.status, missing.code], [404, 1470710]);
  const removed = await client.task.v1.task.batchDeleteFollower({
    path: { task_id: task.id },
    data: { id_list: [alice, bob] },
  });
  assert.deepEqual(removed.data.followers, [alice]);
});

test('collaborators: add, list across pages, remove', async () => {
  const task = await createTask();
  const ids = [await openId('alice'), await openId('bob'), await openId('carol')];
  const path = { task_id: task.id };
  await client.task.v1.taskCollaborator.create({ path, data: { id_list: ids } });
  const again = await refusal(client.task.v1.taskCollaborator.create({ path, data: { id: ids[0] } }));
  assert.deepEqual([again.status, again.code], [400, 1470431]);
  assert.deepEqual(await listAll(client.task.v1.taskCollaborator, task.id, { page_size: 2 }), [ids.slice(0, 2), ids.slice(2)]);
  await client.task.v1.taskCollaborator.delete({ path: { ...path, collaborator_id: ids[0] } });
  const missing = await refusal(client.task.v1.taskCollaborator.delete({ path: { ...path, collaborator_id: ids[0] } }));
  assert.deepEqual([missing.status, missing.code], [404, 1470700]);
  const removed = await client.task.v1.task.batchDeleteCollaborator({ path, data: { id_list: ids } });
  assert.deepEqual(removed.data.collaborators, ids.slice(1));
});

test('follower error codes: 1470430, 1470412, 1470428, 1470602, 1470403', async () => {
  const task = await createTask();
  const [alice, bob, carol, dave] = [await openId('alice'), await openId('bob'), await openId('carol'), await openId('dave')];
  await addFollowers(task.id, [alice, bob]);

  for (const [ids, code, msg] of [
    [[bob, alice], 1470430, 'followers existed in task'],
    [[carol, ''], 1470412, 'invalid follower id'],
    [[carol, dave], 1470428, 'total follower exceeds limit'],
  ]) {
    const refused = await refusal(addFollowers(task.id, ids));
    assert.deepEqual(refused, { status: 400, code, msg });
  }
  const unknownTask = await refusal(addFollowers('00000000-0000-4000-8000-000000000000', [carol]));
  assert.deepEqual(unknownTask, { status: 400, code: 1470602, msg: 'Invalid task id.' });
  assert.deepEqual(await listAll(client.task.v1.taskFollower, task.id, { user_id_type: 'user_id' }), [['alice', 'bob']]);

  const appToken = (await client.auth.v3.appAccessToken.internal({ data: { app_id: APP_ID, app_secret: APP_SECRET } }))
    .app_access_token;
  const bySetToken = clientOf({ disableTokenCache: true });
  const wrongKind = await refusal(bySetToken.task.v1.taskFollower.create(
    { path: { task_id: task.id }, data: { id: carol } },
    lark.withTenantToken(appToken),
  ));
  assert.deepEqual([wrongKind.status, wrongKind.code], [403, 1470403]);
});

test('a bad page token is 1470422', async () => {
  const task = await createTask();
  const refused = await refusal(client.task.v1.taskFollower.list({
    path: { task_id: task.id },
    params: { page_token: 'not-a-token' },
  }));
  assert.deepEqual(refused, { status: 400, code: 1470422, msg: 'failed to parse page_token' });
});

test('an expired tenant token is refused', async () => {
  const { tenant_access_token: token } = await client.auth.v3.tenantAccessToken.internal({
    data: { app_id: APP_ID, app_secret: APP_SECRET },
  });
  const bySetToken = clientOf({ disableTokenCache: true });
  await bySetToken.task.v1.task.list({}, lark.withTenantToken(token));
  await roster.admin('POST', '/clock', { offset_seconds: 7200 });
  try {
    const expired = await refusal(bySetToken.task.v1.task.list({}, lark.withTenantToken(token)));
    assert.deepEqual([expired.status, expired.code], [400, 99991663]);
    // A client that fetches its own token again is served.
    assert.equal((await clientOf().task.v1.task.list({})).code, 0);
  } finally {
    await roster.admin('POST', '/clock', { offset_seconds: 0 });
  }
});

test('user tokens from a login code, used with withUserAccessToken', async () => {
  const [alice, carol] = [await userToken('alice'), await userToken('carol')];
  const mine = await createTask({ summary: "Alice's" }, lark.withUserAccessToken(alice));
  assert.equal(mine.source, 7);
  assert.equal(mine.creator_id, await openId('alice'));
  const listed = await client.task.v1.task.list({}, lark.withUserAccessToken(alice));
  assert.ok(listed.data.items.some((t) => t.id === mine.id));

  // A follower may not add collaborators; a stranger may not even see the task.
  await addFollowers(mine.id, ['dave'], 'user_id', lark.withUserAccessToken(alice));
  const dave = await userToken('dave');
  const refused = await refusal(client.task.v1.taskCollaborator.create(
    { path: { task_id: mine.id }, params: { user_id_type: 'user_id' }, data: { id: 'carol' } },
    lark.withUserAccessToken(dave),
  ));
  assert.deepEqual([refused.status, refused.code], [400, 1470404]);
  const hidden = await refusal(client.task.v1.task.get({ path: { task_id: mine.id } }, lark.withUserAccessToken(carol)));
  assert.deepEqual([hidden.status, hidden.code], [400, 1470432]);
});

test('tenants are isolated', async () => {
  const task = await createTask();
  const globex = clientOf({ appId: 'cli_globex_tasks', appSecret: 'globex-secret-1' });
  const foreign = await refusal(globex.task.v1.task.get({ path: { task_id: task.id } }));
  assert.deepEqual([foreign.status, foreign.code], [400, 1470602]);
});

async function loginCode(userId, started = {}) {
  const { status, body } = await roster.admin('POST', '/feishu/login_codes', { app_id: APP_ID, user_id: userId, ...started });
  assert.equal(status, 200);
  return body.code;
}

test('the legacy v1 exchange answers tokens with the user', async () => {
  const res = await client.authen.v1.accessToken.create({
    data: { grant_type: 'authorization_code', code: await loginCode('alice') },
  });
  assert.equal(res.code, 0);
  assert.equal(res.data.user_id, 'alice');
  assert.equal(res.data.en_name, 'Alice Liddell');
  assert.equal(res.data.avatar_big, 'https://avatars.acme.example/alice.png');
  for (const field of ['access_token', 'refresh_token', 'sid', 'open_id', 'union_id', 'tenant_key', 'mobile']) {
    assert.equal(typeof res.data[field], 'string', field);
  }
  const refreshed = await client.authen.v1.refreshAccessToken.create({
    data: { grant_type: 'refresh_token', refresh_token: res.data.refresh_token },
  });
  assert.equal(refreshed.code, 0);
  assert.equal(refreshed.data.user_id, 'alice');
});

test('client.accessToken exchanges a PKCE login code at /oauth/v3/token', async () => {
  const oauth = new lark.Client({
    appId: APP_ID, appSecret: APP_SECRET, domain: roster.url, oauthBaseUrl: roster.url,
    cache: new lark.DefaultCache(), logger: quiet,
  });
  const verifier = 'node-pkce-verifier-'.padEnd(64, 'z');
  const { createHash } = await import('node:crypto');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const code = await loginCode('carol', { code_challenge: challenge, code_challenge_method: 'S256' });
  await assert.rejects(
    oauth.accessToken.retrieveByAuthorizationCode({ code, codeVerifier: 'w'.repeat(50) }),
    (e) => e.statusCode === 400 && e.code === 20049 && e.error === 'invalid_grant',
  );
  const token = await oauth.accessToken.retrieveByAuthorizationCode({ code, codeVerifier: verifier });
  assert.equal(token.tokenType, 'Bearer');
  const info = await client.authen.v1.userInfo.get({}, lark.withUserAccessToken(token.accessToken));
  assert.equal(info.data.user_id, 'carol');
  const refreshed = await oauth.accessToken.refresh({ refreshToken: token.refreshToken });
  assert.ok(refreshed.accessToken && refreshed.refreshToken !== token.refreshToken);
  await assert.rejects(
    oauth.accessToken.retrieveByAuthorizationCode({ code, codeVerifier: verifier }),
    (e) => e.code === 20003,
  );
});
