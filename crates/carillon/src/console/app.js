// Carillon's web console: reads and changes the server through its control plane
// (docs/behaviour.md, "Control plane"). Every value from the server is written with textContent:
// the names, metadata and tokens it shows are whatever clients sent.
'use strict';

const KEY = 'carillon-console-credential';
const REGION = 'us-east-1';
const SERVICE = 'chime';
const enc = new TextEncoder();
const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

// ---------------------------------------------------------------- SigV4, with WebCrypto

const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
const sha256 = async (bytes) => hex(await crypto.subtle.digest('SHA-256', bytes));
async function hmac(key, text) {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return crypto.subtle.sign('HMAC', k, enc.encode(text));
}

// RFC 3986: every byte but the unreserved characters percent-encoded, in upper case.
function uriEncode(text) {
  let out = '';
  for (const b of enc.encode(text)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// A canonical query (parameters encoded and sorted), which is also the query sent.
function canonicalQuery(params) {
  return params
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

// The headers that sign a request: the host is the page's, which a browser sends and a script cannot set.
async function sign(credential, method, path, query, body) {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const payload = await sha256(body);
  const signedHeaders = 'host;x-amz-content-sha256;x-amz-date';
  const canonical = [
    method,
    path.split('/').map(uriEncode).join('/'),
    query,
    `host:${location.host}`,
    `x-amz-content-sha256:${payload}`,
    `x-amz-date:${amzDate}`,
    '',
    signedHeaders,
    payload,
  ].join('\n');
  const scope = `${day}/${REGION}/${SERVICE}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, await sha256(enc.encode(canonical))].join('\n');
  let key = enc.encode(`AWS4${credential.secret}`);
  for (const part of [day, REGION, SERVICE, 'aws4_request']) key = await hmac(key, part);
  const signature = hex(await hmac(key, toSign));
  return {
    'x-amz-date': amzDate,
    'x-amz-content-sha256': payload,
    authorization: `AWS4-HMAC-SHA256 Credential=${credential.key}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

// ---------------------------------------------------------------- calls to the control plane

class Refused extends Error {
  constructor(status, type, message) {
    super(`${status} ${type}: ${message}`);
    this.status = status;
    this.type = type;
  }
}

function credential() {
  try {
    const c = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
    return c && typeof c.key === 'string' && typeof c.secret === 'string' ? c : null;
  } catch {
    return null;
  }
}

// One control-plane call: signed when a credential is kept; a JSON answer, or Refused.
async function call(method, path, params = [], json = undefined) {
  const body = json === undefined ? new Uint8Array() : enc.encode(JSON.stringify(json));
  const query = canonicalQuery(params);
  const headers = json === undefined ? {} : { 'content-type': 'application/json' };
  const c = credential();
  if (c) Object.assign(headers, await sign(c, method, path, query, body));
  const res = await fetch(path + (query ? `?${query}` : ''), { method, headers, body: json === undefined ? undefined : body });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const type = res.headers.get('x-amzn-ErrorType') ?? 'Error';
    throw new Refused(res.status, type, parsed?.Message ?? parsed?.message ?? text.slice(0, 500));
  }
  return parsed ?? {};
}

// ---------------------------------------------------------------- rendering helpers

// An element with attributes and children; strings become text nodes, never markup.
function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const when = (t) => (typeof t === 'number' ? new Date(t * 1000).toISOString().replace('.000Z', 'Z') : '');
const tags = (list) => (list ?? []).map((t) => `${t.Key}=${t.Value}`).join(', ');
const json = (v) => (v === undefined || v === null ? '' : JSON.stringify(v));

// A table: `columns` are [heading, field]; each row is {testid, attrs, cells: {field: value or Node}}.
function table(testid, columns, rows) {
  const head = h('tr', {}, columns.map(([title]) => h('th', { scope: 'col' }, title)));
  const body = rows.map((r) =>
    h('tr', { 'data-testid': r.testid, ...r.attrs }, columns.map(([, field]) => h('td', { 'data-field': field }, r.cells[field] ?? ''))),
  );
  return h('table', { 'data-testid': testid }, h('thead', {}, head), h('tbody', {}, body));
}

function showError(e) {
  const box = $('error');
  box.textContent = e instanceof Error ? e.message : String(e);
  box.hidden = false;
}

function say(text) {
  $('error').hidden = true;
  $('message').textContent = text;
}

// ---------------------------------------------------------------- resources

function appInstanceView(app) {
  const users = app.Users ?? [];
  const endpoints = users.flatMap((u) => (u.Endpoints ?? []).map((e) => ({ user: u, e })));
  const retention = app.Retention
    ? `${app.Retention.RetentionDays ?? 'off'}${app.Retention.RetentionDays ? ' days' : ''} (set ${when(app.Retention.SetTimestamp)})`
    : 'not set';
  return h(
    'article',
    { 'data-testid': 'app-instance', 'data-arn': app.AppInstanceArn },
    h('h2', { 'data-field': 'Name' }, app.Name),
    h(
      'dl',
      {},
      h('dt', {}, 'ARN'), h('dd', { 'data-field': 'AppInstanceArn' }, app.AppInstanceArn),
      h('dt', {}, 'Metadata'), h('dd', { 'data-field': 'Metadata' }, app.Metadata ?? ''),
      h('dt', {}, 'Created'), h('dd', { 'data-field': 'CreatedTimestamp' }, when(app.CreatedTimestamp)),
      h('dt', {}, 'Retention'), h('dd', { 'data-field': 'Retention' }, retention),
      h('dt', {}, 'Tags'), h('dd', { 'data-field': 'Tags' }, tags(app.Tags)),
    ),
    h('h3', {}, `Users (${users.length})`),
    table(
      'users',
      [['ARN', 'AppInstanceUserArn'], ['Name', 'Name'], ['Metadata', 'Metadata'], ['Expiration', 'ExpirationSettings'], ['Tags', 'Tags'], ['Created', 'CreatedTimestamp']],
      users.map((u) => ({
        testid: 'user',
        attrs: { 'data-arn': u.AppInstanceUserArn },
        cells: {
          AppInstanceUserArn: u.AppInstanceUserArn,
          Name: u.Name,
          Metadata: u.Metadata ?? '',
          ExpirationSettings: u.ExpirationSettings ? `${u.ExpirationSettings.ExpirationDays} days after ${u.ExpirationSettings.ExpirationCriterion}` : '',
          Tags: tags(u.Tags),
          CreatedTimestamp: when(u.CreatedTimestamp),
        },
      })),
    ),
    h('h3', {}, `Endpoints (${endpoints.length})`),
    table(
      'endpoints',
      [['User', 'AppInstanceUserArn'], ['EndpointId', 'EndpointId'], ['Name', 'Name'], ['Type', 'Type'], ['ResourceArn', 'ResourceArn'],
        ['Device token', 'DeviceToken'], ['AllowMessages', 'AllowMessages'], ['Status', 'Status'], ['StatusReason', 'StatusReason'], ['', 'Action']],
      endpoints.map(({ user, e }) => ({
        testid: 'endpoint',
        attrs: { 'data-endpoint-id': e.EndpointId, 'data-status': e.EndpointState?.Status },
        cells: {
          AppInstanceUserArn: user.AppInstanceUserArn,
          EndpointId: e.EndpointId,
          Name: e.Name ?? '',
          Type: e.Type,
          ResourceArn: e.ResourceArn,
          DeviceToken: e.EndpointAttributes?.DeviceToken ?? '',
          AllowMessages: e.AllowMessages,
          Status: e.EndpointState?.Status ?? '',
          StatusReason: e.EndpointState?.StatusReason ?? '',
          Action: e.EndpointState?.Status === 'ACTIVE' ? markInactiveButton(user.AppInstanceUserArn, e.EndpointId) : '',
        },
      })),
    ),
    h('h3', {}, `Bots (${(app.Bots ?? []).length})`),
    table(
      'bots',
      [['ARN', 'AppInstanceBotArn'], ['Name', 'Name'], ['Metadata', 'Metadata'], ['Configuration', 'Configuration'], ['Tags', 'Tags']],
      (app.Bots ?? []).map((b) => ({
        testid: 'bot',
        attrs: { 'data-arn': b.AppInstanceBotArn },
        cells: { AppInstanceBotArn: b.AppInstanceBotArn, Name: b.Name ?? '', Metadata: b.Metadata ?? '', Configuration: json(b.Configuration), Tags: tags(b.Tags) },
      })),
    ),
    h('h3', {}, `Admins (${(app.Admins ?? []).length})`),
    table(
      'admins',
      [['ARN', 'Arn'], ['Since', 'CreatedTimestamp']],
      (app.Admins ?? []).map((a) => ({ testid: 'admin', attrs: { 'data-arn': a.Arn }, cells: { Arn: a.Arn, CreatedTimestamp: when(a.CreatedTimestamp) } })),
    ),
    ...messagingView(app),
  );
}

// ---------------------------------------------------------------- messaging, in the resources

// Messages shown per channel, newest first; the state holds them all.
const NEWEST_MESSAGES = 20;

// An actor as the state names it ({Arn, Name}): its name then, else its ARN.
const actor = (a) => (a ? (a.Name ?? a.Arn) : '');
// A person or bot by name, with its ARN beside it in a muted line.
const named = (a) => (a ? h('span', {}, a.Name ?? '', a.Name ? h('br') : null, h('span', { class: 'id' }, a.Arn)) : '');

function messagingView(app) {
  const channels = app.Channels ?? [];
  const flows = app.ChannelFlows ?? [];
  const streams = app.StreamingConfigurations ?? [];
  const out = [
    h('h3', {}, `Channels (${channels.length})`),
    h('div', { 'data-testid': 'channels' }, channels.length ? channels.map(channelView) : h('p', { class: 'summary' }, 'No channels.')),
  ];
  if (flows.length) {
    const used = (flow) => channels.filter((c) => c.ChannelFlowArn === flow).length;
    out.push(
      h('h3', {}, `Channel flows (${flows.length})`),
      table(
        'channel-flows',
        [['ARN', 'ChannelFlowArn'], ['Name', 'Name'], ['Processors', 'Processors'], ['Channels', 'Channels'], ['Tags', 'Tags'], ['Created', 'CreatedTimestamp']],
        flows.map((f) => ({
          testid: 'channel-flow',
          attrs: { 'data-arn': f.ChannelFlowArn },
          cells: {
            ChannelFlowArn: f.ChannelFlowArn,
            Name: f.Name,
            Processors: (f.Processors ?? [])
              .map((p) => `${p.ExecutionOrder}. ${p.Name} → ${p.Configuration?.Lambda?.ResourceArn ?? ''} (${p.Configuration?.Lambda?.InvocationType ?? ''}, fallback ${p.FallbackAction})`)
              .join('\n'),
            Channels: used(f.ChannelFlowArn),
            Tags: tags(f.Tags),
            CreatedTimestamp: when(f.CreatedTimestamp),
          },
        })),
      ),
    );
  }
  if (streams.length) {
    out.push(
      h('h3', {}, `Streaming configurations (${streams.length})`),
      table(
        'streaming-configurations',
        [['Data type', 'DataType'], ['Stream ARN', 'ResourceArn']],
        streams.map((s) => ({ testid: 'streaming-configuration', attrs: {}, cells: { DataType: s.DataType, ResourceArn: s.ResourceArn } })),
      ),
    );
  }
  return out;
}

// A channel: one line of figures, opened to its details, members, moderators and newest messages.
function channelView(c) {
  const members = c.Memberships ?? [];
  const moderators = c.Moderators ?? [];
  const messages = c.Messages ?? [];
  const newest = messages.slice(-NEWEST_MESSAGES).reverse();
  const hidden = members.filter((m) => m.Type === 'HIDDEN').length;
  const figures = [
    ['Privacy', c.Privacy],
    ['Mode', c.Mode],
    ['Members', `${members.length} member(s)${hidden ? `, ${hidden} hidden` : ''}`],
    ['Moderators', `moderators: ${moderators.map((m) => actor(m.Moderator)).join(', ') || 'none'}`],
    ['MessageCount', `${messages.length} message(s)`],
    ['LastMessageTimestamp', c.LastMessageTimestamp === undefined ? 'no message yet' : `last ${when(c.LastMessageTimestamp)}`],
  ];
  const expiration = c.ExpirationSettings
    ? `${c.ExpirationSettings.ExpirationDays} days after ${c.ExpirationSettings.ExpirationCriterion} (at ${when(c.ExpirationTimestamp)})`
    : '';
  return h(
    'details',
    { 'data-testid': 'channel', 'data-arn': c.ChannelArn, class: 'channel' },
    h(
      'summary',
      {},
      h('strong', { 'data-field': 'Name' }, c.Name),
      h('span', { class: 'line' }, figures.map(([field, v]) => h('span', { 'data-field': field, title: field }, v))),
    ),
    h(
      'dl',
      {},
      // only what the channel has
      [
        ['ARN', 'ChannelArn', c.ChannelArn],
        ['Metadata', 'Metadata', c.Metadata ?? ''],
        ['Created', 'CreatedTimestamp', `${when(c.CreatedTimestamp)} by ${actor(c.CreatedBy)}`],
        ['Expiration', 'Expiration', expiration],
        ['Channel flow', 'ChannelFlowArn', c.ChannelFlowArn ?? ''],
        ['Tags', 'Tags', tags(c.Tags)],
      ]
        .filter(([, , v]) => v !== '')
        .flatMap(([title, field, v]) => [h('dt', {}, title), h('dd', { 'data-field': field }, v)]),
    ),
    h('h4', {}, `Members (${members.length})`),
    table(
      'members',
      [['Member', 'Member'], ['Type', 'Type'], ['Notifications', 'Notifications'], ['Invited by', 'InvitedBy'], ['Since', 'CreatedTimestamp'], ['Read up to', 'ReadMarkerTimestamp']],
      members.map((m) => {
        const push = m.Preferences?.PushNotifications;
        return {
          testid: 'member',
          attrs: { 'data-arn': m.Member.Arn, 'data-type': m.Type },
          cells: {
            Member: named(m.Member),
            Type: m.Type,
            Notifications: push ? `${push.AllowNotifications}${push.FilterRule ? ` ${push.FilterRule}` : ''}` : '',
            InvitedBy: actor(m.InvitedBy),
            CreatedTimestamp: when(m.CreatedTimestamp),
            ReadMarkerTimestamp: when(m.ReadMarkerTimestamp),
          },
        };
      }),
    ),
    h('h4', {}, `Moderators (${moderators.length})`),
    table(
      'moderators',
      [['Moderator', 'Moderator'], ['Made by', 'CreatedBy'], ['Since', 'CreatedTimestamp']],
      moderators.map((m) => ({
        testid: 'moderator',
        attrs: { 'data-arn': m.Moderator.Arn },
        cells: { Moderator: named(m.Moderator), CreatedBy: actor(m.CreatedBy), CreatedTimestamp: when(m.CreatedTimestamp) },
      })),
    ),
    h('h4', {}, messages.length > newest.length ? `Messages (newest ${newest.length} of ${messages.length})` : `Messages (${messages.length})`),
    table(
      'messages',
      [['Time', 'CreatedTimestamp'], ['Sender', 'Sender'], ['Type', 'Type'], ['Persistence', 'Persistence'], ['Content', 'Content'], ['Metadata', 'Metadata'], ['Edited', 'LastEditedTimestamp']],
      newest.map((m) => ({
        testid: 'message',
        attrs: { 'data-message-id': m.MessageId, 'data-redacted': String(m.Redacted === true) },
        cells: {
          CreatedTimestamp: when(m.CreatedTimestamp),
          Sender: actor(m.Sender),
          Type: m.Type,
          // the state keeps only PERSISTENT messages: a NON_PERSISTENT one is never stored
          Persistence: 'PERSISTENT',
          Content: m.Redacted ? h('em', { class: 'redacted' }, 'redacted') : m.Content ?? '',
          Metadata: m.Metadata ?? '',
          LastEditedTimestamp: when(m.LastEditedTimestamp),
        },
      })),
    ),
  );
}

function markInactiveButton(userArn, endpointId) {
  const b = h('button', { type: 'button', 'data-testid': 'mark-inactive' }, 'Mark INACTIVE');
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await call('PUT', '/_carillon/endpoint-state', [], {
        AppInstanceUserArn: userArn,
        EndpointId: endpointId,
        Status: 'INACTIVE',
        StatusReason: 'INVALID_DEVICE_TOKEN',
      });
      say(`Endpoint ${endpointId} marked INACTIVE (INVALID_DEVICE_TOKEN).`);
      await loadResources();
    } catch (e) {
      b.disabled = false;
      handle(e);
    }
  });
  return b;
}

