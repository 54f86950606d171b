"""A binary task with planted features of known usefulness (after the synthetic task of
Sadrtdinov et al. 2024, Sec. 6).

The input is K two-dimensional *features* side by side (dimension 2K). Each feature is a
point in the square [-2, 2]²; its class is decided by where it lies relative to a
piecewise-linear boundary that no single linear unit can read. Two shapes:

- ``"tick"`` (the paper's): class 0 in the V-shaped band between the curves
  ``x₂ = |x₁| − 2`` and ``x₂ = |x₁|``, class 1 above the upper or below the lower curve;
  the boundary is both curves;
- ``"v"``: class 1 above the single curve ``x₂ = |x₁| − 1``, class 0 below it.

Around the boundary is a gap of half-width ``margin`` (measured perpendicular to the
arms, which have slope ±1) that no sample falls into. Feature k is *informative* for a
fraction ``usefulness[k]`` of the samples; for the others its point is drawn on the
boundary itself, where it says nothing about the class. The usefulness of each feature is
therefore planted (the paper uses 16 tick features, all informative in every sample), and
"which features did a network learn" has a ground truth, measured by two probes:

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

__all__ = [
    "LIM",
    "SHAPES",
    "PlantedTask",
    "boundary_offsets",
    "boundary",
    "on_boundary",
    "feature_label",
    "make_task",
    "ablate",
    "isolate",
    "isolated_sets",
    "ablated_sets",
    "bayes_accuracy",
    "effective_features",
]


#: The feature's square is [-LIM, LIM]².
LIM = 2.0

#: The feature shapes :func:`make_task` knows.
SHAPES = ("tick", "v")


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
    shape: str = "v"

    @property
    def num_features(self) -> int:
        return int(self.usefulness.size)

    @property
    def input_dim(self) -> int:
        return 2 * self.num_features + self.noise_dims


def _check_shape(shape: str) -> str:
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}.")
    return shape


def boundary_offsets(shape: str = "v") -> tuple[float, ...]:
    """The boundary of a feature is the curves x₂ = |x₁| + c for these offsets c."""
    return (0.0, -2.0) if _check_shape(shape) == "tick" else (-1.0,)


def boundary(x1: np.ndarray, shape: str = "v") -> np.ndarray:
    """The boundary curves at ``x1``: shape (len(boundary_offsets(shape)), *x1.shape)."""
    x1 = np.asarray(x1, dtype=float)
    return np.stack([np.abs(x1) + c for c in boundary_offsets(shape)])


def on_boundary(points: np.ndarray, shape: str = "v", *, atol: float = 1e-5) -> np.ndarray:
    """Whether 2-d feature points (..., 2) lie on the boundary (within ``atol``): the
    uninformative points of a feature."""
    points = np.asarray(points, dtype=float)
    curves = boundary(points[..., 0], shape)
    return np.any(np.abs(curves - points[..., 1]) <= atol, axis=0)


def feature_label(points: np.ndarray, margin: float = 0.0, shape: str = "v") -> np.ndarray:
    """Class of 2-d feature points (..., 2), -1 inside the gap of half-width ``margin``
    (perpendicular distance) around the boundary. ``"v"``: 1 above x₂ = |x₁| − 1, 0 below.
    ``"tick"``: 0 inside the band |x₁| − 2 < x₂ < |x₁|, 1 outside it."""
    points = np.asarray(points, dtype=float)
    gap = margin * np.sqrt(2.0)  # vertical extent of a perpendicular margin across a slope-±1 arm
    d = points[..., 1] - np.abs(points[..., 0])  # height above x₂ = |x₁|
    if _check_shape(shape) == "v":
        d = d + 1.0
        return np.where(d > gap, 1, np.where(d < -gap, 0, -1))
    inside = (d < -gap) & (d > -2.0 + gap)
    outside = (d > gap) | (d < -2.0 - gap)
    return np.where(outside, 1, np.where(inside, 0, -1))


def _sample_class(rng: np.random.Generator, label: int, n: int, margin: float, shape: str = "v") -> np.ndarray:
    """``n`` points uniform on the part of the square on the class's side of the gap."""
    out = np.empty((0, 2))
    while len(out) < n:
        cand = rng.uniform(-LIM, LIM, size=(max(64, 3 * (n - len(out))), 2))
        out = np.concatenate([out, cand[feature_label(cand, margin, shape) == label]])
    return out[:n]


