"""The build's terminal stays quiet: chapters' kernels talk over local sockets, so ipykernel
does not warn once per chapter that it "is running over TCP without encryption"."""

import os
import subprocess
import sys
import textwrap

import pytest

from catapult.book import execute


@pytest.mark.skipif(os.name != "posix", reason="IPC transport is POSIX only; TCP elsewhere")
def test_kernels_run_over_ipc_with_sockets_outside_the_book():
    km = execute._kernel_manager_class()()
    assert km.transport == "ipc"
    assert os.path.isabs(km.ip) and len(km.ip) < 80, "the kernel's working directory (book/) must not get sockets"


@pytest.mark.build
def test_a_chapter_kernel_prints_no_jupyter_warning(tmp_path):
    script = textwrap.dedent(
        f"""
        import nbformat, papermill as pm
        from catapult.book import execute
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("x = 1 + 1")]
        nbformat.write(nb, {str(tmp_path / "a.ipynb")!r})
        pm.execute_notebook({str(tmp_path / "a.ipynb")!r}, {str(tmp_path / "b.ipynb")!r}, kernel_name="python3",
                            progress_bar=False, kernel_manager_class=execute._kernel_manager_class())
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "without encryption" not in out.stderr and "WARNING" not in out.stderr, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ipynb", "b.ipynb"], "no socket files left behind"
