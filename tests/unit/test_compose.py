"""docker-compose.yml, checked statically: our machines have no Docker engine to run it.

The file must match the Compose specification, bring up the four service groups with a
health check each, publish ports on loopback only, take every credential from ``.env``
(documented, empty, in ``.env.example``), keep state in named volumes, pin its images, and
build only from Dockerfiles that exist.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

# ${VAR}, ${VAR:-default}, ${VAR:?message}; `$${...}` is an escaped dollar for the container.
_INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
# Variable names that hold credentials (identifiers such as user names are not secret).
_SECRET_NAME = re.compile(r"(PASSWORD|SECRET_ACCESS_KEY|SECRET_KEY|ENCRYPTION_KEY|TOKEN)$")
SERVICE_GROUPS = {
    "ZenML server + MySQL": ("zenml", "zenml-db"),
    "MLflow server + PostgreSQL": ("mlflow", "mlflow-db"),
    "MinIO + bucket init": ("minio", "minio-init"),
    "model serving": ("model-server",),
}
# The executables each image is known to ship, for health checks (`python` in the images built
# from docker/*.Dockerfile and in zenml-server; `mc` in the MinIO server image).
IMAGE_BINARIES = {
    "mysql": {"mysqladmin", "mysql"},
    "postgres": {"pg_isready", "psql"},
    "minio/minio": {"mc"},
    "zenmldocker/zenml-server": {"python"},
}
BUILT_IMAGE_BINARIES = {"python", "mlflow"}
STATE_DIRS = {
    "zenml-db": "/var/lib/mysql",
    "mlflow-db": "/var/lib/postgresql/data",
    "minio": "/data",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not NAME=value: {line!r}"
            values[name.strip()] = value
    return values


def _one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def test_compose_file_matches_the_compose_specification() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_four_service_groups_exist(services: dict[str, dict[str, Any]]) -> None:
    for group, names in SERVICE_GROUPS.items():
        missing = [name for name in names if name not in services]
        assert not missing, f"{group}: missing services {missing}"
    assert services["zenml-db"]["image"].startswith("mysql:8")
    assert services["mlflow-db"]["image"].startswith("postgres:")
    assert services["minio"]["image"].startswith("minio/minio:")
    assert services["minio-init"]["image"].startswith("minio/mc:")


def test_zenml_server_image_matches_the_locked_zenml() -> None:
    from importlib.metadata import version

    image = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["zenml"]["image"]
    assert image == f"zenmldocker/zenml-server:{version('zenml')}"


def test_every_long_running_service_has_a_healthcheck_its_image_can_run(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if _one_shot(service):
            continue
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"{name}: no healthcheck"
        test = check["test"]
        assert isinstance(test, list) and test[0] in {"CMD", "CMD-SHELL"}, name
        executable = test[1].split()[0] if test[0] == "CMD-SHELL" else test[1]
        if "build" in service:
            known = BUILT_IMAGE_BINARIES
        else:
            repository = service["image"].rsplit(":", 1)[0]
            assert repository in IMAGE_BINARIES, f"{name}: no known binaries for {repository}"
            known = IMAGE_BINARIES[repository]
        assert executable in known, f"{name}: healthcheck runs {executable!r}, not in {known}"
        for key in ("interval", "timeout", "retries"):
            assert key in check, f"{name}: healthcheck has no {key}"


def test_one_shot_services_are_awaited_until_they_succeed(
    services: dict[str, dict[str, Any]],
) -> None:
    one_shots = {name for name, service in services.items() if _one_shot(service)}
    assert one_shots == {"minio-init"}
    awaited = {
        dependency
        for service in services.values()
        for dependency, spec in (service.get("depends_on") or {}).items()
        if spec.get("condition") == "service_completed_successfully"
    }
    assert one_shots <= awaited


def test_dependencies_wait_for_health(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        for dependency, spec in depends_on.items():
            assert dependency in services, f"{name}: depends on unknown {dependency}"
            expected = (
                "service_completed_successfully"
                if _one_shot(services[dependency])
                else "service_healthy"
            )
            assert spec.get("condition") == expected, f"{name} -> {dependency}"
    assert "zenml-db" in services["zenml"]["depends_on"]
    assert {"mlflow-db", "minio", "minio-init"} <= set(services["mlflow"]["depends_on"])
    assert "mlflow" in services["model-server"]["depends_on"]


def test_every_published_port_binds_to_loopback(services: dict[str, dict[str, Any]]) -> None:
    published = 0
    for name, service in services.items():
        for port in service.get("ports", []):
            published += 1
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"
    assert published >= 5
    for database in ("zenml-db", "mlflow-db"):
        assert "ports" not in services[database], f"{database} must not be published"


def test_credentials_come_only_from_env_variables(
    services: dict[str, dict[str, Any]], env_example: dict[str, str]
) -> None:
    text = COMPOSE_FILE.read_text()
    for name, service in services.items():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), f"{name}: use the mapping form of environment"
        for key, value in environment.items():
            if _SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+(:\?[^}]*)?\}", str(value)), (
                    f"{name}: {key} must be a ${{VAR}} reference, not {value!r}"
                )
    # URLs with credentials (database URLs) take both parts from variables.
    for user, password in re.findall(r"://([^:/@\s]+):([^@\s]+)@", text):
        for part in (user, password):
            assert re.fullmatch(r"\$\{[A-Z0-9_]+\}", part), f"credential in a URL: {part!r}"
    secrets = set()
    for match in _INTERPOLATION.finditer(text):
        var, operator = match.group(1), match.group(2)
        if _SECRET_NAME.search(var):
            secrets.add(var)
            assert operator in (None, ":?"), f"{var} must not have a default value in compose"
    assert secrets, "no credential variables found"
    for var in secrets:
        assert var in env_example, f"{var} is not documented in .env.example"
        assert env_example[var] == "", f".env.example must not ship a value for {var}"


def test_every_variable_is_documented_in_env_example(env_example: dict[str, str]) -> None:
    used = {m.group(1) for m in _INTERPOLATION.finditer(COMPOSE_FILE.read_text())}
    assert sorted(used - set(env_example)) == []
    assert sorted(set(env_example) - used) == [], ".env.example documents unused variables"


def test_env_file_is_git_ignored() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=ROOT, capture_output=True, timeout=30
    )
    assert ignored.returncode == 0, ".env is not git-ignored"


@pytest.mark.skipif(
    not (shutil.which("awk") and shutil.which("openssl")), reason="needs awk and openssl"
)
def test_env_example_one_liner_fills_every_empty_value(tmp_path: Path) -> None:
    line = next(
        line.lstrip("# ").rstrip("\\ ")
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "awk" in line
    )
    command = f"{line} .env.example > {tmp_path / 'env'}"
    subprocess.run(["sh", "-c", command], cwd=ROOT, check=True, timeout=60)
    filled = dict(
        entry.split("=", 1)
        for entry in (tmp_path / "env").read_text().splitlines()
        if entry and not entry.startswith("#")
    )
    assert all(filled.values()), [k for k, v in filled.items() if not v]
    assert re.fullmatch(r"[0-9a-f]{64}", filled["ZENML_DB_PASSWORD"])


def test_state_lives_in_declared_named_volumes(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source, _, target = str(volume).partition(":")
            assert not source.startswith((".", "/", "~")), f"{name}: bind mount {volume}"
            assert source in declared, f"{name}: volume {source} is not declared"
            used.add(source)
    assert used == declared
    for name, directory in STATE_DIRS.items():
        targets = {str(v).split(":")[1] for v in services[name].get("volumes", [])}
        assert directory in targets, f"{name}: {directory} is not on a named volume"


def test_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name}: no image name"
        repository, _, tag = image.rpartition(":")
        assert repository and tag and "/" not in tag, f"{name}: {image} has no tag"
        assert "latest" not in tag.lower(), f"{name}: {image}"
        assert re.search(r"\d", tag), f"{name}: {image} is not a version tag"


def test_builds_use_existing_dockerfiles(services: dict[str, dict[str, Any]]) -> None:
    built = {name: service["build"] for name, service in services.items() if "build" in service}
    assert set(built) == {"mlflow", "model-server"}
    for name, build in built.items():
        context = ROOT / build["context"]
        assert context.is_dir(), f"{name}: no build context {context}"
        assert (context / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']}"


def test_mlflow_server_command_uses_real_flags(services: dict[str, dict[str, Any]]) -> None:
    command = services["mlflow"]["command"]
    assert command[:2] == ["mlflow", "server"]
    flags = [token for token in command if str(token).startswith("--")]
    assert {"--backend-store-uri", "--artifacts-destination", "--serve-artifacts"} <= set(flags)
    assert "--host" in flags and "--port" in flags and "--allowed-hosts" in flags
    help_text = subprocess.run(
        [str(Path(sys.executable).with_name("mlflow")), "server", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    for flag in flags:
        assert flag in help_text, f"`mlflow server` has no {flag}"
    # Containers reach the server as `mlflow:5000`; MLflow refuses unknown Host headers.
    allowed = command[command.index("--allowed-hosts") + 1].split(",")
    assert "mlflow:*" in allowed or "mlflow:5000" in allowed
    assert services["model-server"]["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
