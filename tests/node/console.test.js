// The web console at /_carillon/console (docs/behaviour.md, "Control plane") in Debian's headless
// Chromium, driven by playwright-core: what boto3 made (tests/python/console_fixture.py) is listed with
// its fields, hostile values as text; a request refused for its signature shows the canonical request
// the server computed, which is boto3's own; an operator signs in on a sigv4 server and the page signs
// its calls; Mark INACTIVE and Reset change what the API answers.
//
// Needs Chromium (/usr/bin/chromium) and the repository's .venv with boto3 (scripts/test makes both).
// Writes a full-page screenshot of the populated console to target/console.png (docs/console.png is a
// copy of one).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import {
  ChimeSDKIdentityClient,
  DescribeAppInstanceUserEndpointCommand,
  ListAppInstancesCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import { CarillonServer, accountFactory } from './helpers/server.js';
import { createAppInstance, createUser, registerEndpoint } from './helpers/fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PYTHON = path.join(REPO, '.venv/bin/python');
const FIXTURE = path.join(REPO, 'tests/python/console_fixture.py');
const SCREENSHOT = path.join(REPO, 'target/console.png');
const REGION = 'us-east-1';
const nextAccount = accountFactory('1008');
const OPEN_ACCOUNT = nextAccount();
const OPERATOR = { key: 'CONSOLEOPERATOR', secret: 'operator/secret+value', account: nextAccount() };
const TENANT = { key: 'CONSOLETENANT', secret: 'tenant-secret', account: nextAccount() };

let dir;
let open; // open mode
let signed; // sigv4, with an operator and a tenant credential
let browser;

/** Runs tests/python/console_fixture.py with the repository's venv; resolves to its JSON. */
async function fixture(...args) {
  const { stdout } = await promisify(execFile)(PYTHON, [FIXTURE, ...args], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(stdout);
}

/** A page of the console of `server`; page errors and dialogs are collected. */
async function consolePage(server) {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  const response = await page.goto(new URL('/_carillon/console', server.url).href);
  assert.equal(response.status(), 200);
  await loaded(page, 0);
  return page;
}

/** Waits until the page finished more than `n` loads (its body's data-loads). */
async function loaded(page, n) {
  await page.waitForFunction((k) => Number(document.body.dataset.loads ?? 0) > k, n, { timeout: 15_000 });
}

/** Runs `act` (a click) and waits for the load it starts to end. */
async function andWait(page, act) {
  const n = await page.evaluate(() => Number(document.body.dataset.loads ?? 0));
  await act();
  await loaded(page, n);
}

/** The resources as the page shows them: each row's cells by their data-field. */
function shown(page) {
  return page.evaluate(() => {
    const cells = (row) => Object.fromEntries([...row.querySelectorAll('[data-field]')].map((c) => [c.dataset.field, c.textContent]));
    return [...document.querySelectorAll('[data-testid="app-instance"]')].map((a) => ({
      fields: cells(a.querySelector('dl')),
      name: a.querySelector('h2').textContent,
      users: [...a.querySelectorAll('[data-testid="user"]')].map(cells),
      endpoints: [...a.querySelectorAll('[data-testid="endpoint"]')].map((r) => ({
        ...cells(r),
        button: r.querySelector('[data-testid="mark-inactive"]')?.textContent ?? null,
      })),
      bots: [...a.querySelectorAll('[data-testid="bot"]')].map(cells),
      admins: [...a.querySelectorAll('[data-testid="admin"]')].map(cells),
    }));
  });
}

/** The endpoint's state as DescribeAppInstanceUserEndpoint answers it. */
async function endpointState(client, userArn, endpointId) {
  const out = await client.send(new DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: endpointId }));
  return out.AppInstanceUserEndpoint.EndpointState;
}

/** Clicks Mark INACTIVE in the row of `endpointId`; resolves once the row shows INACTIVE. */
async function markInactive(page, endpointId) {
  const row = `[data-testid="endpoint"][data-endpoint-id="${endpointId}"]`;
  await page.click(`${row} [data-testid="mark-inactive"]`);
  await page.waitForSelector(`${row}[data-status="INACTIVE"]`, { timeout: 15_000 });
}

