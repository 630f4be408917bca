// Small builders shared by the test files.

import assert from 'node:assert/strict';
import {
  CreateAppInstanceCommand,
  CreateAppInstanceUserCommand,
  RegisterAppInstanceUserEndpointCommand,
} from '@aws-sdk/client-chime-sdk-identity';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const ENDPOINT_ID = /^[a-z0-9]{1,64}$/;

/** The Amazon Pinpoint application ARN form Carillon requires for ResourceArn. */
export function pinpointArn(region, account, appId = '0123456789abcdef0123456789abcdef') {
  return `arn:aws:mobiletargeting:${region}:${account}:apps/${appId}`;
}

/** An AppInstance ARN of the right form that was never created. */
export function missingAppInstanceArn(region, account) {
  return `arn:aws:chime:${region}:${account}:app-instance/00000000-0000-4000-8000-000000000000`;
}

export async function createAppInstance(client, input = {}) {
  const out = await client.send(new CreateAppInstanceCommand({ Name: 'app', ...input }));
  assert.equal(out.$metadata.httpStatusCode, 201);
  return out.AppInstanceArn;
}

export async function createUser(client, appInstanceArn, id, input = {}) {
  const out = await client.send(
    new CreateAppInstanceUserCommand({ AppInstanceArn: appInstanceArn, AppInstanceUserId: id, Name: id, ...input }),
  );
  assert.equal(out.$metadata.httpStatusCode, 201);
  return out.AppInstanceUserArn;
}

/** Registers an APNS endpoint (unless `input` says otherwise) and resolves to the full output. */
export async function registerEndpoint(client, { region, account, userArn, ...input }) {
  return client.send(
    new RegisterAppInstanceUserEndpointCommand({
      AppInstanceUserArn: userArn,
      Type: 'APNS',
      ResourceArn: pinpointArn(region, account),
      EndpointAttributes: { DeviceToken: `device-${Math.random().toString(36).slice(2)}` },
      ...input,
    }),
  );
}

/** Calls `send(nextToken)` until the last page; resolves to the list of pages. */
export async function allPages(send) {
  const pages = [];
  let token;
  for (let i = 0; i < 1000; i += 1) {
    const page = await send(token);
    pages.push(page);
    token = page.NextToken;
    if (token === undefined) return pages;
    assert.equal(typeof token, 'string');
    assert.ok(token.length > 0, 'NextToken, when present, is not empty');
  }
  throw new Error('pagination did not end');
}
