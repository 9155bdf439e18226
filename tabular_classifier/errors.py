"""Exceptions raised by the tabular classifier core.

Every message names where the problem is (a file, a config key, a column) so that a failed
pipeline run can be fixed without a debugger.
"""


class DataValidationError(ValueError):
    """A data file breaks the data contract.

    The message has the form ``"<source>: column '<column>': <detail>"``, or
    ``"<source>: <detail>"`` when the problem concerns the whole file.

    Attributes:
        source: The file (or other data source) that failed validation, as given by the caller.
        column: The offending column, or None when the problem concerns the whole file.
        detail: The description of the problem, without the source and column prefix.
    """

    def __init__(self, source: str, column: str | None, detail: str) -> None:
        """Build the error.

        Args:
            source: The file (or other data source) that failed validation.
            column: The offending column, or None for a file-level problem.
            detail: What is wrong, in words.
        """
        self.source = source
        self.column = column
        self.detail = detail
        prefix = f"{source}: column '{column}'" if column is not None else source
        super().__init__(f"{prefix}: {detail}")


class ConfigError(ValueError):
    """A configuration file or mapping is invalid.

    The message has the form ``"<source>: key '<key>': <detail>"``, or ``"<source>: <detail>"``
    when the problem concerns the whole file (missing file, invalid YAML).

    Attributes:
        source: The config file, or ``"<inline>"`` for a mapping built in code.
        key: The offending key as a dotted path (``"hidden_sizes.2"``), or None.
        detail: The description of the problem, without the source and key prefix.
    """

    def __init__(self, source: str, key: str | None, detail: str) -> None:
        """Build the error.

        Args:
            source: The config file, or a label for an inline mapping.
            key: The offending key as a dotted path, or None for a file-level problem.
            detail: What is wrong, in words.
        """
        self.source = source
        self.key = key
        self.detail = detail
        prefix = f"{source}: key '{key}'" if key is not None else source
        super().__init__(f"{prefix}: {detail}")


class InputValidationError(ValueError):
    """Rows sent for prediction break the model's row contract (``tabular_classifier.contract``).

    Serving layers map this error to a client error (HTTP 4xx), never to a 500.

    Attributes:
        column: The offending column, or None when the problem concerns the whole batch.
        row: The offending row (index label, or position for JSON rows), or None when not
            row-specific.
        kind: Why, as a ``tabular_classifier.contract.ErrorKind`` value (``"wrong_type"``,
            ``"missing_column"``, ...); ``"invalid"`` when not classified.
    """

    def __init__(
        self, message: str, column: str | None = None, row: object = None, kind: str = "invalid"
    ) -> None:
        """Build the error.

        Args:
            message: The full, human-readable description of the problem.
            column: The offending column, if any.
            row: The offending row, if any.
            kind: The kind of refusal (see the attribute).
        """
        self.column = column
        self.row = row
        self.kind = str(kind)
        super().__init__(message)
