// A real browser (Debian's headless Chromium, driven by playwright-core) running the unmodified
// aws-sdk-js-v3 client, bundled for the browser with esbuild, in a page of another origin than the
// server's (docs/behaviour.md, "CORS"): its preflights pass in sigv4 mode, the SDK reads answers and
// errors, and a page whose origin is not allowed can neither call the API nor touch the control plane.
//
// Chromium is required: without it this test fails (scripts/test installs it).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import {
  ChimeSDKIdentityClient,
  DescribeAppInstanceCommand,
  DescribeAppInstanceUserEndpointCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import { CarillonServer, accountFactory } from './helpers/server.js';
import { createAppInstance, pinpointArn } from './helpers/fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const NODE_TESTS_DIR = path.dirname(fileURLToPath(import.meta.url));
const REGION = 'us-east-1';
const nextAccount = accountFactory('1007');
const ACCOUNT = nextAccount();
const SECRET = 'browser-secret/key+value';

// What the page loads: the SDK's client and the commands the test drives, on `window.Chime`.
const ENTRY = `
import {
  ChimeSDKIdentityClient,
  CreateAppInstanceCommand,
  CreateAppInstanceUserCommand,
  DescribeAppInstanceUserEndpointCommand,
  RegisterAppInstanceUserEndpointCommand,
} from '@aws-sdk/client-chime-sdk-identity';
window.Chime = {
  ChimeSDKIdentityClient,
  CreateAppInstanceCommand,
  CreateAppInstanceUserCommand,
  DescribeAppInstanceUserEndpointCommand,
  RegisterAppInstanceUserEndpointCommand,
};
`;

