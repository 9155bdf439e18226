"""Command-line entry points and helpers: `python -m scripts.<name>`."""
