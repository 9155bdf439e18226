"""Seldon Core v1 serving path: a Python-wrapper image that serves a model bundle.

- ``TabularClassifier.py``: the model class run by ``seldon-core-microservice`` inside the
  serving image (Seldon's convention: module name == class name). It needs seldon-core, so it
  runs in the image's own environment (``requirements.txt``), never in the project's.
- ``manifest.py``: builds the SeldonDeployment that runs that image, with the bundle downloaded
  from S3 by Seldon's storage initializer.
- ``Dockerfile``: the serving image.

See ``docs/seldon.md`` for the deployment steps and for what is tested without a cluster.
"""
