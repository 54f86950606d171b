"""The one door to neural-tangents: it imports without TensorFlow, adds only missing names,
and what the book uses of neural-tangents gives the right numbers, by both NTK paths.

These tests run in every stack the book supports (``stacks/``: Colab's jax 0.7.2, the book's
own, the GPU runner's 0.11.2 and the newest jax), so they import only jax, numpy and catapult.
"""

import re
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from catapult import ntk, tangents
from catapult.precision import float64

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_only_the_door_imports_neural_tangents():
    pattern = re.compile(r"^\s*(import neural_tangents|from neural_tangents)|[\"']neural_tangents(\.stax)?[\"']\)", re.M)
    offenders = []
    for folder in ("catapult", "tests", "benchmarks", "book"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in {".py", ".ipynb"} or path.name in {"tangents.py", "test_tangents.py"}:
                continue
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".ipynb":
                text = text.replace('\\n",', "\n").replace('"', "")
            if pattern.search(text):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"import neural-tangents through catapult.tangents, not directly: {offenders}"


def test_neural_tangents_imports_with_tensorflow_unimportable():
    # A meta-path finder that refuses TensorFlow, tf2jax and keras even where they are installed.
    code = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'tf2jax', 'keras'):
            raise ImportError('refused: ' + name)
sys.meta_path.insert(0, Refuse())
from catapult import tangents
nt = tangents.neural_tangents()
assert nt.__version__ == tangents.NT_VERSION, nt.__version__
for name in ('stax', 'empirical_ntk_fn', 'linearize', 'batch', 'NtkImplementation'):
    assert hasattr(nt, name), name
print('ok')
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok" and proc.stderr == ""


def test_the_door_adds_only_missing_names():
    code = """
import jax, jax.core as core, jax.interpreters.ad as ad
before = {(o, n): getattr(m, n) for o, m in (('core', core), ('ad', ad))
          for n in ('Jaxpr', 'JaxprEqn', 'Literal', 'Primitive', 'Var', 'ShapedArray', 'linearize',
                    'source_info_util', 'config', 'zeros_like_p', 'reducing_transposes', 'backward_pass')
          if hasattr(m, n)}
from catapult import tangents
tangents.neural_tangents()
tangents.structured_derivatives_work()
changed = [k for k, v in before.items() if getattr({'core': core, 'ad': ad}[k[0]], k[1]) is not v]
assert not changed, changed
print(len(tangents.status()['added']))
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_experimental_gives_a_clear_error():
    nt = tangents.neural_tangents()
    with pytest.raises(tangents.ExperimentalUnavailable, match="needs TensorFlow"):
        nt.experimental.empirical_ntk_fn_tf
    with pytest.raises(ImportError, match="needs TensorFlow"):
        from neural_tangents.experimental import empirical_ntk_fn_tf  # noqa: F401


def test_a_missing_neural_tangents_says_how_to_install_it():
    code = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'neural_tangents':
            raise ModuleNotFoundError("No module named 'neural_tangents'", name='neural_tangents')
sys.meta_path.insert(0, Refuse())
from catapult import tangents
tangents.neural_tangents()
"""
    proc = run_python(code)
    assert proc.returncode != 0 and "pip install --no-deps neural-tangents==0.6.5" in proc.stderr


# ------------------------------------------------------------------ the numbers


def arccos_ntk(x, w_std2=2.0):
    """Closed-form NTK of Dense(n) -> ReLU -> Dense(1), NTK parameterization, σ_w² = 2, no
    bias, at infinite width (Cho & Saul's arc-cosine kernels, Jacot et al.'s recursion)."""
    k1 = w_std2 * (x @ x.T) / x.shape[1]  # NNGP (= NTK) of the first layer
    norms = np.sqrt(np.diag(k1))
    cos = np.clip(k1 / np.outer(norms, norms), -1.0, 1.0)
    theta = np.arccos(cos)
    nngp2 = w_std2 * np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * cos) / (2 * np.pi)
    return nngp2 + k1 * w_std2 * (np.pi - theta) / (2 * np.pi)


def test_stax_kernel_matches_the_arc_cosine_formula():
    stax = tangents.stax()
    _, _, kernel_fn = stax.serial(stax.Dense(512, W_std=np.sqrt(2)), stax.Relu(), stax.Dense(1, W_std=np.sqrt(2)))
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (6, 5)), np.float64)
    with float64():
        got = np.asarray(kernel_fn(jnp.asarray(x), None, "ntk"))
    np.testing.assert_allclose(got, arccos_ntk(x), rtol=1e-10, atol=1e-12)


def hand_ntk(apply_fn, params, x):
    """J Jᵀ (unnormalized, (m, m, k, k)) from jacrev over flattened parameters."""
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    jac = jax.jacrev(lambda p: apply_fn(unravel(p), x))(flat)  # (m, k, P)
    return jnp.einsum("akp,bjp->abkj", jac, jac)


