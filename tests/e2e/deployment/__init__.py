"""Deployment end-to-end tests: promotion, blue-green release, serving over HTTP, recovery.

A package (not a bare folder) so that the package-scoped ``model_versions`` fixture of
``conftest.py`` trains its versions once for these files and stops their servers after the
last of them, before the other end-to-end modules run.
"""
