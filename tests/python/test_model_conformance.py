"""Model conformance, generated from the committed model (crates/carillon-api/model/...json), never by hand.

For every operation of the model and every member of its input (top level, nested members of body
structures, list elements), the cases below are derived from the model:

* missing: a request without a required member -> 400 BadRequestException whose message contains
  `Value null at '<path>' failed to satisfy constraint: Member must not be null`. Members bound to a URI
  label are skipped: a request whose label is empty cannot be routed to the operation at all (docs/behaviour.md, "Wire protocol":
  routing happens before binding; an empty segment matches no label), so "missing" cannot be expressed.
* outside: for each length / range / pattern / enum constraint, a value just outside it -> 400
  BadRequestException whose message contains the AWS clause for that member and constraint:
  `Value '<v>' at '<path>' failed to satisfy constraint: Member must ...` (`Value at` for sensitive shapes).
* inside: a value just inside it (min and max length, min and max value, every enum value, values
  matching the pattern) must not be rejected for that member: the answer is a 2xx or an error whose
  message does not mention the member (`at '<path>'`), e.g. a 404 because the ARN does not exist. Where the
  model makes a boundary length impossible to combine with the pattern (ChimeArn's pattern allows at most
  1284 characters but its max is 1600; LexBotAliasArn's min 15 is shorter than any matching value), the
  value has the boundary length but not the pattern, and the check is that the member is not rejected for
  its length.

Length values are multi-byte (`é`) so that lengths are seen to count code points; long values bound in
the request target (labels, query) are ASCII instead, because the server refuses request targets over
8 KiB (a documented front-end limit outside the model) and `é` costs 6 bytes there.

Every request is raw HTTP built from the model: method and requestUri, labels filled with valid
percent-encoded values, querystring members, and a JSON body of the other members filled with valid values.

A second test compares the committed model with the one inside the installed botocore package.
"""
import dataclasses
import gzip
import importlib.util
import json
import re
import uuid
from typing import Any, Callable, Optional

import pytest

from conftest import MODEL_PATH, REPO, new_account, quote
from carillon_util import REQUEST_ID_RE

MODEL = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
SHAPES = MODEL["shapes"]
OPERATIONS = MODEL["operations"]
MISSING = object()

# Members whose valid value is an ARN of a particular kind of resource, by member name.
ARN_KINDS = {
    "AppInstanceArn": "app-instance",
    "ResourceARN": "app-instance",
    "AppInstanceUserArn": "user",
    "AppInstanceAdminArn": "user",
    "AppInstanceBotArn": "bot",
    "ResourceArn": "pinpoint",
}
LEX_ALIAS = "arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST"

# -- patterns ----------------------------------------------------------------------------------------------

CHIME_ARN_PATTERN = SHAPES["ChimeArn"]["pattern"]
RESOURCE_NAME_PATTERN = SHAPES["ResourceName"]["pattern"]


def python_regex(pattern):
    """The model's (Java) pattern as a Python regex: `\\u10000-\\u10FFFF` means the supplementary planes, and
    `.` also matches line breaks (docs/behaviour.md, "Wire protocol"). Matches are whole-value (fullmatch)."""
    converted = re.sub(r"\\u([0-9A-Fa-f]{5,6})", lambda m: "\\U" + m.group(1).rjust(8, "0"), pattern)
    return re.compile(converted, re.DOTALL)


