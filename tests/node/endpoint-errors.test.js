// Errors of the five endpoint operations (docs/behaviour.md: "Wire protocol", "Accounts, regions and signatures", "Resources").

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAppInstanceUserCommand,
  DeleteAppInstanceCommand,
  DeleteAppInstanceUserCommand,
  DeregisterAppInstanceUserEndpointCommand,
  DescribeAppInstanceUserEndpointCommand,
  ListAppInstanceUserEndpointsCommand,
  RegisterAppInstanceUserEndpointCommand,
  UpdateAppInstanceUserEndpointCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import { accountFactory, expectError, startServer } from './helpers/server.js';
import { createAppInstance, createUser, missingAppInstanceArn, pinpointArn, registerEndpoint } from './helpers/fixtures.js';

const nextAccount = accountFactory('1002');
const REGION = 'us-east-1';
let server;

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.dispose();
});

/** A fresh account with one AppInstance and one user in it. */
async function fixture(region = REGION) {
  const account = nextAccount();
  const client = server.client(account, region);
  const appArn = await createAppInstance(client);
  const userArn = await createUser(client, appArn, 'user@example.com');
  const register = (input = {}) => registerEndpoint(client, { region, account, userArn, ...input });
  const list = async (arn = userArn) =>
    (await client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: arn }))).AppInstanceUserEndpoints ?? [];
  return { account, region, client, appArn, userArn, register, list };
}

const describeCmd = (AppInstanceUserArn, EndpointId) =>
  new DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn, EndpointId });
const updateCmd = (AppInstanceUserArn, EndpointId, more = {}) =>
  new UpdateAppInstanceUserEndpointCommand({ AppInstanceUserArn, EndpointId, ...more });
const deregisterCmd = (AppInstanceUserArn, EndpointId) =>
  new DeregisterAppInstanceUserEndpointCommand({ AppInstanceUserArn, EndpointId });

describe('RegisterAppInstanceUserEndpoint idempotency', () => {
  it('a replay with the same ClientRequestToken and parameters returns the same EndpointId and makes nothing new', async () => {
    const f = await fixture();
    const input = {
      Name: 'replayed',
      EndpointAttributes: { DeviceToken: 'replay-token' },
      ClientRequestToken: 'replay-token-0001',
    };
    const first = await f.register(input);
    const second = await f.register(input);
    assert.equal(first.$metadata.httpStatusCode, 201);
    assert.equal(second.$metadata.httpStatusCode, 201);
    assert.equal(second.EndpointId, first.EndpointId);
    assert.equal(second.AppInstanceUserArn, f.userArn);
    assert.deepEqual(
      (await f.list()).map((s) => s.EndpointId),
      [first.EndpointId],
    );
  });

  it('the same ClientRequestToken with other parameters is BadRequestException', async () => {
    const f = await fixture();
    const input = {
      Name: 'first',
      EndpointAttributes: { DeviceToken: 'token-a' },
      ClientRequestToken: 'replay-token-0002',
    };
    const first = await f.register(input);
    await expectError(f.register({ ...input, Name: 'second' }), 'BadRequestException');
    await expectError(f.register({ ...input, EndpointAttributes: { DeviceToken: 'token-b' } }), 'BadRequestException');
    await expectError(f.register({ ...input, AllowMessages: 'NONE' }), 'BadRequestException');
    assert.deepEqual(
      (await f.list()).map((s) => s.EndpointId),
      [first.EndpointId],
    );
  });
});

