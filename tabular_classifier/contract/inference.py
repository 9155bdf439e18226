"""Building a contract's feature specs: from the training split, then from the fitted model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from tabular_classifier.contract.spec import FeatureSpec, scorable_z_bound


def infer_specs(
    frame: pd.DataFrame, numeric_features: Sequence[str], categorical_features: Sequence[str]
) -> list[FeatureSpec]:
    """Each feature's logical type, nullability and range, inferred from the training split.

    See :meth:`tabular_classifier.contract.RowContract.infer` for the rules.

    Args:
        frame: The training split (n rows), numeric features already numbers.
        numeric_features: The schema's numeric features.
        categorical_features: The schema's categorical features.

    Returns:
        One spec per feature, numeric ones first, without categories or scorable bounds.

    Raises:
        KeyError: If the frame lacks a feature column.
        ValueError: If a numeric feature holds booleans (naming the column).
    """
    specs: list[FeatureSpec] = []
    for name in numeric_features:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series.dtype):
            raise ValueError(f"column '{name}': booleans in a numeric feature")
        values = pd.to_numeric(series).to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[np.isfinite(values)]
        integer = pd.api.types.is_integer_dtype(series.dtype)
        specs.append(
            FeatureSpec(
                name=name,
                type="integer" if integer else "float",
                nullable=bool(np.isnan(values).any()),
                minimum=float(finite.min()) if finite.size else None,
                maximum=float(finite.max()) if finite.size else None,
            )
        )
    for name in categorical_features:
        series = frame[name]
        present = series.dropna()
        boolean = pd.api.types.is_bool_dtype(series.dtype) or (
            len(present) > 0
            and all(isinstance(value, bool | np.bool_) for value in present.astype(object))
        )
        specs.append(
            FeatureSpec(
                name=name,
                type="boolean" if boolean else "categorical",
                nullable=bool(series.isna().any()),
            )
        )
    return specs


def model_specs(
    features: Sequence[FeatureSpec],
    n_numeric: int,
    categories: Sequence[Sequence[str]],
    means: np.ndarray,
    scales: np.ndarray,
    layers: Sequence[tuple[np.ndarray, np.ndarray]],
) -> list[FeatureSpec]:
    """``features`` with the fitted model's categories and scorable bounds added.

    See :meth:`tabular_classifier.contract.RowContract.with_model` for the arguments.

    Raises:
        ValueError: If the lengths disagree with the features.
    """
    from tabular_classifier.feature_arrays import MISSING_CATEGORY

    non_numeric = features[n_numeric:]
    if len(categories) != len(non_numeric) or len(means) != n_numeric:
        raise ValueError("row contract: the model's preprocessing does not match its features")
    z = scorable_z_bound(layers)
    specs = [
        replace(
            spec,
            lower=float(means[i] - z * scales[i]),
            upper=float(means[i] + z * scales[i]),
        )
        for i, spec in enumerate(features[:n_numeric])
    ]
    specs += [
        replace(spec, categories=tuple(c for c in known if c != MISSING_CATEGORY))
        for spec, known in zip(non_numeric, categories, strict=True)
    ]
    return specs