async function loadResources() {
  const state = await call('GET', '/_carillon/state');
  const apps = Array.isArray(state.AppInstances) ? state.AppInstances : [];
  const count = (f) => apps.reduce((n, a) => n + f(a), 0);
  $('resources-summary').textContent = apps.length
    ? `${apps.length} AppInstance(s), ${count((a) => (a.Users ?? []).length)} user(s), ${count((a) => (a.Bots ?? []).length)} bot(s), ` +
      `${count((a) => (a.Users ?? []).reduce((n, u) => n + (u.Endpoints ?? []).length, 0))} endpoint(s), ` +
      `${count((a) => (a.Channels ?? []).length)} channel(s), ${count((a) => (a.Channels ?? []).reduce((n, c) => n + (c.Messages ?? []).length, 0))} message(s); ` +
      `exported ${when(state.ExportedAt)}`
    : '';
  $('app-instances').replaceChildren(...(apps.length ? apps.map(appInstanceView) : [h('p', { 'data-testid': 'no-app-instances' }, 'No AppInstances.')]));
}

// ---------------------------------------------------------------- journal

function journalEntry(r) {
  const cells = [
    ['Time', when(r.Time)],
    ['Method', r.Method],
    ['Path', r.Path + (r.Query ? `?${r.Query}` : '')],
    ['Operation', r.Operation ?? '–'],
    ['Status', r.Status],
    ['Account', r.AccountId ?? '–'],
    ['Region', r.Region ?? '–'],
    ['Latency', `${r.LatencyMicros} µs`],
  ];
  const entry = h(
    'article',
    { 'data-testid': 'journal-entry', 'data-request-id': r.RequestId, class: r.Status >= 400 ? 'failed' : 'ok' },
    h('div', { class: 'line' }, cells.map(([field, v]) => h('span', { 'data-field': field, title: field }, v))),
    h('div', { class: 'id' }, 'RequestId ', h('code', { 'data-field': 'RequestId' }, r.RequestId)),
  );
  if (r.ErrorType) {
    entry.append(h('p', { class: 'error-line' }, h('strong', { 'data-field': 'ErrorType' }, r.ErrorType), ': ', h('span', { 'data-field': 'ErrorMessage' }, r.ErrorMessage ?? '')));
  }
  const s = r.Signature;
  if (s && typeof s === 'object') {
    entry.append(
      h(
        'details',
        { open: '', 'data-testid': 'signature' },
        h('summary', {}, 'What the server computed for this signature'),
        h('p', {}, 'SignedHeaders ', h('code', { 'data-field': 'SignedHeaders' }, s.SignedHeaders), ' · scope ', h('code', { 'data-field': 'CredentialScope' }, s.CredentialScope)),
        h('h4', {}, 'Canonical request'),
        h('pre', { 'data-testid': 'canonical-request' }, s.CanonicalRequest),
        h('h4', {}, 'String to sign'),
        h('pre', { 'data-testid': 'string-to-sign' }, s.StringToSign),
      ),
    );
  }
  return entry;
}

