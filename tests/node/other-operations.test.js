// Success paths of the operations around the endpoint family: updates, bots, admins, tags, retention,
// list pagination and user expiration (docs/behaviour.md, "Pagination", "Expiration").

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAppInstanceAdminCommand,
  CreateAppInstanceBotCommand,
  CreateAppInstanceUserCommand,
  DeleteAppInstanceAdminCommand,
  DeleteAppInstanceBotCommand,
  DescribeAppInstanceAdminCommand,
  DescribeAppInstanceBotCommand,
  DescribeAppInstanceCommand,
  DescribeAppInstanceUserCommand,
  DescribeAppInstanceUserEndpointCommand,
  GetAppInstanceRetentionSettingsCommand,
  ListAppInstanceAdminsCommand,
  ListAppInstanceBotsCommand,
  ListAppInstancesCommand,
  ListAppInstanceUsersCommand,
  ListTagsForResourceCommand,
  PutAppInstanceRetentionSettingsCommand,
  PutAppInstanceUserExpirationSettingsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAppInstanceBotCommand,
  UpdateAppInstanceCommand,
  UpdateAppInstanceUserCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import { accountFactory, expectError, sleep, startServer, strip } from './helpers/server.js';
import { UUID, allPages, createAppInstance, createUser, registerEndpoint } from './helpers/fixtures.js';

const nextAccount = accountFactory('1005');
const REGION = 'us-west-2';
const DAY_MS = 86_400_000;
let server;

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.dispose();
});

const lex = (account) => ({
  LexBotAliasArn: `arn:aws:lex:${REGION}:${account}:bot-alias/ABCDEFGHIJ/KLMNOPQRST`,
  LocaleId: 'en_US',
  InvokedBy: { StandardMessages: 'MENTIONS', TargetedMessages: 'ALL' },
  WelcomeIntent: 'Welcome_Intent',
});

describe('updates', () => {
  it('UpdateAppInstance and UpdateAppInstanceUser change Name and Metadata and move LastUpdatedTimestamp', async () => {
    const client = server.client(nextAccount(), REGION);
    const app = await createAppInstance(client, { Name: 'before', Metadata: 'm1' });
    const user = await createUser(client, app, 'upd@example.com', { Name: 'before', Metadata: 'm1' });
    const a0 = (await client.send(new DescribeAppInstanceCommand({ AppInstanceArn: app }))).AppInstance;
    const u0 = (await client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: user }))).AppInstanceUser;
    await sleep(20);
    const ua = await client.send(new UpdateAppInstanceCommand({ AppInstanceArn: app, Name: 'après ✓', Metadata: '' }));
    assert.equal(ua.$metadata.httpStatusCode, 200);
    assert.deepEqual(strip(ua), { AppInstanceArn: app });
    const uu = await client.send(new UpdateAppInstanceUserCommand({ AppInstanceUserArn: user, Name: 'après ✓', Metadata: 'm2' }));
    assert.deepEqual(strip(uu), { AppInstanceUserArn: user });
    const a1 = (await client.send(new DescribeAppInstanceCommand({ AppInstanceArn: app }))).AppInstance;
    const u1 = (await client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: user }))).AppInstanceUser;
    assert.equal(a1.Name, 'après ✓');
    assert.equal(a1.Metadata, '');
    assert.equal(u1.Name, 'après ✓');
    assert.equal(u1.Metadata, 'm2');
    assert.equal(a1.CreatedTimestamp.getTime(), a0.CreatedTimestamp.getTime());
    assert.equal(u1.CreatedTimestamp.getTime(), u0.CreatedTimestamp.getTime());
    assert.ok(a1.LastUpdatedTimestamp > a0.LastUpdatedTimestamp);
    assert.ok(u1.LastUpdatedTimestamp > u0.LastUpdatedTimestamp);
  });
});

