// The AppInstanceUserEndpoint lifecycle, end to end, through the unmodified JS SDK (docs/behaviour.md, "Resources").

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAppInstanceCommand,
  CreateAppInstanceUserCommand,
  DeregisterAppInstanceUserEndpointCommand,
  DescribeAppInstanceUserCommand,
  DescribeAppInstanceUserEndpointCommand,
  ListAppInstanceUserEndpointsCommand,
  UpdateAppInstanceUserEndpointCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import { accountFactory, expectError, sleep, startServer, strip } from './helpers/server.js';
import { ENDPOINT_ID, UUID, allPages, createAppInstance, createUser, pinpointArn, registerEndpoint } from './helpers/fixtures.js';

const nextAccount = accountFactory('1001');
let server;

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.dispose();
});

const SUMMARY_KEYS = ['AllowMessages', 'AppInstanceUserArn', 'EndpointId', 'EndpointState', 'Name', 'Type'];
const DESCRIBE_KEYS = [
  'AllowMessages',
  'AppInstanceUserArn',
  'CreatedTimestamp',
  'EndpointAttributes',
  'EndpointId',
  'EndpointState',
  'LastUpdatedTimestamp',
  'Name',
  'ResourceArn',
  'Type',
];

describe('endpoint lifecycle', () => {
  const region = 'eu-central-1';
  const account = nextAccount();
  const userId = 'user:alpha@example.com';
  let client;
  let appArn;
  let userArn;
  let apns; // { EndpointId, before }
  let gcm;
  const resourceArn = pinpointArn(region, account);

  const describeEndpoint = async (endpointId) => {
    const out = await client.send(
      new DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: endpointId }),
    );
    assert.equal(out.$metadata.httpStatusCode, 200);
    return out.AppInstanceUserEndpoint;
  };

  before(() => {
    client = server.client(account, region);
  });

  it('CreateAppInstance answers 201 with an ARN of the caller account and region', async () => {
    const out = await client.send(new CreateAppInstanceCommand({ Name: 'Lifecycle app', Metadata: 'meta' }));
    assert.equal(out.$metadata.httpStatusCode, 201);
    const m = /^arn:aws:chime:eu-central-1:(\d{12}):app-instance\/(.+)$/.exec(out.AppInstanceArn);
    assert.ok(m, `AppInstanceArn ${out.AppInstanceArn}`);
    assert.equal(m[1], account);
    assert.match(m[2], UUID);
    assert.equal(typeof out.$metadata.requestId, 'string');
    appArn = out.AppInstanceArn;
  });

  it('CreateAppInstanceUser accepts an id with ":" and "@" and builds the user ARN from it', async () => {
    const out = await client.send(
      new CreateAppInstanceUserCommand({ AppInstanceArn: appArn, AppInstanceUserId: userId, Name: 'Alpha' }),
    );
    assert.equal(out.$metadata.httpStatusCode, 201);
    assert.equal(out.AppInstanceUserArn, `${appArn}/user/${userId}`);
    userArn = out.AppInstanceUserArn;
    const d = await client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: userArn }));
    assert.equal(d.AppInstanceUser.AppInstanceUserArn, userArn);
    assert.equal(d.AppInstanceUser.Name, 'Alpha');
  });

  it('RegisterAppInstanceUserEndpoint answers 201 with AppInstanceUserArn and an EndpointId', async () => {
    const t0 = Date.now();
    const out = await registerEndpoint(client, {
      region,
      account,
      userArn,
      Name: 'iPhone de Zoë 📱',
      Type: 'APNS',
      ResourceArn: resourceArn,
      EndpointAttributes: { DeviceToken: 'apns-device-token-1', VoipDeviceToken: 'apns-voip-token-1' },
    });
    assert.equal(out.$metadata.httpStatusCode, 201);
    assert.deepEqual(Object.keys(strip(out)).sort(), ['AppInstanceUserArn', 'EndpointId']);
    assert.equal(out.AppInstanceUserArn, userArn);
    assert.match(out.EndpointId, ENDPOINT_ID);
    apns = { EndpointId: out.EndpointId, t0 };
  });

  it('DescribeAppInstanceUserEndpoint returns every member, with defaults', async () => {
    const e = await describeEndpoint(apns.EndpointId);
    assert.deepEqual(Object.keys(e).sort(), DESCRIBE_KEYS);
    assert.equal(e.AppInstanceUserArn, userArn);
    assert.equal(e.EndpointId, apns.EndpointId);
    assert.equal(e.Name, 'iPhone de Zoë 📱');
    assert.equal(e.Type, 'APNS');
    assert.equal(e.ResourceArn, `arn:aws:mobiletargeting:${region}:${account}:apps/0123456789abcdef0123456789abcdef`);
    assert.deepEqual(e.EndpointAttributes, { DeviceToken: 'apns-device-token-1', VoipDeviceToken: 'apns-voip-token-1' });
    assert.ok(e.CreatedTimestamp instanceof Date, 'CreatedTimestamp is a Date');
    assert.ok(e.LastUpdatedTimestamp instanceof Date, 'LastUpdatedTimestamp is a Date');
    assert.ok(!Number.isNaN(e.CreatedTimestamp.getTime()));
    assert.ok(Math.abs(e.CreatedTimestamp.getTime() - apns.t0) < 10_000, 'CreatedTimestamp is about now');
    assert.equal(e.LastUpdatedTimestamp.getTime(), e.CreatedTimestamp.getTime(), 'LastUpdated == Created at creation');
    assert.equal(e.AllowMessages, 'ALL');
    assert.deepEqual(e.EndpointState, { Status: 'ACTIVE' });
    assert.ok(!('StatusReason' in e.EndpointState));
    apns.before = e;
  });

  it('registers a second endpoint (GCM, AllowMessages NONE)', async () => {
    const out = await registerEndpoint(client, {
      region,
      account,
      userArn,
      Name: 'Android',
      Type: 'GCM',
      ResourceArn: resourceArn,
      EndpointAttributes: { DeviceToken: 'gcm-device-token-1' },
      AllowMessages: 'NONE',
    });
    assert.equal(out.$metadata.httpStatusCode, 201);
    assert.match(out.EndpointId, ENDPOINT_ID);
    assert.notEqual(out.EndpointId, apns.EndpointId);
    gcm = { EndpointId: out.EndpointId };
    const e = await describeEndpoint(gcm.EndpointId);
    assert.equal(e.Type, 'GCM');
    assert.equal(e.AllowMessages, 'NONE');
    assert.deepEqual(e.EndpointAttributes, { DeviceToken: 'gcm-device-token-1' });
    assert.deepEqual(e.EndpointState, { Status: 'ACTIVE' });
  });

  it('ListAppInstanceUserEndpoints returns summaries in creation order and no NextToken', async () => {
    const out = await client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: userArn }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.equal(out.NextToken, undefined);
    assert.equal(out.AppInstanceUserEndpoints.length, 2);
    for (const s of out.AppInstanceUserEndpoints) assert.deepEqual(Object.keys(s).sort(), SUMMARY_KEYS);
    assert.deepEqual(out.AppInstanceUserEndpoints, [
      {
        AppInstanceUserArn: userArn,
        EndpointId: apns.EndpointId,
        Name: 'iPhone de Zoë 📱',
        Type: 'APNS',
        AllowMessages: 'ALL',
        EndpointState: { Status: 'ACTIVE' },
      },
      {
        AppInstanceUserArn: userArn,
        EndpointId: gcm.EndpointId,
        Name: 'Android',
        Type: 'GCM',
        AllowMessages: 'NONE',
        EndpointState: { Status: 'ACTIVE' },
      },
    ]);
  });

  it('ListAppInstanceUserEndpoints paginates with MaxResults', async () => {
    const ids = [apns.EndpointId, gcm.EndpointId];
    for (let i = 0; i < 5; i += 1) {
      const out = await registerEndpoint(client, {
        region,
        account,
        userArn,
        Name: `extra ${i}`,
        EndpointAttributes: { DeviceToken: `extra-token-${i}` },
      });
      ids.push(out.EndpointId);
    }
    const pages = await allPages((NextToken) =>
      client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: userArn, MaxResults: 2, NextToken })),
    );
    assert.deepEqual(
      pages.map((p) => p.AppInstanceUserEndpoints.length),
      [2, 2, 2, 1],
    );
    assert.deepEqual(
      pages.flatMap((p) => p.AppInstanceUserEndpoints.map((s) => s.EndpointId)),
      ids,
    );
    const one = await allPages((NextToken) =>
      client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: userArn, MaxResults: 7, NextToken })),
    );
    assert.equal(one.length, 1, 'MaxResults equal to the count: a single page without NextToken');
    // Remove the extras again so that the next steps see two endpoints.
    for (const id of ids.slice(2)) {
      await client.send(new DeregisterAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: id }));
    }
  });

  it('UpdateAppInstanceUserEndpoint with Name only changes the name and LastUpdatedTimestamp', async () => {
    await sleep(20);
    const out = await client.send(
      new UpdateAppInstanceUserEndpointCommand({
        AppInstanceUserArn: userArn,
        EndpointId: apns.EndpointId,
        Name: 'Téléphone 電話',
      }),
    );
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.deepEqual(strip(out), { AppInstanceUserArn: userArn, EndpointId: apns.EndpointId });
    const e = await describeEndpoint(apns.EndpointId);
    assert.equal(e.Name, 'Téléphone 電話');
    assert.equal(e.AllowMessages, 'ALL');
    assert.equal(e.CreatedTimestamp.getTime(), apns.before.CreatedTimestamp.getTime(), 'CreatedTimestamp is set once');
    assert.ok(
      e.LastUpdatedTimestamp.getTime() > apns.before.LastUpdatedTimestamp.getTime(),
      'LastUpdatedTimestamp moves on a change',
    );
    assert.deepEqual(
      { ...e, Name: undefined, LastUpdatedTimestamp: undefined },
      { ...apns.before, Name: undefined, LastUpdatedTimestamp: undefined },
    );
    apns.before = e;
  });

  it('UpdateAppInstanceUserEndpoint with AllowMessages only keeps the name', async () => {
    await sleep(20);
    const out = await client.send(
      new UpdateAppInstanceUserEndpointCommand({
        AppInstanceUserArn: userArn,
        EndpointId: apns.EndpointId,
        AllowMessages: 'NONE',
      }),
    );
    assert.deepEqual(strip(out), { AppInstanceUserArn: userArn, EndpointId: apns.EndpointId });
    const e = await describeEndpoint(apns.EndpointId);
    assert.equal(e.Name, 'Téléphone 電話');
    assert.equal(e.AllowMessages, 'NONE');
    assert.ok(e.LastUpdatedTimestamp.getTime() > apns.before.LastUpdatedTimestamp.getTime());
    assert.equal(e.CreatedTimestamp.getTime(), apns.before.CreatedTimestamp.getTime());
    apns.before = e;
  });

  it('UpdateAppInstanceUserEndpoint with both members changes both', async () => {
    await sleep(20);
    const out = await client.send(
      new UpdateAppInstanceUserEndpointCommand({
        AppInstanceUserArn: userArn,
        EndpointId: apns.EndpointId,
        Name: 'Work phone',
        AllowMessages: 'ALL',
      }),
    );
    assert.deepEqual(strip(out), { AppInstanceUserArn: userArn, EndpointId: apns.EndpointId });
    const e = await describeEndpoint(apns.EndpointId);
    assert.equal(e.Name, 'Work phone');
    assert.equal(e.AllowMessages, 'ALL');
    assert.ok(e.LastUpdatedTimestamp.getTime() > apns.before.LastUpdatedTimestamp.getTime());
    assert.deepEqual(e.EndpointAttributes, { DeviceToken: 'apns-device-token-1', VoipDeviceToken: 'apns-voip-token-1' });
    assert.equal(e.Type, 'APNS');
    assert.equal(e.ResourceArn, resourceArn);
    assert.deepEqual(e.EndpointState, { Status: 'ACTIVE' });
    apns.before = e;
  });

  it('UpdateAppInstanceUserEndpoint with neither member answers 200 and changes nothing', async () => {
    await sleep(20);
    const out = await client.send(
      new UpdateAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: apns.EndpointId }),
    );
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.deepEqual(strip(out), { AppInstanceUserArn: userArn, EndpointId: apns.EndpointId });
    const e = await describeEndpoint(apns.EndpointId);
    assert.equal(
      e.LastUpdatedTimestamp.getTime(),
      apns.before.LastUpdatedTimestamp.getTime(),
      'LastUpdatedTimestamp unchanged',
    );
    assert.deepEqual(e, apns.before);
  });

  it('UpdateAppInstanceUserEndpoint can set the Name to ""', async () => {
    await sleep(20);
    await client.send(
      new UpdateAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: gcm.EndpointId, Name: '' }),
    );
    const e = await describeEndpoint(gcm.EndpointId);
    assert.equal(e.Name, '');
    assert.equal(e.AllowMessages, 'NONE');
  });

  it('DeregisterAppInstanceUserEndpoint answers 204; afterwards the endpoint is gone', async () => {
    const out = await client.send(
      new DeregisterAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: gcm.EndpointId }),
    );
    assert.equal(out.$metadata.httpStatusCode, 204);
    assert.deepEqual(strip(out), {});
    await expectError(
      client.send(new DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: gcm.EndpointId })),
      'NotFoundException',
    );
    await expectError(
      client.send(new DeregisterAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: gcm.EndpointId })),
      'NotFoundException',
    );
    await expectError(
      client.send(
        new UpdateAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: gcm.EndpointId, Name: 'x' }),
      ),
      'NotFoundException',
    );
    const list = await client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: userArn }));
    assert.deepEqual(
      list.AppInstanceUserEndpoints.map((s) => s.EndpointId),
      [apns.EndpointId],
    );
  });

  it('a deregistered EndpointId is not reused when the same device registers again', async () => {
    const out = await registerEndpoint(client, {
      region,
      account,
      userArn,
      Type: 'GCM',
      EndpointAttributes: { DeviceToken: 'gcm-device-token-1' },
    });
    assert.equal(out.$metadata.httpStatusCode, 201);
    assert.notEqual(out.EndpointId, gcm.EndpointId);
    assert.notEqual(out.EndpointId, apns.EndpointId);
  });
});

