// Create/Describe/Delete of AppInstances and AppInstanceUsers: success shapes and every error docs/behaviour.md names.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAppInstanceCommand,
  CreateAppInstanceUserCommand,
  DeleteAppInstanceCommand,
  DeleteAppInstanceUserCommand,
  DescribeAppInstanceCommand,
  DescribeAppInstanceUserCommand,
  ListAppInstancesCommand,
  ListAppInstanceUsersCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import { accountFactory, expectError, startServer, strip } from './helpers/server.js';
import { UUID, createAppInstance, createUser, missingAppInstanceArn } from './helpers/fixtures.js';

const nextAccount = accountFactory('1003');
const REGION = 'us-east-1';
const NAME_TOO_LONG =
  "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 256";
let server;

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.dispose();
});

const describeApp = (client, AppInstanceArn) => client.send(new DescribeAppInstanceCommand({ AppInstanceArn }));
const describeUser = (client, AppInstanceUserArn) => client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn }));

describe('CreateAppInstance', () => {
  it('Name length counts Unicode scalar values: 256 multibyte characters are accepted, 257 are not', async () => {
    const client = server.client(nextAccount());
    const accepted = ['é'.repeat(256), '€'.repeat(200) + '😀'.repeat(56), '😀'.repeat(256), '日本'.repeat(128)];
    for (const Name of accepted) {
      const arn = await createAppInstance(client, { Name });
      const d = await describeApp(client, arn);
      assert.equal(d.AppInstance.Name, Name);
    }
    const rejected = ['é'.repeat(257), '€'.repeat(200) + '😀'.repeat(57), '😀'.repeat(257), 'a'.repeat(257)];
    for (const Name of rejected) {
      await expectError(client.send(new CreateAppInstanceCommand({ Name })), 'BadRequestException', NAME_TOO_LONG);
    }
    const list = await client.send(new ListAppInstancesCommand({}));
    assert.equal(list.AppInstances.length, accepted.length);
  });

  it('an empty Name or one with a character outside the pattern is BadRequestException', async () => {
    const client = server.client(nextAccount());
    await expectError(client.send(new CreateAppInstanceCommand({ Name: '' })), 'BadRequestException');
    await expectError(client.send(new CreateAppInstanceCommand({ Name: 'bell\u0007' })), 'BadRequestException');
    await expectError(
      client.send(new CreateAppInstanceCommand({ Name: 'ok', Metadata: 'm'.repeat(1025) })),
      'BadRequestException',
      "1 validation error detected: Value at 'metadata' failed to satisfy constraint: Member must have length less than or equal to 1024",
    );
  });

  it('Describe returns what was created; Metadata left out at creation is absent', async () => {
    const account = nextAccount();
    const client = server.client(account, 'sa-east-1');
    const t0 = Date.now();
    const arn = await createAppInstance(client, { Name: 'Sans métadonnées' });
    assert.match(arn, new RegExp(`^arn:aws:chime:sa-east-1:${account}:app-instance/`));
    assert.match(arn.split('/')[1], UUID);
    const d = await describeApp(client, arn);
    assert.equal(d.$metadata.httpStatusCode, 200);
    assert.deepEqual(Object.keys(d.AppInstance).sort(), ['AppInstanceArn', 'CreatedTimestamp', 'LastUpdatedTimestamp', 'Name']);
    assert.ok(d.AppInstance.CreatedTimestamp instanceof Date);
    assert.ok(Math.abs(d.AppInstance.CreatedTimestamp.getTime() - t0) < 10_000);
    assert.equal(d.AppInstance.LastUpdatedTimestamp.getTime(), d.AppInstance.CreatedTimestamp.getTime());
    const withMeta = await createAppInstance(client, { Name: 'avec', Metadata: '{"k":"vé"}' });
    assert.equal((await describeApp(client, withMeta)).AppInstance.Metadata, '{"k":"vé"}');
    const emptyMeta = await createAppInstance(client, { Name: 'vide', Metadata: '' });
    assert.equal((await describeApp(client, emptyMeta)).AppInstance.Metadata, '');
  });

  it('a replay with the same ClientRequestToken returns the same ARN and makes nothing new; other parameters are BadRequestException', async () => {
    const client = server.client(nextAccount());
    const input = { Name: 'idem', Metadata: 'm', ClientRequestToken: 'create-app-token-1' };
    const a = await client.send(new CreateAppInstanceCommand(input));
    const b = await client.send(new CreateAppInstanceCommand(input));
    assert.equal(a.$metadata.httpStatusCode, 201);
    assert.equal(b.$metadata.httpStatusCode, 201);
    assert.equal(b.AppInstanceArn, a.AppInstanceArn);
    await expectError(client.send(new CreateAppInstanceCommand({ ...input, Name: 'other' })), 'BadRequestException');
    await expectError(client.send(new CreateAppInstanceCommand({ ...input, Metadata: 'other' })), 'BadRequestException');
    const list = await client.send(new ListAppInstancesCommand({}));
    assert.deepEqual(
      list.AppInstances.map((s) => s.AppInstanceArn),
      [a.AppInstanceArn],
    );
    // Without a token the SDK makes a fresh one: names need not be unique.
    const c = await client.send(new CreateAppInstanceCommand({ Name: 'idem', Metadata: 'm' }));
    assert.notEqual(c.AppInstanceArn, a.AppInstanceArn);
  });

  it('the 101st AppInstance of an account and region is ResourceLimitExceededException', async () => {
    const account = nextAccount();
    const client = server.client(account, 'ca-central-1');
    const batch = 10;
    for (let i = 0; i < 100; i += batch) {
      await Promise.all(
        Array.from({ length: batch }, (_, j) => client.send(new CreateAppInstanceCommand({ Name: `quota ${i + j}` }))),
      );
    }
    await expectError(client.send(new CreateAppInstanceCommand({ Name: 'one too many' })), 'ResourceLimitExceededException');
    // Another region of the same account has its own quota.
    const other = server.client(account, 'ca-west-1');
    assert.equal((await other.send(new CreateAppInstanceCommand({ Name: 'elsewhere' }))).$metadata.httpStatusCode, 201);
  });
});

