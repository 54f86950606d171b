"""catapult.data without a network: tiny archives in the canonical formats, served from
127.0.0.1, run the real download-verify-convert-cache path; prepared files test the rest."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import json
import os
import pickle
import re
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from catapult import data

REPO = Path(__file__).resolve().parents[1]
# Read before the autouse fixture below hides it from every other test.
_SHARED_ENV = os.environ.get("CATAPULT_DATA_DIR")


def _closed_port_url() -> str:
    """A local URL nothing listens on: connecting fails at once, never reaching the internet."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No data dir, a fresh cache, unreachable mirrors and a private copy of the pins."""
    monkeypatch.delenv("CATAPULT_DATA_DIR", raising=False)
    monkeypatch.setenv("CATAPULT_CACHE", str(tmp_path / "cache"))
    dead = _closed_port_url()
    for env in ("CATAPULT_MNIST_URL", "CATAPULT_CIFAR10_URL"):
        monkeypatch.setenv(env, dead)
    monkeypatch.setattr(data, "URLS", {"mnist": [dead], "cifar10": [dead]})
    monkeypatch.setattr(data, "SHA256", dict(data.SHA256))
    data._read_prepared.cache_clear()
    yield
    data._read_prepared.cache_clear()


def _cache_files(tmp_path) -> list[str]:
    """Every file in the cache, hidden temporary files included, but the data sets' lock files
    (``.<name>.lock``, empty, kept on purpose: see ``data._locked``)."""
    cache = tmp_path / "cache"
    if not cache.exists():
        return []
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file() and p.suffix != ".lock")


# --------------------------------------------------------------------------- fixtures: archives


def _images(rng, n, shape, labels):
    """uint8 images whose brightness grows with the label, so that remapping can be checked."""
    noise = rng.integers(0, 40, (n, *shape))
    return (noise + 20 * labels.reshape(-1, *[1] * len(shape))).astype(np.uint8)


def _labels(rng, n):
    y = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(y)
    return y


