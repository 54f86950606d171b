"""MNIST and CIFAR-10 as float32 arrays with one-hot targets for the MSE loss (App. A).

``load(name, n_train, n_test, seed=..., classes=..., flatten=...)`` returns a
:class:`Dataset`: images scaled to [0, 1], then standardized per channel with the
mean and standard deviation of the chosen training subset (the same shift and scale
is applied to the test subset), and one-hot targets. Subsets are drawn uniformly
among the images of the requested classes, deterministically from ``seed``.

Where the arrays come from, in this order:

1. ``$CATAPULT_DATA_DIR/{mnist,cifar10}.npz``: prepared arrays (keys ``x_train``,
   ``y_train``, ``x_test``, ``y_test``; uint8 images, (N, 28, 28) for MNIST and
   (N, 32, 32, 3) for CIFAR-10; integer labels 0-9; optionally a ``note``), e.g. the files
   ``python -m catapult data`` made on a machine with network, copied to one without;
2. the same file in the cache folder (``$CATAPULT_CACHE``, else
   ``$XDG_CACHE_HOME/catapult-book``, else ``~/.cache/catapult-book``);
3. a download of the canonical archives (MNIST's four IDX gz files, CIFAR-10's python
   tarball), each checked against a pinned SHA-256 before it is renamed into the cache,
   converted once into the prepared file (written atomically), then removed.
   A verified archive placed in the cache folder by hand is used instead of downloading.

The cache only ever holds complete, verified files: downloads go to a temporary file
that is renamed (``os.replace``) after its checksum matches, and every failure removes
what it wrote. Processes that need the same data set at once (two chapters of a build)
take turns: one downloads and converts it under a lock in the cache folder
(``.<name>.lock``), the others wait, then read what it wrote.

A download shows a progress bar on stdout, unless ``CATAPULT_PROGRESS=0`` (the book's build
sets it, so that no bar lands in a page). :func:`sources` says which data the process has
read, for the provenance of a page: the canonical archives (by their SHA-256) or a prepared
file (by its own SHA-256 and its ``note``).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import os
import pickle
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Sequence

try:  # POSIX: the cache lock
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

import numpy as np

from ._checks import one_of, positive_int

__all__ = [
    "NAMES",
    "URLS",
    "ARCHIVES",
    "SHA256",
    "DataError",
    "Dataset",
    "load",
    "cache_dir",
    "prepared_path",
    "pool",
    "sources",
]


NAMES = ("mnist", "cifar10")

# Images per source: what each prepared file's x arrays look like after the sample axis.
_IMAGE_SHAPE = {"mnist": (28, 28), "cifar10": (32, 32, 3)}

# Base URLs of the canonical archives, tried in order; $CATAPULT_MNIST_URL /
# $CATAPULT_CIFAR10_URL replace the list with one base URL (a mirror, or a test server).
URLS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "cifar10": ["https://www.cs.toronto.edu/~kriz/"],
}
_URL_ENV = {"mnist": "CATAPULT_MNIST_URL", "cifar10": "CATAPULT_CIFAR10_URL"}

# The canonical archives and their SHA-256 (the values torchvision, TFDS and Keras pin).
ARCHIVES: dict[str, tuple[str, ...]] = {
    "mnist": (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ),
    "cifar10": ("cifar-10-python.tar.gz",),
}
SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    "cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
}

_KEYS = ("x_train", "y_train", "x_test", "y_test")
_TIMEOUT_S = 60.0
_CHUNK = 1 << 20
_WHAT_TO_DO = (
    "Connect to the internet and try again. Without a network here: on a machine that has one, run "
    "`python -m catapult data` (it downloads and verifies both data sets into its cache folder), copy "
    "mnist.npz and cifar10.npz from that folder to this machine and set CATAPULT_DATA_DIR to the folder "
    "holding them; or put the canonical archives (names and SHA-256 in catapult/data.py's SHA256) into "
    "the cache folder (CATAPULT_CACHE)."
)


class DataError(RuntimeError):
    """A data set could not be read, downloaded, verified or converted; the message says what to do."""


class Dataset(NamedTuple):
    """Train and test subsets of one data set, ready for an MSE fit.

    ``x_*``: float32, (N, H, W, C) or (N, H·W·C) when flattened, standardized per channel
    with the training subset's statistics. ``y_*``: float32 one-hot (N, k).
    ``labels_*``: int32 in 0..k-1, where label i stands for the original class ``classes[i]``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels_train: np.ndarray
    labels_test: np.ndarray
    name: str
    classes: tuple[int, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


# --------------------------------------------------------------------------- loading


def load(
    name: str,
    n_train: int,
    n_test: int,
    *,
    seed: int = 0,
    classes: Sequence[int] | None = None,
    flatten: bool = False,
) -> Dataset:
    """``n_train`` training and ``n_test`` test images of ``name`` ("mnist" or "cifar10").

    The subsets are drawn uniformly, without replacement, among the images whose label is
    in ``classes`` (all ten by default), from the source's train and test splits; the same
    ``seed`` gives the same subsets, and a larger ``n`` extends a smaller one. Labels are
    renumbered 0..k-1 in the order of ``classes``.
    """
    one_of("data set name", name, NAMES)
    n_train, n_test = positive_int("n_train", n_train), positive_int("n_test", n_test)
    seed = _seed(seed)
    classes = _classes(classes)
    if not isinstance(flatten, (bool, np.bool_)):
        raise ValueError(f"flatten must be True or False, got {flatten!r}.")

    path = prepared_path(name)
    raw = _read_prepared(str(path), *_stamp(path))
    _USED[name] = path
    streams = np.random.SeedSequence(seed).spawn(2)
    x_tr, lab_tr = _subset(raw, "train", n_train, classes, np.random.default_rng(streams[0]), name, path)
    x_te, lab_te = _subset(raw, "test", n_test, classes, np.random.default_rng(streams[1]), name, path)

    mean, std = _channel_stats(x_tr)
    x_tr, x_te = _standardize(x_tr, mean, std), _standardize(x_te, mean, std)
    if flatten:
        x_tr, x_te = x_tr.reshape(len(x_tr), -1), x_te.reshape(len(x_te), -1)
    eye = np.eye(len(classes), dtype=np.float32)
    return Dataset(x_tr, eye[lab_tr], x_te, eye[lab_te], lab_tr, lab_te, name, classes)


def _seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, got {seed!r}.")
    return int(seed)


def _classes(classes) -> tuple[int, ...]:
    if classes is None:
        return tuple(range(10))
    if isinstance(classes, (str, bytes)) or not isinstance(classes, (Sequence, np.ndarray)):
        raise ValueError(f"classes must be a sequence of labels in 0..9 such as (0, 1), got {classes!r}.")
    out = []
    for c in classes:
        if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)) or not 0 <= c <= 9:
            raise ValueError(f"classes must hold labels in 0..9, got {c!r} in {classes!r}.")
        out.append(int(c))
    if not out:
        raise ValueError("classes must name at least one label in 0..9 (or be None for all ten).")
    if len(set(out)) != len(out):
        raise ValueError(f"classes must not repeat a label, got {classes!r}.")
    return tuple(out)


