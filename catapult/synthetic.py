"""A binary task with planted features of known usefulness (after the synthetic task of
Sadrtdinov et al. 2024, Sec. 6).

The input is K two-dimensional *features* side by side (dimension 2K). Each feature is a
point in the square [-2, 2]²; its class is decided by which side of a V-shaped boundary
curve ``x₂ = |x₁| − 1`` it lies on (class 1 above, class 0 below), with a gap of width
``2·margin`` around the curve, so that no single linear unit can read it. Feature k is
*informative* for a fraction ``usefulness[k]`` of the samples; for the others its point
is drawn on the boundary curve itself, where it says nothing about the class. The
usefulness of each feature is therefore planted, and "which features did a network learn"
has a ground truth, measured by two probes:

- :func:`isolate` keeps one feature informative and puts every other one on its
  boundary: the accuracy of a network on such inputs is what it can read from that
  feature alone (0.5 if it ignores it);
- :func:`ablate` puts one feature on its boundary in every sample: the accuracy lost is
  how much the network depends on it.

The data are generated in numpy from an integer seed (rejection sampling), so every
scale and every test sees exactly the same task.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import positive_float, positive_int

#: The feature's square is [-LIM, LIM]².
LIM = 2.0


@dataclass(frozen=True)
class PlantedTask:
    """A train and a test set of the planted-feature task.

    ``x_*``: float32 (N, 2K); ``y_*``: int32 labels in {0, 1}; ``informative_*``: bool
    (N, K), whether feature k carries the class of sample n; ``usefulness``: the planted
    fraction of informative samples per feature; ``margin``: half-width of the gap.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    informative_train: np.ndarray
    informative_test: np.ndarray
    usefulness: np.ndarray
    margin: float
    seed: int
    noise_dims: int = 0

    @property
    def num_features(self) -> int:
        return int(self.usefulness.size)

    @property
    def input_dim(self) -> int:
        return 2 * self.num_features + self.noise_dims


def boundary(x1: np.ndarray) -> np.ndarray:
    """The class boundary of every feature: x₂ = |x₁| − 1."""
    return np.abs(x1) - 1.0


