// aPaaS user tasks and their group chats, driven through @larksuiteoapi/node-sdk
// (seed feishu_apaas.toml).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as lark from '@larksuiteoapi/node-sdk';
import { startRoster } from './harness.mjs';

const ACME = ['cli_apaas0000000001', 'acme-secret'];
const GLOBEX = ['cli_globex000000001', 'globex-secret'];

let roster;
let acme;

function client([appId, appSecret]) {
  return new lark.Client({
    appId, appSecret, domain: roster.url, loggerLevel: lark.LoggerLevel.fatal,
  });
}

const kunlun = (first, last) =>
  Array.from({ length: last - first + 1 }, (_, i) => String(1000 + first + i));

before(async () => {
  roster = await startRoster('feishu_apaas.toml');
  acme = client(ACME);
});

after(async () => {
  await roster.stop();
});

function chatGroup(c, taskId, data, options) {
  return c.apaas.v1.userTask.chatGroup({ path: { task_id: taskId }, data }, options);
}

// Every member of the chat as user_ids, page by page; checks the paging fields.
async function memberUserIds(c, chatId, pageSize) {
  const ids = [];
  let pageToken;
  for (;;) {
    const res = await c.im.v1.chatMembers.get({
      path: { chat_id: chatId },
      params: { member_id_type: 'user_id', page_size: pageSize, page_token: pageToken },
    });
    assert.equal(res.code, 0, res.msg);
    assert.ok(res.data.items.length <= pageSize);
    ids.push(...res.data.items.map((item) => item.member_id));
    if (!res.data.has_more) return { ids, total: res.data.member_total };
    assert.ok(res.data.page_token);
    pageToken = res.data.page_token;
  }
}

// Non-2xx answers reject with an AxiosError carrying the vendor's body.
async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e.response, `not an HTTP error: ${e}`);
    return { status: e.response.status, body: e.response.data };
  }
  assert.fail('expected the call to be refused');
}

async function assertInvalid(promise, field) {
  const { status, body } = await rejection(promise);
  assert.equal(status, 400);
  assert.equal(body.code, 2320001);
  assert.equal(body.msg, 'param is invalid');
  assert.equal(body.error.field_violations[0].field, field);
}

test('query returns the seeded user tasks with string paging', async () => {
  const res = await acme.apaas.v1.userTask.query({ data: { kunlun_user_id: '1001' } });
  assert.equal(res.code, 0);
  assert.equal(res.data.count, '2');
  assert.deepEqual(res.data.tasks.map((t) => t.task_id), ['7003', '7001']);
  assert.deepEqual(res.data.tasks[0].initiator, { user_id: '1005', name: 'User 05' });
  assert.equal(res.data.tasks[0].workflow_instance.status, 'in_process');
  const second = await acme.apaas.v1.userTask.query({
    data: { kunlun_user_id: '1001', limit: '1', offset: '1' },
  });
  assert.equal(second.data.count, '2');
  assert.deepEqual(second.data.tasks.map((t) => t.task_id), ['7001']);
  await assertInvalid(
    acme.apaas.v1.userTask.query({ data: { kunlun_user_id: '1001', offset: '-1' } }), 'offset');
});

test('chat_group creates a chat of exactly the operator and the invitees', async () => {
  const res = await chatGroup(acme, '7003', {
    operator_user_id: '1001', invite_user_ids: kunlun(2, 21), chat_name: 'Leave of u01',
  });
  assert.equal(res.code, 0);
  const chatId = res.data.chat_id;
  assert.match(chatId, /^oc_[0-9a-f]{32}$/);
  const { ids, total } = await memberUserIds(acme, chatId, 4);
  assert.deepEqual(ids, Array.from({ length: 21 }, (_, i) => `u${String(i + 1).padStart(2, '0')}`));
  assert.equal(total, 21);
  const chat = await acme.im.v1.chat.get({ path: { chat_id: chatId } });
  assert.equal(chat.data.name, 'Leave of u01');
  assert.equal(chat.data.bot_count, '1');
});

test('chat_group joins an existing chat, and again without duplicates', async () => {
  const created = await acme.im.v1.chat.create({
    params: { user_id_type: 'user_id' }, data: { name: 'Existing', user_id_list: ['u15'] },
  });
  const chatId = created.data.chat_id;
  for (let i = 0; i < 2; i += 1) {
    const res = await chatGroup(acme, '7003', {
      operator_user_id: '1001', invite_user_ids: ['1002'], chat_id: chatId,
    });
    assert.equal(res.data.chat_id, chatId);
    assert.deepEqual(await memberUserIds(acme, chatId, 2), { ids: ['u15', 'u01', 'u02'], total: 3 });
  }
});