def _subset(raw, split, n, classes, rng, name, path) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images of ``split`` with labels in ``classes``, in a seeded random order."""
    x, y = raw[f"x_{split}"], raw[f"y_{split}"]
    candidates = np.flatnonzero(np.isin(y, classes))
    if n > len(candidates):
        which = "" if classes == tuple(range(10)) else f" of classes {list(classes)}"
        raise ValueError(
            f"asked for {n} {split} images{which} of {name}, but {path} holds {len(candidates)}; "
            f"ask for at most {len(candidates)}"
            + (
                ", or unset CATAPULT_DATA_DIR so that the full data set is downloaded into the cache."
                if os.environ.get("CATAPULT_DATA_DIR")
                else "."
            )
        )
    idx = candidates[rng.permutation(len(candidates))[:n]]
    remap = np.full(10, -1, dtype=np.int32)
    remap[list(classes)] = np.arange(len(classes), dtype=np.int32)
    x = x[idx]
    if x.ndim == 3:  # MNIST: add the channel axis
        x = x[..., None]
    return x, remap[y[idx]]


def _channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of uint8 images scaled to [0, 1] (float64, one channel at a time)."""
    mean, std = np.empty(x.shape[-1]), np.empty(x.shape[-1])
    for c in range(x.shape[-1]):
        v = x[..., c].astype(np.float64) / 255.0
        mean[c] = v.mean()
        std[c] = v.std()
    return mean, np.where(std > 0, std, 1.0)


