// Feishu Task v2 through @larksuiteoapi/node-sdk's `client.task.v2`: a task created with
// members, followers and assignees added and removed, one task through both APIs, paging,
// client_token and the error codes roster produces.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import lark from '@larksuiteoapi/node-sdk';
import { refusal, startRoster } from './harness.mjs';

const roster = await startRoster('feishu.toml');
after(() => roster.stop());

const APP_ID = 'cli_acme_tasks';
const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };
const client = new lark.Client({
  appId: APP_ID,
  appSecret: 'acme-secret-1',
  domain: roster.url,
  cache: new lark.DefaultCache(),
  logger: quiet,
});
const byUserId = { user_id_type: 'user_id' };

const member = (id, role, type = 'user') => ({ id, type, role });
const membersOf = (task) => (task.members ?? []).map((m) => `${m.role}:${m.type}:${m.id}`).sort();

async function create(data = {}, options) {
  const res = await client.task.v2.task.create(
    { params: byUserId, data: { summary: 'Ship v2', ...data } },
    options,
  );
  assert.equal(res.code, 0);
  return res.data.task;
}

const addMembers = (guid, members, extra = {}, options) =>
  client.task.v2.task.addMembers(
    { path: { task_guid: guid }, params: byUserId, data: { members, ...extra } },
    options,
  );
const removeMembers = (guid, members) =>
  client.task.v2.task.removeMembers({ path: { task_guid: guid }, params: byUserId, data: { members } });
const get = (guid, options) => client.task.v2.task.get({ path: { task_guid: guid }, params: byUserId }, options);

async function userToken(userId) {
  const { status, body } = await roster.admin('POST', '/feishu/login_codes', { app_id: APP_ID, user_id: userId });
  assert.equal(status, 200);
  await client.userAccessToken.initWithCode({ [userId]: body.code });
  return client.userAccessToken.get(userId);
}

test('a task created with members, then members added and removed', async () => {
  const task = await create({ members: [member('alice', 'assignee'), member('bob', 'follower')] });
  assert.equal(task.guid.length, 36);
  assert.deepEqual(task.creator, { id: APP_ID, type: 'app', role: 'creator' });
  assert.deepEqual(membersOf(task), ['assignee:user:alice', 'follower:user:bob']);

  const added = await addMembers(task.guid, [member('carol', 'follower'), member('carol', 'assignee')]);
  assert.deepEqual(membersOf(added.data.task), [
    'assignee:user:alice', 'assignee:user:carol', 'follower:user:bob', 'follower:user:carol',
  ]);
  const removed = await removeMembers(task.guid, [member('alice', 'assignee'), member('bob', 'follower')]);
  assert.deepEqual(membersOf(removed.data.task), ['assignee:user:carol', 'follower:user:carol']);
  assert.deepEqual(membersOf((await get(task.guid)).data.task), membersOf(removed.data.task));
});

test('one task, two APIs: v1 followers and collaborators are v2 followers and assignees', async () => {
  const v1 = await client.task.v1.task.create({
    params: byUserId,
    data: { summary: 'From v1', origin: { platform_i18n_name: '{"en_us": "SDK"}' }, follower_ids: ['dave'] },
  });
  const guid = v1.data.task.id;
  assert.deepEqual(membersOf((await get(guid)).data.task), ['follower:user:dave']);
  await removeMembers(guid, [member('dave', 'follower')]);
  const followers = await client.task.v1.taskFollower.list({ path: { task_id: guid }, params: byUserId });
  assert.deepEqual(followers.data.items ?? [], []);

  await addMembers(guid, [member('bob', 'assignee')]);
  const collaborators = await client.task.v1.taskCollaborator.list({ path: { task_id: guid }, params: byUserId });
  assert.deepEqual(collaborators.data.items.map((c) => c.id), ['bob']);
});

test('client_token: a repeated create makes one task', async () => {
  const first = await create({ client_token: 'node-create-000001' });
  const again = await create({ client_token: 'node-create-000001' });
  assert.equal(again.guid, first.guid);
});

