"""The stack: requirements.txt is a full lock without TensorFlow, it is what is installed, and
the other stacks' files (stacks/) agree with the package's declared ranges."""

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"tensorflow", "tensorflow-cpu", "tf2jax", "keras", "tf-keras"}


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)==([^\s#;]+)", line)
        if m:
            out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def requirement_lines(path: Path) -> list[str]:
    return [l.split("#")[0].strip() for l in path.read_text().splitlines() if l.split("#")[0].strip()]


@pytest.mark.parametrize("name", ["requirements.txt", "stacks/colab.txt", "stacks/colab-harness.txt",
                                  "stacks/runner-image.txt", "stacks/runner-carry.txt",
                                  "stacks/newest.txt"])
def test_every_stack_file_pins_every_package_exactly_and_holds_no_tensorflow(name):
    lines = requirement_lines(ROOT / name)
    assert lines and all("==" in l for l in lines), f"pin exactly in {name}: {[l for l in lines if '==' not in l]}"
    assert not FORBIDDEN & set(pins(ROOT / name)), f"{name} must not hold TensorFlow, tf2jax or keras"


def test_the_book_lock_is_what_is_installed():
    wrong = {n: (v, metadata.version(n)) for n, v in pins(ROOT / "requirements.txt").items()
             if metadata.version(n) != v}
    assert not wrong, f"installed versions differ from requirements.txt (pin, installed): {wrong}"


def test_no_tensorflow_is_installed():
    present = []
    for name in FORBIDDEN:
        try:
            metadata.version(name)
            present.append(name)
        except metadata.PackageNotFoundError:
            pass
    assert not present


def test_the_lock_covers_the_direct_requirements():
    locked = pins(ROOT / "requirements.txt")
    for line in requirement_lines(ROOT / "stacks" / "book.in"):
        req = Requirement(line)
        name = req.name.lower().replace("_", "-")
        assert name in locked, f"{req.name} of stacks/book.in is not in requirements.txt"
        assert req.specifier.contains(locked[name]), f"{req.name}: lock {locked[name]} outside {req.specifier}"


def test_pip_check_complains_only_about_neural_tangents_metadata():
    proc = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    assert sorted(lines) == [
        "neural-tangents 0.6.5 requires tensorflow, which is not installed.",
        "neural-tangents 0.6.5 requires tf2jax, which is not installed.",
    ], proc.stdout


def declared() -> list[Requirement]:
    return [Requirement(r) for r in metadata.requires("catapult-book") or [] if "extra ==" not in r]


@pytest.mark.parametrize("stack", ["requirements.txt", "stacks/colab.txt"])
def test_colab_and_the_lock_satisfy_the_declared_ranges(stack):
    """Installing catapult into Colab (or over the lock) must install nothing else."""
    have = pins(ROOT / stack)
    for req in declared():
        name = req.name.lower().replace("_", "-")
        assert name in have, f"{stack} lacks {req.name}, which catapult declares"
        assert req.specifier.contains(have[name]), f"{stack}: {req.name} {have[name]} is outside {req.specifier}"


def test_neural_tangents_is_not_a_declared_dependency():
    assert "neural-tangents" not in {r.name for r in declared()}  # it would pull TensorFlow in


def test_runner_carry_adds_only_what_the_image_lacks():
    image, carry = pins(ROOT / "stacks/runner-image.txt"), pins(ROOT / "stacks/runner-carry.txt")
    assert not set(image) & set(carry), "carry only packages the runner image does not have"
    assert image["jax"] == "0.11.2" and image["numpy"] == "2.5.2"
    assert {"neural-tangents", "frozendict", "papermill", "ipykernel", "nbclient", "nbformat"} <= set(carry)


def test_colab_stack_is_colabs_default_runtime():
    """The emulated Colab has the versions of Colab's stored pip-freeze for what the book imports
    (tests/test_workflows.py checks every other package of colab.txt against it too)."""
    colab = pins(ROOT / "stacks/colab.txt")
    freeze = pins(ROOT / "stacks/colab-pip-freeze.txt")
    book = ("jax", "jaxlib", "numpy", "optax", "scipy", "matplotlib", "frozendict", "ipykernel", "tqdm", "packaging")
    assert {k: colab[k] for k in book} == {k: freeze[k] for k in book}
    assert colab["ipykernel"].startswith("6.")
    assert "neural-tangents" not in colab and "catapult-book" not in colab


def test_the_package_version_is_pyprojects():
    import tomllib

    import catapult

    assert catapult.__version__ == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
