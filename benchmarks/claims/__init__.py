"""The paper's claims at equal compute (``benchmarks/paper_claims.py``), split by part:

- ``scales``: the run sizes (tiny for tests, cpu for a 2-core machine, gpu for one CUDA GPU);
- ``payload``: the self-contained inputs (prompt and evaluator embeddings, checkpoints);
- ``quality``: scoring a model on val/test (evaluator, rule checks, reward) and the reward probe;
- ``runs``: one fine-tuning run with its budgets, probes and snapshots; the methods and ablations;
- ``efficiency``: memory versus trajectory length, gradient norm per denoising step;
- ``analysis``: seeds -> means and confidence intervals, thresholds, headline ratios;
- ``figures`` and ``report``: PNG figures and the markdown table from the results JSON.
"""
