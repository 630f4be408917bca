// docs/behaviour.md, "Durability and concurrency": what a 2xx answer changed is there, value for value, when the server starts again on the
// same database, after a clean stop (SIGTERM, exit 0) and after a crash (SIGKILL).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAppInstanceAdminCommand,
  CreateAppInstanceBotCommand,
  CreateAppInstanceCommand,
  CreateAppInstanceUserCommand,
  DeleteAppInstanceUserCommand,
  DeregisterAppInstanceUserEndpointCommand,
  DescribeAppInstanceAdminCommand,
  DescribeAppInstanceBotCommand,
  DescribeAppInstanceCommand,
  DescribeAppInstanceUserCommand,
  DescribeAppInstanceUserEndpointCommand,
  GetAppInstanceRetentionSettingsCommand,
  ListAppInstanceAdminsCommand,
  ListAppInstanceBotsCommand,
  ListAppInstancesCommand,
  ListAppInstanceUserEndpointsCommand,
  ListAppInstanceUsersCommand,
  ListTagsForResourceCommand,
  PutAppInstanceRetentionSettingsCommand,
  RegisterAppInstanceUserEndpointCommand,
  UpdateAppInstanceUserEndpointCommand,
  UpdateAppInstanceUserCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import { accountFactory, expectError, sleep, startServer, strip } from './helpers/server.js';
import { pinpointArn } from './helpers/fixtures.js';

const nextAccount = accountFactory('1004');
const REGION = 'eu-west-3';
let server;

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.dispose();
});

/** Everything a client can read about one AppInstance, without request metadata. */
async function snapshot(client, appArn) {
  const send = async (cmd) => strip(await client.send(cmd));
  const users = await send(new ListAppInstanceUsersCommand({ AppInstanceArn: appArn }));
  const out = {
    app: await send(new DescribeAppInstanceCommand({ AppInstanceArn: appArn })),
    appTags: await send(new ListTagsForResourceCommand({ ResourceARN: appArn })),
    retention: await send(new GetAppInstanceRetentionSettingsCommand({ AppInstanceArn: appArn })),
    users,
    bots: await send(new ListAppInstanceBotsCommand({ AppInstanceArn: appArn })),
    admins: await send(new ListAppInstanceAdminsCommand({ AppInstanceArn: appArn })),
    perUser: {},
    perBot: {},
    perAdmin: {},
  };
  for (const { AppInstanceUserArn } of users.AppInstanceUsers) {
    const endpoints = await send(new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn }));
    const described = [];
    for (const { EndpointId } of endpoints.AppInstanceUserEndpoints) {
      described.push(await send(new DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn, EndpointId })));
    }
    out.perUser[AppInstanceUserArn] = {
      user: await send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn })),
      tags: await send(new ListTagsForResourceCommand({ ResourceARN: AppInstanceUserArn })),
      endpoints,
      described,
    };
  }
  for (const { AppInstanceBotArn } of out.bots.AppInstanceBots) {
    out.perBot[AppInstanceBotArn] = await send(new DescribeAppInstanceBotCommand({ AppInstanceBotArn }));
  }
  for (const { Admin } of out.admins.AppInstanceAdmins) {
    out.perAdmin[Admin.Arn] = await send(
      new DescribeAppInstanceAdminCommand({ AppInstanceArn: appArn, AppInstanceAdminArn: Admin.Arn }),
    );
  }
  return out;
}