/** Clicks Reset and answers its confirm dialog with `accept`. */
async function reset(page, accept) {
  page.once('dialog', (d) => (accept ? d.accept() : d.dismiss()));
  if (accept) await andWait(page, () => page.click('[data-testid="reset"]'));
  else await page.click('[data-testid="reset"]');
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: make the venv (scripts/test does)`);
  dir = mkdtempSync(path.join(tmpdir(), 'carillon-console-'));
  const credentials = path.join(dir, 'credentials');
  writeFileSync(
    credentials,
    `${OPERATOR.key}:${OPERATOR.secret}:${OPERATOR.account}:admin\n${TENANT.key}:${TENANT.secret}:${TENANT.account}\n`,
  );
  [open, signed] = await Promise.all([
    new CarillonServer().start(),
    new CarillonServer({ args: ['--auth', 'sigv4', '--credentials', credentials] }).start(),
  ]);
  browser = await chromium.launch({ executablePath: CHROMIUM });
});

after(async () => {
  await browser?.close();
  await Promise.all([open?.dispose(), signed?.dispose()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the web console of an open server', () => {
  let made;
  let page;

  it('lists what boto3 made, with every field, hostile values as text', async () => {
    made = await fixture('populate', open.url, OPEN_ACCOUNT);
    page = await consolePage(open);
    const apps = await shown(page);
    assert.equal(apps.length, 1, JSON.stringify(apps));
    const [app] = apps;
    assert.equal(app.name, 'Console demo');
    assert.equal(app.fields.AppInstanceArn, made.AppInstanceArn);
    assert.equal(app.fields.Metadata, made.Hostile);
    assert.equal(app.fields.Tags, 'team=push');
    assert.match(app.fields.Retention, /^30 days \(set \d{4}-\d\d-\d\dT/);
    // the metadata's markup stayed text: no element was made of it, no handler ran
    assert.equal(await page.locator('main img, main b').count(), 0);
    assert.equal(await page.title(), 'Carillon console');

    const { alice, bob } = made.Users;
    assert.deepEqual(
      app.users.map((u) => [u.AppInstanceUserArn, u.Name, u.Metadata, u.ExpirationSettings]),
      [
        [alice, 'Alice', '', ''],
        [bob, 'Bob', 'second user', '7 days after CREATED_TIMESTAMP'],
      ],
    );
    const { phone, tablet, laptop } = made.Endpoints;
    assert.deepEqual(
      app.endpoints.map((e) => [e.AppInstanceUserArn, e.EndpointId, e.Name, e.Type, e.DeviceToken, e.AllowMessages, e.Status, e.StatusReason, e.button]),
      [
        [alice, phone, "Alice's phone", 'APNS', 'alice-phone-token', 'ALL', 'ACTIVE', '', 'Mark INACTIVE'],
        [alice, tablet, 'tablet', 'GCM', 'alice-tablet-token', 'NONE', 'INACTIVE', 'INVALID_DEVICE_TOKEN', null],
        [bob, laptop, 'laptop', 'APNS', 'bob-laptop-token', 'ALL', 'ACTIVE', '', 'Mark INACTIVE'],
      ],
    );
    assert.match(app.endpoints[0].ResourceArn, new RegExp(`^arn:aws:mobiletargeting:${REGION}:${OPEN_ACCOUNT}:apps/`));
    assert.deepEqual(
      app.bots.map((b) => [b.AppInstanceBotArn, b.Name, JSON.parse(b.Configuration).Lex.LocaleId]),
      [[made.BotArn, 'Helper bot', 'en_US']],
    );
    assert.deepEqual(app.admins.map((a) => a.Arn), [alice]);
    assert.match(await page.textContent('[data-testid="resources-summary"]'), /^1 AppInstance\(s\), 2 user\(s\), 1 bot\(s\), 3 endpoint\(s\)/);

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(page.errors, []);
  });

  it('filters the journal', async () => {
    await andWait(page, () => page.click('[data-testid="tab-journal"]'));
    const entries = () => page.$$eval('[data-testid="journal-entry"] [data-field="Operation"]', (ops) => ops.map((o) => o.textContent));
    const all = await entries();
    assert.equal(all.length, 10, JSON.stringify(all));
    assert.equal(all.at(-1), 'CreateAppInstance');
    await page.fill('[data-testid="filter-operation"]', 'CreateAppInstanceUser');
    await andWait(page, () => page.click('[data-testid="journal-apply"]'));
    assert.deepEqual(await entries(), ['CreateAppInstanceUser', 'CreateAppInstanceUser']);
    await page.fill('[data-testid="filter-operation"]', '');
    await page.fill('[data-testid="filter-account"]', nextAccount());
    await andWait(page, () => page.click('[data-testid="journal-apply"]'));
    assert.deepEqual(await entries(), []);
    assert.equal(await page.textContent('[data-testid="no-requests"]'), 'No requests.');
    // a filter the server refuses is shown, not swallowed
    await page.fill('[data-testid="filter-account"]', '');
    await page.fill('[data-testid="filter-status"]', 'many');
    await andWait(page, () => page.click('[data-testid="journal-apply"]'));
    assert.match(await page.textContent('[data-testid="error"]'), /^400 BadRequestException: /);
    await page.fill('[data-testid="filter-status"]', '');
    await andWait(page, () => page.click('[data-testid="tab-resources"]'));
    assert.equal(await page.isHidden('[data-testid="error"]'), true);
  });

  it('marks an endpoint INACTIVE, as the API then reports it', async () => {
    const { bob } = made.Users;
    const { laptop } = made.Endpoints;
    const client = open.client(OPEN_ACCOUNT);
    assert.deepEqual(await endpointState(client, bob, laptop), { Status: 'ACTIVE' });
    await markInactive(page, laptop);
    assert.deepEqual(await endpointState(client, bob, laptop), { Status: 'INACTIVE', StatusReason: 'INVALID_DEVICE_TOKEN' });
    const row = (await shown(page))[0].endpoints.find((e) => e.EndpointId === laptop);
    assert.deepEqual([row.Status, row.StatusReason, row.button], ['INACTIVE', 'INVALID_DEVICE_TOKEN', null]);
  });

  it('resets only once confirmed, and then lists nothing', async () => {
    const client = open.client(OPEN_ACCOUNT);
    await reset(page, false);
    assert.equal((await client.send(new ListAppInstancesCommand({}))).AppInstances.length, 1);
    await reset(page, true);
    assert.deepEqual((await client.send(new ListAppInstancesCommand({}))).AppInstances, []);
    assert.equal(await page.textContent('[data-testid="no-app-instances"]'), 'No AppInstances.');
    assert.equal(await page.locator('[data-testid="app-instance"]').count(), 0);
    assert.match(await page.textContent('[data-testid="message"]'), /^Reset: deleted 1 AppInstance\(s\), 2 user\(s\), 1 bot\(s\), 3 endpoint\(s\)\.$/);
    // a fresh load of the page finds nothing either
    await page.reload();
    await loaded(page, 0);
    assert.deepEqual(await shown(page), []);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});

describe('the web console of a sigv4 server', () => {
  let page;

  it('asks for an operator credential and shows why one is refused', async () => {
    page = await consolePage(signed);
    await page.waitForSelector('[data-testid="login"]:not([hidden])');
    assert.match(await page.textContent('[data-testid="login-error"]'), /operator credential/);
    assert.equal(await page.locator('[data-testid="app-instance"]').count(), 0);

    const signIn = async (key, secret) => {
      await page.fill('[data-testid="login-key"]', key);
      await page.fill('[data-testid="login-secret"]', secret);
      await andWait(page, () => page.click('[data-testid="login-submit"]'));
    };
    await signIn(OPERATOR.key, 'a wrong secret');
    assert.match(await page.textContent('[data-testid="login-error"]'), /^403 InvalidSignatureException: /);
    await signIn('UNKNOWNKEY', OPERATOR.secret);
    assert.match(await page.textContent('[data-testid="login-error"]'), /^403 UnrecognizedClientException: /);
    // a tenant's valid signature is not enough
    await signIn(TENANT.key, TENANT.secret);
    assert.match(await page.textContent('[data-testid="login-error"]'), /^403 ForbiddenException: .*operator/);
    assert.equal(await page.isVisible('[data-testid="login"]'), true);

    await signIn(OPERATOR.key, OPERATOR.secret);
    assert.equal(await page.isHidden('[data-testid="login"]'), true);
    assert.equal(await page.textContent('[data-testid="signed-in-as"]'), `Signed in as ${OPERATOR.key}`);
    assert.equal(await page.textContent('[data-testid="no-app-instances"]'), 'No AppInstances.');
    // the secret is kept for this tab only
    const kept = await page.evaluate(() => [sessionStorage.length, localStorage.length]);
    assert.deepEqual(kept, [1, 0]);
  });

  it('shows a request refused for its signature with the canonical request and string to sign', async () => {
    const wrong = await fixture('wrong-secret', signed.url, TENANT.key);
    assert.equal(wrong.Code, 'InvalidSignatureException');
    await andWait(page, () => page.click('[data-testid="tab-journal"]'));
    await page.fill('[data-testid="filter-status"]', '403');
    await andWait(page, () => page.click('[data-testid="journal-apply"]'));
    const entries = await page.$$eval('[data-testid="journal-entry"]', (list) =>
      list.map((e) => ({
        method: e.querySelector('[data-field="Method"]').textContent,
        path: e.querySelector('[data-field="Path"]').textContent,
        status: e.querySelector('[data-field="Status"]').textContent,
        error: e.querySelector('[data-field="ErrorType"]')?.textContent,
        canonical: e.querySelector('pre[data-testid="canonical-request"]')?.textContent,
        toSign: e.querySelector('pre[data-testid="string-to-sign"]')?.textContent,
        signedHeaders: e.querySelector('[data-field="SignedHeaders"]')?.textContent,
      })),
    );
    assert.equal(entries.length, 1, JSON.stringify(entries));
    const [e] = entries;
    assert.deepEqual([e.method, e.path, e.status, e.error], ['POST', '/app-instances', '403', 'InvalidSignatureException']);
    // what the server computed is byte for byte what boto3 signed
    assert.equal(e.canonical, wrong.CanonicalRequest);
    assert.equal(e.toSign, wrong.StringToSign);
    assert.equal(e.signedHeaders, wrong.CanonicalRequest.split('\n').at(-2));
    assert.equal(await page.isVisible('pre[data-testid="canonical-request"]'), true);
  });

  it('signs its changes: Mark INACTIVE and Reset', async () => {
    const client = new ChimeSDKIdentityClient({
      endpoint: signed.url,
      region: REGION,
      credentials: { accessKeyId: OPERATOR.key, secretAccessKey: OPERATOR.secret },
      maxAttempts: 1,
    });
    const app = await createAppInstance(client, { Name: 'signed' });
    const user = await createUser(client, app, 'carol');
    const { EndpointId } = await registerEndpoint(client, { region: REGION, account: OPERATOR.account, userArn: user });
    await andWait(page, () => page.click('[data-testid="tab-resources"]'));
    assert.deepEqual((await shown(page)).map((a) => a.name), ['signed']);
    await markInactive(page, EndpointId);
    assert.deepEqual(await endpointState(client, user, EndpointId), { Status: 'INACTIVE', StatusReason: 'INVALID_DEVICE_TOKEN' });
    await reset(page, true);
    assert.deepEqual((await client.send(new ListAppInstancesCommand({}))).AppInstances, []);
    assert.equal(await page.textContent('[data-testid="no-app-instances"]'), 'No AppInstances.');

    // signed out, the page asks again
    await andWait(page, () => page.click('[data-testid="sign-out"]'));
    assert.equal(await page.isVisible('[data-testid="login"]'), true);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
