"""Model conformance, generated from the committed models (crates/carillon-api/model/*.json), never by hand.

Both services are covered by the same generator: Chime SDK Identity (2021-04-20) and Chime SDK Messaging
(2021-05-15). What differs between them is one small table per model (`SERVICES`): which ARN kind a member
holds, natural values by shape, the operations Carillon does not implement, and the expected counts. Case
ids start with the service (`identity-...`, `messaging-...`).

For every operation of each model and every member of its input (top level, nested members of body
structures, list elements, map keys and map values), the cases below are derived from the model:

* missing: a request without a required member -> 400 BadRequestException whose message contains
  `Value null at '<path>' failed to satisfy constraint: Member must not be null`. Members bound to a URI
  label are skipped: a request whose label is empty cannot be routed to the operation at all (docs/behaviour.md, "Wire protocol":
  routing happens before binding; an empty segment matches no label), so "missing" cannot be expressed.
  Header members (`x-amz-chime-bearer`) can be absent, so "missing" applies to them.
* outside: for each length / range / pattern / enum constraint, a value just outside it -> 400
  BadRequestException whose message contains the AWS clause for that member and constraint:
  `Value '<v>' at '<path>' failed to satisfy constraint: Member must ...` (`Value at` for sensitive shapes).
  Inside a map (MessageAttributes) the model's path names no entry, and docs/behaviour.md does not say how
  one is named, so there the check is a clause `at '<map path>...' failed to satisfy constraint: ...` with
  the constraint's words, whatever names the entry.
* inside: a value just inside it (min and max length, min and max value, every enum value, values
  matching the pattern) must not be rejected for that member: the answer is a 2xx or an error whose
  message does not mention the member (`'<path>'`), e.g. a 404 because the ARN does not exist. Where the
  model makes a boundary length impossible to combine with the pattern (ChimeArn's pattern allows at most
  1284 characters but its max is 1600; LexBotAliasArn's and LambdaFunctionArn's min 15 is shorter than any
  matching value), the value has the boundary length but not the pattern, and the check is that the member
  is not rejected for its length. Timestamps have no constraint; a natural value of each is an inside case
  (query-string timestamps are RFC 3339 date-times, as botocore sends them). A 501 NotImplementedException
  is an acceptable answer to an inside case only where docs/behaviour.md ("Messaging", "Not yet") says so.

Length values are multi-byte (`é`) so that lengths are seen to count code points; long values bound in
the request target (labels, query) are ASCII instead, because the server refuses request targets over
8 KiB (a documented front-end limit outside the model) and `é` costs 6 bytes there. Header values and map
entries are ASCII too: a header carries no UTF-8, and MessageAttributes have a documented byte limit of
their own (1,024 bytes of keys and values, docs/behaviour.md "Messaging").

Every request is raw HTTP built from the model: method and requestUri, labels filled with valid
percent-encoded values, querystring members, header members, and a JSON body of the other members filled
with valid values.

Further tests: every Messaging operation is routed (never UnknownOperation); the operations Carillon does
not implement answer a valid request with 501; the committed models compare equal to botocore's.
"""
import dataclasses
import datetime
import gzip
import importlib.util
import json
import re
import uuid
from typing import Any, Callable, Optional

import pytest

from conftest import MODEL_PATH, REPO, new_account, quote
from carillon_util import REQUEST_ID_RE

MODEL_DIR = MODEL_PATH.parent
MISSING = object()
MAP_KEY = object()  # the last key of a map-key site: the value replaces the map's key, not an entry's value
LEX_ALIAS = "arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST"
LAMBDA_ARN = "arn:aws:lambda:us-east-1:{account}:function:carillon-flow"
# A query-string timestamp as botocore sends it (RFC 3339, milliseconds, UTC).
TIMESTAMP = datetime.datetime(2026, 11, 30, 10, 15, 0, 123000, tzinfo=datetime.timezone.utc)


@dataclasses.dataclass(frozen=True)
class Service:
    """One model and what the generator needs to know about it beyond the model itself."""
    name: str  # the prefix of case ids
    botocore: tuple  # (service, API version) in botocore's data
    operations: int  # expected counts, so that a truncated model cannot pass
    shapes: int
    arn_kinds: dict  # member name -> kind of ARN its valid value is (for ARN shapes)
    naturals: dict  # shape name -> valid value ({account} and {idx} filled in)
    wires: tuple  # member paths the generator must reach
    not_implemented: frozenset = frozenset()  # 501 for a valid request (docs/behaviour.md, "Messaging")
    in_progress: frozenset = frozenset()  # being implemented: 501 or an answer, never another 5xx
    not_implemented_members: frozenset = frozenset()  # top-level members answered with 501 after the role checks

    @property
    def model(self):
        return _MODELS[self.name]

    @property
    def ops(self):
        return self.model["operations"]

    def shape(self, name):
        return self.model["shapes"][name]


