// The AWS SDK for JavaScript v2 (npm `aws-sdk`) against a sigv4 server (docs/behaviour.md, "Errors"):
// v2 takes an error's name from the body's `Code` before `x-amzn-ErrorType`, so the protocol and
// authentication errors carry no `Code` and v2 sees the full exception name, as with AWS. Its
// clock-skew retry keys on `InvalidSignatureException`.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { CarillonServer, accountFactory } from './helpers/server.js';

process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
const AWS = createRequire(import.meta.url)('aws-sdk');

const nextAccount = accountFactory('1006');
const ACCOUNT = nextAccount();
const SECRET = 'v2-secret/key+value';
let server;
let dir;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'carillon-node-v2-'));
  const credentials = path.join(dir, 'credentials');
  writeFileSync(credentials, `${ACCOUNT}:${SECRET}:${ACCOUNT}\n`);
  server = await new CarillonServer({ args: ['--auth', 'sigv4', '--credentials', credentials] }).start();
});
after(async () => {
  await server?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function client(accessKeyId, secretAccessKey, extra = {}) {
  return new AWS.ChimeSDKIdentity({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: new AWS.Credentials(accessKeyId, secretAccessKey),
    maxRetries: 0,
    ...extra,
  });
}

async function errorOf(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('the call succeeded');
}

describe('aws-sdk v2 error codes', () => {
  it('works with the right secret', async () => {
    const out = await client(ACCOUNT, SECRET).createAppInstance({ Name: 'v2' }).promise();
    assert.match(out.AppInstanceArn, new RegExp(`^arn:aws:chime:us-east-1:${ACCOUNT}:app-instance/`));
  });

  it('names a wrong secret InvalidSignatureException', async () => {
    const err = await errorOf(client(ACCOUNT, 'not-the-secret').listAppInstances({}).promise());
    assert.equal(err.code, 'InvalidSignatureException');
    assert.equal(err.statusCode, 403);
    assert.ok(err.message && !err.message.includes(SECRET), err.message);
  });

  it('names an unknown key UnrecognizedClientException', async () => {
    const err = await errorOf(client('AKIDUNKNOWN', SECRET).createAppInstance({ Name: 'x' }).promise());
    assert.equal(err.code, 'UnrecognizedClientException');
    assert.equal(err.statusCode, 403);
  });

  it('keeps the model errors as they are', async () => {
    const arn = `arn:aws:chime:us-east-1:${ACCOUNT}:app-instance/00000000-0000-0000-0000-000000000000`;
    const err = await errorOf(client(ACCOUNT, SECRET).describeAppInstance({ AppInstanceArn: arn }).promise());
    assert.equal(err.statusCode, 404);
    assert.equal(err.code, 'NotFound');
  });

  it('corrects a skewed clock and retries on InvalidSignatureException', async () => {
    // 20 minutes ahead: refused as "not yet current", then retried with the server's Date
    const c = client(ACCOUNT, SECRET, { maxRetries: 2, correctClockSkew: true, systemClockOffset: 20 * 60 * 1000 });
    const out = await c.listAppInstances({}).promise();
    assert.ok(Array.isArray(out.AppInstances));
    assert.ok(Math.abs(c.config.systemClockOffset) < 5 * 60 * 1000, `offset now ${c.config.systemClockOffset}`);
  });
});