async function loadJournal() {
  const form = $('journal-filters');
  const params = ['operation', 'status', 'account', 'limit']
    .map((k) => [k, form.elements[k].value.trim()])
    .filter(([, v]) => v !== '');
  const journal = await call('GET', '/_carillon/requests', params);
  const list = Array.isArray(journal.Requests) ? journal.Requests : [];
  $('journal-summary').textContent = `${list.length} request(s), newest first.`;
  $('journal-entries').replaceChildren(...(list.length ? list.map(journalEntry) : [h('p', { 'data-testid': 'no-requests' }, 'No requests.')]));
}

// ---------------------------------------------------------------- push notifications

// Outbox entries shown, newest first; the server keeps up to its --push-outbox-limit.
const NEWEST_PUSHES = 500;

// A SHA-256 shortened for the eye; the whole hash is its title. A raw device token never reaches the page.
const hash = (sha) => (sha ? h('code', { title: sha }, `${sha.slice(0, 12)}…`) : '');

// The names the state gives channels and users, by ARN: entries outlive what they name.
function names(state) {
  const byArn = new Map();
  for (const a of state.AppInstances ?? []) {
    for (const u of a.Users ?? []) byArn.set(u.AppInstanceUserArn, u.Name);
    for (const c of a.Channels ?? []) byArn.set(c.ChannelArn, c.Name);
  }
  return byArn;
}

