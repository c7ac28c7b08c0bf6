#!/usr/bin/env bash
# Prints a Markdown table of each function's bootstrap in .aws-sam/build/ (after `scripts/sam.sh
# build`) and of the zip it is deployed as, made by the SAM CLI's own zip code (the one `sam deploy`
# and `sam package` use: deflate, default level) from the pinned SAM CLI in .venv/.
#   scripts/lambda-sizes.sh [BUILD_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/.aws-sam/build}
PY=$ROOT/.venv/bin/python
[[ -x $PY ]] || { echo "lambda-sizes: no $PY; run scripts/sam.sh --version first" >&2; exit 1; }
exec "$PY" - "$BUILD" <<'PY'
import os, sys, tempfile
from samcli.lib.package.utils import make_zip
build = sys.argv[1]
mb = lambda n: n / 1e6  # decimal MB, as the targets (10 MB, 4 MB) are read
print("| function | bootstrap (bytes) | bootstrap (MB) | zip (bytes) | zip (MB) |")
print("|---|---:|---:|---:|---:|")
with tempfile.TemporaryDirectory() as tmp:
    for name in sorted(os.listdir(build)):
        d = os.path.join(build, name)
        b = os.path.join(d, "bootstrap")
        if not os.path.isfile(b):
            continue
        z = make_zip(os.path.join(tmp, name), d)
        bs, zs = os.path.getsize(b), os.path.getsize(z)
        print(f"| {name} | {bs:,} | {mb(bs):.2f} | {zs:,} | {mb(zs):.2f} |")
PY