def _standardize(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    scale = (1.0 / (255.0 * std)).astype(np.float32)
    shift = (mean / std).astype(np.float32)
    return x.astype(np.float32) * scale - shift


# --------------------------------------------------------------------------- sources


def cache_dir() -> Path:
    """The folder downloads and prepared files are cached in."""
    if os.environ.get("CATAPULT_CACHE"):
        return Path(os.environ["CATAPULT_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "catapult-book"


def prepared_path(name: str) -> Path:
    """The prepared ``<name>.npz`` that :func:`load` reads, downloading it if no copy exists."""
    one_of("data set name", name, NAMES)
    data_dir = os.environ.get("CATAPULT_DATA_DIR")
    if data_dir:
        p = Path(data_dir).expanduser() / f"{name}.npz"
        if p.is_file():
            return p
    p = cache_dir() / f"{name}.npz"
    if p.is_file():
        return p
    return _download_and_convert(name)


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=4)
def _read_prepared(path: str, mtime_ns: int = 0, size: int = 0) -> dict[str, np.ndarray]:
    """The four arrays of a prepared file, checked loosely, read once per process
    (keyed on path, modification time and size, so a replaced file is read again)."""
    name = Path(path).stem
    fix = (
        f"Delete {path} so that it is downloaded again"
        if Path(path).parent == cache_dir()
        else f"Check CATAPULT_DATA_DIR={os.environ.get('CATAPULT_DATA_DIR', '')!s}: replace {path} with a good copy"
    )
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in _KEYS if k not in f.files]
            if missing:
                raise DataError(f"{path} lacks the arrays {missing} (it has {f.files}). {fix}.")
            arrays = {k: np.asarray(f[k]) for k in _KEYS}
    except DataError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, zlib.error, KeyError) as err:
        raise DataError(f"{path} is not a readable .npz file ({type(err).__name__}: {err}). {fix}.") from err

    shape = _IMAGE_SHAPE.get(name)
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        problem = None
        if x.dtype != np.uint8:
            problem = f"x_{split} has dtype {x.dtype}, expected uint8"
        elif shape is not None and x.shape[1:] != shape:
            problem = f"x_{split} has shape {x.shape}, expected (N, {', '.join(map(str, shape))})"
        elif y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            problem = f"y_{split} has shape {y.shape} and dtype {y.dtype}, expected integer labels of shape (N,)"
        elif len(x) != len(y) or len(x) == 0:
            problem = f"x_{split} holds {len(x)} images and y_{split} {len(y)} labels (expected as many, and some)"
        elif y.min() < 0 or y.max() > 9:
            problem = f"y_{split} has labels outside 0..9 ({y.min()}..{y.max()})"
        if problem:
            raise DataError(f"{path}: {problem}. {fix}.")
        arrays[f"y_{split}"] = y.astype(np.int64)
    for a in arrays.values():
        a.setflags(write=False)
    return arrays


# --------------------------------------------------------------------------- provenance

#: The prepared file :func:`load` read for each data set in this process.
_USED: dict[str, Path] = {}


def sources() -> list[dict[str, Any]]:
    """Which data this process has read through :func:`load`, one record per data set, for a
    page's provenance: ``name``; ``origin``, "canonical archives" when the prepared file was
    converted from the canonical archives (its ``archives`` entry lists them with their SHA-256,
    as :func:`prepared_path` writes it) or "prepared file" otherwise; ``file`` and its
    ``sha256``; ``folder`` ("CATAPULT_DATA_DIR" or "cache"); ``archives``; the ``images`` of each
    split; and the file's ``note``."""
    return [_source(name, path) for name, path in sorted(_USED.items()) if path.is_file()]


def _source(name: str, path: Path) -> dict[str, Any]:
    info = _file_info(str(path), *_stamp(path))
    raw = _read_prepared(str(path), *_stamp(path))
    data_dir = os.environ.get("CATAPULT_DATA_DIR")
    in_data_dir = bool(data_dir) and path.parent.resolve() == Path(data_dir).expanduser().resolve()
    return {
        "name": name,
        "origin": "canonical archives" if set(info["archives"]) == set(ARCHIVES[name]) else "prepared file",
        "file": path.name,
        "sha256": info["sha256"],
        "folder": "CATAPULT_DATA_DIR" if in_data_dir else "cache",
        "archives": info["archives"],
        "images": {"train": int(len(raw["y_train"])), "test": int(len(raw["y_test"]))},
        "note": info["note"],
    }


@functools.lru_cache(maxsize=4)
def _file_info(path: str, mtime_ns: int = 0, size: int = 0) -> dict[str, Any]:
    """SHA-256 of a prepared file, its ``note`` and the archives it says it was converted from
    (``{archive: sha256}``, only those whose checksum is the pinned one)."""
    note, archives = "", {}
    with np.load(path, allow_pickle=False) as f:
        if "note" in f.files:
            note = str(f["note"])
        if "archives" in f.files:
            for line in np.atleast_1d(f["archives"]).tolist():
                digest, _, fname = str(line).partition("  ")
                if SHA256.get(fname) == digest:
                    archives[fname] = digest
    return {"sha256": _sha256(Path(path)), "note": note, "archives": archives}


