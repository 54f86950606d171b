"""catapult: the shared library of catapult-book.

One module per idea. The science, in the order of the book:

- :mod:`catapult.warmup`     the warmup model of Sec. 2.1 (exact dynamics eqs. 6-7, GD, phases, sweeps)
- :mod:`catapult.relu_toy`   App. C.1's two-hidden-layer ReLU model on one sample (Fig. S7): units die beyond 4/λ0
- :mod:`catapult.full_model` the full model of Sec. 2.2 / App. D.1 (eqs. 10-11, S5) at any width
- :mod:`catapult.ntk`        the empirical NTK in the paper's normalization, its top eigenvalue
- :mod:`catapult.models`     the paper's networks (FC, CNN, Wide ResNet) as neural-tangents stax
- :mod:`catapult.train`      SGD learning-rate sweeps with λ schedules (Sec. 3, App. A)
- :mod:`catapult.linearize`  linearized networks as exact function-space GD (Sec. 4.1)
- :mod:`catapult.protocols`  the fixed-step and fixed-physical-time comparisons (Sec. 3.2)
- :mod:`catapult.sphere`     scale-invariant networks on the unit sphere (Sadrtdinov et al. 2024)
- :mod:`catapult.synthetic`  the synthetic task of chapter 6
- :mod:`catapult.stats`      statistics over independent seeds (chapters 5 and 6)
- :mod:`catapult.chapters`   what each chapter measures and claims, so its cells stay short

The machinery they share:

- :mod:`catapult.loop`       the one loop core: scan or Python loop, freeze-on-divergence, chunked evaluation
- :mod:`catapult.claims`     the paper's predictions checked against measurements; table, glue, JSON
- :mod:`catapult.scales`     every chapter's settings (typed records) at the smoke / ci / paper scales
- :mod:`catapult.plotting`   the book's figure style and phase-diagram helpers
- :mod:`catapult.fits`       line and power-law fits for scaling laws
- :mod:`catapult.data`       MNIST and CIFAR-10: a prepared folder, the cache, verified downloads, provenance
- :mod:`catapult.tangents`   the one door to neural-tangents 0.6.5 on today's jax, without TensorFlow
- :mod:`catapult.precision`  float64 on demand
- :mod:`catapult.gpu_cost`   the GPU measurements the pages cite
- :mod:`catapult.colab`      what a chapter's first cell runs in Google Colab
- :mod:`catapult.explorer`   chapter 1's explorer of the warmup model, shown as a cell's output
- :mod:`catapult.listing`    library code shown on a chapter's page (the recipe beside its figure)

The build (``python -m catapult build``) is the package ``catapult.book``; no chapter and no
science module imports it.
"""

from .scales import SCALES, settings

__version__ = "0.6.0"
__all__ = ["SCALES", "settings", "__version__"]
