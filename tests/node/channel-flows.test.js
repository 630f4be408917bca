// Channel flows and streaming configurations through the unmodified aws-sdk-js-v3 client, in the
// order an infrastructure-as-code stack (the CDK constructs for Chime SDK Messaging) creates, updates
// and deletes them (docs/behaviour.md, "Messaging"). They are configuration only: nothing is invoked
// or streamed.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeleteAppInstanceCommand, DescribeAppInstanceCommand } from '@aws-sdk/client-chime-sdk-identity';
import {
  AssociateChannelFlowCommand,
  CreateChannelCommand,
  CreateChannelFlowCommand,
  DeleteChannelCommand,
  DeleteChannelFlowCommand,
  DeleteMessagingStreamingConfigurationsCommand,
  DescribeChannelCommand,
  DescribeChannelFlowCommand,
  DisassociateChannelFlowCommand,
  GetMessagingStreamingConfigurationsCommand,
  ListChannelFlowsCommand,
  ListChannelsAssociatedWithChannelFlowCommand,
  ListChannelMessagesCommand,
  ListTagsForResourceCommand,
  PutMessagingStreamingConfigurationsCommand,
  SendChannelMessageCommand,
  UpdateChannelFlowCommand,
} from '@aws-sdk/client-chime-sdk-messaging';
import { accountFactory, startServer } from './helpers/server.js';
import { createAppInstance, createUser, UUID } from './helpers/fixtures.js';

const nextAccount = accountFactory('1010');
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

const lambda = (account, name) => `arn:aws:lambda:us-east-1:${account}:function:${name}`;
const kinesis = (account, name) => `arn:aws:kinesis:us-east-1:${account}:stream/${name}`;

function processor(account, name, order) {
  return {
    Name: name,
    Configuration: { Lambda: { ResourceArn: lambda(account, name), InvocationType: 'ASYNC' } },
    ExecutionOrder: order,
    FallbackAction: 'CONTINUE',
  };
}