def satisfies(shape_name, value):
    """Whether `value` satisfies every constraint of the string shape (by Python's reading of the model)."""
    s = SHAPES[shape_name]
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
    SHAPES["ClientRequestToken"]["pattern"]: ["tok en", "tok/12", "tok.12"],
    SHAPES["UserId"]["pattern"]: ["-abc", "abc-", "a/b", "é", "a b"],
    SHAPES["LexBotAliasArn"]["pattern"]: ["arn:aws:lex:us-east-1:123456789012:bot-alias/abcdefghij/KLMNOPQRST",
                                          "arn:aws:lex:us-east-1:12345678901:bot-alias/ABCDEFGHIJ/KLMNOPQRST",
                                          "arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST/x"],
    SHAPES["LexIntentName"]["pattern"]: ["Bad Intent", "A__B", "1A", "_A"],
    RESOURCE_NAME_PATTERN: ["bad\u0001name", "bad\uffffname", "\u0000"],
    SHAPES["UserName"]["pattern"]: ["   ", "\t\n "],
}
# Values that match a pattern, beyond the natural one, by pattern ({account} is filled in).
PATTERN_INSIDE = {
    CHIME_ARN_PATTERN: ["arn:a::::b", "arn:aws:chime:us-east-1:{account}:app-instance/x/user/a:b@c.d"],
    SHAPES["ClientRequestToken"]["pattern"]: ["ab", "A-_z09"],
    SHAPES["UserId"]["pattern"]: ["a", "A9", "a:b@c.d-e_f"],
    SHAPES["LexBotAliasArn"]["pattern"]: [LEX_ALIAS, "arn:aws:lex:eu-centralwest-9:000000000000:bot-alias/0123456789/ZZZZZZZZZZ"],
    SHAPES["LexIntentName"]["pattern"]: ["A", "A_b_C", "Ab_"],
    RESOURCE_NAME_PATTERN: ["tab\tnew\nline\r", "😀𝄞 中文", "\u0085\u00a0\ufffd"],
    SHAPES["UserName"]["pattern"]: ["  x  ", "line\nbreak x", "😀"],
    ".*": ["line\nbreak", "😀 é"],
}

# -- valid values ------------------------------------------------------------------------------------------


def arn_of(kind, account):
    app = f"arn:aws:chime:us-east-1:{account}:app-instance/{uuid.UUID(int=0x1234)}"
    return {
        "app-instance": app,
        "user": f"{app}/user/user:a@b.c",
        "bot": f"{app}/bot/{uuid.UUID(int=0x5678)}",
        "pinpoint": f"arn:aws:mobiletargeting:us-east-1:{account}:apps/0123456789abcdef",
    }[kind]


def natural_string(shape_name, member, account, idx=0):
    if member in ARN_KINDS:
        return arn_of(ARN_KINDS[member], account)
    return {
        "String64": "abc123",
        "ClientRequestToken": uuid.uuid4().hex,
        "UserId": "user:1@x.y",
        "LexBotAliasArn": LEX_ALIAS,
        "LexIntentName": "Welcome",
        "NonEmptyResourceName": "Name é",
        "ResourceName": "Name é",
        "UserName": "Name é",
        "Metadata": "meta",
        "NextToken": "",
        "NonEmptySensitiveString1600": f"device-{uuid.uuid4().hex}",
        "SensitiveString1600": "endpoint name",
        "TagKey": f"key{idx}",
        "TagValue": "value",
        "String": "en_US",
    }.get(shape_name, "value")


def natural(shape_name, member, account, idx=0):
    """A valid value of the shape: for structures, the required members only."""
    s = SHAPES[shape_name]
    t = s["type"]
    if t == "structure":
        return {m: natural(ms["shape"], m, account, idx) for m, ms in s["members"].items() if m in s.get("required", [])}
    if t == "list":
        return [natural(s["member"]["shape"], member, account, i) for i in range(max(s.get("min", 0), 1))]
    if t in ("integer", "long"):
        return max(s.get("min", 1), 1)
    if "enum" in s:
        return s["enum"][0]
    if t == "string":
        return natural_string(shape_name, member, account, idx)
    raise AssertionError(f"no natural value for {shape_name} ({t})")


