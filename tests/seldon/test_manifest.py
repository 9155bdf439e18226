"""The SeldonDeployment manifest: valid against the CRD's schema, and saying what we mean.

There is no cluster here: the manifest is validated against the SeldonDeployment CRD's own
openAPIV3Schema (``data/``, see its README), as the API server would, then read for meaning.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from serving.seldon.manifest import (
    MODEL_NODE_NAME,
    SERVER_IMPLEMENTATION,
    build_seldon_deployment,
    to_yaml,
)

SCHEMA_PATH = Path(__file__).resolve().parent / "data" / "seldondeployment-v1-openapi-subset.yaml"

ARGS: dict[str, Any] = {
    "name": "tabular-classifier",
    "image": "registry.example.com/mlops/tabular-classifier-seldon:1.4.0",
    "model_uri": "s3://mlops-models/tabular-classifier/7/bundle",
    "model_version": "7",
}


def _closed(schema: Any) -> Any:
    """A copy of ``schema`` in which every object listing ``properties`` refuses other keys."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        closed["additionalProperties"] = False
    return closed


@pytest.fixture(scope="module")
def crd_schema() -> dict[str, Any]:
    schema: dict[str, Any] = yaml.safe_load(SCHEMA_PATH.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    return schema


@pytest.fixture(scope="module")
def strict_schema(crd_schema: dict[str, Any]) -> dict[str, Any]:
    return _closed(copy.deepcopy(crd_schema))


@pytest.fixture
def manifest() -> dict[str, Any]:
    return build_seldon_deployment(**ARGS)


def _errors(schema: dict[str, Any], document: Any) -> list[str]:
    validator = jsonschema.Draft4Validator(schema)
    return [
        f"{'/'.join(str(part) for part in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def _container(manifest: dict[str, Any]) -> dict[str, Any]:
    predictor = manifest["spec"]["predictors"][0]
    containers = predictor["componentSpecs"][0]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def _strings(document: Any) -> list[str]:
    if isinstance(document, dict):
        return [text for key, value in document.items() for text in [key, *_strings(value)]]
    if isinstance(document, list):
        return [text for item in document for text in _strings(item)]
    return [document] if isinstance(document, str) else []


@pytest.mark.parametrize(
    "overrides",
    [{}, {"storage_secret": None, "replicas": 3, "namespace": "models", "max_batch_rows": 500}],
    ids=["defaults", "no-secret"],
)
def test_manifest_is_valid_against_the_crd_schema(
    crd_schema: dict[str, Any], strict_schema: dict[str, Any], overrides: dict[str, Any]
) -> None:
    manifest = build_seldon_deployment(**{**ARGS, **overrides})
    assert _errors(crd_schema, manifest) == []
    assert _errors(strict_schema, manifest) == []
    assert yaml.safe_load(to_yaml(manifest)) == manifest


@pytest.mark.parametrize(
    ("path", "value", "strict"),
    [
        (["spec", "predictors", 0, "graph", "modelURI"], "s3://b/x", True),
        (["spec", "predictors", 0, "replicas"], "1", False),
        (
            [
                "spec",
                "predictors",
                0,
                "componentSpecs",
                0,
                "spec",
                "containers",
                0,
                "resources",
                "requests",
                "memory",
            ],
            "1 GiB",
            False,
        ),
        (
            [
                "spec",
                "predictors",
                0,
                "componentSpecs",
                0,
                "spec",
                "containers",
                0,
                "readinessProbe",
                "httpGet",
                "paht",
            ],
            "/health/status",
            True,
        ),
    ],
    ids=["misspelt-field", "string-replicas", "bad-quantity", "misspelt-probe-field"],
)
def test_schema_check_catches_mistakes(
    crd_schema: dict[str, Any],
    strict_schema: dict[str, Any],
    manifest: dict[str, Any],
    path: list[Any],
    value: Any,
    strict: bool,
) -> None:
    broken = copy.deepcopy(manifest)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert _errors(strict_schema if strict else crd_schema, broken) != []


def test_schema_check_requires_a_graph(
    crd_schema: dict[str, Any], manifest: dict[str, Any]
) -> None:
    del manifest["spec"]["predictors"][0]["graph"]
    assert any("'graph' is a required property" in error for error in _errors(crd_schema, manifest))


def test_graph_is_one_model_node_served_by_our_image(manifest: dict[str, Any]) -> None:
    assert manifest["apiVersion"] == "machinelearning.seldon.io/v1"
    assert manifest["kind"] == "SeldonDeployment"
    assert manifest["metadata"] == {
        "name": "tabular-classifier",
        "namespace": "seldon",
        "labels": {
            "app.kubernetes.io/name": "tabular-classifier",
            "app.kubernetes.io/component": "model-server",
            "model-version": "7",
        },
    }
    assert manifest["spec"]["protocol"] == "seldon"
    predictor = manifest["spec"]["predictors"][0]
    assert len(manifest["spec"]["predictors"]) == 1
    assert predictor["replicas"] == 1
    assert predictor["labels"]["model-version"] == "7"
    graph = predictor["graph"]
    assert graph == {
        "name": MODEL_NODE_NAME,
        "type": "MODEL",
        "implementation": SERVER_IMPLEMENTATION,
        "modelUri": ARGS["model_uri"],
        "envSecretRefName": "seldon-s3-credentials",
        "endpoint": {"type": "REST"},
        "children": [],
    }
    container = _container(manifest)
    # Seldon pairs the graph node with the container of the same name.
    assert container["name"] == graph["name"]
    assert container["image"] == ARGS["image"]
    assert container["env"] == [
        {"name": "MODEL_VERSION", "value": "7"},
        {"name": "MAX_BATCH_ROWS", "value": "10000"},
    ]


def test_credentials_never_appear_inline(manifest: dict[str, Any]) -> None:
    text = to_yaml(manifest).lower()
    for word in ("access_key", "secret_key", "password", "token", "aws_", "rclone_config"):
        assert word not in text
    assert all("@" not in value for value in _strings(manifest))
    container = _container(manifest)
    assert "envFrom" not in container
    assert all("valueFrom" not in variable for variable in container["env"])
    # The storage initializer reads the secret; the model container never sees it.
    assert manifest["spec"]["predictors"][0]["graph"]["envSecretRefName"] == "seldon-s3-credentials"


def test_storage_secret_none_leaves_credentials_to_the_operator() -> None:
    manifest = build_seldon_deployment(**ARGS, storage_secret=None)
    assert "envSecretRefName" not in manifest["spec"]["predictors"][0]["graph"]


def test_probes_use_the_wrappers_health_endpoints(manifest: dict[str, Any]) -> None:
    container = _container(manifest)
    for probe, path in (
        ("startupProbe", "/health/ping"),
        ("livenessProbe", "/health/ping"),
        ("readinessProbe", "/health/status"),
    ):
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}
        assert container[probe]["periodSeconds"] >= 1
        assert container[probe]["failureThreshold"] >= 1


def test_runs_as_non_root_with_resources(manifest: dict[str, Any]) -> None:
    pod = manifest["spec"]["predictors"][0]["componentSpecs"][0]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = _container(manifest)
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
    }
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert "memory" in container["resources"]["limits"]