// A channel or user by its name when it still exists, else by the last part of its ARN.
function arnCell(byArn, arn) {
  const name = byArn.get(arn);
  return h('span', { title: arn, 'data-arn': arn }, name ?? arn.slice(arn.lastIndexOf('/') + 1), name ? null : h('span', { class: 'id' }, ' (gone)'));
}

async function loadPush() {
  const [outbox, failures, state] = await Promise.all([call('GET', '/_carillon/push-outbox'), call('GET', '/_carillon/push-failures'), call('GET', '/_carillon/state')]);
  const entries = (Array.isArray(outbox.Entries) ? outbox.Entries : []).slice().reverse();
  const markers = Array.isArray(failures.Markers) ? failures.Markers : [];
  const byArn = names(state);
  const shown = entries.slice(0, NEWEST_PUSHES);
  const by = (outcome) => entries.filter((e) => e.Outcome === outcome).length;
  $('push-summary').textContent =
    `${entries.length} outbox entr${entries.length === 1 ? 'y' : 'ies'} (${by('DELIVERED')} delivered, ${by('SKIPPED')} skipped, ${by('FAILED')} failed)` +
    `${shown.length < entries.length ? `, the newest ${shown.length} shown` : ''}, newest first; ${markers.length} failure marker(s).`;
  $('push-failures').replaceChildren(
    markers.length
      ? table(
          'push-failure-markers',
          [['Target', 'Target'], ['On', 'Kind'], ['StatusReason', 'StatusReason']],
          markers.map((m) => ({
            testid: 'push-failure',
            attrs: {},
            cells: {
              Target: m.DeviceTokenSha256 ? hash(m.DeviceTokenSha256) : m.ResourceArn,
              Kind: m.DeviceTokenSha256 ? 'device token (SHA-256)' : 'Pinpoint application',
              StatusReason: m.StatusReason,
            },
          })),
        )
      : h('p', { class: 'summary', 'data-testid': 'no-push-failures' }, 'No failure markers: every push to an ACTIVE endpoint is delivered.'),
  );
  $('push-entries').replaceChildren(
    shown.length
      ? table(
          'push-outbox',
          [['Id', 'Id'], ['Time', 'Time'], ['Channel', 'ChannelArn'], ['Sender', 'SenderArn'], ['Recipient', 'RecipientArn'], ['Endpoint', 'EndpointId'],
            ['Type', 'EndpointType'], ['Device token', 'DeviceTokenSha256'], ['Push', 'PushType'], ['Outcome', 'Outcome'], ['Reason', 'Reason'], ['Title', 'Title'], ['Body', 'Body']],
          shown.map((e) => ({
            testid: 'push-entry',
            attrs: { 'data-id': e.Id, 'data-outcome': e.Outcome, 'data-message-id': e.MessageId },
            cells: {
              Id: e.Id,
              Time: when(e.Time),
              ChannelArn: arnCell(byArn, e.ChannelArn),
              SenderArn: arnCell(byArn, e.SenderArn),
              RecipientArn: arnCell(byArn, e.RecipientArn),
              EndpointId: e.EndpointId ?? '–',
              EndpointType: e.EndpointType ?? '',
              DeviceTokenSha256: hash(e.DeviceTokenSha256),
              PushType: e.PushType,
              Outcome: e.Outcome,
              Reason: e.Reason ?? '',
              Title: e.Title ?? '',
              Body: e.Body ?? '',
            },
          })),
        )
      : h('p', { 'data-testid': 'no-push-entries' }, 'No push notifications: a PERSISTENT message sent with PushNotification makes them.'),
  );
}