describe('endpoint listing of a user without endpoints', () => {
  it('answers an empty list without NextToken', async () => {
    const account = nextAccount();
    const client = server.client(account);
    const app = await createAppInstance(client);
    const user = await createUser(client, app, 'lonely');
    const out = await client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: user }));
    assert.deepEqual(out.AppInstanceUserEndpoints ?? [], []);
    assert.equal(out.NextToken, undefined);
  });
});

describe('endpoint listing during changes', () => {
  it('endpoints that exist throughout an iteration are returned exactly once when others come and go', async () => {
    const account = nextAccount();
    const region = 'us-east-1';
    const client = server.client(account, region);
    const app = await createAppInstance(client);
    const user = await createUser(client, app, 'pager');
    const ids = [];
    for (let i = 0; i < 6; i += 1) {
      ids.push((await registerEndpoint(client, { region, account, userArn: user, Name: `e${i}` })).EndpointId);
    }
    const page1 = await client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: user, MaxResults: 2 }));
    assert.deepEqual(
      page1.AppInstanceUserEndpoints.map((s) => s.EndpointId),
      ids.slice(0, 2),
    );
    // Between pages: one already-returned endpoint and one not yet returned go away, one is added.
    await client.send(new DeregisterAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, EndpointId: ids[0] }));
    await client.send(new DeregisterAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, EndpointId: ids[3] }));
    const added = (await registerEndpoint(client, { region, account, userArn: user, Name: 'late' })).EndpointId;
    const rest = await allPages((NextToken) =>
      client.send(
        new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: user, MaxResults: 2, NextToken: NextToken ?? page1.NextToken }),
      ),
    );
    const seen = [...page1.AppInstanceUserEndpoints, ...rest.flatMap((p) => p.AppInstanceUserEndpoints)].map((s) => s.EndpointId);
    assert.equal(new Set(seen).size, seen.length, `no endpoint twice: ${seen}`);
    for (const id of [ids[1], ids[2], ids[4], ids[5]]) assert.ok(seen.includes(id), `${id} existed throughout and was listed`);
    assert.ok(!seen.slice(2).includes(ids[3]), 'an endpoint deregistered before its page was reached is not listed');
    assert.ok(seen.every((id) => [...ids, added].includes(id)));
  });
});

