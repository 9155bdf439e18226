"""Cache policies shared by steps."""

from __future__ import annotations

import importlib
import pkgutil
import uuid

from zenml.config import CachePolicy

import tabular_classifier


def fresh_cache_key() -> str:
    """Return a new value on every call, so that a step using it is never a cache hit.

    ``enable_cache=False`` on a step is not enough: a run config's top-level
    ``enable_cache: true`` overrides every step's own setting. Steps with side effects
    (registering, promoting, deploying) would then be skipped and leave an empty model
    version or a stale deployment behind.
    """
    return uuid.uuid4().hex


NEVER_CACHE = CachePolicy.model_validate({"cache_func": fresh_cache_key})

# ZenML's default cache key covers a step's own code and inputs, not the library it calls:
# without this, editing tabular_classifier/training.py would still serve the old model from
# the cache. Every module of the ML package is part of the key of the steps that use it.
ML_CODE = CachePolicy.model_validate(
    {
        "source_dependencies": [
            importlib.import_module(f"tabular_classifier.{info.name}")
            for info in pkgutil.iter_modules(tabular_classifier.__path__)
            # Subpackages (``monitoring``) are not dependencies of the training steps, and
            # ZenML cannot take a package's source as a cache dependency.
            if not info.ispkg
        ]
    }
)
