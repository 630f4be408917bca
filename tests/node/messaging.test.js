// Chime SDK Messaging through the unmodified aws-sdk-js-v3 client, on the listener that serves
// Identity (docs/behaviour.md, "Messaging"): channels, memberships, moderators and messages as a chat
// app uses them, with the modeled errors.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateAppInstanceAdminCommand, DeleteAppInstanceUserCommand } from '@aws-sdk/client-chime-sdk-identity';
import {
  BatchCreateChannelMembershipCommand,
  CreateChannelCommand,
  CreateChannelMembershipCommand,
  CreateChannelModeratorCommand,
  DeleteChannelCommand,
  DeleteChannelMessageCommand,
  DescribeChannelCommand,
  GetChannelMessageCommand,
  GetMessagingSessionEndpointCommand,
  ListChannelMembershipsCommand,
  ListChannelMembershipsForAppInstanceUserCommand,
  ListChannelMessagesCommand,
  ListChannelsCommand,
  ListChannelBansCommand,
  RedactChannelMessageCommand,
  SendChannelMessageCommand,
  UpdateChannelMessageCommand,
} from '@aws-sdk/client-chime-sdk-messaging';
import { accountFactory, startServer } from './helpers/server.js';
import { allPages, createAppInstance, createUser } from './helpers/fixtures.js';

const nextAccount = accountFactory('1009');
let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

/** Awaits a rejection and checks its name and HTTP status. */
async function rejects(promise, name, status) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.name, name, e.message);
    assert.equal(e.$metadata?.httpStatusCode, status);
    return true;
  });
}

async function world() {
  const account = nextAccount();
  const identity = server.client(account);
  const chat = server.messaging(account);
  const instance = await createAppInstance(identity);
  const users = {};
  for (const id of ['ana', 'bo', 'cy']) users[id] = await createUser(identity, instance, id);
  return { account, identity, chat, instance, ...users };
}

