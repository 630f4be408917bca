// The web console at /_carillon/console (docs/behaviour.md, "Control plane") in Debian's headless
// Chromium, driven by playwright-core: what boto3 made (tests/python/console_fixture.py) is listed with
// its fields, hostile values as text; a request refused for its signature shows the canonical request
// the server computed, which is boto3's own; an operator signs in on a sigv4 server and the page signs
// its calls; Mark INACTIVE and Reset change what the API answers. Channels, members and messages made
// with the Messaging SDK are listed under their AppInstance, message content as text, and the Push tab
// shows the outbox the sends made, newest first, with the failure markers and only hashes of tokens.
//
// Needs Chromium (/usr/bin/chromium) and the repository's .venv with boto3 (scripts/test makes both).
// Writes full-page screenshots of the populated console to target/console.png and
// target/console-push.png (docs/console.png and docs/console-push.png are copies of them).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
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
import {
  AssociateChannelFlowCommand,
  CreateChannelCommand,
  CreateChannelFlowCommand,
  CreateChannelMembershipCommand,
  PutChannelMembershipPreferencesCommand,
  PutMessagingStreamingConfigurationsCommand,
  RedactChannelMessageCommand,
  SendChannelMessageCommand,
} from '@aws-sdk/client-chime-sdk-messaging';
import { CarillonServer, accountFactory } from './helpers/server.js';
import { createAppInstance, createUser, registerEndpoint } from './helpers/fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PYTHON = path.join(REPO, '.venv/bin/python');
const FIXTURE = path.join(REPO, 'tests/python/console_fixture.py');
const SCREENSHOT = path.join(REPO, 'target/console.png');
const PUSH_SCREENSHOT = path.join(REPO, 'target/console-push.png');
const REGION = 'us-east-1';
const nextAccount = accountFactory('1008');
const OPEN_ACCOUNT = nextAccount();
const OPERATOR = { key: 'CONSOLEOPERATOR', secret: 'operator/secret+value', account: nextAccount() };
const TENANT = { key: 'CONSOLETENANT', secret: 'tenant-secret', account: nextAccount() };
const CHAT_ACCOUNT = nextAccount();

let dir;
let open; // open mode
let signed; // sigv4, with an operator and a tenant credential
let chat; // open mode, with Messaging
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
  [open, signed, chat] = await Promise.all([
    new CarillonServer().start(),
    new CarillonServer({ args: ['--auth', 'sigv4', '--credentials', credentials] }).start(),
    new CarillonServer().start(),
  ]);
  browser = await chromium.launch({ executablePath: CHROMIUM });
});