test('my tasks, page by page, with a user token', async () => {
  const token = await userToken('carol');
  const asCarol = lark.withUserAccessToken(token);
  const mine = [];
  for (const n of [1, 2, 3]) {
    mine.push((await create({ summary: `Carol's ${n}`, members: [member('carol', 'assignee')] })).guid);
  }
  const pages = [];
  for await (const page of await client.task.v2.task.listWithIterator({ params: { page_size: 2 } }, asCarol)) {
    pages.push(page.items.map((t) => t.guid));
  }
  assert.ok(pages.every((p) => p.length <= 2));
  assert.deepEqual(pages.flat().slice(-3), mine);
});

test('error codes', async () => {
  const task = await create();
  const badRole = await refusal(addMembers(task.guid, [member('alice', 'owner')]));
  assert.deepEqual(badRole, {
    status: 400,
    code: 1470400,
    msg: "Invalid Param 'members', role is invalid. Only 'assignee', 'follower' are supported.",
  });
  // Three followers at most per task (the seed's task_followers).
  await addMembers(task.guid, ['alice', 'bob', 'carol'].map((u) => member(u, 'follower')));
  const full = await refusal(addMembers(task.guid, [member('dave', 'follower')]));
  assert.deepEqual([full.status, full.code], [400, 1470611]);
  const missing = await refusal(get('00000000-0000-4000-8000-000000000000'));
  assert.deepEqual([missing.status, missing.code], [404, 1470404]);
  const stranger = lark.withUserAccessToken(await userToken('dave'));
  const hidden = await refusal(get(task.guid, stranger));
  assert.deepEqual([hidden.status, hidden.code], [403, 1470403]);
});

test('tasklists: members by role, tasks added and listed, owner-only delete', async () => {
  const lists = client.task.v2.tasklist;
  const made = (await lists.create({
    params: byUserId,
    data: { name: 'Node launch', members: [member('bob', 'editor'), member('dave', 'viewer')] },
  })).data.tasklist;
  assert.deepEqual(made.owner, { id: APP_ID, type: 'app', role: 'owner' });
  assert.deepEqual(membersOf(made), ['editor:user:bob', 'viewer:user:dave']);
  const path = { tasklist_guid: made.guid };
  const moved = await lists.addMembers({ path, params: byUserId, data: { members: [member('dave', 'editor')] } });
  assert.deepEqual(membersOf(moved.data.tasklist), ['editor:user:bob', 'editor:user:dave']);
  const removed = await lists.removeMembers({ path, params: byUserId, data: { members: [member('bob', 'editor')] } });
  assert.deepEqual(membersOf(removed.data.tasklist), ['editor:user:dave']);

  const guids = [];
  for (const n of [1, 2, 3]) {
    const task = await create({ summary: `Step ${n}` });
    await client.task.v2.task.addTasklist({ path: { task_guid: task.guid }, data: { tasklist_guid: made.guid } });
    guids.push(task.guid);
  }
  const first = (await lists.tasks({ path, params: { page_size: 2 } })).data;
  assert.deepEqual([first.items.map((t) => t.guid), first.has_more], [guids.slice(0, 2), true]);
  const rest = (await lists.tasks({ path, params: { page_size: 2, page_token: first.page_token } })).data;
  assert.deepEqual([rest.items.map((t) => t.guid), rest.has_more], [guids.slice(2), false]);
  const ofTask = await client.task.v2.task.tasklists({ path: { task_guid: guids[0] } });
  assert.deepEqual(ofTask.data.tasklists.map((t) => t.tasklist_guid), [made.guid]);

  const asDave = lark.withUserAccessToken(await userToken('dave'));
  const byEditor = await refusal(lists.delete({ path }, asDave));
  assert.deepEqual([byEditor.status, byEditor.code], [403, 1470403]);
  await lists.delete({ path });
  const gone = await refusal(lists.get({ path }));
  assert.deepEqual([gone.status, gone.code], [404, 1470404]);
});