describe('EndpointState set through the control plane', () => {
  it('an endpoint marked INACTIVE shows Status and StatusReason; ACTIVE again drops the reason', async () => {
    const account = nextAccount();
    const region = 'us-east-1';
    const client = server.client(account, region);
    const app = await createAppInstance(client);
    const user = await createUser(client, app, 'state');
    const { EndpointId } = await registerEndpoint(client, { region, account, userArn: user, Name: 'device' });
    const set = await server.control('PUT', '/_carillon/endpoint-state', {
      AppInstanceUserArn: user,
      EndpointId,
      Status: 'INACTIVE',
      StatusReason: 'INVALID_DEVICE_TOKEN',
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const d = await client.send(new DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, EndpointId }));
    assert.deepEqual(d.AppInstanceUserEndpoint.EndpointState, { Status: 'INACTIVE', StatusReason: 'INVALID_DEVICE_TOKEN' });
    const l = await client.send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: user }));
    assert.deepEqual(l.AppInstanceUserEndpoints[0].EndpointState, { Status: 'INACTIVE', StatusReason: 'INVALID_DEVICE_TOKEN' });
    const back = await server.control('PUT', '/_carillon/endpoint-state', { AppInstanceUserArn: user, EndpointId, Status: 'ACTIVE' });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    const d2 = await client.send(new DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: user, EndpointId }));
    assert.deepEqual(d2.AppInstanceUserEndpoint.EndpointState, { Status: 'ACTIVE' });
  });
});