def feature_label(points: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Class of 2-d feature points (..., 2): 1 above the boundary by more than ``margin``,
    0 below it by more than ``margin``, -1 inside the gap."""
    points = np.asarray(points, dtype=float)
    d = points[..., 1] - boundary(points[..., 0])
    return np.where(d > margin, 1, np.where(d < -margin, 0, -1))


def _sample_class(rng: np.random.Generator, label: int, n: int, margin: float) -> np.ndarray:
    """``n`` points uniform on the part of the square on the class's side of the gap."""
    out = np.empty((0, 2))
    while len(out) < n:
        cand = rng.uniform(-LIM, LIM, size=(max(64, 3 * (n - len(out))), 2))
        out = np.concatenate([out, cand[feature_label(cand, margin) == label]])
    return out[:n]


def _sample_boundary(rng: np.random.Generator, n: int) -> np.ndarray:
    x1 = rng.uniform(-LIM, LIM, size=n)
    return np.stack([x1, boundary(x1)], axis=-1)


def _check_usefulness(usefulness: np.ndarray | list[float] | tuple[float, ...]) -> np.ndarray:
    u = np.atleast_1d(np.asarray(usefulness, dtype=float))
    if u.ndim != 1 or u.size == 0:
        raise ValueError(f"usefulness must be a non-empty list of fractions, one per feature, got {usefulness!r}.")
    if not np.all(np.isfinite(u)) or np.any(u < 0) or np.any(u > 1):
        raise ValueError(f"every usefulness must be a fraction in [0, 1], got {u.tolist()}.")
    return u


def _sample_set(rng: np.random.Generator, usefulness: np.ndarray, n: int, margin: float, noise_dims: int = 0):
    k = usefulness.size
    y = rng.integers(0, 2, size=n).astype(np.int32)
    informative = np.zeros((n, k), dtype=bool)
    for j, p in enumerate(usefulness):  # exactly round(p·n) informative samples per feature
        informative[rng.permutation(n)[: int(round(p * n))], j] = True
    x = np.empty((n, k, 2))
    for j in range(k):
        x[:, j] = _sample_boundary(rng, n)
        for label in (0, 1):
            rows = informative[:, j] & (y == label)
            x[rows, j] = _sample_class(rng, label, int(rows.sum()), margin)
    x = np.concatenate([x.reshape(n, 2 * k), rng.standard_normal((n, noise_dims))], axis=1)
    return x.astype(np.float32), y, informative


def make_task(
    usefulness: np.ndarray | list[float] | tuple[float, ...],
    n_train: int,
    n_test: int,
    *,
    margin: float = 0.1,
    noise_dims: int = 0,
    seed: int = 0,
) -> PlantedTask:
    """Draw the task: K = len(usefulness) features, feature k informative on a fraction
    ``usefulness[k]`` of the samples (the same fractions in the train and the test set),
    followed by ``noise_dims`` standard normal coordinates that carry no signal."""
    u = _check_usefulness(usefulness)
    n_train = positive_int("n_train", n_train)
    n_test = positive_int("n_test", n_test)
    margin = positive_float("margin", margin)
    if margin >= 1.0:
        raise ValueError(f"margin must be below 1 (the boundary would swallow a class), got {margin}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if isinstance(noise_dims, bool) or not isinstance(noise_dims, (int, np.integer)) or noise_dims < 0:
        raise ValueError(f"noise_dims must be a non-negative integer, got {noise_dims!r}.")
    rng = np.random.default_rng(int(seed))
    xtr, ytr, itr = _sample_set(rng, u, n_train, margin, int(noise_dims))
    xte, yte, ite = _sample_set(rng, u, n_test, margin, int(noise_dims))
    return PlantedTask(xtr, ytr, xte, yte, itr, ite, u, float(margin), int(seed), int(noise_dims))


def _check_feature(task: PlantedTask, k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < task.num_features:
        raise ValueError(f"feature index must be an integer in [0, {task.num_features}), got {k!r}.")
    return int(k)


def ablate(task: PlantedTask, k: int, x: np.ndarray | None = None, *, seed: int = 1) -> np.ndarray:
    """Inputs (default: the test set) with feature ``k`` moved onto its boundary in every sample."""
    k = _check_feature(task, k)
    x = np.array(task.x_test if x is None else x, dtype=np.float32, copy=True)
    if x.ndim != 2 or x.shape[1] != task.input_dim:
        raise ValueError(f"x must have shape (N, {task.input_dim}), got {x.shape}.")
    x[:, 2 * k : 2 * k + 2] = _sample_boundary(np.random.default_rng(seed), len(x))
    return x


def isolate(task: PlantedTask, k: int, n: int = 1000, *, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A fresh set of ``n`` samples in which only feature ``k`` is informative (in every
    sample) and every other feature lies on its boundary; returns (x, y)."""
    k = _check_feature(task, k)
    n = positive_int("n", n)
    u = np.zeros(task.num_features)
    u[k] = 1.0
    rng = np.random.default_rng([int(seed), k, task.seed])
    x, y, _ = _sample_set(rng, u, n, task.margin, task.noise_dims)
    return x, y


def isolated_sets(task: PlantedTask, n: int = 1000, *, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """:func:`isolate` for every feature, stacked: x (K, n, 2K), y (K, n)."""
    pairs = [isolate(task, k, n, seed=seed) for k in range(task.num_features)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def ablated_sets(task: PlantedTask, *, seed: int = 1) -> np.ndarray:
    """:func:`ablate` of the test set for every feature, stacked: (K, N_test, 2K)."""
    return np.stack([ablate(task, k, seed=seed) for k in range(task.num_features)])


def bayes_accuracy(task: PlantedTask, which: str = "test") -> float:
    """Accuracy of the ideal reader: right whenever some feature is informative, a coin flip otherwise."""
    inf = task.informative_test if which == "test" else task.informative_train
    any_inf = inf.any(axis=1)
    return float(any_inf.mean() + 0.5 * (~any_inf).mean())