describe('RegisterAppInstanceUserEndpoint conflicts and quota', () => {
  it('the same DeviceToken for the same user under another token is ConflictException', async () => {
    const f = await fixture();
    await f.register({ EndpointAttributes: { DeviceToken: 'dup-device' } });
    await expectError(f.register({ EndpointAttributes: { DeviceToken: 'dup-device' } }), 'ConflictException');
    await expectError(
      f.register({ Type: 'GCM', Name: 'other', EndpointAttributes: { DeviceToken: 'dup-device' } }),
      'ConflictException',
    );
    assert.equal((await f.list()).length, 1);
    // Another user of the same AppInstance may register the same device token.
    const other = await createUser(f.client, f.appArn, 'other-user');
    const out = await registerEndpoint(f.client, {
      region: f.region,
      account: f.account,
      userArn: other,
      EndpointAttributes: { DeviceToken: 'dup-device' },
    });
    assert.equal(out.$metadata.httpStatusCode, 201);
  });

  it('the 11th endpoint of a user is ResourceLimitExceededException', async () => {
    const f = await fixture();
    const ids = [];
    for (let i = 0; i < 10; i += 1) {
      ids.push((await f.register({ EndpointAttributes: { DeviceToken: `quota-${i}` } })).EndpointId);
    }
    await expectError(f.register({ EndpointAttributes: { DeviceToken: 'quota-10' } }), 'ResourceLimitExceededException');
    assert.equal((await f.list()).length, 10);
    // The quota counts endpoints that exist: after a deregistration there is room again.
    await f.client.send(deregisterCmd(f.userArn, ids[0]));
    const out = await f.register({ EndpointAttributes: { DeviceToken: 'quota-10' } });
    assert.equal(out.$metadata.httpStatusCode, 201);
  });
});