describe('DescribeAppInstance and DeleteAppInstance', () => {
  it('an AppInstance that does not exist is NotFoundException', async () => {
    const account = nextAccount();
    const client = server.client(account);
    await expectError(describeApp(client, missingAppInstanceArn(REGION, account)), 'NotFoundException');
    await expectError(
      client.send(new DeleteAppInstanceCommand({ AppInstanceArn: missingAppInstanceArn(REGION, account) })),
      'NotFoundException',
    );
  });

  it('an ARN of another account or region is ForbiddenException; a malformed ARN is BadRequestException', async () => {
    const account = nextAccount();
    const client = server.client(account);
    const arn = await createAppInstance(client);
    const intruder = server.client(nextAccount());
    await expectError(describeApp(intruder, arn), 'ForbiddenException');
    await expectError(intruder.send(new DeleteAppInstanceCommand({ AppInstanceArn: arn })), 'ForbiddenException');
    const otherRegion = server.client(account, 'eu-north-1');
    await expectError(describeApp(otherRegion, arn), 'ForbiddenException');
    await expectError(otherRegion.send(new DeleteAppInstanceCommand({ AppInstanceArn: arn })), 'ForbiddenException');
    await expectError(describeApp(client, 'not-an-arn'), 'BadRequestException');
    await expectError(client.send(new DeleteAppInstanceCommand({ AppInstanceArn: 'nope' })), 'BadRequestException');
    assert.equal((await describeApp(client, arn)).AppInstance.AppInstanceArn, arn);
  });

  it('DeleteAppInstance answers 204; Describe and a second Delete are NotFoundException', async () => {
    const client = server.client(nextAccount());
    const arn = await createAppInstance(client);
    const out = await client.send(new DeleteAppInstanceCommand({ AppInstanceArn: arn }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    assert.deepEqual(strip(out), {});
    await expectError(describeApp(client, arn), 'NotFoundException');
    await expectError(client.send(new DeleteAppInstanceCommand({ AppInstanceArn: arn })), 'NotFoundException');
  });

  it('DeleteAppInstance takes its users with it', async () => {
    const client = server.client(nextAccount());
    const arn = await createAppInstance(client);
    const users = [await createUser(client, arn, 'u1'), await createUser(client, arn, 'u:2@x')];
    await client.send(new DeleteAppInstanceCommand({ AppInstanceArn: arn }));
    for (const u of users) await expectError(describeUser(client, u), 'NotFoundException');
    await expectError(client.send(new ListAppInstanceUsersCommand({ AppInstanceArn: arn })), 'NotFoundException');
    await expectError(
      client.send(new CreateAppInstanceUserCommand({ AppInstanceArn: arn, AppInstanceUserId: 'u3', Name: 'u3' })),
      'NotFoundException',
    );
  });
});

describe('CreateAppInstanceUser', () => {
  it('answers 201 with the ARN built from the id; Describe returns every member', async () => {
    const client = server.client(nextAccount());
    const app = await createAppInstance(client);
    const id = 'a:b-c_d.e@f';
    const out = await client.send(
      new CreateAppInstanceUserCommand({ AppInstanceArn: app, AppInstanceUserId: id, Name: 'Ünïcødé 用户', Metadata: 'md' }),
    );
    assert.equal(out.$metadata.httpStatusCode, 201);
    assert.deepEqual(strip(out), { AppInstanceUserArn: `${app}/user/${id}` });
    const d = await describeUser(client, out.AppInstanceUserArn);
    assert.deepEqual(Object.keys(d.AppInstanceUser).sort(), [
      'AppInstanceUserArn',
      'CreatedTimestamp',
      'LastUpdatedTimestamp',
      'Metadata',
      'Name',
    ]);
    assert.equal(d.AppInstanceUser.Name, 'Ünïcødé 用户');
    assert.equal(d.AppInstanceUser.Metadata, 'md');
    assert.equal(d.AppInstanceUser.LastUpdatedTimestamp.getTime(), d.AppInstanceUser.CreatedTimestamp.getTime());
  });

  it('a second user with the same id (another token) is ConflictException', async () => {
    const client = server.client(nextAccount());
    const app = await createAppInstance(client);
    await createUser(client, app, 'dup:user@example.com');
    await expectError(
      client.send(new CreateAppInstanceUserCommand({ AppInstanceArn: app, AppInstanceUserId: 'dup:user@example.com', Name: 'x' })),
      'ConflictException',
    );
    // The same id in another AppInstance is a different user.
    const app2 = await createAppInstance(client);
    await createUser(client, app2, 'dup:user@example.com');
  });

  it('a replay with the same ClientRequestToken returns the same ARN; other parameters are BadRequestException', async () => {
    const client = server.client(nextAccount());
    const app = await createAppInstance(client);
    const input = { AppInstanceArn: app, AppInstanceUserId: 'replayed', Name: 'R', ClientRequestToken: 'user-token-0001' };
    const a = await client.send(new CreateAppInstanceUserCommand(input));
    const b = await client.send(new CreateAppInstanceUserCommand(input));
    assert.equal(b.$metadata.httpStatusCode, 201);
    assert.equal(b.AppInstanceUserArn, a.AppInstanceUserArn);
    await expectError(client.send(new CreateAppInstanceUserCommand({ ...input, Name: 'S' })), 'BadRequestException');
    const list = await client.send(new ListAppInstanceUsersCommand({ AppInstanceArn: app }));
    assert.equal(list.AppInstanceUsers.length, 1);
  });

  it('an AppInstance that does not exist is NotFoundException; of another account, ForbiddenException', async () => {
    const account = nextAccount();
    const client = server.client(account);
    await expectError(
      client.send(
        new CreateAppInstanceUserCommand({ AppInstanceArn: missingAppInstanceArn(REGION, account), AppInstanceUserId: 'u', Name: 'u' }),
      ),
      'NotFoundException',
    );
    const app = await createAppInstance(client);
    const intruder = server.client(nextAccount());
    await expectError(
      intruder.send(new CreateAppInstanceUserCommand({ AppInstanceArn: app, AppInstanceUserId: 'u', Name: 'u' })),
      'ForbiddenException',
    );
  });

  it('an id or Name outside the model constraints is BadRequestException', async () => {
    const client = server.client(nextAccount());
    const app = await createAppInstance(client);
    const bad = [
      { AppInstanceUserId: '', Name: 'x' },
      { AppInstanceUserId: 'x'.repeat(65), Name: 'x' },
      { AppInstanceUserId: '-leading', Name: 'x' },
      { AppInstanceUserId: 'trailing@', Name: 'x' },
      { AppInstanceUserId: 'has space', Name: 'x' },
      { AppInstanceUserId: 'slash/inside', Name: 'x' },
      { AppInstanceUserId: 'ok', Name: '' },
      { AppInstanceUserId: 'ok', Name: '   ' },
      { AppInstanceUserId: 'ok', Name: 'n'.repeat(101) },
    ];
    for (const input of bad) {
      await expectError(client.send(new CreateAppInstanceUserCommand({ AppInstanceArn: app, ...input })), 'BadRequestException');
    }
    await expectError(
      client.send(new CreateAppInstanceUserCommand({ AppInstanceArn: app, AppInstanceUserId: 'ok', Name: 'ñ'.repeat(101) })),
      'BadRequestException',
      "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 100",
    );
    await createUser(client, app, 'x'.repeat(64), { Name: 'ñ'.repeat(100) });
    const list = await client.send(new ListAppInstanceUsersCommand({ AppInstanceArn: app }));
    assert.equal(list.AppInstanceUsers.length, 1);
  });
});

describe('DescribeAppInstanceUser and DeleteAppInstanceUser', () => {
  it('a user that does not exist is NotFoundException', async () => {
    const account = nextAccount();
    const client = server.client(account);
    const app = await createAppInstance(client);
    await expectError(describeUser(client, `${app}/user/nobody`), 'NotFoundException');
    await expectError(client.send(new DeleteAppInstanceUserCommand({ AppInstanceUserArn: `${app}/user/nobody` })), 'NotFoundException');
    const inMissingApp = `${missingAppInstanceArn(REGION, account)}/user/nobody`;
    await expectError(describeUser(client, inMissingApp), 'NotFoundException');
  });

  it('DeleteAppInstanceUser answers 204; Describe and a second Delete are NotFoundException', async () => {
    const client = server.client(nextAccount());
    const app = await createAppInstance(client);
    const user = await createUser(client, app, 'to:delete@example.com');
    const out = await client.send(new DeleteAppInstanceUserCommand({ AppInstanceUserArn: user }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    assert.deepEqual(strip(out), {});
    await expectError(describeUser(client, user), 'NotFoundException');
    await expectError(client.send(new DeleteAppInstanceUserCommand({ AppInstanceUserArn: user })), 'NotFoundException');
    // The AppInstance itself stays.
    assert.equal((await describeApp(client, app)).AppInstance.AppInstanceArn, app);
  });

  it('a user ARN of another account is ForbiddenException; a malformed one is BadRequestException', async () => {
    const client = server.client(nextAccount());
    const app = await createAppInstance(client);
    const user = await createUser(client, app, 'owned');
    const intruder = server.client(nextAccount());
    await expectError(describeUser(intruder, user), 'ForbiddenException');
    await expectError(intruder.send(new DeleteAppInstanceUserCommand({ AppInstanceUserArn: user })), 'ForbiddenException');
    await expectError(describeUser(client, 'arn:nope'), 'BadRequestException');
    await expectError(client.send(new DeleteAppInstanceUserCommand({ AppInstanceUserArn: 'bad' })), 'BadRequestException');
    assert.equal((await describeUser(client, user)).AppInstanceUser.AppInstanceUserArn, user);
  });
});