def small_net():
    stax = tangents.stax()
    init_fn, apply_fn, _ = stax.serial(
        stax.Dense(32), stax.Relu(), stax.Dense(16), stax.Erf(), stax.Dense(3)
    )
    x = jax.random.normal(jax.random.PRNGKey(3), (7, 5))
    _, params = init_fn(jax.random.PRNGKey(4), x.shape)
    return apply_fn, params, x


@pytest.mark.parametrize("name", ["JACOBIAN_CONTRACTION", "NTK_VECTOR_PRODUCTS", "STRUCTURED_DERIVATIVES"])
def test_empirical_ntk_equals_the_hand_written_jacobian_contraction(name):
    nt = tangents.neural_tangents()
    apply_fn, params, x = small_net()
    reference = hand_ntk(apply_fn, params, x)
    impl = getattr(nt.NtkImplementation, name)
    got = jax.jit(tangents.empirical_ntk_fn(apply_fn, impl, trace_axes=(), vmap_axes=0))(x, None, params)
    assert float(jnp.max(jnp.abs(got - reference)) / jnp.max(jnp.abs(reference))) < 2e-6


def test_structured_derivatives_run_natively_on_this_jax():
    """On every jax the book supports, the structured-derivatives NTK works (through the
    door's ``ad`` view where jax rewrote ``linearize``); if a new jax breaks it, this test
    fails while the book still runs on the fallback."""
    assert tangents.structured_derivatives_work(), tangents.status()
    assert tangents.status()["structured_derivatives"] == "works"


def test_the_fallback_gives_the_same_kernel_and_says_so_once(monkeypatch, capsys):
    nt = tangents.neural_tangents()
    structured = nt.NtkImplementation.STRUCTURED_DERIVATIVES
    monkeypatch.setattr(tangents, "_structured", {})
    monkeypatch.setattr(tangents, "_probe_structured", lambda nt: (_ for _ in ()).throw(NotImplementedError("jax moved")))
    assert tangents.choose_implementation(structured) == int(nt.NtkImplementation.JACOBIAN_CONTRACTION)
    apply_fn, params, x = small_net()
    via_fallback = ntk.dense_ntk(apply_fn, params, x, implementation=structured)
    out = capsys.readouterr().out
    assert out.count("catapult.tangents:") == 1 and "NotImplementedError: jax moved" in out
    assert "fallback (NotImplementedError: jax moved)" == tangents.status()["structured_derivatives"]
    monkeypatch.setattr(tangents, "_structured", {"ok": True, "reason": ""})
    direct = ntk.dense_ntk(apply_fn, params, x, implementation=structured)
    np.testing.assert_allclose(via_fallback, direct, rtol=2e-5, atol=1e-7)
    assert capsys.readouterr().out == ""


def test_a_wrong_structured_kernel_is_caught_by_the_check(monkeypatch, capsys):
    monkeypatch.setattr(tangents, "_structured", {})
    monkeypatch.setattr(tangents, "_probe_structured", lambda nt: 0.3)
    assert not tangents.structured_derivatives_work()
    assert "deviates from the Jacobian contraction by 3.0e-01" in capsys.readouterr().out


def test_unknown_implementation_is_refused():
    with pytest.raises(ValueError, match="unknown NTK implementation"):
        tangents.choose_implementation(17)


def test_linearize_equals_f_plus_jvp():
    nt = tangents.neural_tangents()
    apply_fn, params, x = small_net()
    f_lin = nt.linearize(apply_fn, params)
    delta = jax.tree_util.tree_map(lambda p: 0.01 * jnp.ones_like(p), params)
    moved = jax.tree_util.tree_map(jnp.add, params, delta)
    f0, df = jax.jvp(lambda p: apply_fn(p, x), (params,), (delta,))
    np.testing.assert_allclose(f_lin(moved, x), f0 + df, rtol=1e-5, atol=1e-6)


def test_batching_blocks_equal_the_whole_kernel():
    nt = tangents.neural_tangents()
    apply_fn, params, x = small_net()
    x = jnp.concatenate([x, x[:1]])  # 8 samples: blocks of 4
    kernel_fn = tangents.empirical_ntk_fn(apply_fn, None, trace_axes=(), vmap_axes=0)
    whole = jax.jit(kernel_fn)(x, None, params)
    blocks = nt.batch(kernel_fn, batch_size=4, device_count=0)(x, None, params)
    np.testing.assert_allclose(blocks, whole, rtol=1e-5, atol=1e-6)


def test_float64_switch():
    with float64():
        assert jnp.ones(2).dtype == jnp.float64
    assert jnp.ones(2).dtype == jnp.float32
