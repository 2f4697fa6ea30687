// The web console in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
// sign in, open a space, find a tag, watch a member added through the WeCom API appear without a
// reload, open the graph, read the request journal, be told of changes that went past the
// retention horizon (one second here) before the console read them. Screenshots go to
// target/console-screenshots/<backend>/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startRoster, ADMIN_TOKEN, PROCESSES } from './harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BACKEND = process.env.ROSTER_SDK_BACKEND || 'sqlite';
const SHOTS = path.join(ROOT, 'target', 'console-screenshots', BACKEND);
const CHROMIUM = '/usr/bin/chromium';
const CORP = 'wwsdkcorp1';
const SECRET = 'sdk-secret-1';

let roster;
let browser;
let page;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/test installs Debian's chromium`);
  mkdirSync(SHOTS, { recursive: true });
  process.env.ROSTER_CHANGES_RETENTION = '1s';
  roster = await startRoster('wecom.toml');
  delete process.env.ROSTER_CHANGES_RETENTION;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('pageerror', (error) => { throw error; });
});

after(async () => {
  await browser?.close();
  await roster?.stop();
});

const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** Add users to tag 1008 the way an application would: a token from gettoken, then addtagusers. */
async function addTagUsers(users) {
  const token = await (await fetch(
    `${roster.url}/cgi-bin/gettoken?corpid=${CORP}&corpsecret=${SECRET}`)).json();
  assert.equal(token.errcode, 0, JSON.stringify(token));
  const answer = await (await fetch(
    `${roster.url}/cgi-bin/tag/addtagusers?access_token=${token.access_token}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tagid: 1008, userlist: users }),
    })).json();
  assert.equal(answer.errcode, 0, JSON.stringify(answer));
}

test('the console signs in with the admin token only', async () => {
  await page.goto(`${roster.url}/_roster/console`);
  await page.fill('#token', 'not-the-token');
  await page.click('button[type=submit]');
  await page.getByRole('alert').filter({ hasText: 'not the admin token' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  assert.ok(!page.url().includes(ADMIN_TOKEN));
  await page.fill('#token', ADMIN_TOKEN);
  await page.click('button[type=submit]');
  await page.locator('a.card.space', { hasText: CORP }).waitFor();
  assert.ok(!page.url().includes(ADMIN_TOKEN));
  await shot('01-spaces');
});

test('a tag found by its name shows a member added through the WeCom API without a reload', async () => {
  await page.locator('a.card.space', { hasText: CORP }).click();
  await page.locator('h1', { hasText: `wecom/${CORP}` }).waitFor();
  await page.fill('#search', 'seed-exam');
  await page.click('form.search button');
  // The space opens on every entity; the search narrows it to the tag named so.
  await page.waitForFunction(() => document.querySelectorAll('table.entities tbody tr').length === 1);
  const row = page.locator('table.entities tr', { hasText: 'seed-example' });
  await shot('02-space-search');

  await row.getByRole('link', { name: '1008' }).click();
  await page.locator('h1', { hasText: '1008' }).waitFor();
  const members = page.locator('details[data-relation="member"][data-direction="members"]');
  assert.equal(await members.count(), 0);
  await shot('03-tag');
  await page.evaluate(() => { window.notReloaded = true; });

  await addTagUsers(['zhangsan', 'lisi']);
  await members.locator('a', { hasText: 'zhangsan' }).waitFor({ timeout: 10_000 });
  await members.locator('a', { hasText: 'lisi' }).waitFor();
  assert.equal(await members.locator('.count').textContent(), '2');
  assert.equal(await page.evaluate(() => window.notReloaded), true);
  await shot('04-tag-member-live');
});

test('the graph view shows the neighbourhood and opens a node', async () => {
  await page.click('#open-graph');
  const node = page.locator('svg#graph g.node[data-key="zhangsan"]');
  await node.waitFor();
  assert.equal(await page.locator('svg#graph g.node').count(), 4); // the tag, its corp, two users
  assert.equal(await page.locator('svg#graph line').count(), 3);
  await shot('05-graph');
  await node.click();
  await page.locator('h1', { hasText: 'zhangsan' }).waitFor();
  await page.locator('details[data-relation="member"][data-direction="memberships"] a', { hasText: '1008' }).waitFor();
});

test('the request journal shows both bodies of the vendor call', {
  skip: PROCESSES > 1 && 'each process keeps its own journal',
}, async () => {
  await page.click('#nav a[data-section="activity"]');
  await page.fill('input[name="path"]', 'addtagusers');
  await page.click('form.filters button[type=submit]');
  // The tab opens on every request; the filter narrows it to the one call.
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('tr.clickable')];
    return rows.length === 1 && rows[0].textContent.includes('/cgi-bin/tag/addtagusers');
  });
  await page.locator('tr.clickable').click();
  await page.locator('.detail pre', { hasText: '"userlist"' }).waitFor();
  await page.locator('.detail pre', { hasText: '"errcode": 0' }).waitFor();
  await shot('06-journal');
});

test('changes that went past the retention horizon unread are said to be missed', async () => {
  await page.goto(`${roster.url}/_roster/console#/space/wecom/${CORP}`);
  await page.locator('h1', { hasText: `wecom/${CORP}` }).waitFor();
  // Hold the console's polls of the feed until the changes they ask for are gone.
  const held = [];
  let holding = true;
  const feed = (url) => url.pathname === '/_roster/changes';
  await page.route(feed, (route) => (holding ? held.push(route) : route.continue()));
  await addTagUsers(['wangwu']);
  while (!held.length) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const { status, body } = await roster.admin('POST', '/housekeeping');
  assert.equal(status, 200, JSON.stringify(body));
  assert.ok(body.swept.changes > 0, JSON.stringify(body));
  holding = false;
  for (const route of held) await route.continue();
  await page.locator('#live', { hasText: 'missed changes before #' }).waitFor();
  await page.locator('#oldest-change', { hasText: 'no change kept' }).waitFor();
  await shot('07-past-the-horizon');
});
