# Copyright (c) invtoolbox contributors. All rights reserved.
"""invtoolbox's experiments: benchmark scripts, equal-budget comparisons, a
training curve, and single-file re-statements of the official code that
serve as baselines and test oracles.

Not part of the installed library. Run the scripts from the repository root
as modules, e.g. ``python -m benchmarks.benchmark_irn --repeats 1``; see
``benchmarks/README.md``.
"""