after(async () => {
  await browser?.close();
  await Promise.all([open?.dispose(), signed?.dispose(), chat?.dispose()]);
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
    assert.match(
      await page.textContent('[data-testid="resources-summary"]'),
      /^1 AppInstance\(s\), 2 user\(s\), 1 bot\(s\), 3 endpoint\(s\), 0 channel\(s\), 0 message\(s\); exported /,
    );
    assert.equal(await page.textContent('[data-testid="channels"]'), 'No channels.');
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
    assert.equal(
      await page.textContent('[data-testid="message"]'),
      'Reset: deleted 1 AppInstance(s), 2 user(s), 1 bot(s), 3 endpoint(s), 0 channel(s), 0 message(s), 0 push outbox entries, 0 failure marker(s).',
    );
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

describe('the web console of a server with Messaging', () => {
  const sha256 = (text) => createHash('sha256').update(text).digest('hex');
  let made;
  let page;
  let sent; // MessageId by name
  let channels; // ChannelArn by name
  let dave;
  let carol;

  /** The channels of the first AppInstance as the page shows them, with members and messages. */
  function shownChannels() {
    return page.evaluate(() => {
      const cells = (row) => Object.fromEntries([...row.querySelectorAll('[data-field]')].map((c) => [c.dataset.field, c.textContent]));
      return [...document.querySelectorAll('[data-testid="channel"]')].map((c) => ({
        arn: c.dataset.arn,
        open: c.open,
        summary: cells(c.querySelector('summary')),
        fields: cells(c.querySelector('dl')),
        members: [...c.querySelectorAll('[data-testid="member"]')].map((r) => ({ arn: r.dataset.arn, type: r.dataset.type, ...cells(r) })),
        moderators: [...c.querySelectorAll('[data-testid="moderator"]')].map((r) => r.dataset.arn),
        messages: [...c.querySelectorAll('[data-testid="message"]')].map((r) => ({ id: r.dataset.messageId, redacted: r.dataset.redacted, ...cells(r) })),
      }));
    });
  }

  it('lists channels with their members and messages, content as text', async () => {
    made = await fixture('populate', chat.url, CHAT_ACCOUNT);
    const { alice, bob } = made.Users;
    const app = made.AppInstanceArn;
    const identity = chat.client(CHAT_ACCOUNT);
    const messaging = chat.messaging(CHAT_ACCOUNT);
    carol = await createUser(identity, app, 'carol', { Name: 'Carol' });
    dave = await createUser(identity, app, 'dave', { Name: 'Dave' });
    // bob's laptop's token is refused by the push service from now on
    const marker = await chat.control('PUT', '/_carillon/push-failures', { DeviceToken: 'bob-laptop-token', StatusReason: 'INVALID_DEVICE_TOKEN' });
    assert.equal(marker.status, 200, JSON.stringify(marker.body));

    const general = await messaging.send(
      new CreateChannelCommand({
        AppInstanceArn: app,
        Name: 'General',
        Privacy: 'PRIVATE',
        Metadata: 'team chat',
        MemberArns: [bob, carol],
        ModeratorArns: [bob],
        ChimeBearer: alice,
        ClientRequestToken: 'general',
      }),
    );
    await messaging.send(new CreateChannelMembershipCommand({ ChannelArn: general.ChannelArn, MemberArn: dave, Type: 'HIDDEN', ChimeBearer: alice }));
    await messaging.send(
      new PutChannelMembershipPreferencesCommand({
        ChannelArn: general.ChannelArn,
        MemberArn: carol,
        ChimeBearer: carol,
        Preferences: { PushNotifications: { AllowNotifications: 'NONE' } },
      }),
    );
    const send = async (bearer, content, input = {}) =>
      (
        await messaging.send(
          new SendChannelMessageCommand({
            ChannelArn: general.ChannelArn,
            Content: content,
            Type: 'STANDARD',
            Persistence: 'PERSISTENT',
            ChimeBearer: bearer,
            ...input,
          }),
        )
      ).MessageId;
    sent = {
      lunch: await send(alice, 'Lunch at noon?', { PushNotification: { Title: 'General', Body: 'Alice: Lunch at noon?', Type: 'DEFAULT' } }),
      hostile: await send(bob, made.Hostile, { PushNotification: { Title: 'General', Body: 'Bob sent a picture' } }),
      oops: await send(carol, 'wrong channel, sorry'),
    };
    await messaging.send(new RedactChannelMessageCommand({ ChannelArn: general.ChannelArn, MessageId: sent.oops, ChimeBearer: carol }));
    // a NON_PERSISTENT message is not stored and pushes nothing
    await send(alice, 'typing…', { Persistence: 'NON_PERSISTENT', PushNotification: { Title: 'General', Body: 'typing' } });

    // a flow on a second channel, and the AppInstance's streaming
    const flow = await messaging.send(
      new CreateChannelFlowCommand({
        AppInstanceArn: app,
        Name: 'moderation',
        Processors: [
          {
            Name: 'screen',
            Configuration: { Lambda: { ResourceArn: `arn:aws:lambda:${REGION}:${CHAT_ACCOUNT}:function:screen`, InvocationType: 'ASYNC' } },
            ExecutionOrder: 1,
            FallbackAction: 'CONTINUE',
          },
        ],
        ClientRequestToken: 'moderation',
      }),
    );
    const news = await messaging.send(
      new CreateChannelCommand({ AppInstanceArn: app, Name: 'Announcements', Mode: 'RESTRICTED', ChimeBearer: alice, ClientRequestToken: 'news' }),
    );
    await messaging.send(new AssociateChannelFlowCommand({ ChannelArn: news.ChannelArn, ChannelFlowArn: flow.ChannelFlowArn, ChimeBearer: alice }));
    const stream = `arn:aws:kinesis:${REGION}:${CHAT_ACCOUNT}:stream/chat-messages`;
    await messaging.send(
      new PutMessagingStreamingConfigurationsCommand({ AppInstanceArn: app, StreamingConfigurations: [{ DataType: 'ChannelMessage', ResourceArn: stream }] }),
    );
    channels = { general: general.ChannelArn, news: news.ChannelArn };

    page = await consolePage(chat);
    assert.match(
      await page.textContent('[data-testid="resources-summary"]'),
      /^1 AppInstance\(s\), 4 user\(s\), 1 bot\(s\), 3 endpoint\(s\), 2 channel\(s\), 3 message\(s\); exported /,
    );
    let listed = await shownChannels();
    assert.deepEqual(
      listed.map((c) => [c.arn, c.summary.Name, c.summary.Privacy, c.summary.Mode, c.summary.Members, c.summary.Moderators, c.summary.MessageCount, c.open]),
      [
        [channels.general, 'General', 'PRIVATE', 'UNRESTRICTED', '4 member(s), 1 hidden', 'moderators: Alice, Bob', '3 message(s)', false],
        [channels.news, 'Announcements', 'PUBLIC', 'RESTRICTED', '1 member(s)', 'moderators: Alice', '0 message(s)', false],
      ],
    );
    assert.match(listed[0].summary.LastMessageTimestamp, /^last \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    assert.equal(listed[1].summary.LastMessageTimestamp, 'no message yet');
    // closed, the details are not drawn
    assert.equal(await page.isVisible(`[data-testid="channel"][data-arn="${channels.general}"] [data-testid="members"]`), false);

    await page.click(`[data-testid="channel"][data-arn="${channels.general}"] > summary`);
    assert.equal(await page.isVisible(`[data-testid="channel"][data-arn="${channels.general}"] [data-testid="members"]`), true);
    listed = await shownChannels();
    const [g, n] = listed;
    assert.equal(g.open, true);
    assert.equal(g.fields.ChannelArn, channels.general);
    assert.equal(g.fields.Metadata, 'team chat');
    assert.match(g.fields.CreatedTimestamp, / by Alice$/);
    assert.equal(n.fields.ChannelFlowArn, flow.ChannelFlowArn);
    assert.deepEqual(
      g.members.map((m) => [m.arn, m.Member, m.Type, m.type, m.Notifications, m.InvitedBy]),
      [
        [alice, `Alice${alice}`, 'DEFAULT', 'DEFAULT', '', 'Alice'],
        [bob, `Bob${bob}`, 'DEFAULT', 'DEFAULT', '', 'Alice'],
        [carol, `Carol${carol}`, 'DEFAULT', 'DEFAULT', 'NONE', 'Alice'],
        [dave, `Dave${dave}`, 'HIDDEN', 'HIDDEN', '', 'Alice'],
      ],
    );
    assert.deepEqual(g.moderators, [alice, bob]);
    // newest first; the redacted one is shown as such; the markup stayed text
    assert.deepEqual(
      g.messages.map((m) => [m.id, m.Sender, m.Type, m.Persistence, m.Content, m.redacted]),
      [
        [sent.oops, 'Carol', 'STANDARD', 'PERSISTENT', 'redacted', 'true'],
        [sent.hostile, 'Bob', 'STANDARD', 'PERSISTENT', made.Hostile, 'false'],
        [sent.lunch, 'Alice', 'STANDARD', 'PERSISTENT', 'Lunch at noon?', 'false'],
      ],
    );
    assert.equal(await page.locator('main img, main b').count(), 0);
    assert.equal(await page.title(), 'Carillon console');

    const flows = await page.$$eval('[data-testid="channel-flow"]', (rows) =>
      rows.map((r) => [r.dataset.arn, r.querySelector('[data-field="Name"]').textContent, r.querySelector('[data-field="Processors"]').textContent, r.querySelector('[data-field="Channels"]').textContent]),
    );
    assert.deepEqual(flows, [
      [flow.ChannelFlowArn, 'moderation', `1. screen → arn:aws:lambda:${REGION}:${CHAT_ACCOUNT}:function:screen (ASYNC, fallback CONTINUE)`, '1'],
    ]);
    const streams = await page.$$eval('[data-testid="streaming-configuration"] td', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(streams, ['ChannelMessage', stream]);

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(page.errors, []);
  });

  it('shows the push outbox newest first, with outcomes, reasons and the failure markers', async () => {
    const { alice, bob } = made.Users;
    const { phone, tablet, laptop } = made.Endpoints;
    const outbox = await chat.control('GET', '/_carillon/push-outbox');
    assert.equal(outbox.status, 200);
    const entries = outbox.body.Entries;
    // what the two pushed sends decided, member by member and endpoint by endpoint
    const decided = (message) =>
      entries.filter((e) => e.MessageId === message).map((e) => [e.RecipientArn, e.EndpointId ?? null, e.Outcome, e.Reason ?? null]);
    assert.deepEqual(decided(sent.lunch), [
      [alice, phone, 'DELIVERED', null],
      [alice, tablet, 'SKIPPED', 'ENDPOINT_ALLOW_MESSAGES_NONE'],
      [bob, laptop, 'FAILED', 'INVALID_DEVICE_TOKEN'],
      [carol, null, 'SKIPPED', 'MEMBERSHIP_PREFERENCE_NONE'],
      [dave, null, 'SKIPPED', 'NO_ENDPOINT'],
    ]);
    // the failure turned the laptop INACTIVE
    assert.deepEqual(decided(sent.hostile).find(([, id]) => id === laptop), [bob, laptop, 'SKIPPED', 'ENDPOINT_INACTIVE']);
    assert.equal(entries.length, 10);

    await andWait(page, () => page.click('[data-testid="tab-push"]'));
    assert.equal(await page.isVisible('[data-testid="push"]'), true);
    assert.equal(await page.isHidden('[data-testid="resources"]'), true);
    assert.equal(
      await page.textContent('[data-testid="push-summary"]'),
      '10 outbox entries (2 delivered, 7 skipped, 1 failed), newest first; 1 failure marker(s).',
    );
    const rows = await page.$$eval('[data-testid="push-entry"]', (list) =>
      list.map((r) => ({
        id: Number(r.dataset.id),
        ...Object.fromEntries([...r.querySelectorAll('td[data-field]')].map((c) => [c.dataset.field, c.textContent])),
        channel: r.querySelector('[data-field="ChannelArn"] [data-arn]').dataset.arn,
        recipient: r.querySelector('[data-field="RecipientArn"] [data-arn]').dataset.arn,
        token: r.querySelector('[data-field="DeviceTokenSha256"] code')?.title ?? null,
      })),
    );
    const newestFirst = [...entries].reverse();
    assert.deepEqual(
      rows.map((r) => [r.id, r.channel, r.recipient, r.EndpointId, r.EndpointType, r.Outcome, r.Reason, r.Title, r.Body, r.token]),
      newestFirst.map((e) => [
        e.Id, e.ChannelArn, e.RecipientArn, e.EndpointId ?? '–', e.EndpointType ?? '', e.Outcome, e.Reason ?? '', e.Title ?? '', e.Body ?? '',
        e.DeviceTokenSha256 ?? null,
      ]),
    );
    assert.deepEqual(new Set(rows.map((r) => r.ChannelArn)), new Set(['General']));
    assert.equal(rows.at(-1).RecipientArn, 'Alice');
    const phoneRow = rows.find((r) => r.EndpointId === phone && r.Outcome === 'DELIVERED');
    assert.equal(phoneRow.token, sha256('alice-phone-token'));
    assert.equal(phoneRow.DeviceTokenSha256, `${sha256('alice-phone-token').slice(0, 12)}…`);
    const markers = await page.$$eval('[data-testid="push-failure"] td', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(markers, [`${sha256('bob-laptop-token').slice(0, 12)}…`, 'device token (SHA-256)', 'INVALID_DEVICE_TOKEN']);
    // no raw token reaches the Push view
    const text = await page.evaluate(() => document.querySelector('[data-testid="push"]').innerHTML);
    for (const token of ['alice-phone-token', 'alice-tablet-token', 'bob-laptop-token']) assert.ok(!text.includes(token), token);

    await page.screenshot({ path: PUSH_SCREENSHOT, fullPage: true });
    assert.deepEqual(page.errors, []);
  });

  it('resets channels, messages, the outbox and the markers', async () => {
    await reset(page, true);
    assert.equal(
      await page.textContent('[data-testid="message"]'),
      'Reset: deleted 1 AppInstance(s), 4 user(s), 1 bot(s), 3 endpoint(s), 2 channel(s), 3 message(s), 10 push outbox entries, 1 failure marker(s).',
    );
    assert.equal(await page.textContent('[data-testid="no-push-entries"]'), 'No push notifications: a PERSISTENT message sent with PushNotification makes them.');
    assert.equal(await page.locator('[data-testid="push-failure"]').count(), 0);
    assert.deepEqual((await chat.control('GET', '/_carillon/push-outbox')).body, { Entries: [] });
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