def sized_string(shape_name, member, n, account, in_target=False):
    """A string of exactly n code points, satisfying the shape's pattern where that is possible."""
    s = SHAPES[shape_name]
    pattern = s.get("pattern")
    if pattern == CHIME_ARN_PATTERN:
        v = natural_string(shape_name, member, account)
        if n >= len(v):
            return v + "x" * (n - len(v))
        if n >= 10:
            return "arn:a::::" + "b" * (n - 9)
        return "arn:a::::b"[:n]
    if shape_name == "ClientRequestToken":
        return (uuid.uuid4().hex * 3)[:n]
    if shape_name == "UserId":
        return "a"[:n] if n <= 1 else "a" + ("b:c@d.e-f_g" * 10)[: n - 2] + "z"
    if shape_name == "LexBotAliasArn":
        base = LEX_ALIAS
        if n >= len(base):
            return base.replace("us-east-1", "us-east" + "e" * (n - len(base)) + "-1")
        if n >= len(base) - 3:  # shorten "east" down to one letter
            return base.replace("us-east-1", "us-" + "e" * (4 - (len(base) - n)) + "-1")
        return base[:n]
    if shape_name == "LexIntentName":
        return "A" * n
    # Multi-byte filler: lengths count code points, not bytes. In the request target (labels and query
    # values), where each `é` costs 6 bytes percent-encoded, long values use ASCII so that the target stays
    # under the server's 8 KiB request-target limit (a front-end limit outside the model).
    fill = "é" if not in_target or 6 * n <= 4096 else "x"
    if member in ARN_KINDS:  # an ARN member without the ARN pattern (String1600)
        v = natural_string(shape_name, member, account)
        return v + fill * (n - len(v)) if n >= len(v) else fill * n
    return fill * n


# -- the request of a case ---------------------------------------------------------------------------------


def lower_camel(name):
    return name[:1].lower() + name[1:]


@dataclasses.dataclass
class Site:
    """A member position in an operation's input: key path, wire path, target shape."""
    op: str
    keys: tuple  # e.g. ("Configuration", "Lex", "LexBotAliasArn") or ("Tags", 0, "Key") or ("TagKeys", 0)
    wire: str  # e.g. "configuration.lex.lexBotAliasArn", "tags.1.member.key"
    shape: str
    required: bool  # required in its parent structure
    location: Optional[str]  # of the top-level member: "uri", "querystring" or None (body)
    member: str  # the member name (for list elements: the list member's name)


def sites_of(op_name):
    op = OPERATIONS[op_name]
    if "input" not in op:
        return []
    out = []
    top = SHAPES[op["input"]["shape"]]

    def walk(shape_name, keys, wire, required, location, member):
        out.append(Site(op_name, keys, wire, shape_name, required, location, member))
        s = SHAPES[shape_name]
        if s["type"] == "structure":
            for m, ms in s["members"].items():
                walk(ms["shape"], keys + (m,), f"{wire}.{lower_camel(m)}", m in s.get("required", []), location, m)
        elif s["type"] == "list":
            walk(s["member"]["shape"], keys + (0,), f"{wire}.1.member", False, location, member)

    for m, ms in top["members"].items():
        walk(ms["shape"], (m,), lower_camel(m), m in top.get("required", []), ms.get("location"), m)
    return out


def base_input(op_name, account):
    top = SHAPES[OPERATIONS[op_name]["input"]["shape"]]
    return natural(OPERATIONS[op_name]["input"]["shape"], None, account) if top["type"] == "structure" else {}


def container_for(root, site, account):
    """The dict or list that holds the site's value in `root`, creating optional ancestors with valid values."""
    node = root
    shape = SHAPES[OPERATIONS[site.op]["input"]["shape"]]
    for key in site.keys[:-1]:
        if isinstance(key, int):
            child_shape = shape["member"]["shape"]
            while len(node) <= key:
                node.append(natural(child_shape, site.member, account, len(node)))
        else:
            child_shape = shape["members"][key]["shape"]
            if key not in node:
                node[key] = natural(child_shape, key, account)
        node = node[key]
        shape = SHAPES[child_shape]
    return node


def request_for(site, value, account):
    """The input with the site set to `value` (or removed when MISSING), as (method, path, body bytes)."""
    values = base_input(site.op, account)
    holder = container_for(values, site, account)
    last = site.keys[-1]
    if value is MISSING:
        if isinstance(holder, dict):
            holder.pop(last, None)
    else:
        if isinstance(last, int):
            while len(holder) <= last:
                holder.append(None)
        holder[last] = value
    return render(site.op, values)


