"""deploy/ checked without a Docker engine or network: every file parses, the Kubernetes manifests
and the compose file pass their official schemas, the Dockerfile passes hadolint, and what they
name (settings, commands, ports, paths, images, search attributes, secrets) exists in caseflow."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import typer
import yaml
from pydantic import AliasChoices

from caseflow.api.app import create_app
from caseflow.cli import app as cli_app
from caseflow.config import Settings
from caseflow.temporal import SEARCH_ATTRIBUTES, binary

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
EXAMPLE_ENV = DEPLOY / "compose" / "example.env"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
K8S = DEPLOY / "k8s"
TEMPORAL = DEPLOY / "temporal"
HELM_VALUES = TEMPORAL / "helm-values.yaml"
COMPOSE_SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
OPERATIONS = ROOT / "docs" / "operations.md"

# Kubernetes versions the manifests must be valid for: the oldest we support and the newest
# kubernetes-validate knows (its schemas ship in the package: no network).
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.latest_version())

# Settings and routes the observability branch adds (worker metrics, tracing, the API's
# /metrics). Once caseflow has them, the tests below say to empty these sets.
AWAITED_SETTINGS: set[str] = set()
AWAITED_ROUTES: set[str] = set()

Doc = dict[str, Any]


# ----- reading deploy/ ------------------------------------------------------------------------------

def deploy_files(*suffixes: str) -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.is_file() and p.suffix in suffixes)


def yaml_documents(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc is not None]


def manifests() -> list[tuple[Path, Doc]]:
    """Every Kubernetes object in deploy/ (a kustomization is kubectl's input, not an object)."""
    return [(path, doc) for path in deploy_files(".yaml", ".yml") if path != COMPOSE
            for doc in yaml_documents(path)
            if "apiVersion" in doc and "kind" in doc and doc["kind"] != "Kustomization"]


def manifest(kind: str, name: str) -> Doc:
    found = [doc for _, doc in manifests()
             if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs() -> Iterator[tuple[str, Doc]]:
    for _, doc in manifests():
        if doc["kind"] in ("Deployment", "Job"):
            yield f"{doc['kind']} {doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def containers(pod: Doc) -> list[Doc]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def example_env() -> dict[str, str]:
    values = {}
    for line in EXAMPLE_ENV.read_text("utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolated(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution in the values of a parsed compose file: ${NAME},
    ${NAME:-default}, ${NAME:?error}, $$ for a dollar."""
    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        found = env.get(name)
        if operator in (":-", "-"):
            return argument if found is None or (operator == ":-" and found == "") else found
        if found is None or (operator == ":?" and found == ""):
            raise AssertionError(f"compose.yaml needs {name}: {argument or 'unset'}")
        return found

    if isinstance(value, dict):
        return {key: interpolated(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolated(item, env) for item in value]
    if isinstance(value, str):
        return INTERPOLATION.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")
    return value


def compose_variables(value: Any) -> set[str]:
    """The variables the values of a parsed compose file substitute."""
    if isinstance(value, dict):
        return set().union(*map(compose_variables, value.values()))
    if isinstance(value, list):
        return set().union(*map(compose_variables, value))
    if isinstance(value, str):
        return {match.group(1) for match in INTERPOLATION.finditer(value.replace("$$", ""))}
    return set()


def compose() -> Doc:
    """compose.yaml as Compose runs it with the example .env."""
    return interpolated(yaml.safe_load(COMPOSE.read_text("utf-8")), example_env())


def compose_caseflow_services() -> dict[str, Doc]:
    return {name: service for name, service in compose()["services"].items()
            if service["image"].split(":")[0] == "caseflow"}


def caseflow_image(image: str) -> bool:
    return image.rsplit(":", 1)[0].rsplit("/", 1)[-1] == "caseflow"


def k8s_caseflow_containers() -> Iterator[tuple[str, Doc]]:
    for where, pod in pod_specs():
        for container in containers(pod):
            if caseflow_image(container["image"]):
                yield where, container


def config_map() -> dict[str, str]:
    return manifest("ConfigMap", "caseflow-config")["data"]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text("utf-8"))
    found = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, arguments = line.strip().partition(" ")
            found.append((instruction.upper(), arguments.strip()))
    return found


def dockerfile_env() -> dict[str, str]:
    env = {}
    for instruction, arguments in dockerfile_instructions():
        if instruction == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(arguments))
    return env


def settings_variables() -> set[str]:
    """The environment variables Settings reads."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"CASEFLOW_{name.upper()}")
    return names


@cache
def api_routes() -> frozenset[str]:
    """The paths the API serves (in its OpenAPI schema or not)."""
    app = create_app(Settings(database_url="sqlite:///:memory:", environment="test"))
    paths = set(app.openapi()["paths"])

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if hasattr(route, "path"):
                paths.add(route.path)
            if hasattr(route, "original_router"):  # an included router (FastAPI >= 0.16x)
                walk(route.original_router.routes)
    walk(app.routes)
    return frozenset(paths)


def port_of(url: str) -> int:
    return urlsplit(url).port or 80


def url_in(command: list[str]) -> str:
    found = re.search(r"http://[^'\"\s]+", " ".join(command))
    assert found, f"no URL in {command}"
    return found.group(0)


# ----- every file parses, and passes its schema or linter -----------------------------------------

@pytest.mark.parametrize("path", deploy_files(".yaml", ".yml", ".json"),
                         ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_and_json_file_in_deploy_parses(path: Path):
    if path.suffix == ".json":
        json.loads(path.read_text("utf-8"))
    else:
        assert yaml_documents(path), f"{path} holds no document"


@pytest.mark.parametrize("path", deploy_files(".sh"), ids=lambda p: p.name)
def test_every_shell_script_in_deploy_is_valid_sh(path: Path):
    checked = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_kubernetes_manifests_pass_the_official_schemas(version: str):
    problems = []
    for path, doc in manifests():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{path.name} {doc['kind']}/{doc['metadata']['name']}: "
                            f"{'.'.join(map(str, error.path))}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            group = doc["apiVersion"].rpartition("/")[0]
            if "." not in group or group.endswith(".k8s.io"):  # a built-in kind: wrong version
                problems.append(f"{path.name}: {error.message}")
            # else a custom resource (Prometheus operator...): Kubernetes has no schema for it
    assert not problems, "\n".join(problems)


def test_the_manifests_are_the_ones_a_deployment_needs():
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _, doc in manifests()}
    assert {("Deployment", "caseflow-api"), ("Deployment", "caseflow-worker"),
            ("Job", "caseflow-migrate"), ("ConfigMap", "caseflow-config"),
            ("Secret", "caseflow-secrets"), ("Job", "caseflow-temporal-setup"),
            ("Service", "caseflow-api")} <= kinds
    scaler = manifest("HorizontalPodAutoscaler", "caseflow-worker")
    assert scaler["apiVersion"] == "autoscaling/v2"
    target = scaler["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "caseflow-worker")
    assert 1 <= scaler["spec"]["minReplicas"] < scaler["spec"]["maxReplicas"]
    assert "replicas" not in manifest("Deployment", "caseflow-worker")["spec"], \
        "the autoscaler owns the worker count; a fixed replicas would fight it on every apply"


def test_the_kustomization_lists_existing_files_and_leaves_out_the_secret_and_the_migration():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text("utf-8"))
    listed = set(kustomization["resources"])
    assert all((K8S / name).is_file() for name in listed), listed
    expected = {p.name for p in K8S.glob("*.yaml")} - {
        "kustomization.yaml", "secret.example.yaml", "migrate-job.yaml"}
    assert listed == expected


def test_the_compose_file_passes_the_compose_spec_schema():
    schema = json.loads(COMPOSE_SCHEMA.read_text("utf-8"))
    validator = jsonschema.Draft201909Validator(schema)
    problems = [f"{error.json_path}: {error.message}" for error in validator.iter_errors(compose())]
    assert not problems, "\n".join(problems)


def test_every_compose_variable_is_in_the_example_env():
    used = compose_variables(yaml.safe_load(COMPOSE.read_text("utf-8")))
    assert used and used - set(example_env()) == set()


def hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else "hadolint"


def test_the_dockerfile_passes_hadolint():
    linted = subprocess.run([hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True,
                            text=True, timeout=60)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_image_is_built_in_two_stages_and_runs_caseflow_as_a_non_root_user():
    instructions = dockerfile_instructions()
    stages = [i for i, (instruction, _) in enumerate(instructions) if instruction == "FROM"]
    assert len(stages) >= 2, "multi-stage: build tools and caches stay out of the final image"
    final = instructions[stages[-1]:]
    users = [arguments for instruction, arguments in final if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    assert users[-1].split(":")[0].isdigit(), "a numeric USER lets runAsNonRoot verify it"
    assert str(manifest("Deployment", "caseflow-api")["spec"]["template"]["spec"]
               ["securityContext"]["runAsUser"]) == users[-1].split(":")[0]
    entrypoints = [arguments for instruction, arguments in final if instruction == "ENTRYPOINT"]
    assert entrypoints and json.loads(entrypoints[-1]) == ["caseflow"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert "caseflow" in project["scripts"]
    installs = [arguments for instruction, arguments in instructions
                if instruction == "RUN" and "pip install" in arguments]
    assert installs and not any("[" in line or " -e " in line for line in installs), \
        "the image installs the package itself, without extras (no test tools)"


def ignored_by_docker(path: str) -> bool:
    """Whether .dockerignore keeps `path` (relative to the repository) out of the context."""
    ignored = False
    for line in DOCKERIGNORE.read_text("utf-8").splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        parts = Path(path).parts
        candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        variants = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch(candidate, variant) for candidate in candidates for variant in variants):
            ignored = not negated
    return ignored


def test_the_build_context_has_what_the_image_copies_and_no_secrets():
    for instruction, arguments in dockerfile_instructions():
        if instruction == "COPY" and "--from=" not in arguments:
            for source in shlex.split(arguments)[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert not ignored_by_docker(source), f"COPY {source}: .dockerignore drops it"
    for secret in (".env", "deploy/compose/.env", "deploy/compose/production.env"):
        assert ignored_by_docker(secret), f"{secret} would be sent to the image build"
    for bulky in (".git", ".venv", ".data", "tests", "caseflow/__pycache__"):
        assert ignored_by_docker(bulky), bulky


# ----- what deploy/ names exists ----------------------------------------------------------------------

def test_every_caseflow_variable_in_deploy_and_operations_is_a_setting():
    texts = [p.read_text("utf-8") for p in DEPLOY.rglob("*") if p.is_file()]
    texts.append(OPERATIONS.read_text("utf-8"))
    used = {name for text in texts for name in re.findall(r"\bCASEFLOW_[A-Z0-9_]+\b(?!\*)", text)}
    known = settings_variables()
    arrived = AWAITED_SETTINGS & known
    assert not arrived, f"{sorted(arrived)} are settings now: remove them from AWAITED_SETTINGS"
    assert used - known - AWAITED_SETTINGS == set()


def test_every_container_runs_a_real_caseflow_command_and_each_role_has_one():
    commands = set(typer.main.get_command(cli_app).commands)  # type: ignore[attr-defined]
    in_compose = {service["command"][0] for service in compose_caseflow_services().values()}
    in_kubernetes = {container["args"][0] for _, container in k8s_caseflow_containers()}
    assert in_compose <= commands and in_kubernetes <= commands, (in_compose, in_kubernetes)
    assert in_compose == in_kubernetes == {"migrate", "api", "worker"}


def test_compose_ports_healthchecks_and_settings_agree():
    services = compose_caseflow_services()
    api, worker = services["api"], services["worker"]
    api_port = int(api["environment"]["CASEFLOW_API_PORT"])
    published = {int(str(mapping).rsplit(":", 1)[-1]) for mapping in api["ports"]}
    assert published == {api_port}
    assert port_of(url_in(api["healthcheck"]["test"])) == api_port
    metrics_port = int(worker["environment"]["CASEFLOW_WORKER_METRICS_PORT"])
    assert port_of(url_in(worker["healthcheck"]["test"])) == metrics_port
    assert api["environment"]["CASEFLOW_API_HOST"] == "0.0.0.0", "a container must bind all"
    assert worker["environment"]["CASEFLOW_METRICS_HOST"] == "0.0.0.0"
    routes = api_routes()
    assert urlsplit(url_in(api["healthcheck"]["test"])).path in routes
    assert urlsplit(url_in(worker["healthcheck"]["test"])).path == "/metrics"


def probes(container: Doc) -> list[Doc]:
    return [container[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe",
                                                     "readinessProbe") if kind in container]


def container_port(container: Doc, port: int | str) -> int:
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port in named, f"{container['name']}: no port named {port}"
    return named[port]


def test_kubernetes_ports_probes_scrapes_and_settings_agree():
    config = config_map()
    routes = api_routes()
    assert not AWAITED_ROUTES & routes, "the API serves these now: empty AWAITED_ROUTES"
    expected = {"caseflow-api": (int(config["CASEFLOW_API_PORT"]), routes | AWAITED_ROUTES),
                "caseflow-worker": (int(config["CASEFLOW_WORKER_METRICS_PORT"]), {"/metrics"})}
    for name, (port, paths) in expected.items():
        template = manifest("Deployment", name)["spec"]["template"]
        (container,) = template["spec"]["containers"]
        assert {p["containerPort"] for p in container["ports"]} == {port}, name
        assert {"livenessProbe", "readinessProbe"} <= set(container), name
        for probe in probes(container):
            assert container_port(container, probe["port"]) == port, name
            assert probe["path"] in paths, f"{name}: {probe['path']} is not served"
        annotations = template["metadata"]["annotations"]
        assert int(annotations["prometheus.io/port"]) == port, name
        assert annotations["prometheus.io/path"] in paths, name
    api = manifest("Deployment", "caseflow-api")["spec"]["template"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] != "/healthz", \
        "liveness must not depend on the database or Temporal (restarts would not help)"
    assert api["readinessProbe"]["httpGet"]["path"] == "/healthz"
    service = manifest("Service", "caseflow-api")["spec"]
    assert service["selector"].items() <= manifest(
        "Deployment", "caseflow-api")["spec"]["template"]["metadata"]["labels"].items()
    for mapping in service["ports"]:
        assert container_port(api, mapping["targetPort"]) == int(config["CASEFLOW_API_PORT"])
    assert config["CASEFLOW_API_HOST"] == config["CASEFLOW_METRICS_HOST"] == "0.0.0.0"


def test_the_image_exposes_and_defaults_to_the_ports_compose_and_kubernetes_use():
    env = dockerfile_env()
    exposed = {int(port) for instruction, arguments in dockerfile_instructions()
               if instruction == "EXPOSE" for port in arguments.split()}
    config = config_map()
    for name in ("CASEFLOW_API_PORT", "CASEFLOW_WORKER_METRICS_PORT"):
        assert env[name] == config[name] == compose_caseflow_services()["api"]["environment"][name]
        assert int(env[name]) in exposed, name
    assert env["CASEFLOW_API_HOST"] == "0.0.0.0"


def test_pods_run_non_root_with_resources_and_stop_gracefully():
    for where, pod in pod_specs():
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod.get("automountServiceAccountToken") is False, where
        for container in containers(pod):
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert "memory" in container["resources"]["limits"], where
    worker = manifest("Deployment", "caseflow-worker")["spec"]["template"]["spec"]
    grace = compose()["services"]["worker"]["stop_grace_period"]
    assert f"{worker['terminationGracePeriodSeconds']}s" == grace, \
        "compose and Kubernetes give a stopping worker the same time"


def pinned(image: str) -> bool:
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("", "latest")


def test_every_image_is_pinned_and_caseflow_is_this_release():
    images = [service["image"] for service in compose()["services"].values()]
    images += [container["image"] for _, pod in pod_specs() for container in containers(pod)]
    images += [arguments.split()[0] for instruction, arguments in dockerfile_instructions()
               if instruction == "FROM"]
    values = yaml.safe_load(HELM_VALUES.read_text("utf-8"))
    images += [f"{values[part]['image']['repository']}:{values[part]['image']['tag']}"
               for part in ("server", "admintools", "web")]
    assert [image for image in images if not pinned(image)] == []
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    ours = {image for image in images if caseflow_image(image)}
    assert ours and {image.rsplit(":", 1)[1] for image in ours} == {version}, ours
    # One Temporal release everywhere: compose, the Helm values and the setup Job.
    for repository in ("temporalio/server", "temporalio/admin-tools", "temporalio/ui"):
        assert len({image for image in images if image.startswith(repository + ":")}) == 1, \
            repository


def search_attributes_in(text: str, pattern: str) -> dict[str, str]:
    return dict(re.findall(pattern, text))


def test_search_attributes_registered_by_deploy_and_documented_are_those_caseflow_sets():
    script = (TEMPORAL / "setup-namespace.sh").read_text("utf-8")
    assert search_attributes_in(script, r"\b([A-Z][A-Za-z]+)=(Keyword|Bool|Int|Double|Text|"
                                        r"Datetime|KeywordList)\b") == SEARCH_ATTRIBUTES
    documented = search_attributes_in(OPERATIONS.read_text("utf-8"),
                                      r"--name (\w+) --type (\w+)")
    assert documented == SEARCH_ATTRIBUTES
    setup = manifest("Job", "caseflow-temporal-setup")["spec"]["template"]["spec"]
    assert setup["containers"][0]["command"][-1].endswith("/setup-namespace.sh")
    assert "setup-namespace.sh" in compose()["services"]["temporal-setup"]["entrypoint"][-1]


def env_of(container: Doc) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


def test_namespace_retention_address_and_dynamic_config_agree_across_compose_and_kubernetes():
    services = compose()["services"]
    namespace = services["api"]["environment"]["CASEFLOW_TEMPORAL_NAMESPACE"]
    assert services["temporal-setup"]["environment"]["NAMESPACE"] == namespace
    assert services["temporal-ui"]["environment"]["TEMPORAL_DEFAULT_NAMESPACE"] == namespace
    host, _, port = services["api"]["environment"]["CASEFLOW_TEMPORAL_ADDRESS"].partition(":")
    assert host in services and port == "7233"
    assert services["temporal-setup"]["environment"]["TEMPORAL_ADDRESS"] == \
        services["api"]["environment"]["CASEFLOW_TEMPORAL_ADDRESS"]

    config = config_map()
    values = yaml.safe_load(HELM_VALUES.read_text("utf-8"))
    setup = env_of(manifest("Job", "caseflow-temporal-setup")["spec"]["template"]["spec"]
                   ["containers"][0])
    (created,) = values["server"]["config"]["namespaces"]["namespace"]
    web = {item["name"]: item["value"] for item in values["web"]["additionalEnv"]}
    assert config["CASEFLOW_TEMPORAL_NAMESPACE"] == setup["NAMESPACE"] == created["name"] == \
        web["TEMPORAL_DEFAULT_NAMESPACE"] == namespace
    assert setup["RETENTION"] == created["retention"] == example_env()["TEMPORAL_RETENTION"]
    assert config["CASEFLOW_TEMPORAL_ADDRESS"] == setup["TEMPORAL_ADDRESS"]
    dynamic = yaml.safe_load((TEMPORAL / "dynamicconfig.yaml").read_text("utf-8"))
    assert values["server"]["dynamicConfig"] == dynamic


def test_secrets_stay_out_of_the_repository():
    # Kubernetes: the only Secret is the example, and every value in it is a placeholder.
    secrets = [(path, doc) for path, doc in manifests() if doc["kind"] == "Secret"]
    assert [path.name for path, _ in secrets] == ["secret.example.yaml"]
    for value in secrets[0][1]["stringData"].values():
        assert "CHANGE-ME" in value, value
    secret_keys = set(secrets[0][1]["stringData"])
    sensitive = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|DATABASE_URL")
    assert all(sensitive.search(key) or key.endswith("USERNAME") for key in secret_keys)
    assert not [key for key in config_map() if sensitive.search(key)], "secrets in a ConfigMap"
    for where, pod in pod_specs():
        for container in containers(pod):
            assert not [name for name in env_of(container) if sensitive.search(name)], where
    # Compose: secrets come from .env (git-ignored) through ${...}; the example has placeholders.
    raw = yaml.safe_load(COMPOSE.read_text("utf-8"))
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if sensitive.search(key) and value:
                assert "${" in str(value), f"{name}: {key} is written in compose.yaml"
    for key, value in example_env().items():
        if sensitive.search(key) and value:
            assert "CHANGE-ME" in value, key
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/compose/.env"], cwd=ROOT)
    assert ignored.returncode == 0, "deploy/compose/.env must be git-ignored"


def test_production_runs_the_temporal_version_of_the_dev_server():
    """One Temporal everywhere: every image of the server, its admin tools and the Web UI in
    compose, the Helm values and the setup Job is the version `temporal server start-dev`
    (the pip-installed CLI that `make run` and the tests use) reports."""
    shown = subprocess.run([binary("temporal"), "--version"], capture_output=True, text=True,
                           timeout=30, check=True).stdout
    found = re.search(r"Server (\d+\.\d+\.\d+), UI (\d+\.\d+\.\d+)", shown)
    assert found, shown
    server, ui = found.groups()
    images = [service["image"] for service in compose()["services"].values()
              if str(service.get("image", "")).startswith("temporalio/")]
    images += [c["image"] for doc in yaml_documents(TEMPORAL / "setup-job.yaml")
               for c in doc["spec"]["template"]["spec"]["containers"]]
    values = yaml.safe_load(HELM_VALUES.read_text("utf-8"))
    images += [f"{values[part]['image']['repository']}:{values[part]['image']['tag']}"
               for part in ("server", "admintools", "web")]
    assert len(images) >= 7
    for image in images:
        name, tag = image.rsplit(":", 1)
        assert tag == (ui if name == "temporalio/ui" else server), (image, server, ui)
    assert f"{server}, Temporal UI {ui}" in (DEPLOY / "README.md").read_text("utf-8")
