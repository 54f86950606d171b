"""The build of the book: execute every chapter with papermill, verify it, run Jupyter Book, check the site.

    python -m catapult build --scale {smoke,ci,paper} [--only CHAPTER ...] [--out _build] [--force]
    python -m catapult check-site [--out _build]
    python -m catapult colab-cell [NOTEBOOK ...]

1. Each notebook chapter of ``_toc.yml`` is executed, in order, with papermill into
   ``<out>/executed/`` (a mirror of the book's sources; ``book/`` is never written), in a
   kernel that runs this interpreter (:func:`~catapult.book.execute.kernel_spec_dir`), unless
   its cached copy is still valid: a chapter is re-executed only when its notebook, the
   science sources of ``catapult`` (every ``catapult/**/*.py`` but this package's),
   ``requirements.txt`` or the scale changed (content hash in
   ``<out>/executed/<chapter>.hash.json``, written only after a successful run; ``--force``
   re-executes everything). Editing the build re-executes no chapter.
2. A chapter that raised stops the build, naming the chapter and the failing cell; so
   does a chapter whose claims (see :mod:`catapult.claims`) do not all hold, naming them,
   and one that wrote to stderr (warnings would show on its page; XLA's and CUDA's own log
   lines at info or warning level are moved out of the page into ``<out>/logs/``). With
   ``--keep-going`` the build goes on past such a chapter and fails at its end.
3. Each chapter's claims are written to ``<out>/claims/<notebook stem>.json`` with the data sets
   it read, and a provenance box (:mod:`catapult.book.provenance`) is appended to its executed copy.
4. The other pages get a build-wide provenance box, the results page
   (:mod:`catapult.book.results`) is generated, and ``jupyter-book build -W -n --keep-going``
   builds the site from the executed mirror into ``<out>/html`` (incrementally: Sphinx
   re-reads only changed pages).
5. :mod:`catapult.book.site_check` opens every page in headless Chromium and fails the build
   on a missing figure, a traceback or stderr block, or a broken link or image.

One module per job; chapters never import this package (they import the science modules of
:mod:`catapult`, and on Colab :mod:`catapult.colab`):

- :mod:`catapult.book.cli`         the command line (``main``) and the whole build (``build``)
- :mod:`catapult.book.execute`     one chapter with papermill, its checks and claims file; the cache
- :mod:`catapult.book.site`        the executed mirror, ``jupyter-book build``, the site check's call
- :mod:`catapult.book.site_check`  every page in headless Chromium
- :mod:`catapult.book.provenance`  the provenance box at the end of every page
- :mod:`catapult.book.results`     the results page (every claim of every chapter)
- :mod:`catapult.book.colab_cell`  the Colab cell: its text, written first into every chapter
- :mod:`catapult.book.colab_pages` the executed chapters rendered for Colab (CommonMark, no MyST)
- :mod:`catapult.book.project`     the version, repository and release tag, from ``pyproject.toml``
- :mod:`catapult.book.headless`    one headless Chromium run, killed and retried if it hangs
- :mod:`catapult.book.explorer`    chapter 1's in-page explorer checked against :mod:`catapult.warmup`
- :mod:`catapult.book.toc`         the book's root, the pages and chapters of ``_toc.yml``
- :mod:`catapult.book.errors`      :class:`BuildError`
"""

from .errors import BuildError
from .toc import RESULTS_PAGE, ROOT, toc_entries, toc_notebooks

__all__ = ["BuildError", "RESULTS_PAGE", "ROOT", "toc_entries", "toc_notebooks"]