IDENTITY = Service(
    name="identity",
    botocore=("chime-sdk-identity", "2021-04-20"),
    operations=30,
    shapes=120,
    arn_kinds={
        "AppInstanceArn": "app-instance",
        "ResourceARN": "app-instance",
        "AppInstanceUserArn": "user",
        "AppInstanceAdminArn": "user",
        "AppInstanceBotArn": "bot",
        "ResourceArn": "pinpoint",
    },
    naturals={
        "String64": "abc123",
        "UserId": "user:1@x.y",
        "LexBotAliasArn": LEX_ALIAS,
        "LexIntentName": "Welcome",
        "NonEmptyResourceName": "Name é",
        "ResourceName": "Name é",
        "UserName": "Name é",
        "Metadata": "meta",
        "NextToken": "",
        "SensitiveString1600": "endpoint name",
        "TagKey": "key{idx}",
        "TagValue": "value",
        "String": "en_US",
    },
    wires=("tags.1.member.key", "tagKeys.1.member", "configuration.lex.lexBotAliasArn",
           "endpointAttributes.deviceToken", "expirationSettings.expirationDays", "resourceARN",
           "appInstanceRetentionSettings.channelRetentionSettings.retentionDays",
           "configuration.lex.invokedBy.standardMessages"),
)

MESSAGING = Service(
    name="messaging",
    botocore=("chime-sdk-messaging", "2021-05-15"),
    operations=51,
    shapes=211,
    arn_kinds={
        "AppInstanceArn": "app-instance",
        "AppInstanceUserArn": "user",
        "ChimeBearer": "user",
        "MemberArn": "user",
        "MemberArns": "user",
        "ModeratorArns": "user",
        "ChannelModeratorArn": "user",
        "ChannelArn": "channel",
        "ResourceARN": "channel",
        "ChannelFlowArn": "channel-flow",
        "ResourceArn": "kinesis",  # StreamingConfiguration's (ChimeArn); Lambda's is a LambdaFunctionArn
    },
    naturals={
        "ChannelId": "chan:1@x.y",
        "CallbackIdType": "{hex}",
        "MessageId": "a" * 64,
        "SubChannelId": "sub-1",
        "NonEmptyContent": "hello é",
        "ContentType": "text/plain",
        "FilterRule": '{"k": [{"exact": "v"}]}',
        "LambdaFunctionArn": LAMBDA_ARN,
        "MessageAttributeName": "k{idx}",
        "MessageAttributeStringValue": "v",
        "NonEmptyResourceName": "Name é",
        "Metadata": "meta",
        "NextToken": "",
        "PushNotificationTitle": "title",
        "PushNotificationBody": "body",
        "SearchFieldValue": "value",
        "TagKey": "key{idx}",
        "TagValue": "value",
    },
    wires=("chimeBearer", "memberArns.1.member", "moderatorArns.1.member", "tags.1.member.key",
           "preferences.pushNotifications.allowNotifications", "preferences.pushNotifications.filterRule",
           "messageAttributes.(key)", "messageAttributes.(value).stringValues.1.member",
           "channelMessage.messageAttributes.(key)", "pushNotification.title", "notBefore", "notAfter",
           "processors.1.member.configuration.lambda.resourceArn", "streamingConfigurations.1.member.resourceArn",
           "elasticChannelConfiguration.maximumSubChannels", "fields.1.member.values.1.member", "target.1.member.memberArn"),
    not_implemented=frozenset({
        "CreateChannelBan", "DescribeChannelBan", "DeleteChannelBan", "ListChannelBans", "ChannelFlowCallback",
        "GetChannelMessageStatus", "ListSubChannels", "SearchChannels", "DescribeChannelMembershipForAppInstanceUser",
        "DescribeChannelModeratedByAppInstanceUser", "ListChannelsModeratedByAppInstanceUser",
    }),
    in_progress=frozenset({
        "CreateChannelFlow", "DescribeChannelFlow", "UpdateChannelFlow", "DeleteChannelFlow", "ListChannelFlows",
        "AssociateChannelFlow", "DisassociateChannelFlow", "ListChannelsAssociatedWithChannelFlow",
        "GetMessagingStreamingConfigurations", "PutMessagingStreamingConfigurations",
        "DeleteMessagingStreamingConfigurations",
    }),
    not_implemented_members=frozenset({"ElasticChannelConfiguration", "Target"}),
)

SERVICES = (IDENTITY, MESSAGING)
_MODELS = {
    svc.name: json.loads((MODEL_DIR / f"{svc.botocore[0]}-{svc.botocore[1]}.json").read_text(encoding="utf-8"))
    for svc in SERVICES
}

# -- patterns ----------------------------------------------------------------------------------------------
# One table for both models, keyed by the pattern text: the models share most patterns (ChimeArn, tokens,
# resource names), and a pattern means the same wherever it appears.

