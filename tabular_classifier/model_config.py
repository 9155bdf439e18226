"""The model's configuration: architecture, training hyperparameters and the threshold rule.

Validated with pydantic v2 in strict mode; read from YAML by
:func:`tabular_classifier.config.load_model_config`.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ThresholdRule(BaseModel):
    """A decision threshold chosen on the validation split (``tabular_classifier.calibration``).

    Attributes:
        rule: ``max_f1`` (the threshold of highest F1), ``youden`` (highest TPR - FPR, Youden
            1950), ``min_recall`` (the highest threshold whose recall reaches ``value``: the
            most precise model that finds that share of positives), ``min_precision`` (the
            lowest threshold whose precision reaches ``value``), or ``cost`` (the lowest total
            ``false_positive_cost * FP + false_negative_cost * FN``).
        value: The recall or precision to reach, in (0, 1); only for ``min_recall`` and
            ``min_precision``.
        false_positive_cost: Cost of one false positive, > 0; only for ``cost``.
        false_negative_cost: Cost of one false negative, > 0; only for ``cost``.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    rule: Literal["max_f1", "youden", "min_recall", "min_precision", "cost"]
    value: float | None = Field(default=None, gt=0.0, lt=1.0)
    false_positive_cost: float | None = Field(default=None, gt=0.0)
    false_negative_cost: float | None = Field(default=None, gt=0.0)

    @model_validator(mode="after")
    def _arguments_match_the_rule(self) -> "ThresholdRule":
        needs_value = self.rule in ("min_recall", "min_precision")
        if needs_value != (self.value is not None):
            raise ValueError(f"rule '{self.rule}' {'needs' if needs_value else 'takes no'} 'value'")
        costs = (self.false_positive_cost, self.false_negative_cost)
        if (self.rule == "cost") != all(c is not None for c in costs) or (
            self.rule != "cost" and any(c is not None for c in costs)
        ):
            raise ValueError(
                "rule 'cost' needs both false_positive_cost and false_negative_cost, and "
                "other rules take neither"
            )
        return self


class ModelConfig(BaseModel):
    """Architecture and training hyperparameters of the MLP classifier.

    Strict types: a YAML value such as ``epochs: "10"`` or ``batch_size: 32.5`` is rejected rather
    than coerced, because a quoted or fractional number in a config is almost always a typo.

    Attributes:
        name: Identifier of the configuration (e.g. ``model_config_009``).
        description: Free text.
        hidden_sizes: Widths of the hidden layers: 1 to 8 layers, each of 1 to 4096 units.
        activation: Activation after each hidden layer.
        dropout: Dropout probability after each hidden layer, in [0, 1).
        learning_rate: Adam learning rate, in (0, 1].
        weight_decay: Adam L2 penalty, >= 0.
        batch_size: Mini-batch size, 1 to 65536 rows.
        epochs: Maximum number of passes over the training split, 1 to 10000.
        early_stopping_patience: Epochs without a validation-loss improvement before training
            stops, 0 to 1000; 0 turns early stopping off.
        class_weighting: ``"balanced"`` sets BCEWithLogitsLoss ``pos_weight = n_neg / n_pos``
            computed on the training split; ``"none"`` weights both classes equally.
        decision_threshold: Probability at or above which a row is predicted positive: a
            number in (0, 1), or a :class:`ThresholdRule` chosen on the validation split. The
            value used is stored in the bundle and applied by every entry point.
        temperature_scaling: Fit a temperature on the validation split's logits (Guo et al.
            2017, "On Calibration of Modern Neural Networks") and divide every logit by it, so
            that probabilities are calibrated; ranking metrics (ROC AUC) do not change.
        seed: Seed of every random generator used by training, >= 0.
        val_auc_every: Compute the validation ROC AUC every this many epochs (epochs ``k``,
            ``2k``, ...), 1 to 10000; default 1, every epoch. The validation loss, which early
            stopping uses, is computed every epoch regardless. The AUC sorts the whole
            validation split (O(n log n)), so on large splits a sparser interval saves time;
            the best epoch's AUC is always computed for the bundle.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1)
    description: str = ""
    hidden_sizes: list[Annotated[int, Field(ge=1, le=4096)]] = Field(min_length=1, max_length=8)
    activation: Literal["relu", "gelu", "tanh", "leaky_relu"] = "relu"
    dropout: float = Field(ge=0.0, lt=1.0)
    learning_rate: float = Field(gt=0.0, le=1.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    batch_size: int = Field(ge=1, le=65536)
    epochs: int = Field(ge=1, le=10000)
    early_stopping_patience: int = Field(ge=0, le=1000)
    class_weighting: Literal["none", "balanced"] = "none"
    decision_threshold: Annotated[float, Field(gt=0.0, lt=1.0)] | ThresholdRule = 0.5
    temperature_scaling: bool = False
    seed: int = Field(default=42, ge=0)
    val_auc_every: int = Field(default=1, ge=1, le=10000)

    def mlflow_params(self) -> dict[str, str | int | float | bool]:
        """The config as flat MLflow params (lists and rules as text; no description)."""
        params: dict[str, str | int | float | bool] = {}
        for key, value in self.model_dump(mode="json", exclude={"description"}).items():
            if isinstance(value, list):
                params[key] = ",".join(str(v) for v in value)
            elif isinstance(value, dict):
                params[key] = ",".join(f"{k}={v}" for k, v in value.items() if v is not None)
            else:
                params[key] = value
        return params
