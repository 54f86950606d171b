"""The GPU runner's tooling (stacks/runner.py): the summary of a run and what it brings back.

The whole path (carried wheels and data, stacks/runner.sh, every chapter) runs in the emulated
runner image by `python3 stacks/stacks.py runner`, which .ci/run calls.
"""

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "stacks" / "runner.py"


def fake_build(build: Path, name: str, holds: list[bool], rc: int) -> None:
    (build / "claims").mkdir(parents=True, exist_ok=True)
    (build / "executed" / "book").mkdir(parents=True, exist_ok=True)
    claims = [{"id": f"c{i}", "holds": h} for i, h in enumerate(holds)]
    (build / "claims" / f"{name}.json").write_text(json.dumps(claims))
    (build / "executed" / "book" / f"{name}.ipynb").write_text("{}")
    if rc == 0:
        (build / "executed" / "book" / f"{name}.hash.json").write_text(json.dumps({"seconds": 12.5}))
    (build / f"{name}.rc").write_text(f"{rc}\n")
    (build / f"{name}.log").write_text("the chapter's log\n")


def summarize(build: Path, out: Path, *chapters: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, RUNNER, "summarize", "--build", build, "--out", out, "--scale", "ci",
                           *chapters], capture_output=True, text=True, timeout=60)


def test_summary_of_a_run_where_every_claim_holds(tmp_path):
    fake_build(tmp_path / "b", "01_a", [True, True], 0)
    proc = summarize(tmp_path / "b", tmp_path / "out", "01_a")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["chapters"] == [{"chapter": "01_a", "exit_status": 0, "seconds": 12.5, "claims": 2,
                                    "holding": 2, "failing": [], "all_hold": True, "not_claimed": [], "error": None}]
    with tarfile.open(tmp_path / "out" / "results.tar.gz") as tar:
        assert {"executed/book/01_a.ipynb", "claims/01_a.json", "01_a.log"} <= set(tar.getnames())
    assert len(list((tmp_path / "out").iterdir())) <= 8  # the device brings back at most 8 files


def test_a_failing_claim_or_chapter_fails_the_summary_and_is_named(tmp_path):
    fake_build(tmp_path / "b", "01_a", [True, False], 1)
    proc = summarize(tmp_path / "b", tmp_path / "out", "01_a", "02_missing")
    assert proc.returncode == 1
    chapters = json.loads((tmp_path / "out" / "summary.json").read_text())["chapters"]
    assert chapters[0]["failing"] == ["c1"] and "the chapter's log" in chapters[0]["error"]
    assert chapters[1]["exit_status"] is None and not chapters[1]["all_hold"]
    assert "FAILED" in proc.stdout


def test_the_runner_script_installs_only_into_its_own_folder():
    text = (ROOT / "stacks" / "runner.sh").read_text()
    assert "--no-index --no-deps" in text and '--target "$SITE"' in text
    assert "pip install" not in text.replace("python3 -m pip install -q --no-index", "")


def test_the_data_carried_is_what_the_source_folder_has(tmp_path):
    sys.path.insert(0, str(ROOT / "stacks"))
    try:
        import runner
    finally:
        sys.path.pop(0)
    (tmp_path / "mnist.npz").write_bytes(b"x")
    assert runner.data_to_carry("auto", tmp_path) == [tmp_path / "mnist.npz"]
    assert runner.data_to_carry("auto", tmp_path / "absent") == []  # e.g. GitHub: the chapters download
    assert runner.data_to_carry("", tmp_path) == []
    with pytest.raises(SystemExit, match="cifar10.npz is missing"):
        runner.data_to_carry("mnist,cifar10", tmp_path)


def test_a_prediction_the_scale_does_not_claim_is_named_and_never_fails_the_summary(tmp_path):
    fake_build(tmp_path / "b", "01_a", [True], 0)
    path = tmp_path / "b" / "claims" / "01_a.json"
    path.write_text(json.dumps(json.loads(path.read_text()) + [{"id": "shown", "holds": False, "claimed": False}]))
    assert summarize(tmp_path / "b", tmp_path / "out", "01_a").returncode == 0
    (chapter,) = json.loads((tmp_path / "out" / "summary.json").read_text())["chapters"]
    assert chapter["all_hold"] and chapter["claims"] == 1 and chapter["not_claimed"] == ["shown"]


def test_a_chapter_that_claims_nothing_at_its_scale_passes_but_one_without_claims_file_does_not(tmp_path):
    fake_build(tmp_path / "b", "05_a", [True], 0)
    path = tmp_path / "b" / "claims" / "05_a.json"
    path.write_text(json.dumps([{"id": "shown", "holds": False, "claimed": False}]))
    assert summarize(tmp_path / "b", tmp_path / "out", "05_a").returncode == 0
    (chapter,) = json.loads((tmp_path / "out" / "summary.json").read_text())["chapters"]
    assert chapter["all_hold"] and chapter["claims"] == 0 and chapter["not_claimed"] == ["shown"]
    path.unlink()  # the chapter stopped before its claims cell
    assert summarize(tmp_path / "b", tmp_path / "out", "05_a").returncode == 1