_I, _M = IDENTITY.shape, MESSAGING.shape
CHIME_ARN_PATTERN = _I("ChimeArn")["pattern"]
RESOURCE_NAME_PATTERN = _I("ResourceName")["pattern"]
TOKEN_PATTERN = _I("ClientRequestToken")["pattern"]  # also MessageId's and SubChannelId's
USER_ID_PATTERN = _I("UserId")["pattern"]  # also ChannelId's
LEX_ALIAS_PATTERN = _I("LexBotAliasArn")["pattern"]
LAMBDA_ARN_PATTERN = _M("LambdaFunctionArn")["pattern"]
# Patterns every string matches (`.` matches line breaks, docs/behaviour.md "Wire protocol"): no outside value.
MATCH_ALL = {".*", "[\\s\\S]*"}


def python_regex(pattern):
    """The model's (Java) pattern as a Python regex: `\\u10000-\\u10FFFF` means the supplementary planes, and
    `.` also matches line breaks (docs/behaviour.md, "Wire protocol"). Matches are whole-value (fullmatch)."""
    converted = re.sub(r"\\u([0-9A-Fa-f]{5,6})", lambda m: "\\U" + m.group(1).rjust(8, "0"), pattern)
    return re.compile(converted, re.DOTALL)


def satisfies(svc, shape_name, value):
    """Whether `value` satisfies every constraint of the string shape (by Python's reading of the model)."""
    s = svc.shape(shape_name)
    n = len(value)
    if n < s.get("min", 0) or ("max" in s and n > s["max"]):
        return False
    if "pattern" in s and not python_regex(s["pattern"]).fullmatch(value):
        return False
    if "enum" in s and value not in s["enum"]:
        return False
    return True


# Values that violate a pattern but keep within the shape's length limits, by pattern.
PATTERN_OUTSIDE = {
    CHIME_ARN_PATTERN: ["arn:AWS:chime:us-east-1:123456789012:app-instance/x",
                        "arn:aws:chime:us-east-1:123456789012:/app-instance",
                        "not-an-arn"],
    TOKEN_PATTERN: ["tok en", "tok/12", "tok.12"],
    USER_ID_PATTERN: ["-abc", "abc-", "a/b", "é", "a b"],
    LEX_ALIAS_PATTERN: ["arn:aws:lex:us-east-1:123456789012:bot-alias/abcdefghij/KLMNOPQRST",
                        "arn:aws:lex:us-east-1:12345678901:bot-alias/ABCDEFGHIJ/KLMNOPQRST",
                        "arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST/x"],
    _I("LexIntentName")["pattern"]: ["Bad Intent", "A__B", "1A", "_A"],
    RESOURCE_NAME_PATTERN: ["bad\u0001name", "bad\uffffname", "\u0000"],
    _I("UserName")["pattern"]: ["   ", "\t\n "],
    LAMBDA_ARN_PATTERN: ["arn:aws:lambda:us-east-1:12345678901:function:f",
                         "arn:aws:lambda:us-east-1:123456789012:function:f:$latest",
                         "arn:aws:lambda:useast1:123456789012:function:f",
                         "arn:aws:lambda:us-east-1:123456789012:function:f/g"],
}
# Values that match a pattern, beyond the natural one, by pattern ({account} is filled in).
PATTERN_INSIDE = {
    CHIME_ARN_PATTERN: ["arn:a::::b", "arn:aws:chime:us-east-1:{account}:app-instance/x/user/a:b@c.d"],
    TOKEN_PATTERN: ["ab", "A-_z09"],
    USER_ID_PATTERN: ["a", "A9", "a:b@c.d-e_f"],
    LEX_ALIAS_PATTERN: [LEX_ALIAS, "arn:aws:lex:eu-centralwest-9:000000000000:bot-alias/0123456789/ZZZZZZZZZZ"],
    _I("LexIntentName")["pattern"]: ["A", "A_b_C", "Ab_"],
    RESOURCE_NAME_PATTERN: ["tab\tnew\nline\r", "😀𝄞 中文", "\u0085\u00a0\ufffd"],
    _I("UserName")["pattern"]: ["  x  ", "line\nbreak x", "😀"],
    LAMBDA_ARN_PATTERN: ["arn:aws:lambda:eu-west-3:{account}:function:my-fn.v2_1:$LATEST",
                         "arn:aws:lambda:us-east-1:{account}:function:f:prod-1"],
    ".*": ["line\nbreak", "😀 é"],
    "[\\s\\S]*": ["line\nbreak", "😀 é"],
}

# -- valid values ------------------------------------------------------------------------------------------


