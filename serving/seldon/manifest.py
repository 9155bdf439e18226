"""The SeldonDeployment (Seldon Core v1) that serves a model bundle with our wrapper image.

The predictor graph is one MODEL node run by the serving image (``Dockerfile`` beside this
file, running ``TabularClassifier.py``). Its ``modelUri`` points at the bundle directory in S3:
Seldon's storage initializer downloads it to ``/mnt/models`` before the model starts, using the
S3 credentials in the Kubernetes secret named by ``envSecretRefName``. Credentials never appear
in the manifest.

The operator only runs the storage initializer for a node whose ``implementation`` is a server
registered in its ``seldon-config`` ConfigMap, so the node names :data:`SERVER_IMPLEMENTATION`,
which the cluster registers once (see ``docs/seldon.md``); the container's own ``image`` takes
precedence over the image registered there.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import yaml

API_VERSION = "machinelearning.seldon.io/v1"
KIND = "SeldonDeployment"

SERVER_IMPLEMENTATION = "TABULAR_CLASSIFIER_SERVER"
"""Name under which the serving image is registered in the operator's ``predictor_servers``."""

PREDICTOR_NAME = "default"
MODEL_NODE_NAME = "classifier"
"""Graph node name; Seldon matches it to the container of the same name."""

RUN_AS_USER = 8888
"""Non-root UID of the serving image (Seldon's own images use 8888 too)."""

STORAGE_SCHEMES = ("s3",)

RESOURCES: dict[str, dict[str, str]] = {
    # Importing torch, scikit-learn and pandas takes about 0.5 GiB; the bundle itself is small.
    "requests": {"cpu": "500m", "memory": "1Gi"},
    "limits": {"memory": "2Gi"},
}

HTTP_PORT_NAME = "http"
"""Name of the wrapper's REST port; the operator adds the port to the container."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")


def _check_dns_label(value: str, what: str) -> None:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"{what} must be a DNS-1123 label (lower-case letters, digits and '-', at most 63 "
            f"characters), got {value!r}"
        )


def _check_image(image: str) -> None:
    if not image or any(character.isspace() for character in image):
        raise ValueError(f"image must be an image reference, got {image!r}")
    if "@sha256:" in image:
        return
    last = image.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if not tag or tag == "latest":
        raise ValueError(
            f"image {image!r} must be pinned to a tag other than 'latest' or to a digest, so "
            "that every replica runs the same code"
        )


def _check_model_uri(model_uri: str) -> None:
    parts = urlsplit(model_uri)
    if parts.scheme not in STORAGE_SCHEMES:
        raise ValueError(
            f"model_uri must be a {' or '.join(STORAGE_SCHEMES)}:// URI of the bundle "
            f"directory, got {model_uri!r}"
        )
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise ValueError(
            "model_uri must not carry credentials or query parameters: put the credentials in "
            "the storage secret"
        )
    if not parts.netloc or parts.path.strip("/") == "":
        raise ValueError(f"model_uri must name a bucket and a path, got {model_uri!r}")


def build_seldon_deployment(
    name: str,
    image: str,
    model_uri: str,
    model_version: str,
    namespace: str = "seldon",
    replicas: int = 1,
    storage_secret: str | None = "seldon-s3-credentials",
    max_batch_rows: int = 10000,
) -> dict[str, Any]:
    """Build the SeldonDeployment serving one model version.

    Args:
        name: Name of the SeldonDeployment (a DNS-1123 label); its REST endpoint is
            ``/seldon/<namespace>/<name>/api/v1.0/predictions`` on the cluster's ingress.
        image: The serving image, pinned to a tag or digest.
        model_uri: ``s3://bucket/path`` of the bundle directory (``model.safetensors``,
            ``preprocessor.json``, ``metadata.json``).
        model_version: The registered model version: a label value, reported by the model in
            its tags and metrics.
        namespace: Namespace of the deployment (a DNS-1123 label).
        replicas: Number of pods.
        storage_secret: Secret holding the storage initializer's S3 settings; None leaves the
            choice to the operator (its default secret, or the pod's service account).
        max_batch_rows: Largest batch the model accepts; bigger ones get HTTP 413.

    Returns:
        The manifest, as plain JSON-ready data.

    Raises:
        ValueError: If an argument is not valid for Kubernetes or Seldon (the message names it).
    """
    _check_dns_label(name, "name")
    _check_dns_label(namespace, "namespace")
    _check_image(image)
    _check_model_uri(model_uri)
    if len(model_version) > 63 or not _LABEL_VALUE.match(model_version):
        raise ValueError(
            "model_version must be a Kubernetes label value (letters, digits, '-', '_', '.', "
            f"at most 63 characters), got {model_version!r}"
        )
    if storage_secret is not None and (
        len(storage_secret) > 253 or not _DNS_SUBDOMAIN.match(storage_secret)
    ):
        raise ValueError(f"storage_secret must be a Kubernetes secret name, got {storage_secret!r}")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise ValueError(f"replicas must be a positive integer, got {replicas!r}")
    if (
        isinstance(max_batch_rows, bool)
        or not isinstance(max_batch_rows, int)
        or max_batch_rows < 1
    ):
        raise ValueError(f"max_batch_rows must be a positive integer, got {max_batch_rows!r}")

    labels = {
        "app.kubernetes.io/name": "tabular-classifier",
        "app.kubernetes.io/component": "model-server",
        "model-version": model_version,
    }
    graph: dict[str, Any] = {
        "name": MODEL_NODE_NAME,
        "type": "MODEL",
        "implementation": SERVER_IMPLEMENTATION,
        "modelUri": model_uri,
        "endpoint": {"type": "REST"},
        "children": [],
    }
    if storage_secret is not None:
        graph["envSecretRefName"] = storage_secret

    def probe(path: str, period: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": HTTP_PORT_NAME},
            "periodSeconds": period,
            "timeoutSeconds": 2,
            "failureThreshold": failures,
        }

    container = {
        "name": MODEL_NODE_NAME,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "env": [
            {"name": "MODEL_VERSION", "value": model_version},
            {"name": "MAX_BATCH_ROWS", "value": str(max_batch_rows)},
        ],
        "resources": {kind: dict(amounts) for kind, amounts in RESOURCES.items()},
        # Up to 3 minutes to import torch and load the bundle, then the usual checks: the
        # wrapper's ping for liveness, a one-row prediction (health_status) for readiness.
        "startupProbe": probe("/health/ping", period=5, failures=36),
        "livenessProbe": probe("/health/ping", period=10, failures=3),
        "readinessProbe": probe("/health/status", period=5, failures=3),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
        },
    }
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "protocol": "seldon",
            "transport": "rest",
            "predictors": [
                {
                    "name": PREDICTOR_NAME,
                    "replicas": replicas,
                    # Predictor labels are copied onto its Deployments and pods.
                    "labels": dict(labels),
                    "graph": graph,
                    "componentSpecs": [
                        {
                            "spec": {
                                "securityContext": {
                                    "runAsNonRoot": True,
                                    "runAsUser": RUN_AS_USER,
                                    "runAsGroup": RUN_AS_USER,
                                    "fsGroup": RUN_AS_USER,
                                    "seccompProfile": {"type": "RuntimeDefault"},
                                },
                                "containers": [container],
                            }
                        }
                    ],
                }
            ],
        },
    }


def to_yaml(manifest: dict[str, Any]) -> str:
    """Render a manifest as YAML for ``kubectl apply -f -``, keeping its key order.

    Args:
        manifest: A manifest from :func:`build_seldon_deployment`.

    Returns:
        The YAML document.
    """
    text: str = yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False)
    return text