def render(op_name, values):
    op = OPERATIONS[op_name]
    http = op["http"]
    path, _, literal_query = http["requestUri"].partition("?")
    query = [q for q in literal_query.split("&") if q]
    shape = SHAPES[op["input"]["shape"]] if "input" in op else {"members": {}}
    body, has_body_members = {}, False
    for m, ms in shape["members"].items():
        loc = ms.get("location")
        if loc is None:
            has_body_members = True
        if m not in values:
            continue
        v = values[m]
        if loc == "uri":
            path = path.replace("{" + ms["locationName"] + "}", quote(str(v)))
        elif loc == "querystring":
            query.append(f"{ms['locationName']}={quote(str(v))}")
        elif loc is None:
            body[m] = v
        else:
            raise AssertionError(f"unexpected location {loc} in {op_name}")
    assert "{" not in path, f"unfilled label in {path}"
    if query:
        path += "?" + "&".join(query)
    data = json.dumps(body).encode("utf-8") if has_body_members else None
    return http["method"], path, data


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
    if SHAPES[site.shape].get("sensitive"):
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
    s = SHAPES[site.shape]
    t = s["type"]
    cid = f"{site.op}-{site.wire}"
    label = site.location == "uri" and len(site.keys) == 1
    in_target = site.location in ("uri", "querystring")
    out = []
    if site.required and not label:
        out.append(Case(f"{cid}-missing", site, lambda a: MISSING, "missing",
                        clause(site, "Member must not be null")))
    if t == "string":
        sname = site.shape
        mx, mn = s.get("max"), s.get("min", 0)
        if mx is not None:
            out.append(Case(f"{cid}-len{mx + 1}-outside", site, lambda a, n=mx + 1: sized_string(sname, site.member, n, a, in_target), "outside",
                            clause(site, f"Member must have length less than or equal to {mx}")))
            v = lambda a, n=mx: sized_string(sname, site.member, n, a, in_target)  # noqa: E731
            out.append(Case(f"{cid}-len{mx}-inside", site, v, "inside",
                            length_only=not satisfies(sname, v(new_account()))))
        if "min" in s:
            if mn > 0 and not (label and mn - 1 == 0):
                out.append(Case(f"{cid}-len{mn - 1}-outside", site, lambda a, n=mn - 1: sized_string(sname, site.member, n, a, in_target), "outside",
                                clause(site, f"Member must have length greater than or equal to {mn}")))
            if not (label and mn == 0):
                v = lambda a, n=mn: sized_string(sname, site.member, n, a, in_target)  # noqa: E731
                out.append(Case(f"{cid}-len{mn}-inside", site, v, "inside",
                                length_only=not satisfies(sname, v(new_account()))))
        if "pattern" in s:
            p = s["pattern"]
            for bad in PATTERN_OUTSIDE.get(p, []):
                assert not satisfies_pattern(p, bad) and mn <= len(bad) <= (mx or 10**9), (sname, bad)
                out.append(Case(f"{cid}-pattern-outside-{short(bad)}", site, lambda a, b=bad: b, "outside",
                                clause(site, f"Member must satisfy regular expression pattern: {p}")))
            for good in PATTERN_INSIDE.get(p, []):
                if label and good == "":
                    continue
                out.append(Case(f"{cid}-pattern-inside-{short(good)}", site, lambda a, g=good: g.format(account=a), "inside"))
            out.append(Case(f"{cid}-natural-inside", site, lambda a: natural(sname, site.member, a), "inside"))
            if p in PATTERN_OUTSIDE or p == ".*":
                pass
            else:  # every pattern of the model must have outside values here (or be `.*`)
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
    elif t == "list":
        elem = s["member"]["shape"]

        def items(n, a):
            return [natural(elem, site.member, a, i) for i in range(n)]

        if "max" in s:
            mx = s["max"]
            out.append(Case(f"{cid}-len{mx + 1}-outside", site, lambda a, n=mx + 1: items(n, a), "outside",
                            clause(site, f"Member must have length less than or equal to {mx}", echo=False)))
            out.append(Case(f"{cid}-len{mx}-inside", site, lambda a, n=mx: items(n, a), "inside"))
        if "min" in s and s["min"] > 0:
            mn = s["min"]
            out.append(Case(f"{cid}-len{mn - 1}-outside", site, lambda a, n=mn - 1: items(n, a), "outside",
                            clause(site, f"Member must have length greater than or equal to {mn}", echo=False)))
            out.append(Case(f"{cid}-len{mn}-inside", site, lambda a, n=mn: items(n, a), "inside"))
    return out