describe('Chime SDK Messaging with aws-sdk-js-v3', () => {
  it('runs a private, restricted channel from creation to deletion', async () => {
    const w = await world();
    const { ChannelArn: channel } = await w.chat.send(
      new CreateChannelCommand({
        AppInstanceArn: w.instance,
        Name: 'team',
        Privacy: 'PRIVATE',
        Mode: 'RESTRICTED',
        MemberArns: [w.bo],
        ChimeBearer: w.ana,
      }),
    );
    assert.ok(channel.startsWith(`${w.instance}/channel/`), channel);
    const { Channel } = await w.chat.send(new DescribeChannelCommand({ ChannelArn: channel, ChimeBearer: w.bo }));
    assert.equal(Channel.Privacy, 'PRIVATE');
    assert.equal(Channel.Mode, 'RESTRICTED');
    assert.ok(Channel.CreatedTimestamp instanceof Date);
    await rejects(w.chat.send(new DescribeChannelCommand({ ChannelArn: channel, ChimeBearer: w.cy })), 'ForbiddenException', 403);
    const listed = await w.chat.send(new ListChannelsCommand({ AppInstanceArn: w.instance, ChimeBearer: w.ana }));
    assert.deepEqual(listed.Channels, [], 'a private channel is not among the public ones');

    // Messages, both orders, pages of two.
    const sent = [];
    for (let i = 0; i < 5; i += 1) {
      const out = await w.chat.send(
        new SendChannelMessageCommand({
          ChannelArn: channel,
          Content: `message ${i}`,
          Type: 'STANDARD',
          Persistence: 'PERSISTENT',
          ChimeBearer: i % 2 ? w.bo : w.ana,
        }),
      );
      assert.equal(out.$metadata.httpStatusCode, 201);
      sent.push(out.MessageId);
    }
    for (const SortOrder of ['ASCENDING', 'DESCENDING']) {
      const pages = await allPages((NextToken) =>
        w.chat.send(new ListChannelMessagesCommand({ ChannelArn: channel, SortOrder, MaxResults: 2, NextToken, ChimeBearer: w.bo })),
      );
      const ids = pages.flatMap((p) => p.ChannelMessages.map((m) => m.MessageId));
      assert.deepEqual(ids, SortOrder === 'ASCENDING' ? sent : [...sent].reverse());
    }
    // Time bounds are inclusive.
    const { ChannelMessage: third } = await w.chat.send(
      new GetChannelMessageCommand({ ChannelArn: channel, MessageId: sent[2], ChimeBearer: w.ana }),
    );
    const bounded = await w.chat.send(
      new ListChannelMessagesCommand({
        ChannelArn: channel,
        SortOrder: 'ASCENDING',
        NotBefore: third.CreatedTimestamp,
        NotAfter: third.CreatedTimestamp,
        ChimeBearer: w.ana,
      }),
    );
    assert.ok(bounded.ChannelMessages.some((m) => m.MessageId === sent[2]), 'the bounds include their own millisecond');
    for (const m of bounded.ChannelMessages) assert.equal(m.CreatedTimestamp.getTime(), third.CreatedTimestamp.getTime());

    // Edit, redact, delete.
    await w.chat.send(new UpdateChannelMessageCommand({ ChannelArn: channel, MessageId: sent[0], Content: 'edited', ChimeBearer: w.ana }));
    await rejects(
      w.chat.send(new UpdateChannelMessageCommand({ ChannelArn: channel, MessageId: sent[0], Content: 'no', ChimeBearer: w.bo })),
      'ForbiddenException',
      403,
    );
    await w.chat.send(new RedactChannelMessageCommand({ ChannelArn: channel, MessageId: sent[1], ChimeBearer: w.bo }));
    const { ChannelMessage: redacted } = await w.chat.send(
      new GetChannelMessageCommand({ ChannelArn: channel, MessageId: sent[1], ChimeBearer: w.ana }),
    );
    assert.equal(redacted.Redacted, true);
    assert.equal(redacted.Content, undefined);
    await rejects(
      w.chat.send(new DeleteChannelMessageCommand({ ChannelArn: channel, MessageId: sent[2], ChimeBearer: w.ana })),
      'ForbiddenException',
      403,
    );
    await w.identity.send(new CreateAppInstanceAdminCommand({ AppInstanceArn: w.instance, AppInstanceAdminArn: w.cy }));
    await w.chat.send(new DeleteChannelMessageCommand({ ChannelArn: channel, MessageId: sent[2], ChimeBearer: w.cy }));
    await rejects(
      w.chat.send(new GetChannelMessageCommand({ ChannelArn: channel, MessageId: sent[2], ChimeBearer: w.ana })),
      'NotFoundException',
      404,
    );

    // Memberships.
    await rejects(
      w.chat.send(new CreateChannelMembershipCommand({ ChannelArn: channel, MemberArn: w.cy, Type: 'DEFAULT', ChimeBearer: w.bo })),
      'ForbiddenException',
      403,
    );
    await w.chat.send(new CreateChannelMembershipCommand({ ChannelArn: channel, MemberArn: w.cy, Type: 'DEFAULT', ChimeBearer: w.ana }));
    await rejects(
      w.chat.send(new CreateChannelMembershipCommand({ ChannelArn: channel, MemberArn: w.cy, Type: 'DEFAULT', ChimeBearer: w.ana })),
      'ConflictException',
      409,
    );
    const mine = await w.chat.send(new ListChannelMembershipsForAppInstanceUserCommand({ ChimeBearer: w.cy }));
    assert.deepEqual(
      mine.ChannelMemberships.map((m) => m.ChannelSummary.ChannelArn),
      [channel],
    );
    await w.identity.send(new DeleteAppInstanceUserCommand({ AppInstanceUserArn: w.bo }));
    const members = await w.chat.send(new ListChannelMembershipsCommand({ ChannelArn: channel, ChimeBearer: w.ana }));
    assert.ok(members.ChannelMemberships.every((m) => m.Member.Arn !== w.bo));

    await w.chat.send(new DeleteChannelCommand({ ChannelArn: channel, ChimeBearer: w.ana }));
    await rejects(w.chat.send(new DescribeChannelCommand({ ChannelArn: channel, ChimeBearer: w.ana })), 'NotFoundException', 404);
  });

  it('answers a batch with per-member errors and moderators without membership', async () => {
    const w = await world();
    const { ChannelArn: channel } = await w.chat.send(
      new CreateChannelCommand({ AppInstanceArn: w.instance, Name: 'open', ChimeBearer: w.ana }),
    );
    const ghost = `${w.instance}/user/ghost`;
    const out = await w.chat.send(
      new BatchCreateChannelMembershipCommand({ ChannelArn: channel, MemberArns: [w.bo, ghost], ChimeBearer: w.ana }),
    );
    assert.deepEqual(out.BatchChannelMemberships.Members.map((m) => m.Arn), [w.bo]);
    assert.deepEqual(out.Errors.map((e) => [e.MemberArn, e.ErrorCode]), [[ghost, 'NotFound']]);
    await w.chat.send(new CreateChannelModeratorCommand({ ChannelArn: channel, ChannelModeratorArn: w.cy, ChimeBearer: w.ana }));
    await rejects(
      w.chat.send(new CreateChannelModeratorCommand({ ChannelArn: channel, ChannelModeratorArn: w.cy, ChimeBearer: w.ana })),
      'ConflictException',
      409,
    );
  });

  it('checks the bearer and answers later milestones with 501', async () => {
    const w = await world();
    await rejects(
      w.chat.send(new ListChannelsCommand({ AppInstanceArn: w.instance, ChimeBearer: `${w.instance}/user/ghost` })),
      'UnauthorizedClientException',
      401,
    );
    await assert.rejects(
      w.chat.send(new ListChannelBansCommand({ ChannelArn: `${w.instance}/channel/c`, ChimeBearer: w.ana })),
      (e) => e.$metadata?.httpStatusCode === 501 && /ListChannelBans/.test(e.message),
    );
    const { Endpoint } = await w.chat.send(new GetMessagingSessionEndpointCommand({}));
    assert.equal(Endpoint.Url, new URL(server.url).host);
  });
});