describe('AppInstanceBots', () => {
  it('create, describe, update, list and delete a bot', async () => {
    const account = nextAccount();
    const client = server.client(account, REGION);
    const app = await createAppInstance(client);
    const created = await client.send(
      new CreateAppInstanceBotCommand({
        AppInstanceArn: app,
        Name: 'Helper 🤖',
        Metadata: 'bot',
        Configuration: { Lex: lex(account) },
      }),
    );
    assert.equal(created.$metadata.httpStatusCode, 201);
    const m = new RegExp(`^${app.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/bot/(.+)$`).exec(created.AppInstanceBotArn);
    assert.ok(m, created.AppInstanceBotArn);
    assert.match(m[1], UUID);
    const botArn = created.AppInstanceBotArn;
    const d = (await client.send(new DescribeAppInstanceBotCommand({ AppInstanceBotArn: botArn }))).AppInstanceBot;
    assert.equal(d.AppInstanceBotArn, botArn);
    assert.equal(d.Name, 'Helper 🤖');
    assert.equal(d.Metadata, 'bot');
    assert.deepEqual(d.Configuration, { Lex: lex(account) });
    assert.equal(d.LastUpdatedTimestamp.getTime(), d.CreatedTimestamp.getTime());
    await sleep(20);
    const u = await client.send(new UpdateAppInstanceBotCommand({ AppInstanceBotArn: botArn, Name: 'Renamed', Metadata: '' }));
    assert.deepEqual(strip(u), { AppInstanceBotArn: botArn });
    const d2 = (await client.send(new DescribeAppInstanceBotCommand({ AppInstanceBotArn: botArn }))).AppInstanceBot;
    assert.equal(d2.Name, 'Renamed');
    assert.equal(d2.Metadata, '');
    assert.deepEqual(d2.Configuration, { Lex: lex(account) });
    assert.ok(d2.LastUpdatedTimestamp > d.LastUpdatedTimestamp);

    const more = [];
    for (let i = 0; i < 3; i += 1) {
      more.push(
        (
          await client.send(
            new CreateAppInstanceBotCommand({
              AppInstanceArn: app,
              Name: `bot ${i}`,
              Configuration: { Lex: { LexBotAliasArn: lex(account).LexBotAliasArn, LocaleId: 'en_US', RespondsTo: 'STANDARD_MESSAGES' } },
            }),
          )
        ).AppInstanceBotArn,
      );
    }
    const pages = await allPages((NextToken) =>
      client.send(new ListAppInstanceBotsCommand({ AppInstanceArn: app, MaxResults: 3, NextToken })),
    );
    assert.deepEqual(
      pages.map((p) => p.AppInstanceBots.length),
      [3, 1],
    );
    assert.deepEqual(
      pages.flatMap((p) => p.AppInstanceBots.map((b) => b.AppInstanceBotArn)),
      [botArn, ...more],
    );
    assert.equal(pages[0].AppInstanceArn, app);
    assert.equal(pages[0].AppInstanceBots[0].Name, 'Renamed');

    const del = await client.send(new DeleteAppInstanceBotCommand({ AppInstanceBotArn: botArn }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    await expectError(client.send(new DescribeAppInstanceBotCommand({ AppInstanceBotArn: botArn })), 'NotFoundException');
  });
});

describe('AppInstanceAdmins', () => {
  it('promote a user and a bot, describe, list, promote again (Conflict), demote', async () => {
    const account = nextAccount();
    const client = server.client(account, REGION);
    const app = await createAppInstance(client);
    const user = await createUser(client, app, 'admin:user@example.com', { Name: 'Admin Ünïcode' });
    const bot = (
      await client.send(new CreateAppInstanceBotCommand({ AppInstanceArn: app, Name: 'Bot admin', Configuration: { Lex: lex(account) } }))
    ).AppInstanceBotArn;

    const c1 = await client.send(new CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user }));
    assert.equal(c1.$metadata.httpStatusCode, 201);
    assert.deepEqual(strip(c1), { AppInstanceAdmin: { Arn: user, Name: 'Admin Ünïcode' }, AppInstanceArn: app });
    await client.send(new CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: bot }));

    const d = await client.send(new DescribeAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user }));
    assert.deepEqual(d.AppInstanceAdmin.Admin, { Arn: user, Name: 'Admin Ünïcode' });
    assert.equal(d.AppInstanceAdmin.AppInstanceArn, app);
    assert.ok(d.AppInstanceAdmin.CreatedTimestamp instanceof Date);
    const db = await client.send(new DescribeAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: bot }));
    assert.deepEqual(db.AppInstanceAdmin.Admin, { Arn: bot, Name: 'Bot admin' });

    const list = await client.send(new ListAppInstanceAdminsCommand({ AppInstanceArn: app }));
    assert.equal(list.AppInstanceArn, app);
    assert.deepEqual(list.AppInstanceAdmins, [
      { Admin: { Arn: user, Name: 'Admin Ünïcode' } },
      { Admin: { Arn: bot, Name: 'Bot admin' } },
    ]);
    assert.equal(list.NextToken, undefined);

    await expectError(
      client.send(new CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user })),
      'ConflictException',
    );
    const other = await createAppInstance(client);
    const otherUser = await createUser(client, other, 'elsewhere');
    await expectError(
      client.send(new CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: otherUser })),
      'BadRequestException',
    );
    await expectError(
      client.send(new CreateAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: `${app}/user/nobody` })),
      'NotFoundException',
    );

    const del = await client.send(new DeleteAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    await expectError(
      client.send(new DescribeAppInstanceAdminCommand({ AppInstanceArn: app, AppInstanceAdminArn: user })),
      'NotFoundException',
    );
    assert.equal((await client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: user }))).AppInstanceUser.Name, 'Admin Ünïcode');
    const after1 = await client.send(new ListAppInstanceAdminsCommand({ AppInstanceArn: app }));
    assert.deepEqual(after1.AppInstanceAdmins, [{ Admin: { Arn: bot, Name: 'Bot admin' } }]);
  });
});

