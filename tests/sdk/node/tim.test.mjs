// Tencent Cloud Chat (TIM) REST against roster, with UserSigs minted by npm `tls-sig-api-v2`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startRoster } from './harness.mjs';

const TLSSigAPIv2 = createRequire(import.meta.url)('tls-sig-api-v2');

const MAIN = 1400000000;
const MAIN_KEY = '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e';
const OTHER = 1400000001;
const OTHER_KEY = '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';
const LIMITED = 1400000002;
const LIMITED_KEY = 'limited-app-secret-key';

const sig = (sdkappid, key, identifier, expire = 86400) =>
  new TLSSigAPIv2.Api(sdkappid, key).genUserSig(identifier, expire);

let roster;
before(async () => { roster = await startRoster('tim.toml'); });
after(async () => { await roster.admin('POST', '/clock', { offset_seconds: 0 }); await roster.stop(); });

/** POST `body` to /v4/`path` as an admin of `app`; `auth` overrides URL parts. */
async function call(path, body, auth = {}) {
  const { sdkappid = MAIN, key = MAIN_KEY, identifier = 'administrator' } = auth;
  const usersig = auth.usersig ?? sig(sdkappid, key, identifier);
  const random = Math.floor(Math.random() * 4294967295);
  const url = `${roster.url}/v4/${path}?sdkappid=${sdkappid}&identifier=${identifier}`
    + `&usersig=${usersig}&random=${random}&contenttype=json`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  assert.equal(response.status, 200);
  return response.json();
}

const limited = { sdkappid: LIMITED, key: LIMITED_KEY, identifier: 'admin' };

function assertFail(reply, code) {
  assert.equal(reply.ActionStatus, 'FAIL', JSON.stringify(reply));
  assert.equal(reply.ErrorCode, code, JSON.stringify(reply));
  assert.ok(reply.ErrorInfo);
}

async function follow(from, targets, auth) {
  const reply = await call('follow/follow_add',
    { From_Account: from, FollowItem: targets.map((t) => ({ To_Account: t })) }, auth);
  assert.equal(reply.ErrorCode, 0, JSON.stringify(reply));
  return reply.ResultItem.map((i) => [i.To_Account, i.ResultCode]);
}

async function counts(ids, auth) {
  const reply = await call('follow/follow_get_info', { From_Account: ids[0], To_Account: ids }, auth);
  assert.equal(reply.ErrorCode, 0, JSON.stringify(reply));
  return Object.fromEntries(reply.FollowInfo.map(
    (i) => [i.To_Account, [i.FollowerCount, i.FollowingCount, i.MutualFollowingCount]]));
}