def mnist_archives(n_train=40, n_test=20, seed=0):
    """The four MNIST IDX gz files (big-endian magic 2051 / 2049 and dimensions), and their arrays."""
    rng = np.random.default_rng(seed)
    arrays, files = {}, {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        y = _labels(rng, n)
        x = _images(rng, n, (28, 28), y)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
        files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(struct.pack(">IIII", 2051, n, 28, 28) + x.tobytes(), mtime=0)
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(struct.pack(">II", 2049, n) + y.tobytes(), mtime=0)
    return files, arrays


def _py2_style_pickle(obj) -> bytes:
    """A protocol-2 pickle naming numpy.core, as the original (Python 2) CIFAR-10 batches do."""
    return pickle.dumps(obj, protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def cifar10_archive(per_batch=6, n_test=12, seed=0, test_batch_obj=None):
    """cifar-10-python.tar.gz: cifar-10-batches-py/data_batch_1..5 and test_batch, dicts of
    b"data" (N, 3072) uint8 rows in CHW order and b"labels" lists; and the HWC arrays."""
    rng = np.random.default_rng(seed)
    buf, xs, ys = io.BytesIO(), [], []
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:

        def add(member, payload):
            info = tarfile.TarInfo(f"cifar-10-batches-py/{member}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))

        add("batches.meta", pickle.dumps({b"label_names": [b"airplane"] * 10}, protocol=2))
        for member, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
            y = _labels(rng, n)
            x = _images(rng, n, (32, 32, 3), y)
            xs.append(x)
            ys.append(y)
            obj = {b"batch_label": b"x", b"labels": [int(v) for v in y],
                   b"data": np.ascontiguousarray(x.transpose(0, 3, 1, 2).reshape(n, -1)),
                   b"filenames": [b"f.png"] * n}  # fmt: skip
            if member == "test_batch" and test_batch_obj is not None:
                add(member, test_batch_obj)
            elif member == "test_batch":
                add(member, pickle.dumps(obj, protocol=5))  # a modern pickle works too
            else:
                add(member, _py2_style_pickle(obj))
    arrays = {"x_train": np.concatenate(xs[:5]), "y_train": np.concatenate(ys[:5]), "x_test": xs[5], "y_test": ys[5]}
    return {"cifar-10-python.tar.gz": buf.getvalue()}, arrays


# --------------------------------------------------------------------------- fixtures: server


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        srv = self.server
        name = self.path.rsplit("/", 1)[-1]
        srv.hits.append(name)
        time.sleep(srv.delay)
        body = srv.files.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(srv.declared.get(name, len(body))))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def serve(monkeypatch):
    """serve(name, files, declared=None) -> server: serves ``files`` ({filename: bytes}) on
    127.0.0.1 and points ``name``'s download URL there; ``server.hits`` lists requests."""
    servers = []

    def start(name, files, declared=None, delay=0.0):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        srv.files, srv.declared, srv.hits, srv.delay = dict(files), dict(declared or {}), [], delay
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        monkeypatch.setenv(data._URL_ENV[name], f"http://127.0.0.1:{srv.server_address[1]}/")
        return srv

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def pin(files):
    """Pin the checksums to the fixture archives (the real pins are for the real files)."""
    for fname, body in files.items():
        data.SHA256[fname] = hashlib.sha256(body).hexdigest()


def write_prepared(folder: Path, name: str, n_train: int, n_test: int, seed: int = 0) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shape = data._IMAGE_SHAPE[name]
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        y = _labels(rng, n)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = _images(rng, n, shape, y), y
    np.savez(folder / f"{name}.npz", **arrays)
    return arrays


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    d = tmp_path / "prepared"
    write_prepared(d, "mnist", 60, 30)
    write_prepared(d, "cifar10", 50, 20)
    monkeypatch.setenv("CATAPULT_DATA_DIR", str(d))
    return d


# --------------------------------------------------------------------------- download path


def test_mnist_download_convert_load_then_cache(tmp_path, serve):
    files, arrays = mnist_archives()
    pin(files)
    srv = serve("mnist", files)
    ds = data.load("mnist", 30, 10)
    assert ds.x_train.shape == (30, 28, 28, 1) and ds.x_test.shape == (10, 28, 28, 1)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.float32
    assert sorted(srv.hits) == sorted(files)
    # Only the prepared file stays: archives removed after conversion, no temporary files.
    assert _cache_files(tmp_path) == ["mnist.npz"]
    with np.load(tmp_path / "cache" / "mnist.npz") as f:
        for k, v in arrays.items():
            np.testing.assert_array_equal(f[k], v)
    # A second load, even in a fresh process (in-process cache cleared), reads the cache.
    srv.shutdown()
    data._read_prepared.cache_clear()
    again = data.load("mnist", 30, 10)
    np.testing.assert_array_equal(again.x_train, ds.x_train)
    assert len(srv.hits) == 4


_CHILD = """
import json, sys
from catapult import data
data.SHA256.update(json.loads(sys.argv[1]))
ds = data.load(sys.argv[2], 20, 8, seed=1)
print(json.dumps({"sum": float(ds.x_train.sum()), "labels": ds.labels_train.tolist(), "sources": data.sources()}))
"""


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_two_processes_loading_at_once_from_an_empty_cache_both_succeed(tmp_path, serve, name):
    """Two chapters of a build (--jobs 2) that need the same data set at once, on a fresh machine:
    one downloads and converts it under the cache's lock, the other waits and reads its file."""
    files, _ = mnist_archives() if name == "mnist" else cifar10_archive()
    pin(files)
    srv = serve(name, files, delay=1.0)  # both processes ask before the first download can finish
    env = dict(os.environ, CATAPULT_CACHE=str(tmp_path / "cache"), CATAPULT_PROGRESS="0")
    env.pop("CATAPULT_DATA_DIR", None)
    pins = json.dumps({f: data.SHA256[f] for f in files})
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, pins, name], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err
    first, second = (json.loads(out) for out, _ in results)
    assert first == second  # the same images, read from the one prepared file
    assert first["sources"][0]["origin"] == "canonical archives"
    assert sorted(srv.hits) == sorted(files), "each archive was downloaded once, by one of the two processes"
    assert _cache_files(tmp_path) == [f"{name}.npz"]


def test_a_download_prints_no_progress_bar_when_catapult_progress_is_0(tmp_path, serve, capfd, monkeypatch):
    files, _ = cifar10_archive()
    pin(files)
    serve("cifar10", files)
    monkeypatch.setenv("CATAPULT_PROGRESS", "0")  # what the book's build sets for its chapters
    data.load("cifar10", 5, 5)
    assert capfd.readouterr() == ("", "")
    (tmp_path / "cache" / "cifar10.npz").unlink()
    data._read_prepared.cache_clear()
    monkeypatch.delenv("CATAPULT_PROGRESS")
    data.load("cifar10", 5, 5)
    out = capfd.readouterr()
    assert "cifar-10-python.tar.gz" in out.out and out.err == ""  # the bar, on stdout only


def test_sources_name_the_canonical_archives_or_the_prepared_file(tmp_path, serve, monkeypatch):
    files, _ = mnist_archives()
    pin(files)
    serve("mnist", files)
    data._USED.clear()
    data.load("mnist", 10, 5)
    (src,) = data.sources()
    assert src["name"] == "mnist" and src["origin"] == "canonical archives" and src["folder"] == "cache"
    assert src["archives"] == {f: data.SHA256[f] for f in data.ARCHIVES["mnist"]}
    assert src["images"] == {"train": 40, "test": 20}
    assert src["sha256"] == hashlib.sha256((tmp_path / "cache" / "mnist.npz").read_bytes()).hexdigest()
    # A prepared folder's file is named by its own checksum and note.
    prepared = tmp_path / "prepared"
    write_prepared(prepared, "mnist", 30, 10)
    monkeypatch.setenv("CATAPULT_DATA_DIR", str(prepared))
    data.load("mnist", 10, 5)
    (src,) = data.sources()
    assert src["origin"] == "prepared file" and src["folder"] == "CATAPULT_DATA_DIR" and src["archives"] == {}
    assert src["sha256"] == hashlib.sha256((prepared / "mnist.npz").read_bytes()).hexdigest()
    # Archives listed with other checksums than the pinned ones do not make a file canonical.
    a = dict(np.load(prepared / "mnist.npz"))
    np.savez(prepared / "mnist.npz", **a, archives=np.array([f"{'0' * 64}  {f}" for f in data.ARCHIVES["mnist"]]))
    data.load("mnist", 10, 5)
    assert data.sources()[0]["origin"] == "prepared file"
    data._USED.clear()


def test_cifar10_download_convert_load(tmp_path, serve):
    files, arrays = cifar10_archive()
    pin(files)
    srv = serve("cifar10", files)
    ds = data.load("cifar10", 25, 12)
    assert ds.x_train.shape == (25, 32, 32, 3) and ds.y_test.shape == (12, 10)
    assert srv.hits == ["cifar-10-python.tar.gz"]
    assert _cache_files(tmp_path) == ["cifar10.npz"]
    with np.load(tmp_path / "cache" / "cifar10.npz") as f:
        for k, v in arrays.items():  # rows decoded from CHW into HWC images
            np.testing.assert_array_equal(f[k], v)
    data.load("cifar10", 25, 12, seed=3)
    assert len(srv.hits) == 1


def test_verified_archive_in_cache_is_used_without_download(tmp_path):
    files, arrays = mnist_archives()
    pin(files)
    (tmp_path / "cache").mkdir()
    for fname, body in files.items():
        (tmp_path / "cache" / fname).write_bytes(body)
    ds = data.load("mnist", 40, 20)  # the mirrors are unreachable
    assert sorted(ds.labels_train.tolist()) == sorted(arrays["y_train"].tolist())
    assert _cache_files(tmp_path) == ["mnist.npz"]


def test_checksum_mismatch_leaves_nothing(tmp_path, serve):
    files, _ = cifar10_archive()
    data.SHA256["cifar-10-python.tar.gz"] = "0" * 64
    serve("cifar10", files)
    got = hashlib.sha256(files["cifar-10-python.tar.gz"]).hexdigest()
    with pytest.raises(data.DataError, match="checksum mismatch") as err:
        data.load("cifar10", 5, 5)
    assert "0" * 64 in str(err.value) and got in str(err.value) and "CATAPULT_DATA_DIR" in str(err.value)
    assert _cache_files(tmp_path) == []


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_truncated_archive_leaves_nothing(tmp_path, serve, name):
    """An archive cut short whose checksum nonetheless matches (a wrong pin): conversion fails."""
    files, _ = mnist_archives() if name == "mnist" else cifar10_archive()
    victim = data.ARCHIVES[name][-1]
    files[victim] = files[victim][: len(files[victim]) // 2]
    pin(files)
    serve(name, files)
    with pytest.raises(data.DataError, match="not a complete") as err:
        data.load(name, 5, 5)
    assert victim in str(err.value)
    assert _cache_files(tmp_path) == []


def test_connection_closed_early_leaves_nothing(tmp_path, serve):
    files, _ = cifar10_archive()
    pin(files)
    body = files["cifar-10-python.tar.gz"]
    serve("cifar10", {"cifar-10-python.tar.gz": body[:1000]}, declared={"cifar-10-python.tar.gz": len(body)})
    with pytest.raises(data.DataError, match=f"closed after 1000 of {len(body)} bytes"):
        data.load("cifar10", 5, 5)
    assert _cache_files(tmp_path) == []


def test_missing_on_server_says_what_to_do(tmp_path, serve):
    serve("mnist", {})
    with pytest.raises(data.DataError, match="404"):
        data.load("mnist", 5, 5)
    assert _cache_files(tmp_path) == []


def test_no_network_and_no_local_copy(tmp_path):
    with pytest.raises(data.DataError) as err:
        data.load("mnist", 5, 5)
    msg = str(err.value)
    assert "could not download" in msg and "CATAPULT_DATA_DIR" in msg and "mnist.npz" in msg and "Connect" in msg
    assert "python -m catapult data" in msg and "../shared" not in msg  # what a user without network does
    assert _cache_files(tmp_path) == []


def test_pickle_that_runs_code_is_refused(tmp_path, serve):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    files, _ = cifar10_archive(test_batch_obj=pickle.dumps(Evil()))
    pin(files)
    serve("cifar10", files)
    with pytest.raises(data.DataError, match="refusing to unpickle"):
        data.load("cifar10", 5, 5)
    assert _cache_files(tmp_path) == []


# --------------------------------------------------------------------------- prepared files


def test_data_dir_takes_precedence_over_cache(tmp_path, data_dir, monkeypatch):
    write_prepared(tmp_path / "cache", "mnist", 80, 30, seed=1)
    assert data.prepared_path("mnist") == data_dir / "mnist.npz"
    with pytest.raises(ValueError, match="holds 60"):
        data.load("mnist", 70, 5)  # the cache's copy would have 80
    assert data.load("mnist", 60, 5).x_train.shape[0] == 60
    # A data dir without the file falls through to the cache.
    monkeypatch.setenv("CATAPULT_DATA_DIR", str(tmp_path / "empty"))
    assert data.prepared_path("mnist") == tmp_path / "cache" / "mnist.npz"
    assert data.load("mnist", 70, 5).x_train.shape[0] == 70


def test_too_many_samples(data_dir):
    with pytest.raises(ValueError, match=r"asked for 61 train images of mnist, but .*holds 60; ask for at most 60"):
        data.load("mnist", 61, 5)
    with pytest.raises(ValueError, match="at most 30"):
        data.load("mnist", 5, 31)
    with pytest.raises(ValueError, match=r"classes \[0, 1\].*holds 12"):  # 6 of each class in 60
        data.load("mnist", 13, 2, classes=(0, 1))
    with pytest.raises(ValueError, match="CATAPULT_DATA_DIR"):
        data.load("cifar10", 51, 5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"name": "fashion_mnist"}, "mnist, cifar10"),
        ({"n_train": 0}, "n_train"),
        ({"n_train": -3}, "n_train"),
        ({"n_train": 2.5}, "n_train"),
        ({"n_train": True}, "n_train"),
        ({"n_train": "10"}, "n_train"),
        ({"n_test": 0}, "n_test"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"classes": ()}, "at least one"),
        ({"classes": (1, 1)}, "repeat"),
        ({"classes": (3, 10)}, "0..9"),
        ({"classes": (1.0, 2)}, "0..9"),
        ({"classes": "01"}, "sequence"),
        ({"flatten": "yes"}, "flatten"),
    ],
)
def test_bad_arguments(data_dir, kwargs, match):
    args = {"name": "mnist", "n_train": 10, "n_test": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        data.load(args.pop("name"), args.pop("n_train"), args.pop("n_test"), **args)


def test_deterministic_by_seed(data_dir):
    a, b = data.load("cifar10", 20, 10, seed=4), data.load("cifar10", 20, 10, seed=4)
    for x, y in zip(a[:6], b[:6]):
        np.testing.assert_array_equal(x, y)
    c = data.load("cifar10", 20, 10, seed=5)
    assert not np.array_equal(a.x_train, c.x_train) and not np.array_equal(a.x_test, c.x_test)
    # A larger subset extends a smaller one, and the test subset does not depend on n_train.
    big = data.load("cifar10", 40, 10, seed=4)
    np.testing.assert_array_equal(big.labels_train[:20], a.labels_train)
    np.testing.assert_array_equal(big.labels_test, a.labels_test)


@pytest.mark.parametrize("name, channels", [("mnist", 1), ("cifar10", 3)])
def test_standardized_with_training_statistics(data_dir, name, channels):
    n_train, n_test = (60, 30) if name == "mnist" else (50, 20)  # the whole fixture splits
    ds = data.load(name, n_train, n_test)
    x = ds.x_train.astype(np.float64)
    np.testing.assert_allclose(x.mean(axis=(0, 1, 2)), np.zeros(channels), atol=1e-5)
    np.testing.assert_allclose(x.std(axis=(0, 1, 2)), np.ones(channels), atol=1e-5)
    # The test images get the training subset's shift and scale: with the whole train split
    # drawn, that is the split's own per-channel statistics.
    with np.load(data_dir / f"{name}.npz") as f:
        raw_tr, raw_te = f["x_train"] / 255.0, f["x_test"] / 255.0
    if name == "mnist":
        raw_tr, raw_te = raw_tr[..., None], raw_te[..., None]
    mean, std = raw_tr.mean(axis=(0, 1, 2)), raw_tr.std(axis=(0, 1, 2))
    expected = np.sort(((raw_te - mean) / std).ravel())
    np.testing.assert_allclose(np.sort(ds.x_test.ravel()), expected, atol=1e-5)


def test_one_hot_and_class_remapping(data_dir):
    ds = data.load("mnist", 12, 6, classes=(7, 2))
    assert ds.classes == (7, 2) and ds.num_classes == 2
    assert ds.y_train.shape == (12, 2) and ds.labels_train.dtype == np.int32
    np.testing.assert_array_equal(ds.y_train, np.eye(2, dtype=np.float32)[ds.labels_train])
    np.testing.assert_array_equal(ds.y_train.sum(axis=1), 1.0)
    assert set(ds.labels_train.tolist()) == {0, 1}
    # The fixture's images brighten with the label: label 0 here is the original 7.
    brightness = ds.x_train.mean(axis=(1, 2, 3))
    assert brightness[ds.labels_train == 0].min() > brightness[ds.labels_train == 1].max()
    full = data.load("mnist", 60, 30)
    assert full.num_classes == 10 and full.classes == tuple(range(10)) and full.y_test.shape == (30, 10)
    assert sorted(full.labels_train.tolist()) == sorted(list(range(10)) * 6)


def test_flatten(data_dir):
    for name, dim in (("mnist", 784), ("cifar10", 3072)):
        flat, img = data.load(name, 8, 4, flatten=True), data.load(name, 8, 4)
        assert flat.x_train.shape == (8, dim) and flat.x_test.shape == (4, dim)
        np.testing.assert_array_equal(flat.x_train, img.x_train.reshape(8, -1))


@pytest.mark.parametrize(
    "content",
    [b"not a zip file at all", "truncated", "missing_key", "wrong_dtype", "bad_label"],
)
def test_corrupt_prepared_file_is_named(data_dir, content):
    path = data_dir / "mnist.npz"
    if content == "truncated":
        path.write_bytes(path.read_bytes()[:3000])
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        a = dict(np.load(path))
        if content == "missing_key":
            del a["y_test"]
        elif content == "wrong_dtype":
            a["x_train"] = a["x_train"].astype(np.float32)
        else:
            a["y_train"][0] = 12
        np.savez(path, **a)
    with pytest.raises(data.DataError, match=re.escape(str(path))) as err:
        data.load("mnist", 5, 5)
    assert "CATAPULT_DATA_DIR" in str(err.value)


def test_corrupt_cached_file_says_delete_it(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "cifar10.npz").write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(data.DataError, match="Delete .*cifar10.npz"):
        data.load("cifar10", 5, 5)


# --------------------------------------------------------------------------- the shared copies


def _shared_dir() -> Path | None:
    for d in (_SHARED_ENV, REPO.parent / "shared" / "data"):
        if d and (Path(d) / "mnist.npz").is_file() and (Path(d) / "cifar10.npz").is_file():
            return Path(d)
    return None


@pytest.mark.skipif(_shared_dir() is None, reason="no offline copies (CATAPULT_DATA_DIR or ../shared/data)")
def test_shared_offline_copies(monkeypatch):
    shared = _shared_dir()
    readme = (shared / "README.md").read_text() if (shared / "README.md").is_file() else ""
    pinned = dict(re.findall(r"`(\w+\.npz)`\s*\|\s*`([0-9a-f]{64})`", readme))
    for fname in ("mnist.npz", "cifar10.npz"):
        if fname in pinned:
            assert hashlib.sha256((shared / fname).read_bytes()).hexdigest() == pinned[fname], fname
    monkeypatch.setenv("CATAPULT_DATA_DIR", str(shared))
    m = data.load("mnist", 512, 256)
    assert m.x_train.shape == (512, 28, 28, 1) and m.y_train.shape == (512, 10)
    c = data.load("cifar10", 256, 128, classes=(3, 5), flatten=True)
    assert c.x_train.shape == (256, 3072) and c.y_test.shape == (128, 2)
    assert np.isfinite(m.x_train).all() and np.isfinite(c.x_test).all()
    with pytest.raises(ValueError, match="holds 8000"):
        data.load("mnist", 8001, 10)


def test_pool_averages_blocks_and_rejects_bad_sizes():
    x = np.arange(2 * 4 * 4 * 1, dtype=np.float32).reshape(2, 4, 4, 1)
    p = data.pool(x, 2)
    assert p.shape == (2, 2, 2, 1) and p[0, 0, 0, 0] == pytest.approx(np.mean([0, 1, 4, 5]))
    assert data.pool(x, 4) is x or np.array_equal(data.pool(x, 4), x)
    with pytest.raises(ValueError, match="multiple"):
        data.pool(x, 3)