def satisfies_pattern(pattern, value):
    return bool(python_regex(pattern).fullmatch(value))


CASES = [c for op in sorted(OPERATIONS) for site in sites_of(op) for c in cases_for(site)]


def test_the_generator_covers_the_model():
    """Sanity checks of the derivation itself, so that a broken generator cannot pass silently."""
    assert len(OPERATIONS) == 30
    ops_with_cases = {c.site.op for c in CASES}
    assert ops_with_cases == {op for op in OPERATIONS if OPERATIONS[op].get("input")}
    kinds = {c.kind for c in CASES}
    assert kinds == {"missing", "outside", "inside"}
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    wires = {c.site.wire for c in CASES}
    for expected in ("tags.1.member.key", "tagKeys.1.member", "configuration.lex.lexBotAliasArn",
                     "endpointAttributes.deviceToken", "expirationSettings.expirationDays", "resourceARN",
                     "appInstanceRetentionSettings.channelRetentionSettings.retentionDays",
                     "configuration.lex.invokedBy.standardMessages"):
        assert expected in wires, expected
    # The natural request of every operation is valid by the model (per this module's reading of it).
    for op in OPERATIONS:
        if OPERATIONS[op].get("input"):
            render(op, base_input(op, "123456789012"))


def check_response(r, case, value):
    assert r.status < 500, f"server failure: {r}"
    assert REQUEST_ID_RE.fullmatch(r.header("x-amzn-RequestId") or ""), f"no UUID x-amzn-RequestId: {r}"
    if r.body:
        assert (r.header("Content-Type") or "").startswith("application/json"), r
    try:
        body = r.json() if r.body else {}
    except ValueError:
        pytest.fail(f"response body is not JSON: {r}")
    message = body.get("Message", "") if isinstance(body, dict) else ""
    if case.kind in ("missing", "outside"):
        expected = case.clause(value)
        assert r.status == 400, f"expected 400 containing {expected!r}, got {r}"
        assert r.header("x-amzn-ErrorType") == "BadRequestException", r
        assert body.get("Code") == "BadRequest", body
        assert expected in message, f"expected message containing {expected!r}, got {message!r}"
        assert re.match(r"\d+ validation errors? detected: ", message), message
        if SHAPES[case.site.shape].get("sensitive") and isinstance(value, str):
            assert f"'{value}'" not in message, f"a sensitive value was echoed: {message!r}"
    else:
        if 200 <= r.status < 300:
            return
        if case.length_only:
            forbidden = f"at '{case.site.wire}' failed to satisfy constraint: Member must have length"
        else:
            forbidden = f"at '{case.site.wire}'"
        assert forbidden not in message, f"a value inside the constraints of {case.site.wire} was rejected: {r.status} {message!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_model_constraint(server, case):
    account = new_account()
    value = case.value(account)
    method, path, body = request_for(case.site, value, account)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    r = server.raw(method, path, body=body, headers=headers, account=account)
    check_response(r, case, value)


# -- the committed model is botocore's ---------------------------------------------------------------------


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


def test_committed_model_matches_installed_botocore():
    import botocore

    refresh = _refresh_module()
    gz = __import__("pathlib").Path(botocore.__file__).parent / "data" / "chime-sdk-identity" / "2021-04-20" / "service-2.json.gz"
    assert gz.is_file(), f"botocore {botocore.__version__} has no {gz}"
    installed = json.loads(refresh.render(json.loads(gzip.decompress(gz.read_bytes()))))
    committed = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    diffs = _differences(committed, installed)
    assert not diffs, (f"the committed model differs from botocore {botocore.__version__} "
                       f"(run scripts/refresh-model.py):\n" + "\n".join(diffs))
    assert len(committed["operations"]) == 30
    assert len(committed["shapes"]) == 120