# --------------------------------------------------------------------------- download


def _base_urls(name: str) -> list[str]:
    override = os.environ.get(_URL_ENV[name])
    urls = [override] if override else list(URLS[name])
    return [u if u.endswith("/") else u + "/" for u in urls]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if need be) for the block.

    The lock file is never removed: removing it while another process waits on it would let a
    third take a lock on a new file at the same path. Where ``fcntl`` is missing (Windows) the
    block runs unlocked, as before locks existed.
    """
    with open(path, "a+b") as f:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _download_and_convert(name: str) -> Path:
    """Download (or reuse verified) archives into the cache, convert them, return the npz.

    Runs under the data set's lock in the cache folder: a second process that needs the same
    data set meanwhile waits, then finds the prepared file and returns it.
    """
    cache = cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(
            f"cannot create the cache folder {cache} ({err}). Set CATAPULT_CACHE to a writable folder, "
            "or CATAPULT_DATA_DIR to a folder holding mnist.npz and cifar10.npz."
        ) from err
    target = cache / f"{name}.npz"
    with _locked(cache / f".{name}.lock"):
        if target.is_file():  # another process made it while this one waited
            return target
        return _download_and_convert_locked(name, cache, target)


def _download_and_convert_locked(name: str, cache: Path, target: Path) -> Path:
    archives = [cache / f for f in ARCHIVES[name]]
    for a in archives:
        if a.is_file() and _sha256(a) != SHA256[a.name]:
            a.unlink()  # an old or damaged copy in our own cache: fetch it again
        if not a.is_file():
            _download(name, a)
    try:
        arrays = _convert_mnist(archives) if name == "mnist" else _convert_cifar10(archives[0])
        with _atomic(target) as tmp:
            np.savez(
                tmp,
                **arrays,
                note=np.array(f"{name} converted from {', '.join(ARCHIVES[name])} (SHA-256 verified) by catapult.data"),
                archives=np.array([f"{SHA256[f]}  {f}" for f in ARCHIVES[name]]),
            )
    except DataError:
        for a in archives:  # they verified yet do not convert: no use keeping them
            a.unlink(missing_ok=True)
        raise
    for a in archives:
        a.unlink(missing_ok=True)
    return target


def _download(name: str, dest: Path) -> None:
    """Fetch ``dest.name`` from the first base URL that answers, into ``dest``, verified."""
    failures = []
    for base in _base_urls(name):
        url = base + dest.name
        try:
            _fetch_verified(url, dest)
            return
        except (urllib.error.URLError, OSError, _Incomplete) as err:  # network: try the next mirror
            why = f"HTTP {err.code} {err.reason}" if isinstance(err, urllib.error.HTTPError) else None
            failures.append(f"{url}: {why or getattr(err, 'reason', None) or err}")
    raise DataError(
        f"could not download {dest.name} for {name} ({'; '.join(failures)}), and no local copy exists "
        f"(CATAPULT_DATA_DIR={os.environ.get('CATAPULT_DATA_DIR', '(unset)')}, cache {cache_dir()}). {_WHAT_TO_DO}"
    )


class _Incomplete(Exception):
    pass


def _fetch_verified(url: str, dest: Path) -> None:
    expected = SHA256[dest.name]
    digest = hashlib.sha256()
    with _atomic(dest) as tmp:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as resp:
            total = resp.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            got = 0
            with _progress(total, dest.name) as bar:
                while chunk := resp.read(_CHUNK):
                    tmp.write(chunk)
                    digest.update(chunk)
                    got += len(chunk)
                    bar(len(chunk))
        if total is not None and got != total:
            raise _Incomplete(f"the connection closed after {got} of {total} bytes")
        if digest.hexdigest() != expected:
            raise DataError(
                f"checksum mismatch for {url}: expected SHA-256 {expected}, got {digest.hexdigest()}. "
                f"The download was deleted. Try again later, or from another mirror (set "
                f"{_URL_ENV[_name_of(dest.name)]} to a base URL holding {dest.name}), or use copies prepared "
                f"elsewhere: set CATAPULT_DATA_DIR to their folder (`python -m catapult data` on a machine "
                f"whose download works makes them)."
            )


def _name_of(archive: str) -> str:
    return next(n for n, files in ARCHIVES.items() if archive in files)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def _atomic(dest: Path) -> Iterator[io.BufferedWriter]:
    """A temporary file beside ``dest``, renamed onto it only if the block succeeds."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as tmp:
            yield tmp
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