describe('durability across restarts on the same database', () => {
  const account = nextAccount();
  let appArn;
  let userArn;
  let before1;
  let keptEndpoint;

  it('builds a varied state with multibyte names, metadata and endpoints', async () => {
    const client = server.client(account, REGION);
    appArn = (
      await client.send(
        new CreateAppInstanceCommand({
          Name: 'Ålesund — 東京 — 🚀',
          Metadata: '{"emoji":"😀","ü":"ñ","quote":"\\"","nl":"a\\nb"}\ttab',
          Tags: [
            { Key: 'équipe', Value: 'bleu 🔵' },
            { Key: 'env', Value: 'test' },
          ],
        }),
      )
    ).AppInstanceArn;
    await client.send(
      new PutAppInstanceRetentionSettingsCommand({
        AppInstanceArn: appArn,
        AppInstanceRetentionSettings: { ChannelRetentionSettings: { RetentionDays: 42 } },
      }),
    );
    userArn = (
      await client.send(
        new CreateAppInstanceUserCommand({
          AppInstanceArn: appArn,
          AppInstanceUserId: 'durable:user@example.com',
          Name: 'Zoë Ωmega 用户 🎉',
          Metadata: 'métadonnées\nmultiligne ✓',
          Tags: [{ Key: 'k', Value: 'v' }],
          ExpirationSettings: { ExpirationDays: 3650, ExpirationCriterion: 'CREATED_TIMESTAMP' },
        }),
      )
    ).AppInstanceUserArn;
    const second = (
      await client.send(
        new CreateAppInstanceUserCommand({ AppInstanceArn: appArn, AppInstanceUserId: 'second', Name: 'Second' }),
      )
    ).AppInstanceUserArn;
    await sleep(15);
    await client.send(
      new UpdateAppInstanceUserCommand({ AppInstanceUserArn: second, Name: 'Deuxième', Metadata: '' }),
    );
    const register = (input) =>
      client.send(
        new RegisterAppInstanceUserEndpointCommand({
          AppInstanceUserArn: userArn,
          ResourceArn: pinpointArn(REGION, account, 'f00dfeedf00dfeedf00dfeedf00dfeed'),
          ...input,
        }),
      );
    keptEndpoint = (
      await register({
        Name: 'iPhone de Zoë 📱',
        Type: 'APNS',
        EndpointAttributes: { DeviceToken: 'apns-👍-token', VoipDeviceToken: 'voip-token' },
        ClientRequestToken: 'durable-register-0001',
      })
    ).EndpointId;
    const gcm = (
      await register({ Name: 'Android 安卓', Type: 'GCM', EndpointAttributes: { DeviceToken: 'gcm' }, AllowMessages: 'NONE' })
    ).EndpointId;
    const gone = (await register({ Name: 'gone', Type: 'APNS_SANDBOX', EndpointAttributes: { DeviceToken: 'gone' } }))
      .EndpointId;
    await sleep(15);
    await client.send(
      new UpdateAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: gcm, Name: 'Android — renamed ✓' }),
    );
    await client.send(new DeregisterAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: gone }));
    const bot = (
      await client.send(
        new CreateAppInstanceBotCommand({
          AppInstanceArn: appArn,
          Name: 'Robot 🤖',
          Metadata: 'bot-md',
          Configuration: {
            Lex: {
              LexBotAliasArn: `arn:aws:lex:${REGION}:${account}:bot-alias/ABCDEFGHIJ/KLMNOPQRST`,
              LocaleId: 'fr_FR',
              InvokedBy: { StandardMessages: 'MENTIONS', TargetedMessages: 'ALL' },
              WelcomeIntent: 'Bonjour_Intent',
            },
          },
        }),
      )
    ).AppInstanceBotArn;
    await client.send(new CreateAppInstanceAdminCommand({ AppInstanceArn: appArn, AppInstanceAdminArn: userArn }));
    await client.send(new CreateAppInstanceAdminCommand({ AppInstanceArn: appArn, AppInstanceAdminArn: bot }));

    before1 = await snapshot(client, appArn);
    assert.equal(before1.users.AppInstanceUsers.length, 2);
    assert.equal(before1.perUser[userArn].endpoints.AppInstanceUserEndpoints.length, 2);
    assert.equal(before1.perUser[userArn].user.AppInstanceUser.Name, 'Zoë Ωmega 用户 🎉');
    assert.equal(before1.app.AppInstance.Metadata, '{"emoji":"😀","ü":"ñ","quote":"\\"","nl":"a\\nb"}\ttab');
    assert.equal(before1.admins.AppInstanceAdmins.length, 2);
  });

  it('a clean stop (SIGTERM) exits 0, and after a restart every value is identical', async () => {
    const stopped = await server.restart('SIGTERM');
    assert.deepEqual(stopped, { code: 0, signal: null }, 'SIGTERM stops the server cleanly with exit 0');
    const health = await server.control('GET', '/_carillon/health');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'ok');
    const client = server.client(account, REGION);
    const after1 = await snapshot(client, appArn);
    assert.deepEqual(after1, before1);
  });

  it('an idempotent Register replayed after the restart still returns the first EndpointId', async () => {
    const client = server.client(account, REGION);
    const out = await client.send(
      new RegisterAppInstanceUserEndpointCommand({
        AppInstanceUserArn: userArn,
        ResourceArn: pinpointArn(REGION, account, 'f00dfeedf00dfeedf00dfeedf00dfeed'),
        Name: 'iPhone de Zoë 📱',
        Type: 'APNS',
        EndpointAttributes: { DeviceToken: 'apns-👍-token', VoipDeviceToken: 'voip-token' },
        ClientRequestToken: 'durable-register-0001',
      }),
    );
    assert.equal(out.$metadata.httpStatusCode, 201);
    assert.equal(out.EndpointId, keptEndpoint);
    assert.deepEqual(await snapshot(client, appArn), before1);
  });

  it('changes answered 2xx survive a crash (SIGKILL right after the answer)', async () => {
    const client = server.client(account, REGION);
    const newApp = (await client.send(new CreateAppInstanceCommand({ Name: 'après crash ⚡', Metadata: 'ß' })))
      .AppInstanceArn;
    const reg = await client.send(
      new RegisterAppInstanceUserEndpointCommand({
        AppInstanceUserArn: userArn,
        ResourceArn: pinpointArn(REGION, account),
        Name: 'late 🕐',
        Type: 'GCM',
        EndpointAttributes: { DeviceToken: 'late-token' },
      }),
    );
    await client.send(
      new UpdateAppInstanceUserEndpointCommand({
        AppInstanceUserArn: userArn,
        EndpointId: keptEndpoint,
        AllowMessages: 'NONE',
      }),
    );
    const second = `${appArn}/user/second`;
    await client.send(new DeleteAppInstanceUserCommand({ AppInstanceUserArn: second }));
    const expected = await snapshot(client, appArn);
    const stopped = await server.restart('SIGKILL');
    assert.equal(stopped.signal, 'SIGKILL');

    const c2 = server.client(account, REGION);
    assert.deepEqual(await snapshot(c2, appArn), expected);
    const d = await c2.send(new DescribeAppInstanceCommand({ AppInstanceArn: newApp }));
    assert.equal(d.AppInstance.Name, 'après crash ⚡');
    assert.equal(d.AppInstance.Metadata, 'ß');
    const e = await c2.send(
      new DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: reg.EndpointId }),
    );
    assert.equal(e.AppInstanceUserEndpoint.Name, 'late 🕐');
    const kept = await c2.send(
      new DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: keptEndpoint }),
    );
    assert.equal(kept.AppInstanceUserEndpoint.AllowMessages, 'NONE');
    await expectError(c2.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: second })), 'NotFoundException');
    const apps = await c2.send(new ListAppInstancesCommand({}));
    assert.deepEqual(
      apps.AppInstances.map((a) => a.AppInstanceArn),
      [appArn, newApp],
    );
  });
});