def arn_of(kind, account):
    app = f"arn:aws:chime:us-east-1:{account}:app-instance/{uuid.UUID(int=0x1234)}"
    return {
        "app-instance": app,
        "user": f"{app}/user/user:a@b.c",
        "bot": f"{app}/bot/{uuid.UUID(int=0x5678)}",
        "channel": f"{app}/channel/{uuid.UUID(int=0x9abc)}",
        "channel-flow": f"{app}/channel-flow/{uuid.UUID(int=0xdef0)}",
        "pinpoint": f"arn:aws:mobiletargeting:us-east-1:{account}:apps/0123456789abcdef",
        "kinesis": f"arn:aws:kinesis:us-east-1:{account}:stream/chime-messaging-carillon",
    }[kind]


def natural_string(svc, shape_name, member, account, idx=0):
    if member in svc.arn_kinds and shape_name not in svc.naturals:
        return arn_of(svc.arn_kinds[member], account)
    if shape_name == "ClientRequestToken":
        return uuid.uuid4().hex
    if shape_name == "NonEmptySensitiveString1600":
        return f"device-{uuid.uuid4().hex}"
    template = svc.naturals.get(shape_name, "value")
    return template.replace("{idx}", str(idx)).replace("{account}", account).replace("{hex}", uuid.uuid4().hex)


def natural(svc, shape_name, member, account, idx=0):
    """A valid value of the shape: for structures, the required members only; for maps, one entry."""
    s = svc.shape(shape_name)
    t = s["type"]
    if t == "structure":
        return {m: natural(svc, ms["shape"], m, account, idx) for m, ms in s["members"].items() if m in s.get("required", [])}
    if t == "list":
        return [natural(svc, s["member"]["shape"], member, account, i) for i in range(max(s.get("min", 0), 1))]
    if t == "map":
        return {natural(svc, s["key"]["shape"], member, account, idx): natural(svc, s["value"]["shape"], member, account, idx)}
    if t in ("integer", "long"):
        return max(s.get("min", 1), 1)
    if t == "timestamp":
        return TIMESTAMP
    if t == "boolean":
        return False
    if "enum" in s:
        return s["enum"][0]
    if t == "string":
        return natural_string(svc, shape_name, member, account, idx)
    raise AssertionError(f"no natural value for {shape_name} ({t})")