let dir;
let signed; // sigv4, the default origins: the page's (http://127.0.0.1:PORT) is allowed
let foreign; // open, with --cors-origins that does not list the page's origin
let pages; // the http server of the page
let pageUrl;
let browser;
let page;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
  dir = mkdtempSync(path.join(tmpdir(), 'carillon-browser-'));
  const credentials = path.join(dir, 'credentials');
  writeFileSync(credentials, `${ACCOUNT}:${SECRET}:${ACCOUNT}\n`);
  [signed, foreign] = await Promise.all([
    new CarillonServer({ args: ['--auth', 'sigv4', '--credentials', credentials] }).start(),
    new CarillonServer({ args: ['--auth', 'open', '--cors-origins', 'https://app.example.com,http://localhost:1'] }).start(),
  ]);

  const bundle = path.join(dir, 'bundle.js');
  await build({
    stdin: { contents: ENTRY, resolveDir: NODE_TESTS_DIR, loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    outfile: bundle,
    logLevel: 'error',
  });
  const files = {
    '/': ['text/html', '<!doctype html><meta charset="utf-8"><title>carillon</title><script src="/bundle.js"></script>'],
    '/bundle.js': ['text/javascript', readFileSync(bundle)],
  };
  pages = createServer((req, res) => {
    const file = files[req.url];
    res.writeHead(file ? 200 : 404, { 'content-type': file ? file[0] : 'text/plain' });
    res.end(file ? file[1] : 'not found');
  });
  await new Promise((resolve) => pages.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${pages.address().port}/`;

  browser = await chromium.launch({ executablePath: CHROMIUM });
  page = await browser.newPage();
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.Chime !== undefined);
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (pages ? pages.close(resolve) : resolve()));
  await Promise.all([signed?.dispose(), foreign?.dispose()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a browser page of another origin', () => {
  it('is cross-origin to the servers', () => {
    assert.notEqual(new URL(pageUrl).origin, new URL(signed.url).origin);
    assert.notEqual(new URL(pageUrl).origin, new URL(foreign.url).origin);
  });

  it('drives the API through the SDK in sigv4 mode, errors included', async () => {
    const out = await page.evaluate(
      async ({ endpoint, region, account, secret, resourceArn }) => {
        const C = window.Chime;
        const client = new C.ChimeSDKIdentityClient({
          endpoint,
          region,
          credentials: { accessKeyId: account, secretAccessKey: secret },
          maxAttempts: 1,
        });
        const app = await client.send(new C.CreateAppInstanceCommand({ Name: 'browser' }));
        const user = await client.send(
          new C.CreateAppInstanceUserCommand({
            AppInstanceArn: app.AppInstanceArn,
            AppInstanceUserId: 'page-user',
            Name: 'Page user',
          }),
        );
        const registered = await client.send(
          new C.RegisterAppInstanceUserEndpointCommand({
            AppInstanceUserArn: user.AppInstanceUserArn,
            Name: 'phone',
            Type: 'GCM',
            ResourceArn: resourceArn,
            EndpointAttributes: { DeviceToken: 'browser-device-token' },
          }),
        );
        const described = await client.send(
          new C.DescribeAppInstanceUserEndpointCommand({
            AppInstanceUserArn: user.AppInstanceUserArn,
            EndpointId: registered.EndpointId,
          }),
        );
        let missing;
        try {
          await client.send(
            new C.DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: user.AppInstanceUserArn, EndpointId: 'nope' }),
          );
        } catch (e) {
          missing = { name: e.name, status: e.$metadata?.httpStatusCode, requestId: e.$metadata?.requestId };
        }
        const e = described.AppInstanceUserEndpoint;
        return {
          appInstanceArn: app.AppInstanceArn,
          statuses: [app, user, registered, described].map((o) => o.$metadata.httpStatusCode),
          userArn: user.AppInstanceUserArn,
          endpointId: registered.EndpointId,
          endpoint: { name: e.Name, type: e.Type, resourceArn: e.ResourceArn, token: e.EndpointAttributes.DeviceToken, status: e.EndpointState.Status },
          missing,
        };
      },
      { endpoint: signed.url, region: REGION, account: ACCOUNT, secret: SECRET, resourceArn: pinpointArn(REGION, ACCOUNT) },
    );
    assert.match(out.appInstanceArn, new RegExp(`^arn:aws:chime:${REGION}:${ACCOUNT}:app-instance/`));
    assert.deepEqual(out.statuses, [201, 201, 201, 200]);
    assert.deepEqual(out.endpoint, {
      name: 'phone',
      type: 'GCM',
      resourceArn: pinpointArn(REGION, ACCOUNT),
      token: 'browser-device-token',
      status: 'ACTIVE',
    });
    // the SDK in the page read the error's type and request id: the headers are exposed to it
    assert.equal(out.missing?.name, 'NotFoundException', JSON.stringify(out.missing));
    assert.equal(out.missing.status, 404);
    assert.match(out.missing.requestId ?? '', /^[0-9a-f-]{36}$/);

    // what the page made is there for an ordinary client too
    const client = new ChimeSDKIdentityClient({
      endpoint: signed.url,
      region: REGION,
      credentials: { accessKeyId: ACCOUNT, secretAccessKey: SECRET },
      maxAttempts: 1,
    });
    const seen = await client.send(
      new DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: out.userArn, EndpointId: out.endpointId }),
    );
    assert.equal(seen.AppInstanceUserEndpoint.EndpointAttributes.DeviceToken, 'browser-device-token');
  });

  it('reads the control plane of a server that allows its origin', async () => {
    const out = await page.evaluate(async (base) => {
      const health = await fetch(new URL('/_carillon/health', base));
      // preflighted (PUT with JSON), then refused for want of an operator's signature: the page
      // still reads the status and the exposed error type
      const clock = await fetch(new URL('/_carillon/clock', base), {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ offset_seconds: 60 }),
      });
      return {
        health: [health.status, await health.json()],
        clock: [clock.status, clock.headers.get('x-amzn-ErrorType'), clock.headers.get('x-amzn-RequestId') !== null],
      };
    }, signed.url);
    assert.equal(out.health[0], 200);
    assert.equal(out.health[1].status, 'ok');
    assert.deepEqual(out.clock, [403, 'MissingAuthenticationTokenException', true]);
  });

  it('can neither call the API nor use the control plane of a server that does not allow its origin', async () => {
    // an AppInstance the page will try to wipe
    const owner = foreign.client(nextAccount(), REGION);
    const arn = await createAppInstance(owner, { Name: 'keep me' });

    const out = await page.evaluate(
      async ({ base, region, account }) => {
        const C = window.Chime;
        const client = new C.ChimeSDKIdentityClient({
          endpoint: base,
          region,
          credentials: { accessKeyId: account, secretAccessKey: 'x' },
          maxAttempts: 1,
        });
        const outcome = async (f) => {
          try {
            const r = await f();
            return r?.type === 'opaque' ? 'opaque' : `answered ${r?.status ?? r?.$metadata?.httpStatusCode}`;
          } catch (e) {
            return `refused: ${e.name}`;
          }
        };
        return {
          sdk: await outcome(() => client.send(new C.CreateAppInstanceCommand({ Name: 'from a foreign page' }))),
          clock: await outcome(() =>
            fetch(new URL('/_carillon/clock', base), {
              method: 'PUT',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ offset_seconds: 86400 }),
            }),
          ),
          readClock: await outcome(() => fetch(new URL('/_carillon/clock', base))),
          // a "simple" request goes out without a preflight; the server itself must refuse it
          reset: await outcome(() => fetch(new URL('/_carillon/reset', base), { method: 'POST', mode: 'no-cors' })),
        };
      },
      { base: foreign.url, region: REGION, account: nextAccount() },
    );
    assert.equal(out.sdk, 'refused: TypeError', JSON.stringify(out));
    assert.equal(out.clock, 'refused: TypeError', JSON.stringify(out));
    assert.equal(out.readClock, 'refused: TypeError', JSON.stringify(out));
    assert.equal(out.reset, 'opaque', JSON.stringify(out));

    // nothing changed: the AppInstance is there, the clock where it was, the journal holds no page's API request
    const still = await owner.send(new DescribeAppInstanceCommand({ AppInstanceArn: arn }));
    assert.equal(still.AppInstance.Name, 'keep me');
    const clock = await foreign.control('GET', '/_carillon/clock');
    assert.deepEqual(clock, { status: 200, body: { offset_seconds: 0 } });
    const journal = await foreign.control('GET', '/_carillon/requests');
    assert.deepEqual(
      journal.body.Requests.map((r) => r.Operation),
      ['DescribeAppInstance', 'CreateAppInstance'],
    );
  });
});
