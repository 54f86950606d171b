"""The pinned stack: what is installed is what requirements.txt pins, and it works together."""

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)==([^\s#]+)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def test_every_requirement_is_pinned_exactly():
    lines = [l.split("#")[0].strip() for l in (ROOT / "requirements.txt").read_text().splitlines()]
    loose = [l for l in lines if l and "==" not in l]
    assert not loose, f"pin these exactly: {loose}"


@pytest.mark.parametrize("name, version", sorted(pins().items()))
def test_installed_version_matches_pin(name, version):
    assert metadata.version(name) == version


def test_jax_is_held_below_the_release_that_breaks_neural_tangents():
    assert pins()["jax"] == "0.5.3" and pins()["neural-tangents"] == "0.6.5"


@pytest.mark.slow
def test_neural_tangents_imports_and_computes_an_ntk():
    code = """
import jax, jax.numpy as jnp, neural_tangents as nt
from neural_tangents import stax
init_fn, apply_fn, kernel_fn = stax.serial(stax.Dense(64, parameterization="ntk"), stax.Relu(), stax.Dense(1, parameterization="ntk"))
x = jax.random.normal(jax.random.PRNGKey(0), (4, 3))
_, params = init_fn(jax.random.PRNGKey(1), x.shape)
emp = nt.empirical_ntk_fn(apply_fn, trace_axes=())(x, None, params)
inf = kernel_fn(x, None, "ntk")
assert emp.shape == (4, 4, 1, 1) and inf.shape == (4, 4)
print("ok", jnp.trace(inf))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("ok")
