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
      `${count((a) => (a.Users ?? []).reduce((n, u) => n + (u.Endpoints ?? []).length, 0))} endpoint(s); exported ${when(state.ExportedAt)}`
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
    await (view === 'resources' ? loadResources() : loadJournal());
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
  $('resources').hidden = next !== 'resources';
  $('journal').hidden = next !== 'journal';
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
    if (!window.confirm('Reset deletes every AppInstance, user, bot, admin and endpoint of every account, and sets the clock and the fault rules back. Go on?')) return;
    try {
      const out = await call('POST', '/_carillon/reset');
      const d = out.Deleted ?? {};
      say(`Reset: deleted ${d.AppInstances ?? 0} AppInstance(s), ${d.AppInstanceUsers ?? 0} user(s), ${d.AppInstanceBots ?? 0} bot(s), ${d.AppInstanceUserEndpoints ?? 0} endpoint(s).`);
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