@contextlib.contextmanager
def _progress(total: int | None, desc: str):
    """A tqdm bar on stdout (never stderr: the book's build fails on stderr) if tqdm is installed,
    unless ``CATAPULT_PROGRESS=0`` (set by the book's build: a bar must not land in a page)."""
    if os.environ.get("CATAPULT_PROGRESS", "1").strip() == "0":
        yield lambda n: None
        return
    try:
        from tqdm import tqdm
    except ImportError:
        yield lambda n: None
        return
    with tqdm(total=total, desc=desc, unit="B", unit_scale=True, file=sys.stdout, mininterval=1.0) as bar:
        yield bar.update


# --------------------------------------------------------------------------- conversion


def _read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    """An IDX file (big-endian header: magic, one uint32 per dimension; then uint8 data)."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path} is not a complete gzip file ({type(err).__name__}: {err}); it was deleted, try again.") from err
    header = 4 * (1 + ndim)
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        raise DataError(f"{path} is not an IDX file with magic number {magic:#010x}; it was deleted, try again.")
    dims = tuple(int.from_bytes(raw[4 * (i + 1) : 4 * (i + 2)], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(dims)):
        raise DataError(f"{path} holds {len(raw) - header} data bytes, its header says {dims}; it was deleted, try again.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _convert_mnist(archives: list[Path]) -> dict[str, np.ndarray]:
    tr_x, tr_y, te_x, te_y = archives
    out = {
        "x_train": _read_idx(tr_x, 0x00000803, 3),
        "y_train": _read_idx(tr_y, 0x00000801, 1),
        "x_test": _read_idx(te_x, 0x00000803, 3),
        "y_test": _read_idx(te_y, 0x00000801, 1),
    }
    for split in ("train", "test"):
        x, y = out[f"x_{split}"], out[f"y_{split}"]
        if x.shape[1:] != (28, 28) or len(x) != len(y) or (len(y) and y.max() > 9):
            raise DataError(
                f"MNIST {split} archives disagree: images {x.shape}, labels {y.shape}; they were deleted, try again."
            )
    return out


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10's batch dicts: builtins and numpy arrays, nothing that runs code."""

    _ALLOWED = {
        ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store bytes
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        module = module.replace("numpy.core", "numpy._core")  # numpy 2 name, no deprecation warning
        return super().find_class(module, name)


def _convert_cifar10(archive: Path) -> dict[str, np.ndarray]:
    members = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for m in members:
                f = tar.extractfile(f"cifar-10-batches-py/{m}")
                if f is None:
                    raise KeyError(m)
                d = _NumpyOnlyUnpickler(io.BytesIO(f.read()), encoding="bytes").load()
                data = np.asarray(d[b"data"], dtype=np.uint8)
                labels = np.asarray(d[b"labels"], dtype=np.int64)
                if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
                    raise ValueError(f"{m}: data {data.shape}, labels {labels.shape}")
                batches[m] = (data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels)
    except (tarfile.TarError, OSError, EOFError, zlib.error, KeyError, ValueError, TypeError,
            pickle.UnpicklingError) as err:  # fmt: skip
        raise DataError(
            f"{archive} is not a complete CIFAR-10 python archive ({type(err).__name__}: {err}); "
            "it was deleted, try again."
        ) from err
    x_tr = np.concatenate([batches[m][0] for m in members[:5]])
    y_tr = np.concatenate([batches[m][1] for m in members[:5]])
    x_te, y_te = batches["test_batch"]
    if max(y_tr.max(), y_te.max()) > 9 or min(y_tr.min(), y_te.min()) < 0:
        raise DataError(f"{archive} has labels outside 0..9; it was deleted, try again.")
    return {
        "x_train": np.ascontiguousarray(x_tr),
        "y_train": y_tr.astype(np.uint8),
        "x_test": np.ascontiguousarray(x_te),
        "y_test": y_te.astype(np.uint8),
    }


def pool(x: Any, size: int) -> np.ndarray:
    """Average-pool NHWC images to ``size`` × ``size`` (the identity at their own size).

    ``size`` must divide the image side; used to shrink CIFAR-10 for CPU-scale chapters.
    """
    x = np.asarray(x)
    size = int(size)
    if x.ndim != 4 or size < 1 or x.shape[1] % size or x.shape[1] != x.shape[2]:
        raise ValueError(f"pool needs square NHWC images whose side is a multiple of size; got {x.shape} and size {size}.")
    f = x.shape[1] // size
    return x.reshape(x.shape[0], size, f, size, f, x.shape[3]).mean((2, 4)) if f > 1 else x