describe('tags', () => {
  it('tag, replace, list in first-set order, untag; errors for aws: keys, duplicates and more than 50', async () => {
    const client = server.client(nextAccount(), REGION);
    const app = await createAppInstance(client, { Tags: [{ Key: 'b', Value: '1' }] });
    const user = await createUser(client, app, 'tagged');
    const list = async (arn) => (await client.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags ?? [];
    assert.deepEqual(await list(app), [{ Key: 'b', Value: '1' }]);
    assert.deepEqual(await list(user), []);

    const t = await client.send(
      new TagResourceCommand({
        ResourceARN: app,
        Tags: [
          { Key: 'a', Value: '2' },
          { Key: 'clé', Value: 'valeur ✓' },
        ],
      }),
    );
    assert.equal(t.$metadata.httpStatusCode, 204);
    await client.send(new TagResourceCommand({ ResourceARN: app, Tags: [{ Key: 'b', Value: 'replaced' }] }));
    assert.deepEqual(await list(app), [
      { Key: 'b', Value: 'replaced' },
      { Key: 'a', Value: '2' },
      { Key: 'clé', Value: 'valeur ✓' },
    ]);
    const u = await client.send(new UntagResourceCommand({ ResourceARN: app, TagKeys: ['a', 'not-there'] }));
    assert.equal(u.$metadata.httpStatusCode, 204);
    assert.deepEqual(await list(app), [
      { Key: 'b', Value: 'replaced' },
      { Key: 'clé', Value: 'valeur ✓' },
    ]);

    await client.send(new TagResourceCommand({ ResourceARN: user, Tags: [{ Key: 'team', Value: 'x' }] }));
    assert.deepEqual(await list(user), [{ Key: 'team', Value: 'x' }]);

    await expectError(
      client.send(new TagResourceCommand({ ResourceARN: user, Tags: [{ Key: 'aws:reserved', Value: 'x' }] })),
      'BadRequestException',
    );
    await expectError(
      client.send(
        new TagResourceCommand({
          ResourceARN: user,
          Tags: [
            { Key: 'same', Value: '1' },
            { Key: 'same', Value: '2' },
          ],
        }),
      ),
      'BadRequestException',
    );
    const fifty = Array.from({ length: 49 }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));
    await client.send(new TagResourceCommand({ ResourceARN: user, Tags: fifty }));
    assert.equal((await list(user)).length, 50);
    await expectError(
      client.send(new TagResourceCommand({ ResourceARN: user, Tags: [{ Key: 'one-more', Value: 'x' }] })),
      'ResourceLimitExceededException',
    );
    assert.equal((await list(user)).length, 50);
  });
});