describe('RegisterAppInstanceUserEndpoint input checks', () => {
  it('VoipDeviceToken with GCM is BadRequestException; with APNS and APNS_SANDBOX it is accepted', async () => {
    const f = await fixture();
    await expectError(
      f.register({ Type: 'GCM', EndpointAttributes: { DeviceToken: 'gcm-1', VoipDeviceToken: 'voip-1' } }),
      'BadRequestException',
    );
    assert.equal((await f.list()).length, 0);
    const a = await f.register({ Type: 'APNS', EndpointAttributes: { DeviceToken: 'apns-1', VoipDeviceToken: 'voip-1' } });
    const s = await f.register({
      Type: 'APNS_SANDBOX',
      EndpointAttributes: { DeviceToken: 'sandbox-1', VoipDeviceToken: 'voip-2' },
    });
    const d = await f.client.send(describeCmd(f.userArn, s.EndpointId));
    assert.equal(d.AppInstanceUserEndpoint.Type, 'APNS_SANDBOX');
    assert.deepEqual(d.AppInstanceUserEndpoint.EndpointAttributes, { DeviceToken: 'sandbox-1', VoipDeviceToken: 'voip-2' });
    assert.equal(a.$metadata.httpStatusCode, 201);
  });

  it('a ResourceArn that is not a Pinpoint application ARN is BadRequestException', async () => {
    const f = await fixture();
    const bad = [
      `arn:aws:sns:${f.region}:${f.account}:app/GCM/my-app`,
      `arn:aws:mobiletargeting:${f.region}:${f.account}:segments/abc`,
      `arn:aws:chime:${f.region}:${f.account}:app-instance/00000000-0000-4000-8000-000000000000`,
      `arn:aws:mobiletargeting:${f.region}:${f.account}:apps/`,
      `arn:aws:mobiletargeting:${f.region}:${f.account}:apps/abc/extra`,
      'not-an-arn',
      'arn',
    ];
    for (const ResourceArn of bad) {
      await expectError(f.register({ ResourceArn }), 'BadRequestException');
    }
    assert.equal((await f.list()).length, 0);
  });

  it('a ResourceArn of another account or region is ForbiddenException', async () => {
    const f = await fixture();
    await expectError(f.register({ ResourceArn: pinpointArn(f.region, '999999999999') }), 'ForbiddenException');
    await expectError(f.register({ ResourceArn: pinpointArn('eu-west-1', f.account) }), 'ForbiddenException');
    assert.equal((await f.list()).length, 0);
  });

  it('a missing DeviceToken, an unknown Type or AllowMessages is BadRequestException', async () => {
    const f = await fixture();
    await expectError(f.register({ EndpointAttributes: {} }), 'BadRequestException');
    await expectError(f.register({ EndpointAttributes: { DeviceToken: '' } }), 'BadRequestException');
    await expectError(
      f.register({ EndpointAttributes: { DeviceToken: 'd', VoipDeviceToken: '' } }),
      'BadRequestException',
      "1 validation error detected: Value at 'endpointAttributes.voipDeviceToken' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    await expectError(f.register({ Type: 'SMS' }), 'BadRequestException');
    await expectError(f.register({ AllowMessages: 'SOME' }), 'BadRequestException');
    await expectError(
      f.register({ Name: 'n'.repeat(1601) }),
      'BadRequestException',
      "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 1600",
    );
    await expectError(f.register({ ClientRequestToken: 'bad token!' }), 'BadRequestException');
    assert.equal((await f.list()).length, 0);
    const ok = await f.register({ Name: 'ü'.repeat(1600) });
    assert.equal(ok.$metadata.httpStatusCode, 201);
  });
});

describe('endpoint operations on missing or foreign resources', () => {
  it('a user that does not exist is NotFoundException for Register and List', async () => {
    const f = await fixture();
    const ghost = `${f.appArn}/user/ghost`;
    await expectError(
      registerEndpoint(f.client, { region: f.region, account: f.account, userArn: ghost }),
      'NotFoundException',
    );
    await expectError(f.client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: ghost })), 'NotFoundException');
    const inMissingApp = `${missingAppInstanceArn(f.region, f.account)}/user/ghost`;
    await expectError(
      registerEndpoint(f.client, { region: f.region, account: f.account, userArn: inMissingApp }),
      'NotFoundException',
    );
    await expectError(f.client.send(describeCmd(inMissingApp, 'abc123')), 'NotFoundException');
  });

  it('an EndpointId that does not exist is NotFoundException for Describe, Update and Deregister', async () => {
    const f = await fixture();
    await expectError(f.client.send(describeCmd(f.userArn, 'doesnotexist0')), 'NotFoundException');
    await expectError(f.client.send(updateCmd(f.userArn, 'doesnotexist0', { Name: 'x' })), 'NotFoundException');
    await expectError(f.client.send(updateCmd(f.userArn, 'doesnotexist0')), 'NotFoundException');
    await expectError(f.client.send(deregisterCmd(f.userArn, 'doesnotexist0')), 'NotFoundException');
  });

  it("an EndpointId used with another user's ARN is NotFoundException, and the endpoint is untouched", async () => {
    const f = await fixture();
    const { EndpointId } = await f.register({ Name: 'mine', EndpointAttributes: { DeviceToken: 'owned' } });
    const other = await createUser(f.client, f.appArn, 'someone:else');
    await expectError(f.client.send(describeCmd(other, EndpointId)), 'NotFoundException');
    await expectError(f.client.send(updateCmd(other, EndpointId, { Name: 'stolen', AllowMessages: 'NONE' })), 'NotFoundException');
    await expectError(f.client.send(deregisterCmd(other, EndpointId)), 'NotFoundException');
    const d = await f.client.send(describeCmd(f.userArn, EndpointId));
    assert.equal(d.AppInstanceUserEndpoint.Name, 'mine');
    assert.equal(d.AppInstanceUserEndpoint.AllowMessages, 'ALL');
    assert.equal(d.AppInstanceUserEndpoint.LastUpdatedTimestamp.getTime(), d.AppInstanceUserEndpoint.CreatedTimestamp.getTime());
  });

  it('a user ARN of another account is ForbiddenException for all five operations', async () => {
    const owner = await fixture();
    const { EndpointId } = await owner.register();
    const intruderAccount = nextAccount();
    const intruder = server.client(intruderAccount, REGION);
    await expectError(
      registerEndpoint(intruder, { region: REGION, account: intruderAccount, userArn: owner.userArn }),
      'ForbiddenException',
    );
    await expectError(intruder.send(describeCmd(owner.userArn, EndpointId)), 'ForbiddenException');
    await expectError(intruder.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: owner.userArn })), 'ForbiddenException');
    await expectError(intruder.send(updateCmd(owner.userArn, EndpointId, { Name: 'x' })), 'ForbiddenException');
    await expectError(intruder.send(deregisterCmd(owner.userArn, EndpointId)), 'ForbiddenException');
    assert.equal((await owner.list()).length, 1);
  });

  it('a user ARN of another region is ForbiddenException', async () => {
    const owner = await fixture();
    const { EndpointId } = await owner.register();
    const elsewhere = server.client(owner.account, 'ap-southeast-2');
    await expectError(elsewhere.send(describeCmd(owner.userArn, EndpointId)), 'ForbiddenException');
    await expectError(elsewhere.send(deregisterCmd(owner.userArn, EndpointId)), 'ForbiddenException');
    assert.equal((await owner.list()).length, 1);
  });

  it('a malformed user ARN is BadRequestException for Register, Update and List', async () => {
    const f = await fixture();
    await expectError(
      registerEndpoint(f.client, { region: f.region, account: f.account, userArn: 'not-an-arn' }),
      'BadRequestException',
    );
    await expectError(f.client.send(updateCmd('not-an-arn', 'abc', { Name: 'x' })), 'BadRequestException');
    await expectError(f.client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: 'not-an-arn' })), 'BadRequestException');
  });

  it('Update with an unknown AllowMessages value, or List with MaxResults out of 1-50, is BadRequestException', async () => {
    const f = await fixture();
    const { EndpointId } = await f.register();
    await expectError(f.client.send(updateCmd(f.userArn, EndpointId, { AllowMessages: 'SOME' })), 'BadRequestException');
    for (const MaxResults of [0, 51]) {
      await expectError(
        f.client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: f.userArn, MaxResults })),
        'BadRequestException',
      );
    }
    await expectError(
      f.client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: f.userArn, NextToken: 'garbage-token' })),
      'BadRequestException',
    );
  });
});