async function importAccounts(ids) {
  const reply = await call('im_open_login_svc/multiaccount_import', { Accounts: ids });
  assert.deepEqual(reply, { FailAccounts: [], ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  return ids;
}

test('the seed example: UserID_001 follows UserID_002 and UserID_003', async () => {
  const reply = await call('follow/follow_add', {
    From_Account: 'UserID_001',
    FollowItem: [{ To_Account: 'UserID_002' }, { To_Account: 'UserID_003' }],
  });
  assert.deepEqual(reply, {
    ResultItem: [
      { To_Account: 'UserID_002', ResultCode: 0, ResultInfo: '' },
      { To_Account: 'UserID_003', ResultCode: 0, ResultInfo: '' },
    ],
    ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '', ErrorDisplay: '',
  });
});

test('forged, expired and other-app UserSigs and non-admins are refused, nothing written', async () => {
  const [a, b] = await importAccounts(['n_sig_a', 'n_sig_b']);
  const body = { From_Account: a, FollowItem: [{ To_Account: b }] };
  assertFail(await call('follow/follow_add', body, { usersig: sig(MAIN, OTHER_KEY, 'administrator') }), 70009);
  assertFail(await call('follow/follow_add', body, { usersig: sig(OTHER, OTHER_KEY, 'administrator') }), 70014);
  assertFail(await call('follow/follow_add', body, { usersig: sig(MAIN, MAIN_KEY, 'UserID_002') }), 70013);
  assertFail(await call('follow/follow_add', body, { identifier: 'UserID_002' }), 60010);
  const shortLived = sig(MAIN, MAIN_KEY, 'administrator', 30);
  await roster.admin('POST', '/clock', { offset_seconds: 31 });
  try {
    assertFail(await call('follow/follow_add', body, { usersig: shortLived }), 70001);
  } finally {
    await roster.admin('POST', '/clock', { offset_seconds: 0 });
  }
  assert.deepEqual(await counts([a, b]), { [a]: [0, 0, 0], [b]: [0, 0, 0] });
});

test('per-target results, 21 targets, full following list', async () => {
  const [a, ...rest] = await importAccounts(Array.from({ length: 22 }, (_, i) => `n_t_${i}`));
  assertFail(await call('follow/follow_add',
    { From_Account: a, FollowItem: rest.slice(0, 21).map((t) => ({ To_Account: t })) }), 30001);
  assert.deepEqual(await counts([a]), { [a]: [0, 0, 0] });
  assert.deepEqual(await follow(a, [rest[0], 'n_ghost', a]),
    [[rest[0], 0], ['n_ghost', 30003], [a, 30001]]);
  // The limited app allows 2 follows per account.
  assert.deepEqual(await follow('a', ['b', 'c', 'd'], limited), [['b', 0], ['c', 0], ['d', 32100]]);
  assert.deepEqual(await counts(['a', 'd'], limited), { a: [0, 2, 0], d: [0, 0, 0] });
});

test('follow_check, follow_delete and mutual follows', async () => {
  const [a, b, c] = await importAccounts(['n_m_a', 'n_m_b', 'n_m_c']);
  await follow(a, [b, c]);
  await follow(b, [a]);
  const check = await call('follow/follow_check', { From_Account: b, To_Account: [a, c, 'n_nobody'] });
  assert.deepEqual(check.ResultItem.map((i) => [i.To_Account, i.ResultCode, i.FollowType]),
    [[a, 0, 3], [c, 0, 0], ['n_nobody', 30003, 0]]);
  assert.deepEqual(await counts([a, b, c]), { [a]: [1, 2, 1], [b]: [1, 1, 1], [c]: [1, 0, 0] });
  const removed = await call('follow/follow_delete', { From_Account: a, To_Account: [b, b] });
  assert.deepEqual(removed.ResultItem, [
    { To_Account: b, ResultCode: 0, ResultInfo: '' }, { To_Account: b, ResultCode: 0, ResultInfo: '' }]);
  assert.deepEqual(await counts([a, b]), { [a]: [1, 1, 0], [b]: [0, 1, 0] });
});

test('follow_get pages with NextCursor until ""', async () => {
  const [star, ...fans] = await importAccounts(Array.from({ length: 8 }, (_, i) => `n_p_${i}`));
  for (const fan of fans) await follow(fan, [star]);
  const seen = [];
  let cursor = '';
  let pages = 0;
  do {
    const reply = await call('follow/follow_get',
      { From_Account: star, FollowType: 1, StartCursor: cursor, WantNum: 3 });
    assert.equal(reply.ErrorCode, 0, JSON.stringify(reply));
    for (const item of reply.FollowItem) {
      assert.equal(typeof item.FollowTime, 'number');
      seen.push(item.To_Account);
    }
    cursor = reply.NextCursor;
    pages += 1;
  } while (cursor !== '');
  assert.equal(pages, 3);
  assert.deepEqual(seen, [...fans].reverse());
});

test('accounts: import, check, delete', async () => {
  assert.deepEqual(await call('im_open_login_svc/account_import', { UserID: 'n_acct' }),
    { ActionStatus: 'OK', ErrorCode: 0, ErrorInfo: '' });
  await follow('n_acct', ['UserID_004']);
  const deleted = await call('im_open_login_svc/account_delete', { DeleteItem: [{ UserID: 'n_acct' }] });
  assert.deepEqual(deleted.ResultItem, [{ ResultCode: 0, ResultInfo: '', UserID: 'n_acct' }]);
  const check = await call('im_open_login_svc/account_check', { CheckItem: [{ UserID: 'n_acct' }] });
  assert.equal(check.ResultItem[0].AccountStatus, 'NotImported');
  assert.deepEqual(await counts(['UserID_004']), { UserID_004: [0, 0, 0] });
  assertFail(await call('im_open_login_svc/account_import', 'not json'), 60003);
  assertFail(await call('follow/no_such_command', {}), 60009);
});
