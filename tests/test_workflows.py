"""The GitHub Actions workflows call the project's own scripts and nothing that is not in the
repository. (They cannot run here; .ci/run lints them with actionlint.)"""

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
#: Plumbing a workflow may use besides the repository's scripts (no logic of its own).
EXTERNAL = {"curl", "gh", "python3", "bash", "echo"}
REPO_PATH = re.compile(r"^(\.ci|stacks|catapult|benchmarks|tests|book)/")


def steps(path: Path):
    doc = yaml.safe_load(path.read_text())
    for job in doc["jobs"].values():
        yield from job.get("steps", [])


def commands(run: str) -> list[list[str]]:
    out = []
    for line in run.replace("\\\n", " ").splitlines():
        for part in re.split(r"&&|\|\||;|\|", line):
            words = shlex.split(part, comments=True)
            if words:
                out.append(words)
    return out


def test_there_are_the_four_workflows():
    assert {p.stem for p in WORKFLOWS} == {"ci", "publish", "colab", "gpu"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_every_command_a_workflow_runs_is_a_file_of_the_repository_or_plumbing(path):
    for step in steps(path):
        for words in commands(step.get("run", "")):
            program = words[0]
            assert program in EXTERNAL, f"{path.name}: {program!r} is neither a repository script nor allowed plumbing"
            for word in words[1:]:
                if REPO_PATH.match(word):
                    assert (ROOT / word).exists(), f"{path.name} calls {word}, which is not in the repository"
            if program in {"python3", "bash"}:
                target = words[1] if len(words) > 1 else ""
                if target == "-m":
                    assert words[2] == "catapult", f"{path.name}: python3 -m {words[2]}"
                else:
                    assert REPO_PATH.match(target) and (ROOT / target).exists(), (
                        f"{path.name}: `{' '.join(words)}` must run a script of the repository"
                    )


def test_the_workflows_call_the_scripts_they_are_for():
    text = {p.stem: p.read_text() for p in WORKFLOWS}
    assert "bash .ci/run" in text["ci"]
    assert "stacks/stacks.py colab" in text["colab"] and "stacks/stacks.py drift" in text["colab"]
    assert "stacks/runner.sh" in text["gpu"] and "stacks/runner.py prepare" in text["gpu"]
    assert "deploy-pages" in text["publish"]


def test_drift_names_what_moved(tmp_path):
    import subprocess
    import sys

    freeze = tmp_path / "freeze.txt"
    freeze.write_text((ROOT / "stacks" / "colab.txt").read_text())
    same = subprocess.run([sys.executable, ROOT / "stacks" / "stacks.py", "drift", freeze], capture_output=True, text=True)
    assert same.returncode == 0, same.stderr
    freeze.write_text(freeze.read_text().replace("jax==0.7.2", "jax==0.8.1"))
    moved = subprocess.run([sys.executable, ROOT / "stacks" / "stacks.py", "drift", freeze], capture_output=True, text=True)
    assert moved.returncode == 1 and "jax: colab.txt 0.7.2 -> Colab 0.8.1" in moved.stderr