describe('cascades', () => {
  it("DeleteAppInstanceUser takes the user's endpoints with it", async () => {
    const f = await fixture();
    const { EndpointId } = await f.register({ EndpointAttributes: { DeviceToken: 'cascade-device' } });
    const del = await f.client.send(new DeleteAppInstanceUserCommand({ AppInstanceUserArn: f.userArn }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    await expectError(f.client.send(describeCmd(f.userArn, EndpointId)), 'NotFoundException');
    await expectError(f.client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: f.userArn })), 'NotFoundException');
    // A user re-created with the same id starts with no endpoints, and the device token is free again.
    const again = await f.client.send(
      new CreateAppInstanceUserCommand({ AppInstanceArn: f.appArn, AppInstanceUserId: 'user@example.com', Name: 'again' }),
    );
    assert.equal(again.AppInstanceUserArn, f.userArn);
    assert.deepEqual(await f.list(), []);
    await expectError(f.client.send(describeCmd(f.userArn, EndpointId)), 'NotFoundException');
    const re = await f.register({ EndpointAttributes: { DeviceToken: 'cascade-device' } });
    assert.equal(re.$metadata.httpStatusCode, 201);
    assert.notEqual(re.EndpointId, EndpointId);
  });

  it("DeleteAppInstance takes its users' endpoints with it", async () => {
    const f = await fixture();
    const { EndpointId } = await f.register();
    const del = await f.client.send(new DeleteAppInstanceCommand({ AppInstanceArn: f.appArn }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    await expectError(f.client.send(describeCmd(f.userArn, EndpointId)), 'NotFoundException');
    await expectError(f.client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: f.userArn })), 'NotFoundException');
    await expectError(f.client.send(updateCmd(f.userArn, EndpointId, { Name: 'x' })), 'NotFoundException');
    await expectError(f.client.send(deregisterCmd(f.userArn, EndpointId)), 'NotFoundException');
  });
});

describe('idempotency scope and precedence', () => {
  it('a ClientRequestToken is scoped to the account and the operation', async () => {
    const a = await fixture();
    const b = await fixture();
    const token = 'shared-token-0001';
    const ea = await a.register({ EndpointAttributes: { DeviceToken: 'dev-a' }, ClientRequestToken: token });
    // Another account may use the same token with other parameters: a new endpoint of its own.
    const eb = await b.register({ EndpointAttributes: { DeviceToken: 'dev-b' }, ClientRequestToken: token });
    assert.equal(eb.$metadata.httpStatusCode, 201);
    assert.equal(eb.AppInstanceUserArn, b.userArn);
    assert.equal((await b.list()).length, 1);
    assert.equal((await a.list()).length, 1);
    assert.equal((await a.register({ EndpointAttributes: { DeviceToken: 'dev-a' }, ClientRequestToken: token })).EndpointId, ea.EndpointId);
    // The same token on another operation (CreateAppInstanceUser) of the same account is independent.
    const u = await a.client.send(
      new CreateAppInstanceUserCommand({ AppInstanceArn: a.appArn, AppInstanceUserId: 'token-user', Name: 't', ClientRequestToken: token }),
    );
    assert.equal(u.$metadata.httpStatusCode, 201);
  });

  it('a replay of an endpoint already made answers 201 even when the user is at its quota', async () => {
    const f = await fixture();
    let last;
    for (let i = 0; i < 10; i += 1) {
      last = await f.register({ EndpointAttributes: { DeviceToken: `full-${i}` }, ClientRequestToken: `full-token-${i}` });
    }
    const replay = await f.register({ EndpointAttributes: { DeviceToken: 'full-9' }, ClientRequestToken: 'full-token-9' });
    assert.equal(replay.$metadata.httpStatusCode, 201);
    assert.equal(replay.EndpointId, last.EndpointId);
    assert.equal((await f.list()).length, 10);
  });
});

