"""How far a 100,000-row monitoring reference sample is from the whole training split.

The monitoring reference (``reference_data``) is a seeded uniform sample of at most
``ReferenceConfig.max_rows`` training rows (``tabular_classifier.evaluation.reference_sample``).
This measures what the sample changes in drift detection, on a synthetic 600,000-row training
split (the training share of 1M rows), three numeric shapes (normal, log-normal, exponential):

1. the distance between the sample and the split: the two-sample K-S statistic, and the
   Wasserstein distance divided by the split's standard deviation, which is the score of
   Evidently's default numeric test for references above 1000 rows (``wasserstein_stat_test``
   in ``evidently/legacy/calculations/stattests/wasserstein_distance_norm.py``: drift at
   >= 0.1);
2. the drift score of windows of 5,000 rows shifted by 0, 0.05, 0.1 and 0.2 standard
   deviations, against the whole split and against each sample, and whether the verdict at
   Evidently's 0.1 threshold ever differs.

Run::

    source scripts/env.sh && .venv/bin/python -m benchmarks.reference_sample   # about 30 s

Writes ``benchmarks/results/reference_sample.json``. Offline; nothing else is read.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.stats import ks_2samp, wasserstein_distance

from benchmarks.harness import RESULTS_DIR, machine_info, write_results
from tabular_classifier.config import ReferenceConfig
from tabular_classifier.evaluation import reference_sample

SPLIT_ROWS = 600_000
WINDOW_ROWS = 5_000
SEEDS = range(20)
SHIFTS = (0.0, 0.05, 0.1, 0.2)
THRESHOLD = 0.1  # Evidently's default for the normed Wasserstein distance
RESULTS = RESULTS_DIR / "reference_sample.json"


def _normed_wasserstein(reference: np.ndarray, current: np.ndarray) -> float:
    """Evidently's ``wasserstein_stat_test`` score: W1 / max(std(reference), 0.001)."""
    return float(wasserstein_distance(reference, current) / max(np.std(reference), 0.001))


def main() -> None:
    """Measure, print a Markdown table and write the results JSON."""
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    columns = {
        "normal": rng.normal(size=SPLIT_ROWS),
        "lognormal": rng.lognormal(size=SPLIT_ROWS),
        "exponential": rng.exponential(size=SPLIT_ROWS),
    }
    samples = [reference_sample(SPLIT_ROWS, ReferenceConfig(seed=seed)) for seed in SEEDS]
    results: dict[str, object] = {
        "split_rows": SPLIT_ROWS,
        "sample_rows": ReferenceConfig().max_rows,
        "seeds": len(SEEDS),
        "window_rows": WINDOW_ROWS,
        "threshold": THRESHOLD,
        "python": machine_info("python")["python"],
        "date": time.strftime("%Y-%m-%d"),
        "columns": {},
    }
    print("| column | K-S sample/split mean (max) | normed W sample/split mean (max) |")
    print("|---|---|---|")
    per_column: dict[str, object] = {}
    for name, split in columns.items():
        ks = [ks_2samp(split[keep], split).statistic for keep in samples]
        wd = [_normed_wasserstein(split, split[keep]) for keep in samples]
        std = float(np.std(split))
        windows = {}
        for shift in SHIFTS:
            window = rng.choice(split, WINDOW_ROWS) + shift * std
            full = _normed_wasserstein(split, window)
            sampled = [_normed_wasserstein(split[keep], window) for keep in samples]
            windows[str(shift)] = {
                "score_full_split": full,
                "score_samples_mean": float(np.mean(sampled)),
                "max_abs_difference": float(np.max(np.abs(np.array(sampled) - full))),
                "verdicts_differing": int(
                    sum((s >= THRESHOLD) != (full >= THRESHOLD) for s in sampled)
                ),
            }
        per_column[name] = {
            "ks_mean": float(np.mean(ks)),
            "ks_max": float(np.max(ks)),
            "normed_wasserstein_mean": float(np.mean(wd)),
            "normed_wasserstein_max": float(np.max(wd)),
            "windows": windows,
        }
        print(
            f"| {name} | {np.mean(ks):.4f} ({np.max(ks):.4f}) | "
            f"{np.mean(wd):.4f} ({np.max(wd):.4f}) |"
        )
    results["columns"] = per_column
    print(
        "\n| column | window shift (std) | score vs split | vs samples, max abs diff | "
        "verdicts differing (of 20) |"
    )
    print("|---|---|---|---|---|")
    for name, column in per_column.items():
        for shift, row in column["windows"].items():  # type: ignore[index]
            print(
                f"| {name} | {shift} | {row['score_full_split']:.4f} | "
                f"{row['max_abs_difference']:.4f} | {row['verdicts_differing']} |"
            )
    results["seconds"] = round(time.perf_counter() - started, 1)
    write_results(RESULTS, results)
    print(f"\nwrote {RESULTS} in {results['seconds']} s")


if __name__ == "__main__":
    main()