test('chat_group refuses invalid input and changes nothing', async () => {
  const target = await chatGroup(acme, '7003', { operator_user_id: '1011', invite_user_ids: ['1012'] });
  const chatId = target.data.chat_id;
  const globex = client(GLOBEX);
  const globexChat = (await chatGroup(globex, '8001', { operator_user_id: '2001' })).data.chat_id;
  const cases = [
    ['nope', { operator_user_id: '1001' }, 'task_id'],
    ['8001', { operator_user_id: '1001' }, 'task_id'],
    ['7003', { invite_user_ids: ['1002'] }, 'operator_user_id'],
    ['7003', { operator_user_id: '999' }, 'operator_user_id'],
    ['7003', { operator_user_id: '2001' }, 'operator_user_id'],
    ['7003', { operator_user_id: '1001', invite_user_ids: [] }, 'invite_user_ids'],
    ['7003', { operator_user_id: '1001', invite_user_ids: kunlun(2, 22) }, 'invite_user_ids'],
    ['7003', { operator_user_id: '1001', invite_user_ids: ['1002', '999'] }, 'invite_user_ids'],
    ['7003', { operator_user_id: '1001', invite_user_ids: ['2001'] }, 'invite_user_ids'],
  ];
  for (const [taskId, data, field] of cases) {
    await assertInvalid(chatGroup(acme, taskId, { chat_id: chatId, ...data }), field);
    assert.deepEqual(await memberUserIds(acme, chatId, 20), { ids: ['u11', 'u12'], total: 2 });
  }
  for (const foreign of ['oc_00000000000000000000000000000000', globexChat]) {
    await assertInvalid(chatGroup(acme, '7003', { operator_user_id: '1001', chat_id: foreign }), 'chat_id');
  }
  assert.deepEqual(await memberUserIds(globex, globexChat, 20), { ids: ['g01'], total: 1 });
});

test('chat_group refuses user access tokens', async () => {
  const { body } = await roster.admin('POST', '/feishu/login_codes', { app_id: ACME[0], user_id: 'u01' });
  await acme.userAccessToken.initWithCode({ u01: body.code });
  const token = await acme.userAccessToken.get('u01');
  const { status, body: refused } = await rejection(
    chatGroup(acme, '7003', { operator_user_id: '1001' }, lark.withUserAccessToken(token)));
  assert.equal(status, 400);
  assert.equal(refused.code, 99991668);
  assert.equal(refused.msg, 'user access token not support');
});

// What a bot calls first: its own bot, the chats it is in, and whether it is in one.
test('bot info, the chat list and is_in_chat', async () => {
  const bot = await acme.request({ method: 'GET', url: '/open-apis/bot/v3/info' });
  assert.equal(bot.code, 0, bot.msg);
  assert.equal(bot.bot.app_name, 'Acme Assistant');
  assert.equal(bot.bot.activate_status, 2);
  assert.match(bot.bot.open_id, /^ou_[0-9a-f]{32}$/);

  const made = [];
  for (const name of ['Node one', 'Node two', 'Node three']) {
    const res = await acme.im.v1.chat.create({ data: { name } });
    assert.equal(res.code, 0, res.msg);
    made.push(res.data.chat_id);
  }
  const listed = [];
  for await (const page of await acme.im.v1.chat.listWithIterator({ params: { page_size: 2 } })) {
    assert.ok(page.items.length <= 2);
    listed.push(...page.items.map((item) => item.chat_id));
  }
  assert.deepEqual(listed.slice(-3), made, 'oldest first, across pages');
  const newest = await acme.im.v1.chat.list({
    params: { page_size: 1, sort_type: 'ByActiveTimeDesc' },
  });
  assert.deepEqual(newest.data.items.map((item) => item.chat_id), [made[2]]);
  assert.equal(newest.data.has_more, true);

  const inChat = await acme.im.v1.chatMembers.isInChat({ path: { chat_id: made[0] } });
  assert.equal(inChat.code, 0, inChat.msg);
  assert.equal(inChat.data.is_in_chat, true);
  const other = await client(['cli_apaas0000000002', 'acme-secret-2'])
    .im.v1.chatMembers.isInChat({ path: { chat_id: made[0] } });
  assert.equal(other.data.is_in_chat, false);
});