// ---------------------------------------------------------------- the page

let view = 'resources';

// A refused signature (or none where one is needed) asks for an operator's credential.
function handle(e) {
  if (e instanceof Refused && e.status === 403) {
    const first = e.type === 'MissingAuthenticationTokenException' && !credential();
    showLogin(first ? 'This server checks signatures: sign in with an operator credential.' : e.message);
    return;
  }
  showError(e);
}

function showLogin(message) {
  $('login').hidden = false;
  const box = $('login-error');
  box.textContent = message;
  box.hidden = !message;
}

function showSignedIn() {
  const c = credential();
  $('signed-in-as').textContent = c ? `Signed in as ${c.key}` : '';
  $('signed-in-as').hidden = !c;
  $('sign-out').hidden = !c;
}

// Loads the view shown; `data-loads` on the body counts the loads finished, for whoever waits on them.
async function refresh() {
  try {
    await { resources: loadResources, journal: loadJournal, push: loadPush }[view]();
    $('login').hidden = true;
    $('error').hidden = true;
    showSignedIn();
  } catch (e) {
    handle(e);
  } finally {
    document.body.dataset.loads = String(Number(document.body.dataset.loads ?? 0) + 1);
  }
}

function show(next) {
  view = next;
  for (const b of document.querySelectorAll('.tab')) b.setAttribute('aria-pressed', String(b.dataset.view === next));
  for (const v of ['resources', 'journal', 'push']) $(v).hidden = next !== v;
  return refresh();
}

