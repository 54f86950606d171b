"""Scale-invariant networks trained on the unit sphere (the setting of Sadrtdinov et al. 2024; chapter 6).

Every hidden layer is followed by a normalization without learnable scale or shift, and
the last layer is fixed, so the network's output does not change when the trainable
weights are multiplied by any α > 0: f(αw) = f(w). Its gradient is then orthogonal to w
and shrinks as 1/‖w‖, so plain SGD changes the *effective* learning rate η/‖w‖² as the
norm drifts. Projecting w back onto the unit sphere after every step,

    w ← (w − η ĝ) / ‖w − η ĝ‖,

keeps ‖w‖ = 1 and the effective learning rate fixed at η. With the weights held as one
flat vector, the whole state of a run is a point on the sphere S^{D−1}, and "where a run
ends" has a plain geometry: the angle between two end points, and the loss along the
straight line between them (the linear-interpolation barrier).

One module per idea, everything re-exported here (``catapult.sphere.mlp``, ...):

- :mod:`~catapult.sphere.networks`: :func:`mlp` (the synthetic task's network, Sec. 6),
  :func:`convnet` and :func:`resnet18` (Sec. 3 and App.) build scale-invariant networks
  (:class:`SphereNet`); :func:`build` picks one by name; :func:`loss_and_accuracy`;
- :mod:`~catapult.sphere.sgd`: projected SGD. :func:`pretrain` runs a sweep over
  pre-training learning rates (PLRs) and seeds as one compiled program (Sec. 3, Fig. 1);
  :func:`continue_pretraining` takes its end points further; :func:`finetune` continues
  every end point at several small fine-tuning learning rates (FLRs) and seeds, again as
  one program (Sec. 4, Fig. 2);
- :mod:`~catapult.sphere.geometry`: :func:`evaluate`, :func:`angle`,
  :func:`interpolation_errors`, :func:`barrier` (Sec. 5, Fig. 4) and :func:`sharpness`
  measure the end points;
- :mod:`~catapult.sphere.regimes`: :func:`classify_regimes` sorts PLRs into the paper's
  regimes 1 (convergence), 2 (chaotic equilibrium) and 3 (random walk) (Sec. 3, Fig. 1),
  :func:`subregimes` splits regime 2 into 2A and 2B (Sec. 4).

The statistics over seeds that chapter 6 reports (:func:`catapult.stats.mean_and_error`,
:func:`catapult.stats.best_inside_vs_outside`) live in :mod:`catapult.stats`, shared with
chapter 5; the two names stay importable from here.

Divergence (a non-finite loss or weight) is recorded, never raised (see :func:`catapult.loop.scan_frozen`).
"""

from __future__ import annotations

from ..stats import best_inside_vs_outside, mean_and_error  # noqa: F401  (old home; use catapult.stats)
from . import geometry, networks, regimes, sgd
from .geometry import *  # noqa: F403
from .networks import *  # noqa: F403
from .regimes import *  # noqa: F403
from .sgd import *  # noqa: F403

# networks, projected SGD, geometry of end points, regimes
__all__ = [*networks.__all__, *sgd.__all__, *geometry.__all__, *regimes.__all__]
