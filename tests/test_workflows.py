"""The GitHub Actions workflows call the project's own scripts and nothing that is not in the
repository. (They cannot run here; .ci/run lints them with actionlint.)"""

import json
import os
import re
import shlex
import subprocess
import sys
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


STACKS = ROOT / "stacks" / "stacks.py"
#: A stored copy of Colab's published pip-freeze (googlecolab/backend-info), with its source and date.
FREEZE = ROOT / "stacks" / "colab-pip-freeze.txt"


def _stacks(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, STACKS, *map(str, args)], capture_output=True, text=True, **kw)


def test_the_stored_freeze_says_where_and_when_it_was_read():
    head = [line for line in FREEZE.read_text().splitlines() if line.startswith("#")]
    text = "\n".join(head)
    assert re.search(r"googlecolab/backend-info/blob/[0-9a-f]{40}/pip-freeze\.txt", text)
    assert re.search(r"Read \d{4}-\d\d-\d\d", text) and "Committed" in text
    assert len([line for line in FREEZE.read_text().splitlines() if "==" in line]) > 500  # the whole freeze


def test_colab_txt_has_the_stored_freezes_version_of_every_package_it_lists():
    sys.path.insert(0, str(ROOT / "stacks"))
    import stacks

    ours, theirs = stacks.parse_freeze((ROOT / "stacks" / "colab.txt").read_text()), stacks.parse_freeze(FREEZE.read_text())
    differ = {n: (v, theirs[n]) for n, v in ours.items() if n in theirs and theirs[n] != v}
    assert not differ, f"stacks/colab.txt differs from Colab's freeze: {differ}"
    assert set(stacks.WATCHED) <= set(ours) & set(theirs)


def test_drift_passes_against_the_stored_freeze():
    same = _stacks("drift", FREEZE)
    assert same.returncode == 0, same.stderr
    assert "those of stacks/colab.txt" in same.stdout


def test_drift_fails_against_a_freeze_that_differs_and_names_what_moved(tmp_path):
    moved_freeze = tmp_path / "freeze.txt"
    text = FREEZE.read_text()
    jax = re.search(r"^jax==(\S+)$", text, re.M).group(1)
    moved_freeze.write_text(text.replace(f"\njax=={jax}\n", "\njax==9.9.9\n").replace("\ntqdm==", "\ntqdm==0.0.1\n#"))
    moved = _stacks("drift", moved_freeze)
    assert moved.returncode == 1
    assert f"jax: colab.txt {jax} -> Colab 9.9.9" in moved.stderr and "tqdm: colab.txt" in moved.stderr
    # Colab starting to ship neural-tangents would change what the cell installs: a drift too.
    moved_freeze.write_text(text + "neural-tangents==0.6.5\n")
    assert _stacks("drift", moved_freeze).returncode == 1


def _fake_gh(tmp_path, listed: str) -> tuple[dict, Path]:
    """A `gh` on the PATH that logs its arguments and answers `issue list` with ``listed``."""
    bin_ = tmp_path / "bin"
    bin_.mkdir(parents=True)
    log = tmp_path / "gh.log"
    gh = bin_ / "gh"
    gh.write_text(f"""#!{sys.executable}
import json, sys
with open({str(log)!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:3] == ["issue", "list"]:
    print({listed!r})
""")
    gh.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_}{os.pathsep}{os.environ['PATH']}"), log


def test_a_failing_week_opens_one_issue_then_comments_on_it(tmp_path):
    env, log = _fake_gh(tmp_path, "[]")
    first = _stacks("issue", "https://example.invalid/run/1", env=env)
    assert first.returncode == 0, first.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0][:2] == ["issue", "list"] and calls[1][:2] == ["issue", "create"]
    assert "Colab check failed" in calls[1] and any("run/1" in a for a in calls[1])

    log.unlink()
    env, log = _fake_gh(tmp_path / "again", json.dumps([{"number": 12, "title": "Colab check failed"},
                                                        {"number": 30, "title": "Another issue"}]))
    second = _stacks("issue", "https://example.invalid/run/2", env=env)
    assert second.returncode == 0, second.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c[:3] for c in calls[1:]] == [["issue", "comment", "12"]], "an open issue is commented on, not duplicated"
    assert any("run/2" in a for a in calls[1])
