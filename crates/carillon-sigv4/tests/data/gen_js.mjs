// Generates js_vectors.json: requests signed by aws-sdk-js-v3, captured from a real
// ChimeSDKIdentityClient by a request handler that answers without any network, plus URLs
// presigned by @smithy/signature-v4 (the signer the client uses).
//
//   cd <dir with @aws-sdk/client-chime-sdk-identity, @smithy/signature-v4, @aws-crypto/sha256-js installed>
//   node crates/carillon-sigv4/tests/data/gen_js.mjs > crates/carillon-sigv4/tests/data/js_vectors.json
//
// Each vector: method, raw path, raw query (built with the SDK's own buildQueryString, as its
// HTTP handlers send it), headers, body (base64), `now` (the X-Amz-Date as Unix seconds),
// credential and region.
import { createRequire } from "node:module";
import { Readable } from "node:stream";
const require = createRequire(process.cwd() + "/");
const sdk = require("@aws-sdk/client-chime-sdk-identity");
const { SignatureV4 } = require("@smithy/signature-v4");
const { Sha256 } = require("@aws-crypto/sha256-js");
const { buildQueryString } = require("@smithy/core/protocols");
const { HttpRequest } = require("@smithy/core/transport");

const KEYS = [
  ["AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"],
  ["carillon_dev", "s3cr3t:with:colons+and/slashes="],
];
const REGIONS = ["us-east-1", "eu-west-2", "ap-southeast-1", "xx-mars-7"];
const POOL = [..."abZ07-_.~ :/@!$&'()*+,;=?#[]%\"<>^`{|}\\", "é", "ß", "中", "🎉", "ሴ", "Ω"];
let seed = 20261128;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const text = (n) => Array.from({ length: 1 + Math.floor(rand() * n) }, () => pick(POOL)).join("");
const epoch = (d) => Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15)) / 1000;

function vector(kind, req, akid, region, now) {
  const headers = Object.entries(req.headers).map(([k, v]) => [k, String(v)]);
  const query = Object.keys(req.query || {}).length ? buildQueryString(req.query) : null;
  const body = req.body === undefined || req.body === null ? Buffer.alloc(0) : Buffer.from(req.body);
  return { kind, method: req.method, path: req.path, query, headers, body_b64: body.toString("base64"), access_key_id: akid, region, now };
}

const vectors = [];
for (let i = 0; i < 120; i++) {
  const [akid, secret] = pick(KEYS);
  const region = pick(REGIONS);
  let captured;
  const client = new sdk.ChimeSDKIdentityClient({
    region,
    endpoint: pick(["http://localhost:8080", `https://identity-chime.${region}.amazonaws.com`]),
    credentials: { accessKeyId: akid, secretAccessKey: secret, sessionToken: rand() < 0.2 ? `FwoGZXIvYXdzEXAMPLE//token+=${i}` : undefined },
    maxAttempts: 1,
    requestHandler: {
      handle: async (request) => {
        captured = request;
        return { response: { statusCode: 200, headers: { "x-amzn-requestid": "x", "content-type": "application/json" }, body: Readable.from([Buffer.from("{}")]) } };
      },
    },
  });
  const instance = `arn:aws:chime:${region}:123456789012:app-instance/${Math.floor(rand() * 2 ** 32).toString(16)}`;
  const user = `${instance}/user/${text(12)}`;
  const calls = [
    ["CreateAppInstance", { Name: text(20), Metadata: text(30), ClientRequestToken: `t-${i}` }],
    ["DescribeAppInstance", { AppInstanceArn: instance }],
    ["DescribeAppInstanceUser", { AppInstanceUserArn: user }],
    ["DescribeAppInstanceUserEndpoint", { AppInstanceUserArn: user, EndpointId: text(8) }],
    ["DeleteAppInstanceAdmin", { AppInstanceArn: instance, AppInstanceAdminArn: user }],
    ["ListAppInstanceUsers", { AppInstanceArn: instance, MaxResults: 1 + Math.floor(rand() * 50), NextToken: text(16) }],
    ["ListAppInstances", { MaxResults: 1 + Math.floor(rand() * 50), NextToken: text(16) }],
    ["ListTagsForResource", { ResourceARN: user }],
    ["TagResource", { ResourceARN: instance, Tags: [{ Key: text(5), Value: text(5) }] }],
    ["UpdateAppInstanceUser", { AppInstanceUserArn: user, Name: text(10), Metadata: text(10) }],
    ["PutAppInstanceUserExpirationSettings", { AppInstanceUserArn: user, ExpirationSettings: { ExpirationDays: 3, ExpirationCriterion: "CREATED_TIMESTAMP" } }],
  ];
  const [name, params] = calls[i % calls.length];
  await client.send(new sdk[`${name}Command`](params));
  vectors.push(vector(`client:${name}`, captured, akid, region, epoch(captured.headers["x-amz-date"])));

  if (i % 3 === 0) {
    // presigned: the client's request, minus its signature, with an x-amz-user-agent header
    // (hoisted into the signed query by the signer)
    const signer = new SignatureV4({ credentials: { accessKeyId: akid, secretAccessKey: secret }, region, service: "chime", sha256: Sha256 });
    const unsigned = new HttpRequest({
      method: captured.method, protocol: captured.protocol, hostname: captured.hostname, port: captured.port,
      path: captured.path, query: { ...captured.query },
      headers: { host: captured.headers.host, "x-amz-user-agent": "aws-sdk-js/3 md/presign" },
      body: captured.body,
    });
    const expiresIn = pick([60, 900, 3600, 604800]);
    const presigned = await signer.presign(unsigned, { expiresIn });
    vectors.push(vector(`presigned:${name}`, presigned, akid, region, epoch(presigned.query["X-Amz-Date"])));
  }
}
process.stdout.write(JSON.stringify({ sdk_version: require("@aws-sdk/client-chime-sdk-identity/package.json").version, vectors }, null, 1) + "\n");