def _sample_boundary(rng: np.random.Generator, n: int, shape: str = "v") -> np.ndarray:
    """``n`` points uniform along the boundary's curves (a curve chosen at random for each),
    kept inside the square."""
    offsets = np.asarray(boundary_offsets(shape))
    out = np.empty((0, 2))
    while len(out) < n:
        m = max(64, 2 * (n - len(out)))
        x1 = rng.uniform(-LIM, LIM, size=m)
        x2 = np.abs(x1) + offsets[rng.integers(0, offsets.size, size=m)]
        keep = np.abs(x2) <= LIM
        out = np.concatenate([out, np.stack([x1[keep], x2[keep]], axis=-1)])
    return out[:n]


def _check_usefulness(usefulness: np.ndarray | list[float] | tuple[float, ...]) -> np.ndarray:
    u = np.atleast_1d(np.asarray(usefulness, dtype=float))
    if u.ndim != 1 or u.size == 0:
        raise ValueError(f"usefulness must be a non-empty list of fractions, one per feature, got {usefulness!r}.")
    if not np.all(np.isfinite(u)) or np.any(u < 0) or np.any(u > 1):
        raise ValueError(f"every usefulness must be a fraction in [0, 1], got {u.tolist()}.")
    return u


def _sample_set(rng: np.random.Generator, usefulness: np.ndarray, n: int, margin: float, noise_dims: int = 0, shape: str = "v"):
    k = usefulness.size
    y = rng.integers(0, 2, size=n).astype(np.int32)
    informative = np.zeros((n, k), dtype=bool)
    for j, p in enumerate(usefulness):  # exactly round(p·n) informative samples per feature
        informative[rng.permutation(n)[: int(round(p * n))], j] = True
    x = np.empty((n, k, 2))
    for j in range(k):
        x[:, j] = _sample_boundary(rng, n, shape)
        for label in (0, 1):
            rows = informative[:, j] & (y == label)
            x[rows, j] = _sample_class(rng, label, int(rows.sum()), margin, shape)
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
    shape: str = "v",
) -> PlantedTask:
    """Draw the task: K = len(usefulness) features of the given ``shape`` ("tick" or "v"),
    feature k informative on a fraction ``usefulness[k]`` of the samples (the same fractions
    in the train and the test set), followed by ``noise_dims`` standard normal coordinates
    that carry no signal. The paper's task: 16 tick features, usefulness 1, margin 0.1."""
    u = _check_usefulness(usefulness)
    n_train = positive_int("n_train", n_train)
    n_test = positive_int("n_test", n_test)
    margin = positive_float("margin", margin)
    shape = _check_shape(shape)
    if margin >= (0.5 if shape == "tick" else 1.0):
        raise ValueError(f"margin must be below {0.5 if shape == 'tick' else 1} for shape {shape!r} (the gap would swallow a class), got {margin}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if isinstance(noise_dims, bool) or not isinstance(noise_dims, (int, np.integer)) or noise_dims < 0:
        raise ValueError(f"noise_dims must be a non-negative integer, got {noise_dims!r}.")
    rng = np.random.default_rng(int(seed))
    xtr, ytr, itr = _sample_set(rng, u, n_train, margin, int(noise_dims), shape)
    xte, yte, ite = _sample_set(rng, u, n_test, margin, int(noise_dims), shape)
    return PlantedTask(xtr, ytr, xte, yte, itr, ite, u, float(margin), int(seed), int(noise_dims), shape)


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
    x[:, 2 * k : 2 * k + 2] = _sample_boundary(np.random.default_rng(seed), len(x), task.shape)
    return x


def isolate(task: PlantedTask, k: int, n: int = 1000, *, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A fresh set of ``n`` samples in which only feature ``k`` is informative (in every
    sample) and every other feature lies on its boundary; returns (x, y)."""
    k = _check_feature(task, k)
    n = positive_int("n", n)
    u = np.zeros(task.num_features)
    u[k] = 1.0
    rng = np.random.default_rng([int(seed), k, task.seed])
    x, y, _ = _sample_set(rng, u, n, task.margin, task.noise_dims, task.shape)
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


def effective_features(accuracies, chance: float = 0.5) -> np.ndarray:
    """Effective number of features a model uses, from its accuracies with one feature at a
    time (:func:`isolated_sets`; last axis = features): the participation ratio
    (Σ_k u_k)² / Σ_k u_k² of u_k = max(a_k − chance, 0). It is 1 when one feature carries
    everything and K when all K are read equally well; NaN when none is above chance."""
    a = np.asarray(accuracies, dtype=float)
    if a.ndim == 0 or a.shape[-1] == 0:
        raise ValueError(f"accuracies must end with one entry per feature, got shape {a.shape}.")
    u = np.clip(a - chance, 0.0, None)
    s1, s2 = u.sum(-1), (u**2).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s2 > 0, s1**2 / np.where(s2 > 0, s2, 1.0), np.nan)