document.addEventListener('DOMContentLoaded', () => {
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => show(b.dataset.view));
  $('refresh').addEventListener('click', refresh);
  $('journal-filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    refresh();
  });
  $('reset').addEventListener('click', async () => {
    if (!window.confirm('Reset deletes every AppInstance, user, bot, admin, endpoint, channel and message of every account, the push outbox and the failure markers, and sets the clock and the fault rules back. Go on?')) return;
    try {
      const out = await call('POST', '/_carillon/reset');
      const d = out.Deleted ?? {};
      say(
        `Reset: deleted ${d.AppInstances ?? 0} AppInstance(s), ${d.AppInstanceUsers ?? 0} user(s), ${d.AppInstanceBots ?? 0} bot(s), ${d.AppInstanceUserEndpoints ?? 0} endpoint(s), ` +
          `${d.Channels ?? 0} channel(s), ${d.ChannelMessages ?? 0} message(s), ${d.PushOutboxEntries ?? 0} push outbox entr${d.PushOutboxEntries === 1 ? 'y' : 'ies'}, ${d.PushFailureMarkers ?? 0} failure marker(s).`,
      );
      await refresh();
    } catch (e) {
      handle(e);
    }
  });
  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const form = $('login');
    sessionStorage.setItem(KEY, JSON.stringify({ key: form.elements.key.value.trim(), secret: form.elements.secret.value }));
    form.elements.secret.value = '';
    refresh();
  });
  $('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    showSignedIn();
    refresh();
  });
  if (!window.isSecureContext || !crypto.subtle) {
    say('This page is not a secure context (https, localhost or 127.0.0.1): it cannot sign requests.');
  }
  refresh();
});
