#!/usr/bin/env python3
"""Refresh Carillon's committed copies of the Chime SDK service models (Identity, Messaging) from botocore.

The official model ships inside the botocore package on PyPI. This script takes them from the botocore
that `import botocore` finds, or, when there is none, from the newest botocore wheel that pip downloads
into a temporary folder. It strips the documentation strings (they are large and carry no structure)
and writes the results, so that a diff of a committed file shows only structural changes.

    python3 scripts/refresh-model.py            # rewrite the committed copies
    python3 scripts/refresh-model.py --check    # exit 1 if a committed copy differs from botocore's

After a refresh, regenerate the Rust code with `cargo run -p carillon-codegen`.
"""
import argparse
import gzip
import json
import pathlib
import subprocess
import sys
import tempfile
import zipfile

MODEL_DIR = pathlib.Path(__file__).resolve().parent.parent / "crates/carillon-api/model"
# (service, API version): botocore keeps each at botocore/data/<service>/<version>/service-2.json.gz,
# and the committed copy is model/<service>-<version>.json.
SERVICES = [("chime-sdk-identity", "2021-04-20"), ("chime-sdk-messaging", "2021-05-15")]


def in_botocore(service, version):
    return f"botocore/data/{service}/{version}/service-2.json.gz"


def committed(service, version):
    return MODEL_DIR / f"{service}-{version}.json"


def strip_docs(node):
    if isinstance(node, dict):
        return {k: strip_docs(v) for k, v in node.items() if k not in ("documentation", "documentationUrl")}
    if isinstance(node, list):
        return [strip_docs(v) for v in node]
    return node


def load_from_installed():
    """Every model from the installed botocore, or None when there is none."""
    try:
        import botocore  # noqa: F401
    except ImportError:
        return None
    root = pathlib.Path(botocore.__file__).parent.parent
    models = {sv: json.loads(gzip.decompress((root / in_botocore(*sv)).read_bytes())) for sv in SERVICES}
    return models, f"botocore {botocore.__version__}"


def load_from_pypi():
    """Every model from one downloaded botocore wheel, so that both come from the same release."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, "botocore"], check=True)
        wheel = next(pathlib.Path(tmp).glob("botocore-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            models = {sv: json.loads(gzip.decompress(zf.read(in_botocore(*sv)))) for sv in SERVICES}
        return models, "botocore " + wheel.name.split("-")[1]


def render(model):
    return json.dumps(strip_docs(model), indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    models, source = load_from_installed() or load_from_pypi()
    status = 0
    for sv in SERVICES:
        path = committed(*sv)
        text = render(models[sv])
        if args.check:
            current = path.read_text(encoding="utf-8") if path.exists() else "null"
            if json.loads(current) != json.loads(text):
                print(f"{path.name} differs from the model in {source}; run scripts/refresh-model.py", file=sys.stderr)
                status = 1
            else:
                print(f"{path.name} matches {source}")
            continue
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.name} from {source}")
    return status


if __name__ == "__main__":
    sys.exit(main())