def test_dockerfile_user_matches_the_manifest(manifest: dict[str, Any]) -> None:
    dockerfile = (
        Path(__file__).resolve().parents[2] / "serving" / "seldon" / "Dockerfile"
    ).read_text()
    uid = manifest["spec"]["predictors"][0]["componentSpecs"][0]["spec"]["securityContext"][
        "runAsUser"
    ]
    assert re.search(rf"^USER {uid}\b", dockerfile, flags=re.MULTILINE)


def test_each_call_builds_a_fresh_manifest() -> None:
    first = build_seldon_deployment(**ARGS)
    _container(first)["resources"]["requests"]["cpu"] = "8"
    first["metadata"]["labels"]["model-version"] = "changed"
    assert build_seldon_deployment(**ARGS) != first
    assert _container(build_seldon_deployment(**ARGS))["resources"]["requests"]["cpu"] == "500m"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"name": "Tabular_Classifier"}, "name"),
        ({"namespace": "-seldon"}, "namespace"),
        ({"image": "registry.example.com/tabular-classifier-seldon"}, "image"),
        ({"image": "registry.example.com/tabular-classifier-seldon:latest"}, "image"),
        ({"image": "registry:5000/tabular-classifier-seldon"}, "image"),
        ({"model_uri": "/mnt/models"}, "model_uri"),
        ({"model_uri": "https://bucket.s3.amazonaws.com/bundle"}, "model_uri"),
        ({"model_uri": "s3://AKIAEXAMPLE:secret@bucket/bundle"}, "credentials"),
        ({"model_uri": "s3://bucket/bundle?X-Amz-Signature=abc"}, "credentials"),
        ({"model_uri": "s3://bucket"}, "model_uri"),
        ({"model_version": "v 7"}, "model_version"),
        ({"model_version": ""}, "model_version"),
        ({"storage_secret": "S3_Credentials"}, "storage_secret"),
        ({"replicas": 0}, "replicas"),
        ({"max_batch_rows": 0}, "max_batch_rows"),
    ],
)
def test_invalid_arguments_are_refused(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        build_seldon_deployment(**{**ARGS, **overrides})


def test_digest_pinned_image_is_accepted() -> None:
    image = "registry.example.com/tabular-classifier-seldon@sha256:" + "a" * 64
    assert _container(build_seldon_deployment(**{**ARGS, "image": image}))["image"] == image
