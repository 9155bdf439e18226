"""Data steps."""
