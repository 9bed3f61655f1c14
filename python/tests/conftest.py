"""The `zl` binary the tests compare the package with: $ZL_BIN, else built with cargo's quick
profile (as the Rust tests build it)."""

import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture(scope="session")
def zl_bin() -> str:
    if os.environ.get("ZL_BIN"):
        return os.environ["ZL_BIN"]
    subprocess.run(
        ["cargo", "build", "-q", "--profile", "quick", "-p", "zl-cli", "--bin", "zl"],
        cwd=ROOT,
        check=True,
    )
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "quick" / "zl")


@pytest.fixture(scope="session")
def cli(zl_bin):
    """Runs `zl ARGS…` and returns its stdout; with --json in ARGS, the parsed object."""

    def run(*args: str):
        out = subprocess.run([zl_bin, *args], check=True, capture_output=True, text=True).stdout
        return json.loads(out) if "--json" in args else out

    return run


@pytest.fixture(scope="session")
def reference() -> dict:
    with open(GOLDEN / "reference.json") as f:
        return json.load(f)
