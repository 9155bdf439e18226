"""ZenML steps: thin adapters between the pipelines and the `tabular_classifier` package.

One step per file, grouped by lifecycle stage. Importing this package registers our custom
materializers, so every step's outputs are stored without pickle.
"""

import materializers  # noqa: F401  (registers the custom materializers)
import steps.noise  # noqa: F401  (drops three library warnings about nothing wrong here)