describe('retention settings', () => {
  it('Get before Put is empty; Put sets RetentionDays and InitiateDeletionTimestamp = now + 30 days; {} turns it off', async () => {
    const client = server.client(nextAccount(), REGION);
    const app = await createAppInstance(client);
    const g0 = await client.send(new GetAppInstanceRetentionSettingsCommand({ AppInstanceArn: app }));
    assert.deepEqual(strip(g0), { AppInstanceRetentionSettings: {} });

    const t0 = Date.now();
    const p = await client.send(
      new PutAppInstanceRetentionSettingsCommand({
        AppInstanceArn: app,
        AppInstanceRetentionSettings: { ChannelRetentionSettings: { RetentionDays: 90 } },
      }),
    );
    assert.equal(p.$metadata.httpStatusCode, 200);
    assert.deepEqual(p.AppInstanceRetentionSettings, { ChannelRetentionSettings: { RetentionDays: 90 } });
    assert.ok(p.InitiateDeletionTimestamp instanceof Date);
    assert.ok(Math.abs(p.InitiateDeletionTimestamp.getTime() - (t0 + 30 * DAY_MS)) < 10_000, `${p.InitiateDeletionTimestamp.toISOString()}`);
    const g1 = await client.send(new GetAppInstanceRetentionSettingsCommand({ AppInstanceArn: app }));
    assert.deepEqual(strip(g1), strip(p));

    await expectError(
      client.send(
        new PutAppInstanceRetentionSettingsCommand({
          AppInstanceArn: app,
          AppInstanceRetentionSettings: { ChannelRetentionSettings: { RetentionDays: 5476 } },
        }),
      ),
      'BadRequestException',
    );

    await client.send(
      new PutAppInstanceRetentionSettingsCommand({
        AppInstanceArn: app,
        AppInstanceRetentionSettings: { ChannelRetentionSettings: {} },
      }),
    );
    const g2 = await client.send(new GetAppInstanceRetentionSettingsCommand({ AppInstanceArn: app }));
    assert.equal(g2.AppInstanceRetentionSettings?.ChannelRetentionSettings?.RetentionDays, undefined);
  });
});

describe('list pagination', () => {
  it('ListAppInstances pages in creation order; the last page has no NextToken', async () => {
    const client = server.client(nextAccount(), REGION);
    const arns = [];
    for (let i = 0; i < 7; i += 1) arns.push(await createAppInstance(client, { Name: `app ${i} ✓` }));
    const pages = await allPages((NextToken) => client.send(new ListAppInstancesCommand({ MaxResults: 3, NextToken })));
    assert.deepEqual(
      pages.map((p) => p.AppInstances.length),
      [3, 3, 1],
    );
    const items = pages.flatMap((p) => p.AppInstances);
    assert.deepEqual(
      items.map((a) => a.AppInstanceArn),
      arns,
    );
    assert.deepEqual(items[0], { AppInstanceArn: arns[0], Name: 'app 0 ✓' });
    const all = await client.send(new ListAppInstancesCommand({}));
    assert.equal(all.AppInstances.length, 7);
    assert.equal(all.NextToken, undefined);
    // Another account sees none of them.
    const other = await server.client(nextAccount(), REGION).send(new ListAppInstancesCommand({}));
    assert.deepEqual(other.AppInstances ?? [], []);
  });

  it('ListAppInstanceUsers pages in creation order; the last page has no NextToken', async () => {
    const client = server.client(nextAccount(), REGION);
    const app = await createAppInstance(client);
    const other = await createAppInstance(client);
    await createUser(client, other, 'not-listed');
    const arns = [];
    for (let i = 0; i < 5; i += 1) arns.push(await createUser(client, app, `user:${i}@example.com`, { Name: `Ü${i}`, Metadata: 'x' }));
    const pages = await allPages((NextToken) =>
      client.send(new ListAppInstanceUsersCommand({ AppInstanceArn: app, MaxResults: 2, NextToken })),
    );
    assert.deepEqual(
      pages.map((p) => p.AppInstanceUsers.length),
      [2, 2, 1],
    );
    assert.equal(pages[0].AppInstanceArn, app);
    const items = pages.flatMap((p) => p.AppInstanceUsers);
    assert.deepEqual(
      items.map((u) => u.AppInstanceUserArn),
      arns,
    );
    assert.deepEqual(items[1], { AppInstanceUserArn: arns[1], Name: 'Ü1', Metadata: 'x' });
    // A token is tied to its parameters: replaying one against another AppInstance is BadRequest.
    await expectError(
      client.send(new ListAppInstanceUsersCommand({ AppInstanceArn: other, MaxResults: 2, NextToken: pages[0].NextToken })),
      'BadRequestException',
    );
  });
});