def sized_string(svc, shape_name, member, n, account, ascii_only=False):
    """A string of exactly n code points, satisfying the shape's pattern where that is possible."""
    s = svc.shape(shape_name)
    pattern = s.get("pattern")
    if pattern == CHIME_ARN_PATTERN:
        v = natural_string(svc, shape_name, member, account)
        if n >= len(v):
            return v + "x" * (n - len(v))
        if n >= 10:
            return "arn:a::::" + "b" * (n - 9)
        return "arn:a::::b"[:n]
    if pattern == TOKEN_PATTERN:
        return (uuid.uuid4().hex * (n // 32 + 1))[:n]
    if pattern == USER_ID_PATTERN:
        return "a"[:n] if n <= 1 else "a" + ("b:c@d.e-f_g" * 12)[: n - 2] + "z"
    if pattern == LEX_ALIAS_PATTERN:
        base = LEX_ALIAS
        if n >= len(base):
            return base.replace("us-east-1", "us-east" + "e" * (n - len(base)) + "-1")
        if n >= len(base) - 3:  # shorten "east" down to one letter
            return base.replace("us-east-1", "us-" + "e" * (4 - (len(base) - n)) + "-1")
        return base[:n]
    if pattern == LAMBDA_ARN_PATTERN:
        base = LAMBDA_ARN.format(account=account)
        return base + "f" * (n - len(base)) if n >= len(base) else base[:n]
    if shape_name == "LexIntentName":
        return "A" * n
    # Multi-byte filler: lengths count code points, not bytes. In the request target (labels and query
    # values), where each `é` costs 6 bytes percent-encoded, long values use ASCII so that the target stays
    # under the server's 8 KiB request-target limit (a front-end limit outside the model); headers and map
    # entries are always ASCII (see the module's docstring).
    fill = "é" if not ascii_only else "x"
    if member in svc.arn_kinds:  # an ARN member without the ARN pattern (String1600)
        v = natural_string(svc, shape_name, member, account)
        return v + fill * (n - len(v)) if n >= len(v) else fill * n
    return fill * n


# -- the request of a case ---------------------------------------------------------------------------------


def lower_camel(name):
    return name[:1].lower() + name[1:]


@dataclasses.dataclass
class Site:
    """A member position in an operation's input: key path, wire path, target shape."""
    svc: Service
    op: str
    keys: tuple  # e.g. ("Configuration", "Lex", "LexBotAliasArn") or ("Tags", 0, "Key") or ("MessageAttributes", "k0")
    wire: str  # e.g. "configuration.lex.lexBotAliasArn", "tags.1.member.key", "messageAttributes.(value)"
    shape: str
    required: bool  # required in its parent structure
    location: Optional[str]  # of the top-level member: "uri", "querystring", "header" or None (body)
    member: str  # the member name (for list elements and map entries: the list's or map's member name)
    in_map: Optional[str] = None  # the wire path of the enclosing map, if any


def sites_of(svc, op_name):
    op = svc.ops[op_name]
    if "input" not in op:
        return []
    out = []
    top = svc.shape(op["input"]["shape"])

    def walk(shape_name, keys, wire, required, location, member, in_map):
        out.append(Site(svc, op_name, keys, wire, shape_name, required, location, member, in_map))
        s = svc.shape(shape_name)
        if s["type"] == "structure":
            for m, ms in s["members"].items():
                walk(ms["shape"], keys + (m,), f"{wire}.{lower_camel(m)}", m in s.get("required", []), location, m, in_map)
        elif s["type"] == "list":
            walk(s["member"]["shape"], keys + (0,), f"{wire}.1.member", False, location, member, in_map)
        elif s["type"] == "map":
            inner = in_map or wire
            walk(s["key"]["shape"], keys + (MAP_KEY,), f"{wire}.(key)", False, location, member, inner)
            key = natural(svc, s["key"]["shape"], member, "000000000000")
            walk(s["value"]["shape"], keys + (key,), f"{wire}.(value)", False, location, member, inner)

    for m, ms in top["members"].items():
        walk(ms["shape"], (m,), lower_camel(m), m in top.get("required", []), ms.get("location"), m, None)
    return out


def base_input(svc, op_name, account):
    top = svc.shape(svc.ops[op_name]["input"]["shape"])
    return natural(svc, svc.ops[op_name]["input"]["shape"], None, account) if top["type"] == "structure" else {}


def container_for(root, site, account):
    """The dict or list that holds the site's value in `root`, creating optional ancestors with valid values."""
    svc = site.svc
    node = root
    shape = svc.shape(svc.ops[site.op]["input"]["shape"])
    for key in site.keys[:-1]:
        if isinstance(key, int):
            child_shape = shape["member"]["shape"]
            while len(node) <= key:
                node.append(natural(svc, child_shape, site.member, account, len(node)))
        elif shape["type"] == "map":
            child_shape = shape["value"]["shape"]
            if key not in node:
                node[key] = natural(svc, child_shape, site.member, account)
        else:
            child_shape = shape["members"][key]["shape"]
            if key not in node:
                node[key] = natural(svc, child_shape, key, account)
        node = node[key]
        shape = svc.shape(child_shape)
    return node


def request_for(site, value, account):
    """The input with the site set to `value` (or removed when MISSING), as (method, path, body, headers)."""
    values = base_input(site.svc, site.op, account)
    holder = container_for(values, site, account)
    last = site.keys[-1]
    if value is MISSING:
        if isinstance(holder, dict):
            holder.pop(last, None)
    elif last is MAP_KEY:  # the map holds one natural entry: give its value this key instead
        _, entry = holder.popitem()
        holder[value] = entry
    else:
        if isinstance(last, int):
            while len(holder) <= last:
                holder.append(None)
        holder[last] = value
    return render(site.svc, site.op, values)


def wire_scalar(v, in_body):
    """A member value as the wire carries it: timestamps are epoch seconds in a body and RFC 3339 date-times
    in the request target or headers (as botocore sends them); everything else as is."""
    if isinstance(v, datetime.datetime):
        if in_body:
            return v.timestamp()
        return v.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    if isinstance(v, bool):
        return v if in_body else str(v).lower()
    return v if in_body else str(v)


def to_body(v):
    if isinstance(v, dict):
        return {k: to_body(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_body(x) for x in v]
    return wire_scalar(v, True)


def render(svc, op_name, values):
    op = svc.ops[op_name]
    http = op["http"]
    path, _, literal_query = http["requestUri"].partition("?")
    query = [q for q in literal_query.split("&") if q]
    shape = svc.shape(op["input"]["shape"]) if "input" in op else {"members": {}}
    body, headers, has_body_members = {}, {}, False
    for m, ms in shape["members"].items():
        loc = ms.get("location")
        if loc is None:
            has_body_members = True
        if m not in values:
            continue
        v = values[m]
        if loc == "uri":
            path = path.replace("{" + ms["locationName"] + "}", quote(wire_scalar(v, False)))
        elif loc == "querystring":
            query.append(f"{ms['locationName']}={quote(wire_scalar(v, False))}")
        elif loc == "header":
            headers[ms["locationName"]] = wire_scalar(v, False)
        elif loc is None:
            body[m] = to_body(v)
        else:
            raise AssertionError(f"unexpected location {loc} in {op_name}")
    assert "{" not in path, f"unfilled label in {path}"
    if query:
        path += "?" + "&".join(query)
    data = json.dumps(body).encode("utf-8") if has_body_members else None
    return http["method"], path, data, headers


# -- the cases ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    id: str
    site: Site
    value: Callable[[str], Any]  # account -> value (or MISSING)
    kind: str  # "missing", "outside", "inside"
    clause: Optional[Callable[[Any], str]] = None  # value -> expected message part (missing / outside)
    length_only: bool = False  # inside with a value that cannot also satisfy the pattern


def shown(site, value):
    if value is MISSING:
        return "Value null"
    if site.svc.shape(site.shape).get("sensitive"):
        return "Value"
    return f"Value '{value}'"


def clause(site, constraint, echo=True):
    def make(value):
        head = f"{shown(site, value)} at " if echo else "at "
        return f"{head}'{site.wire}' failed to satisfy constraint: {constraint}"
    return make


def short(v):
    r = repr(v)
    return r if len(r) <= 24 else f"len{len(v)}"


def cases_for(site):
    svc = site.svc
    s = svc.shape(site.shape)
    t = s["type"]
    cid = f"{svc.name}-{site.op}-{site.wire}"
    label = site.location == "uri" and len(site.keys) == 1
    in_target = site.location in ("uri", "querystring")
    ascii_only = site.location == "header" or site.in_map is not None

    def sized(a, n, sname=site.shape):
        return sized_string(svc, sname, site.member, n, a, ascii_only or (in_target and 6 * n > 4096))

    out = []
    if site.required and not label:
        out.append(Case(f"{cid}-missing", site, lambda a: MISSING, "missing",
                        clause(site, "Member must not be null")))
    if t == "string":
        sname = site.shape
        mx, mn = s.get("max"), s.get("min", 0)
        if mx is not None:
            out.append(Case(f"{cid}-len{mx + 1}-outside", site, lambda a, n=mx + 1: sized(a, n), "outside",
                            clause(site, f"Member must have length less than or equal to {mx}")))
            v = lambda a, n=mx: sized(a, n)  # noqa: E731
            out.append(Case(f"{cid}-len{mx}-inside", site, v, "inside",
                            length_only=not satisfies(svc, sname, v(new_account()))))
        if "min" in s:
            if mn > 0 and not (label and mn - 1 == 0):
                out.append(Case(f"{cid}-len{mn - 1}-outside", site, lambda a, n=mn - 1: sized(a, n), "outside",
                                clause(site, f"Member must have length greater than or equal to {mn}")))
            if not (label and mn == 0):
                v = lambda a, n=mn: sized(a, n)  # noqa: E731
                out.append(Case(f"{cid}-len{mn}-inside", site, v, "inside",
                                length_only=not satisfies(svc, sname, v(new_account()))))
        if "pattern" in s:
            p = s["pattern"]
            for bad in PATTERN_OUTSIDE.get(p, []):
                assert not satisfies_pattern(p, bad) and mn <= len(bad) <= (mx or 10**9), (sname, bad)
                out.append(Case(f"{cid}-pattern-outside-{short(bad)}", site, lambda a, b=bad: b, "outside",
                                clause(site, f"Member must satisfy regular expression pattern: {p}")))
            for good in PATTERN_INSIDE.get(p, []):
                if label and good == "":
                    continue
                if ascii_only and not good.isascii():
                    continue
                out.append(Case(f"{cid}-pattern-inside-{short(good)}", site, lambda a, g=good: g.format(account=a), "inside"))
            out.append(Case(f"{cid}-natural-inside", site, lambda a: natural(svc, sname, site.member, a), "inside"))
            if p not in PATTERN_OUTSIDE and p not in MATCH_ALL:
                # every pattern of the model must have outside values here (or match everything)
                raise AssertionError(f"no PATTERN_OUTSIDE values for pattern {p!r} of {sname}")
        if "enum" in s:
            values = s["enum"]
            out.append(Case(f"{cid}-enum-outside", site, lambda a: "NOT_" + values[0], "outside",
                            clause(site, f"Member must satisfy enum value set: [{', '.join(values)}]")))
            out.append(Case(f"{cid}-enum-outside-lowercase", site, lambda a: values[0].lower(), "outside",
                            clause(site, f"Member must satisfy enum value set: [{', '.join(values)}]")))
            for ev in values:
                out.append(Case(f"{cid}-enum-inside-{ev}", site, lambda a, e=ev: e, "inside"))
    elif t in ("integer", "long"):
        if "max" in s:
            mx = s["max"]
            out.append(Case(f"{cid}-value{mx + 1}-outside", site, lambda a, n=mx + 1: n, "outside",
                            clause(site, f"Member must have value less than or equal to {mx}")))
            out.append(Case(f"{cid}-value{mx}-inside", site, lambda a, n=mx: n, "inside"))
        if "min" in s:
            mn = s["min"]
            out.append(Case(f"{cid}-value{mn - 1}-outside", site, lambda a, n=mn - 1: n, "outside",
                            clause(site, f"Member must have value greater than or equal to {mn}")))
            out.append(Case(f"{cid}-value{mn}-inside", site, lambda a, n=mn: n, "inside"))
    elif t == "timestamp":
        out.append(Case(f"{cid}-natural-inside", site, lambda a: TIMESTAMP, "inside"))
    elif t == "list":
        elem = s["member"]["shape"]

        def items(n, a):
            return [natural(svc, elem, site.member, a, i) for i in range(n)]

        if "max" in s:
            mx = s["max"]
            out.append(Case(f"{cid}-len{mx + 1}-outside", site, lambda a, n=mx + 1: items(n, a), "outside",
                            clause(site, f"Member must have length less than or equal to {mx}", echo=False)))
            out.append(Case(f"{cid}-len{mx}-inside", site, lambda a, n=mx: items(n, a), "inside"))
        if "min" in s and s["min"] > 0:
            mn = s["min"]
            out.append(Case(f"{cid}-len{mn - 1}-outside", site, lambda a, n=mn - 1: items(n, a), "outside",
                            clause(site, f"Member must have length greater than or equal to {mn}", echo=False)))
            if mn != s.get("max"):  # TargetList: min = max = 1, one inside case
                out.append(Case(f"{cid}-len{mn}-inside", site, lambda a, n=mn: items(n, a), "inside"))
    return out


def satisfies_pattern(pattern, value):
    return bool(python_regex(pattern).fullmatch(value))


def cases_of(svc):
    return [c for op in sorted(svc.ops) for site in sites_of(svc, op) for c in cases_for(site)]


CASES = [c for svc in SERVICES for c in cases_of(svc)]


@pytest.mark.parametrize("svc", SERVICES, ids=[s.name for s in SERVICES])
def test_the_generator_covers_the_model(svc):
    """Sanity checks of the derivation itself, so that a broken generator cannot pass silently."""
    assert len(svc.ops) == svc.operations
    cases = [c for c in CASES if c.site.svc is svc]
    ops_with_cases = {c.site.op for c in cases}
    assert ops_with_cases == {op for op in svc.ops if svc.ops[op].get("input")}
    kinds = {c.kind for c in cases}
    assert kinds == {"missing", "outside", "inside"}
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert all(i.startswith(f"{svc.name}-") for i in ids)
    wires = {c.site.wire for c in cases}
    for expected in svc.wires:
        assert expected in wires, expected
    # The natural request of every operation is valid by the model (per this module's reading of it).
    for op in svc.ops:
        if svc.ops[op].get("input"):
            render(svc, op, base_input(svc, op, "123456789012"))
    for kind, ops in (("not_implemented", svc.not_implemented), ("in_progress", svc.in_progress)):
        assert ops <= set(svc.ops), f"{kind} names operations the model lacks: {ops - set(svc.ops)}"


def not_implemented_answer(r, op):
    """Whether `r` is the documented 501 for `op` (docs/behaviour.md, "Messaging", "Not yet")."""
    if r.status != 501 or r.header("x-amzn-ErrorType") != "NotImplementedException":
        return False
    return r.json() == {"Code": "NotImplemented", "Message": f"Carillon does not implement {op} yet"}


def may_answer_501(site):
    svc = site.svc
    return site.op in svc.not_implemented or site.op in svc.in_progress or site.keys[0] in svc.not_implemented_members


def check_response(r, case, value):
    site = case.site
    assert REQUEST_ID_RE.fullmatch(r.header("x-amzn-RequestId") or ""), f"no UUID x-amzn-RequestId: {r}"
    if r.body:
        assert (r.header("Content-Type") or "").startswith("application/json"), r
    try:
        body = r.json() if r.body else {}
    except ValueError:
        pytest.fail(f"response body is not JSON: {r}")
    if case.kind == "inside" and r.status == 501 and may_answer_501(site):
        op = site.op if site.keys[0] not in site.svc.not_implemented_members else site.keys[0]
        if r.header("x-amzn-ErrorType") == "NotImplementedException":
            assert body.get("Code") == "NotImplemented", body
            assert op in body.get("Message", ""), body
            return
    assert r.status < 500, f"server failure: {r}"
    message = body.get("Message", "") if isinstance(body, dict) else ""
    sensitive = site.svc.shape(site.shape).get("sensitive")
    if case.kind in ("missing", "outside"):
        expected = case.clause(value)
        assert r.status == 400, f"expected 400 containing {expected!r}, got {r}"
        assert r.header("x-amzn-ErrorType") == "BadRequestException", r
        assert body.get("Code") == "BadRequest", body
        if site.in_map is None:
            assert expected in message, f"expected message containing {expected!r}, got {message!r}"
        else:  # any naming of the entry under the map's path (see the module's docstring)
            constraint = expected.split("failed to satisfy constraint: ", 1)[1]
            pattern = rf"at '{re.escape(site.in_map)}[^']*' failed to satisfy constraint: [^;]*{re.escape(constraint)}"
            assert re.search(pattern, message), f"expected message matching {pattern!r}, got {message!r}"
        assert re.match(r"\d+ validation errors? detected: ", message), message
        if sensitive and isinstance(value, str):
            assert f"'{value}'" not in message, f"a sensitive value was echoed: {message!r}"
    else:
        if 200 <= r.status < 300:
            return
        if case.length_only:
            forbidden = f"at '{site.wire}' failed to satisfy constraint: Member must have length"
        else:  # any mention of the member, e.g. also `Invalid value '...' for 'notBefore'`
            forbidden = f"'{site.wire}'"
        assert forbidden not in message, f"a value inside the constraints of {site.wire} was rejected: {r.status} {message!r}"
        if site.in_map is not None:
            assert f"at '{site.in_map}" not in message, f"a value inside the constraints of {site.wire} was rejected: {r.status} {message!r}"


def send(server, rendered, account):
    """Sends a request as `render` gives it: (method, path, body, headers)."""
    method, path, body, headers = rendered
    if body is not None:
        headers = {"Content-Type": "application/json", **headers}
    return server.raw(method, path, body=body, headers=headers, account=account)



@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_model_constraint(server, case):
    account = new_account()
    value = case.value(account)
    r = send(server, request_for(case.site, value, account), account)
    check_response(r, case, value)


# -- routing and the operations Carillon lacks ---------------------------------------------------------------


@pytest.mark.parametrize("op", sorted(MESSAGING.ops), ids=[f"messaging-{op}" for op in sorted(MESSAGING.ops)])
def test_every_messaging_operation_is_routed(server, op):
    """A request built from the operation's template reaches the operation: never UnknownOperation, and
    never a server failure (a 501 only where docs/behaviour.md says Carillon lacks the operation)."""
    account = new_account()
    r = send(server, render(MESSAGING, op, base_input(MESSAGING, op, account)), account)
    assert r.header("x-amzn-ErrorType") != "UnknownOperationException", r
    assert r.status != 404 or r.header("x-amzn-ErrorType") == "NotFoundException", r
    if op in MESSAGING.not_implemented or op in MESSAGING.in_progress:
        assert r.status < 500 or not_implemented_answer(r, op), r
    else:
        assert r.status < 500, r


@pytest.mark.parametrize("op", sorted(MESSAGING.not_implemented),
                         ids=[f"messaging-{op}" for op in sorted(MESSAGING.not_implemented)])
def test_unimplemented_operation_answers_501(server, op):
    """A valid request (every ARN in the caller's account) is 501 with the documented body; an invalid one
    is still the 400 of validation, which comes first (docs/behaviour.md, "Messaging", "Order of checks")."""
    account = new_account()
    r = send(server, render(MESSAGING, op, base_input(MESSAGING, op, account)), account)
    assert r.status == 501, r
    assert r.header("x-amzn-ErrorType") == "NotImplementedException", r
    assert REQUEST_ID_RE.fullmatch(r.header("x-amzn-RequestId") or ""), r
    assert (r.header("Content-Type") or "").startswith("application/json"), r
    assert r.json() == {"Code": "NotImplemented", "Message": f"Carillon does not implement {op} yet"}, r

    invalid = base_input(MESSAGING, op, account)
    invalid["ChannelArn" if "ChannelArn" in invalid else "ChimeBearer"] = "not-an-arn"
    r = send(server, render(MESSAGING, op, invalid), account)
    assert r.status == 400, r
    assert r.header("x-amzn-ErrorType") == "BadRequestException", r
    assert "failed to satisfy constraint: Member must satisfy regular expression pattern" in r.json()["Message"], r


# -- the committed models are botocore's -------------------------------------------------------------------


def _refresh_module():
    spec = importlib.util.spec_from_file_location("refresh_model", REPO / "scripts" / "refresh-model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _differences(a, b, path="$", out=None, limit=20):
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}.{k}: only in botocore")
            elif k not in b:
                out.append(f"{path}.{k}: only in the committed model")
            else:
                _differences(a[k], b[k], f"{path}.{k}", out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _differences(x, y, f"{path}[{i}]", out, limit)
    elif a != b:
        out.append(f"{path}: committed {json.dumps(a)[:120]} != botocore {json.dumps(b)[:120]}")
    return out


@pytest.mark.parametrize("svc", SERVICES, ids=[s.name for s in SERVICES])
def test_committed_model_matches_installed_botocore(svc):
    import botocore

    refresh = _refresh_module()
    service, version = svc.botocore
    gz = __import__("pathlib").Path(botocore.__file__).parent / "data" / service / version / "service-2.json.gz"
    assert gz.is_file(), f"botocore {botocore.__version__} has no {gz}"
    installed = json.loads(refresh.render(json.loads(gzip.decompress(gz.read_bytes()))))
    committed = json.loads((MODEL_DIR / f"{service}-{version}.json").read_text(encoding="utf-8"))
    diffs = _differences(committed, installed)
    assert not diffs, (f"the committed {service} model differs from botocore {botocore.__version__} "
                       f"(run scripts/refresh-model.py):\n" + "\n".join(diffs))
    assert len(committed["operations"]) == svc.operations
    assert len(committed["shapes"]) == svc.shapes
