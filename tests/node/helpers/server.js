// Starts, stops and restarts a real `carillon serve` process on a temporary SQLite file, and builds
// unmodified aws-sdk-js-v3 Chime SDK Identity clients pointed at it.
//
// The binary is $CARILLON_BIN (resolved against the current directory) or, by default,
// ../../target/debug/carillon relative to tests/node.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { ChimeSDKIdentityClient } from '@aws-sdk/client-chime-sdk-identity';
import { ChimeSDKMessagingClient } from '@aws-sdk/client-chime-sdk-messaging';

const NODE_TESTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const CARILLON_BIN = process.env.CARILLON_BIN
  ? path.resolve(process.env.CARILLON_BIN)
  : path.resolve(NODE_TESTS_DIR, '../../target/debug/carillon');

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

// Every process this module started, so that none outlives the test process even when a test
// file dies half-way.
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

const pgDatabases = [];
let pgCount = 0;

/** With CARILLON_TEST_BACKEND=postgres: a fresh database on CARILLON_TEST_POSTGRES_URL's server, made with psql and dropped when the process exits. */
function freshPostgresDatabase() {
  const admin = process.env.CARILLON_TEST_POSTGRES_URL;
  assert.ok(admin, 'CARILLON_TEST_BACKEND=postgres needs CARILLON_TEST_POSTGRES_URL');
  const name = `carillon_node_${process.pid}_${pgCount++}`;
  const made = spawnSync('psql', [admin, '-qc', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  pgDatabases.push([admin, name]);
  return `${admin.slice(0, admin.lastIndexOf('/'))}/${name}`;
}

process.on('exit', () => {
  for (const [admin, name] of pgDatabases) spawnSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
});

export class CarillonServer {
  /**
   * @param {object} [opts]
   * @param {string} [opts.dbPath] SQLite file to use; by default a fresh file in a new temp dir.
   * @param {string[]} [opts.args] options for `carillon serve` in place of `--auth open`, e.g.
   *   `['--auth', 'sigv4', '--credentials', FILE]`.
   */
  constructor(opts = {}) {
    this.args = opts.args ?? ['--auth', 'open'];
    if (opts.dbPath) {
      this.dir = null;
      this.dbPath = opts.dbPath;
    } else {
      this.dir = mkdtempSync(path.join(tmpdir(), 'carillon-node-'));
      this.dbPath = path.join(this.dir, 'carillon.sqlite');
    }
    this.child = null;
    this.url = null;
    this.stderrTail = '';
  }

  get databaseUrl() {
    if (process.env.CARILLON_TEST_BACKEND === 'postgres') {
      this.pgUrl ??= freshPostgresDatabase();
      return this.pgUrl;
    }
    return `sqlite://${this.dbPath}`;
  }

  /** Spawns the server and resolves once it printed its `listening on http://…` line. */
  async start() {
    assert.equal(this.child, null, 'server already running');
    if (!existsSync(CARILLON_BIN)) {
      throw new Error(
        `carillon binary not found at ${CARILLON_BIN}: run \`cargo build --bin carillon\` or set CARILLON_BIN`,
      );
    }
    const env = { ...process.env };
    for (const k of ['CARILLON_LISTEN', 'CARILLON_DATABASE', 'CARILLON_AUTH', 'CARILLON_CREDENTIALS']) delete env[k];
    const child = spawn(
      CARILLON_BIN,
      ['serve', '--listen', '127.0.0.1:0', '--database', this.databaseUrl, ...this.args],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    live.add(child);
    this.child = child;
    this.stderrTail = '';
    const exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
      });
    });
    this.exited = exited;
    // Keep draining both pipes for the whole life of the process, or a chatty log would block it.
    child.stdout.on('data', () => {});
    this.url = await new Promise((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(() => {
        reject(new Error(`carillon did not print its listening line within ${START_TIMEOUT_MS} ms:\n${this.stderrTail}`));
      }, START_TIMEOUT_MS);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk) => {
        this.stderrTail = (this.stderrTail + chunk).slice(-8192);
        if (buffered === null) return;
        buffered += chunk;
        // Only a complete line counts: the address may arrive split across chunks.
        const m = /listening on (http:\/\/[^\s]+)[^\n]*\n/.exec(buffered);
        if (m) {
          buffered = null;
          clearTimeout(timer);
          resolve(m[1].replace(/[).,;]+$/, ''));
        }
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`carillon exited (code ${code}, signal ${signal}) before listening:\n${this.stderrTail}`));
      });
    });
    return this;
  }

  /**
   * Stops the server with `signal` (SIGTERM: clean shutdown; SIGKILL: a crash) and resolves to
   * `{code, signal}` of the exited process.
   */
  async stop(signal = 'SIGTERM') {
    const child = this.child;
    if (!child) return { code: null, signal: null };
    child.kill(signal);
    let timer;
    const result = await Promise.race([
      this.exited,
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (result === null) {
      child.kill('SIGKILL');
      await this.exited;
      throw new Error(`carillon did not stop within ${STOP_TIMEOUT_MS} ms after ${signal}:\n${this.stderrTail}`);
    }
    this.child = null;
    this.url = null;
    return result;
  }

  /** Stops (by `signal`) and starts again on the same database; resolves to the stop result. */
  async restart(signal = 'SIGTERM') {
    const stopped = await this.stop(signal);
    await this.start();
    return stopped;
  }

  /** Stops the server if it runs and removes the temp dir this object made. */
  async dispose() {
    try {
      await this.stop();
    } finally {
      if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** An SDK client for `account` (a 12-digit access key id, which open mode takes as the account). */
  client(account, region = 'us-east-1') {
    assert.ok(this.url, 'server not running');
    return new ChimeSDKIdentityClient({
      endpoint: this.url,
      region,
      credentials: { accessKeyId: account, secretAccessKey: 'x' },
      maxAttempts: 1,
    });
  }

  /** A Chime SDK Messaging client for `account`, on the same listener. */
  messaging(account, region = 'us-east-1') {
    assert.ok(this.url, 'server not running');
    return new ChimeSDKMessagingClient({
      endpoint: this.url,
      region,
      credentials: { accessKeyId: account, secretAccessKey: 'x' },
      maxAttempts: 1,
    });
  }

  /** A call to the server's own control plane under /_carillon/. */
  async control(method, pathname, body) {
    const res = await fetch(new URL(pathname, this.url), {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async setClockOffset(seconds) {
    const r = await this.control('PUT', '/_carillon/clock', { offset_seconds: seconds });
    assert.equal(r.status, 200, `PUT /_carillon/clock: ${JSON.stringify(r.body)}`);
  }

  async sweepExpired() {
    const r = await this.control('POST', '/_carillon/expiration-sweep');
    assert.equal(r.status, 200, `POST /_carillon/expiration-sweep: ${JSON.stringify(r.body)}`);
    return r.body;
  }
}

/** Starts a server on a fresh temp database. */
export async function startServer(opts) {
  return new CarillonServer(opts).start();
}

/**
 * Hands out distinct 12-digit access key ids (= accounts in open mode). Each test file passes its own
 * 4-digit prefix so that no two files, and no two tests, share an account.
 */
export function accountFactory(prefix) {
  assert.match(prefix, /^\d{4}$/);
  let n = 0;
  return () => {
    n += 1;
    return `${prefix}${String(n).padStart(8, '0')}`;
  };
}

const ERROR_CODES = {
  BadRequestException: [400, 'BadRequest'],
  ResourceLimitExceededException: [400, 'ResourceLimitExceeded'],
  UnauthorizedClientException: [401, 'Unauthorized'],
  ForbiddenException: [403, 'Forbidden'],
  NotFoundException: [404, 'NotFound'],
  ConflictException: [409, 'Conflict'],
  ThrottledClientException: [429, 'Throttled'],
  ServiceFailureException: [500, 'ServiceFailure'],
  ServiceUnavailableException: [503, 'ServiceUnavailable'],
};

/**
 * Awaits `promise`, which must reject with the typed error `name`: checks `err.name`, the HTTP
 * status (`err.$metadata.httpStatusCode`, from the model's error shapes) and the body's `Code`; `message`, when
 * given, is compared exactly (string) or matched (RegExp). Resolves to the error.
 */
export async function expectError(promise, name, message) {
  let err;
  try {
    const out = await promise;
    assert.fail(`expected ${name}, but the call succeeded with ${JSON.stringify(strip(out))}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e;
  }
  const [status, code] = ERROR_CODES[name];
  assert.equal(err.name, name, `error name (message: ${err.message}, status ${err.$metadata?.httpStatusCode})`);
  assert.equal(err.$metadata?.httpStatusCode, status, `HTTP status of ${name}`);
  assert.equal(err.Code, code, `Code member of ${name}`);
  assert.equal(typeof err.message, 'string');
  if (message instanceof RegExp) assert.match(err.message, message);
  else if (message !== undefined) assert.equal(err.message, message);
  return err;
}

/** The output of a command without `$metadata`, for deep comparisons. */
export function strip(out) {
  if (out === null || typeof out !== 'object') return out;
  const { $metadata, ...rest } = out;
  return rest;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