describe('validation wording and order', () => {
  it('constraints are checked before existence: a bad Type for a missing user is BadRequestException', async () => {
    const f = await fixture();
    const ghost = `${f.appArn}/user/ghost`;
    await expectError(
      registerEndpoint(f.client, { region: f.region, account: f.account, userArn: ghost, Type: 'SMS' }),
      'BadRequestException',
    );
    await expectError(f.client.send(updateCmd(ghost, 'abc', { AllowMessages: 'SOME' })), 'BadRequestException');
  });

  it('several violations are reported together', async () => {
    const f = await fixture();
    const err = await expectError(
      f.register({ Name: 'x'.repeat(1601), ClientRequestToken: 'x' }),
      'BadRequestException',
      /^2 validation errors detected: /,
    );
    assert.match(err.message, /Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 1600/);
    // AWS echoes a value that is not sensitive (ClientRequestToken) and hides one that is (Name).
    assert.match(err.message, /Value 'x' at 'clientRequestToken' failed to satisfy constraint: Member must have length greater than or equal to 2/);
    assert.match(err.message, /; /);
  });

  it('sensitive values are not echoed in messages', async () => {
    const f = await fixture();
    const secretArn = 'not-an-arn-S3CR3TV4LU3';
    const err = await expectError(
      registerEndpoint(f.client, { region: f.region, account: f.account, userArn: secretArn }),
      'BadRequestException',
    );
    assert.ok(!err.message.includes('S3CR3TV4LU3'), err.message);
    const err2 = await expectError(f.register({ Name: 'S3CR3TN4M3'.repeat(200) }), 'BadRequestException');
    assert.ok(!err2.message.includes('S3CR3TN4M3'), err2.message);
  });

  it("Describe's AppInstanceUserArn has no ARN pattern: a value that is not an ARN is no validation error", async () => {
    const f = await fixture();
    let err;
    try {
      await f.client.send(describeCmd('not-an-arn', 'abc'));
    } catch (e) {
      err = e;
    }
    assert.ok(err, 'Describe of a non-ARN user cannot succeed');
    assert.ok(['NotFoundException', 'BadRequestException'].includes(err.name), `${err.name}: ${err.message}`);
    assert.doesNotMatch(err.message, /validation error/);
  });

  it('an EndpointId over 64 characters is BadRequestException', async () => {
    const f = await fixture();
    await expectError(f.client.send(describeCmd(f.userArn, 'a'.repeat(65))), 'BadRequestException');
    await expectError(f.client.send(updateCmd(f.userArn, 'a'.repeat(65), { Name: 'x' })), 'BadRequestException');
    await expectError(f.client.send(deregisterCmd(f.userArn, 'a'.repeat(65))), 'BadRequestException');
  });

  it("a NextToken of another user's listing or of another account is BadRequestException", async () => {
    const f = await fixture();
    for (let i = 0; i < 3; i += 1) await f.register();
    const other = await createUser(f.client, f.appArn, 'other');
    const page = await f.client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: f.userArn, MaxResults: 1 }));
    assert.ok(page.NextToken);
    await expectError(
      f.client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: other, MaxResults: 1, NextToken: page.NextToken })),
      'BadRequestException',
    );
    const g = await fixture();
    await expectError(
      g.client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: g.userArn, MaxResults: 1, NextToken: page.NextToken })),
      'BadRequestException',
    );
    const tampered = page.NextToken.slice(0, -2) + (page.NextToken.endsWith('AA') ? 'BB' : 'AA');
    await expectError(
      f.client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: f.userArn, MaxResults: 1, NextToken: tampered })),
      'BadRequestException',
    );
  });
});