describe('channel flows and streaming configurations with aws-sdk-js-v3', () => {
  it('runs a stack from creation through updates to deletion in reverse', async () => {
    const account = nextAccount();
    const identity = server.client(account);
    const chat = server.messaging(account);

    // The AppInstance, and its user that creates the channel.
    const instance = await createAppInstance(identity);
    const ana = await createUser(identity, instance, 'ana');

    // Streaming configurations.
    await rejects(chat.send(new GetMessagingStreamingConfigurationsCommand({ AppInstanceArn: instance })), 'NotFoundException', 404);
    const streams = [
      { DataType: 'Channel', ResourceArn: kinesis('444455556666', 'channels') },
      { DataType: 'ChannelMessage', ResourceArn: kinesis('444455556666', 'messages') },
    ];
    const put = await chat.send(
      new PutMessagingStreamingConfigurationsCommand({ AppInstanceArn: instance, StreamingConfigurations: streams }),
    );
    assert.equal(put.$metadata.httpStatusCode, 200);
    assert.deepEqual(put.StreamingConfigurations, streams);

    // The flow, with a token as the CDK sends one.
    const created = await chat.send(
      new CreateChannelFlowCommand({
        AppInstanceArn: instance,
        Name: 'moderation',
        Processors: [processor(account, 'screen', 1)],
        Tags: [{ Key: 'stack', Value: 'chat' }],
        ClientRequestToken: 'stack-token-1',
      }),
    );
    const flow = created.ChannelFlowArn;
    const prefix = `${instance}/channel-flow/`;
    assert.ok(flow.startsWith(prefix), flow);
    assert.match(flow.slice(prefix.length), UUID);
    const replay = await chat.send(
      new CreateChannelFlowCommand({
        AppInstanceArn: instance,
        Name: 'moderation',
        Processors: [processor(account, 'screen', 1)],
        Tags: [{ Key: 'stack', Value: 'chat' }],
        ClientRequestToken: 'stack-token-1',
      }),
    );
    assert.equal(replay.ChannelFlowArn, flow, 'a retried create answers the same flow');
    const { ChannelFlow } = await chat.send(new DescribeChannelFlowCommand({ ChannelFlowArn: flow }));
    assert.equal(ChannelFlow.Name, 'moderation');
    assert.deepEqual(ChannelFlow.Processors, [processor(account, 'screen', 1)]);
    assert.ok(ChannelFlow.CreatedTimestamp instanceof Date);
    const tags = await chat.send(new ListTagsForResourceCommand({ ResourceARN: flow }));
    assert.deepEqual(tags.Tags, [{ Key: 'stack', Value: 'chat' }]);

    // A Lambda ARN off the model's pattern is refused by the wire.
    await rejects(
      chat.send(
        new CreateChannelFlowCommand({
          AppInstanceArn: instance,
          Name: 'bad',
          Processors: [
            {
              ...processor(account, 'x', 1),
              Configuration: { Lambda: { ResourceArn: 'arn:aws:s3:::bucket-name', InvocationType: 'ASYNC' } },
            },
          ],
          ClientRequestToken: 'stack-token-2',
        }),
      ),
      'BadRequestException',
      400,
    );

    // The channel, and the flow associated with it.
    const { ChannelArn: channel } = await chat.send(
      new CreateChannelCommand({ AppInstanceArn: instance, Name: 'room', ChimeBearer: ana, ClientRequestToken: 'room' }),
    );
    const associated = await chat.send(new AssociateChannelFlowCommand({ ChannelArn: channel, ChannelFlowArn: flow, ChimeBearer: ana }));
    assert.equal(associated.$metadata.httpStatusCode, 200);
    const described = await chat.send(new DescribeChannelCommand({ ChannelArn: channel, ChimeBearer: ana }));
    assert.equal(described.Channel.ChannelFlowArn, flow);
    const channels = await chat.send(new ListChannelsAssociatedWithChannelFlowCommand({ ChannelFlowArn: flow }));
    assert.deepEqual(channels.Channels, [{ Name: 'room', ChannelArn: channel, Mode: 'UNRESTRICTED', Privacy: 'PUBLIC' }]);

    // Messages go through unchanged: no processor is invoked.
    await chat.send(
      new SendChannelMessageCommand({
        ChannelArn: channel,
        Content: 'hello',
        Type: 'STANDARD',
        Persistence: 'PERSISTENT',
        ChimeBearer: ana,
        ClientRequestToken: 'm1',
      }),
    );
    const messages = await chat.send(new ListChannelMessagesCommand({ ChannelArn: channel, ChimeBearer: ana }));
    assert.deepEqual(messages.ChannelMessages.map((m) => m.Content), ['hello']);

    // Updates: the flow, then the streaming configurations again.
    const updated = await chat.send(
      new UpdateChannelFlowCommand({
        ChannelFlowArn: flow,
        Name: 'moderation-v2',
        Processors: [processor(account, 'screen', 1), processor(account, 'translate', 2)],
      }),
    );
    assert.equal(updated.ChannelFlowArn, flow);
    const after = (await chat.send(new DescribeChannelFlowCommand({ ChannelFlowArn: flow }))).ChannelFlow;
    assert.equal(after.Name, 'moderation-v2');
    assert.equal(after.Processors.length, 2);
    assert.ok(after.LastUpdatedTimestamp > ChannelFlow.LastUpdatedTimestamp);
    const listed = await chat.send(new ListChannelFlowsCommand({ AppInstanceArn: instance }));
    assert.deepEqual(listed.ChannelFlows.map((f) => [f.ChannelFlowArn, f.Name]), [[flow, 'moderation-v2']]);
    const again = [{ DataType: 'ChannelMessage', ResourceArn: kinesis('444455556666', 'messages-v2') }];
    await chat.send(new PutMessagingStreamingConfigurationsCommand({ AppInstanceArn: instance, StreamingConfigurations: again }));
    const got = await chat.send(new GetMessagingStreamingConfigurationsCommand({ AppInstanceArn: instance }));
    assert.deepEqual(got.StreamingConfigurations, again, 'a Put replaces the set');

    // Deletion in reverse; an associated flow cannot go first.
    await rejects(chat.send(new DeleteChannelFlowCommand({ ChannelFlowArn: flow })), 'ConflictException', 409);
    await chat.send(new DisassociateChannelFlowCommand({ ChannelArn: channel, ChannelFlowArn: flow, ChimeBearer: ana }));
    const plain = await chat.send(new DescribeChannelCommand({ ChannelArn: channel, ChimeBearer: ana }));
    assert.equal(plain.Channel.ChannelFlowArn, undefined);
    const deleted = await chat.send(new DeleteChannelFlowCommand({ ChannelFlowArn: flow }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    await rejects(chat.send(new DescribeChannelFlowCommand({ ChannelFlowArn: flow })), 'NotFoundException', 404);
    const streamsGone = await chat.send(new DeleteMessagingStreamingConfigurationsCommand({ AppInstanceArn: instance }));
    assert.equal(streamsGone.$metadata.httpStatusCode, 204);
    await rejects(chat.send(new GetMessagingStreamingConfigurationsCommand({ AppInstanceArn: instance })), 'NotFoundException', 404);
    await chat.send(new DeleteChannelCommand({ ChannelArn: channel, ChimeBearer: ana }));
    await identity.send(new DeleteAppInstanceCommand({ AppInstanceArn: instance }));
    await rejects(identity.send(new DescribeAppInstanceCommand({ AppInstanceArn: instance })), 'NotFoundException', 404);
  });

  it('counts flows and streaming configurations in a reset', async () => {
    const account = nextAccount();
    const identity = server.client(account);
    const chat = server.messaging(account);
    const instance = await createAppInstance(identity);
    for (const name of ['a', 'b']) {
      await chat.send(
        new CreateChannelFlowCommand({
          AppInstanceArn: instance,
          Name: name,
          Processors: [processor(account, name, 1)],
          ClientRequestToken: `t-${name}`,
        }),
      );
    }
    await chat.send(
      new PutMessagingStreamingConfigurationsCommand({
        AppInstanceArn: instance,
        StreamingConfigurations: [{ DataType: 'Channel', ResourceArn: kinesis(account, 's') }],
      }),
    );
    const r = await server.control('POST', '/_carillon/reset', { AppInstanceArn: instance });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const counts = JSON.stringify(r.body);
    assert.match(counts, /"ChannelFlows":2/);
    assert.match(counts, /"StreamingConfigurations":1/);
    await rejects(chat.send(new ListChannelFlowsCommand({ AppInstanceArn: instance })), 'NotFoundException', 404);
  });
});
