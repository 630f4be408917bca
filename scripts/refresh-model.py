#!/usr/bin/env python3
"""Refresh Carillon's committed copy of the Chime SDK Identity service model from botocore.

The official model ships inside the botocore package on PyPI. This script takes it from the botocore
that `import botocore` finds, or, when there is none, from the newest botocore wheel that pip downloads
into a temporary folder. It strips the documentation strings (they are large and carry no structure)
and writes the result, so that a diff of the committed file shows only structural changes.

    python3 scripts/refresh-model.py            # rewrite the committed copy
    python3 scripts/refresh-model.py --check    # exit 1 if the committed copy differs from botocore's
"""
import argparse
import gzip
import json
import pathlib
import subprocess
import sys
import tempfile
import zipfile

MODEL_IN_BOTOCORE = "botocore/data/chime-sdk-identity/2021-04-20/service-2.json.gz"
COMMITTED = pathlib.Path(__file__).resolve().parent.parent / "crates/carillon-api/model/chime-sdk-identity-2021-04-20.json"


def strip_docs(node):
    if isinstance(node, dict):
        return {k: strip_docs(v) for k, v in node.items() if k not in ("documentation", "documentationUrl")}
    if isinstance(node, list):
        return [strip_docs(v) for v in node]
    return node


def load_from_installed():
    try:
        import botocore  # noqa: F401
    except ImportError:
        return None
    path = pathlib.Path(botocore.__file__).parent.parent / MODEL_IN_BOTOCORE
    return json.loads(gzip.decompress(path.read_bytes())), f"botocore {botocore.__version__}"


def load_from_pypi():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, "botocore"], check=True)
        wheel = next(pathlib.Path(tmp).glob("botocore-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(MODEL_IN_BOTOCORE)
        return json.loads(gzip.decompress(data)), wheel.name.split("-")[1]


def render(model):
    return json.dumps(strip_docs(model), indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    loaded = load_from_installed() or load_from_pypi()
    model, source = loaded
    text = render(model)
    if args.check:
        current = COMMITTED.read_text(encoding="utf-8")
        if json.loads(current) != json.loads(text):
            print(f"the committed model differs from the one in {source}; run scripts/refresh-model.py", file=sys.stderr)
            return 1
        print(f"the committed model matches {source}")
        return 0
    COMMITTED.write_text(text, encoding="utf-8")
    print(f"wrote {COMMITTED.name} from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
