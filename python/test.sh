#!/usr/bin/env bash
# The zl Python package: builds it into a virtual environment (the system's packages visible, so
# that torch and TransformerLens installed by scripts/test.sh are used), runs its pytest suite
# against the `zl` binary and PyTorch's golden run, and runs examples/seed.ipynb top to bottom,
# headless. Only the installs reach the network; the tests and the notebook do not.
#
#   bash python/test.sh            ZL_PY_VENV=DIR to put the environment elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
# scripts/test.sh passes its .venv/, which already holds torch, TransformerLens and the tools below.
venv=${ZL_PY_VENV:-target/python-venv}
[ -x "$venv/bin/python" ] || python3 -m venv --system-site-packages "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1.16,<2' pytest nbclient nbformat ipykernel
# The tests' cargo profile (release optimisations without LTO), shared with the Rust tests' builds.
venv=$(cd "$venv" && pwd)
(cd python && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
    maturin develop --quiet --profile quick)
"$venv/bin/python" -m pytest -q python/tests
"$venv/bin/python" - <<'PY'
import nbclient, nbformat

nb = nbformat.read("examples/seed.ipynb", as_version=4)
nbclient.NotebookClient(nb, timeout=600, kernel_name="python3").execute()
html = [o["data"]["text/html"] for c in nb.cells if c.cell_type == "code"
        for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
assert any(h.startswith("<iframe srcdoc=") for h in html), "the interpretation was not shown inline"
text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
assert "hook_embed bit for bit: True" in text and "round trip bit for bit: True" in text, text
print("examples/seed.ipynb ran top to bottom; the interpretation shown inline")
PY