describe('user expiration (runs last: moves the server clock)', () => {
  after(async () => {
    await server.setClockOffset(0);
  });

  it('Put/remove ExpirationSettings; an expired user stays alive until the sweep, which deletes it with its endpoints', async () => {
    const account = nextAccount();
    const client = server.client(account, REGION);
    const app = await createAppInstance(client);
    const doomed = await createUser(client, app, 'doomed@example.com');
    const keeper = await createUser(client, app, 'keeper', {
      ExpirationSettings: { ExpirationDays: 5475, ExpirationCriterion: 'CREATED_TIMESTAMP' },
    });
    const { EndpointId } = await registerEndpoint(client, { region: REGION, account, userArn: doomed });

    const put = await client.send(
      new PutAppInstanceUserExpirationSettingsCommand({
        AppInstanceUserArn: doomed,
        ExpirationSettings: { ExpirationDays: 1, ExpirationCriterion: 'CREATED_TIMESTAMP' },
      }),
    );
    assert.equal(put.$metadata.httpStatusCode, 200);
    assert.deepEqual(strip(put), {
      AppInstanceUserArn: doomed,
      ExpirationSettings: { ExpirationDays: 1, ExpirationCriterion: 'CREATED_TIMESTAMP' },
    });
    const d = await client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: doomed }));
    assert.deepEqual(d.AppInstanceUser.ExpirationSettings, { ExpirationDays: 1, ExpirationCriterion: 'CREATED_TIMESTAMP' });

    // Remove and restore: a Put without ExpirationSettings removes them.
    await client.send(new PutAppInstanceUserExpirationSettingsCommand({ AppInstanceUserArn: keeper }));
    const k = await client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: keeper }));
    assert.equal(k.AppInstanceUser.ExpirationSettings, undefined);

    await expectError(
      client.send(
        new PutAppInstanceUserExpirationSettingsCommand({
          AppInstanceUserArn: doomed,
          ExpirationSettings: { ExpirationDays: 0, ExpirationCriterion: 'CREATED_TIMESTAMP' },
        }),
      ),
      'BadRequestException',
    );

    await server.setClockOffset(DAY_MS / 1000 + 120);
    // Past its expiry but before the sweep, the user looks and acts alive.
    const alive = await client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: doomed }));
    assert.equal(alive.AppInstanceUser.AppInstanceUserArn, doomed);
    await server.sweepExpired();
    await expectError(client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: doomed })), 'NotFoundException');
    await expectError(
      client.send(new DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: doomed, EndpointId })),
      'NotFoundException',
    );
    const users = await client.send(new ListAppInstanceUsersCommand({ AppInstanceArn: app }));
    assert.deepEqual(
      users.AppInstanceUsers.map((u) => u.AppInstanceUserArn),
      [keeper],
    );
    // The id is free again.
    await client.send(new CreateAppInstanceUserCommand({ AppInstanceArn: app, AppInstanceUserId: 'doomed@example.com', Name: 'back' }));
  });
});
