"""``make deploy-check``: the deployment files are checked, not trusted.

- every manifest under deploy/k8s (and deploy/k8s/examples) parses and validates against
  the Kubernetes JSON schemas of ``KUBERNETES_VERSION`` (``kubernetes-validate``, strict:
  unknown fields are errors). CloudNativePG's kinds (``postgresql.cnpg.io``) have no schema
  there: they are checked for the fields Pulse depends on instead (a documented skip);
- every Secret a manifest reads (environment, volumes, CloudNativePG references) exists in
  deploy/k8s/examples/secrets.yaml with the keys read;
- every ``PULSE_*`` name in docker-compose.yml and in the manifests is one the code reads,
  and the settings a deployment needs are there (public URL, secure cookies, R3, replicas);
- the image: non-root, a writable data folder, no dev extra, no test code, pinned versions
  covering every runtime dependency.
Exit status 1 with one line per problem."""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import yaml

ROOT = Path(__file__).resolve().parents[1]
KUBERNETES_VERSION = "1.31.0"
CRD_GROUPS = {"postgresql.cnpg.io"}
# Imported only inside the embedded servers of `pulse dev up` (the `dev` extra), never in
# a deployment: allowed to be absent from the image.
DEV_ONLY = {"pgserver"}
Doc = dict[str, Any]


def load_documents(path: Path) -> list[Doc]:
    """Every YAML document of ``path``; a parse error names the file and line."""
    try:
        return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    except yaml.YAMLError as error:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        raise ValueError(f"{shown}: does not parse: {error}") from None


def _name(doc: Doc) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name', '?')}"


def schema_problems(doc: Doc, version: str = KUBERNETES_VERSION) -> list[str]:
    group = str(doc.get("apiVersion", "")).split("/")[0]
    if group in CRD_GROUPS:
        return crd_problems(doc)
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(p) for p in error.path)
        return [f"{_name(doc)}: {where}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{_name(doc)}: no schema for {doc.get('apiVersion')} {doc.get('kind')}"]
    return []


def crd_problems(doc: Doc) -> list[str]:
    """CloudNativePG kinds: the fields Pulse relies on (no schema is bundled for them)."""
    spec = doc.get("spec") or {}
    kind = doc.get("kind")
    problems = []
    if kind == "Cluster":
        if int(spec.get("instances", 1)) < 3:
            problems.append("a primary and at least two replicas (instances >= 3)")
        synchronous = (spec.get("postgresql") or {}).get("synchronous") or {}
        if int(synchronous.get("number", 0)) < 1 and int(spec.get("minSyncReplicas", 0)) < 1:
            problems.append("a synchronous replica (postgresql.synchronous.number >= 1)")
        if not (spec.get("backup") or {}).get("barmanObjectStore"):
            problems.append("a backup destination (backup.barmanObjectStore)")
    elif kind == "ScheduledBackup":
        if len(str(spec.get("schedule", "")).split()) != 6:
            problems.append("schedule must have six fields (seconds first)")
    elif kind == "Pooler" and (spec.get("pgbouncer") or {}).get("poolMode") != "session":
        problems.append("pgbouncer.poolMode must be session (asyncpg prepares statements)")
    return [f"{_name(doc)}: {problem}" for problem in problems]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def secrets_read(doc: Doc) -> set[tuple[str, str]]:
    """(Secret, key) pairs a manifest reads; key "" = the whole Secret."""
    found: set[tuple[str, str]] = set()
    for node in _walk(doc):
        ref = node.get("secretKeyRef")
        if isinstance(ref, dict):
            found.add((ref["name"], ref["key"]))
        secret = node.get("secret")
        if isinstance(secret, dict) and "secretName" in secret:
            found.add((secret["secretName"], ""))
        for field in ("passwordSecret", "secret"):
            value = node.get(field)
            if isinstance(value, dict) and set(value) == {"name"}:
                found.add((value["name"], ""))
        for field in ("accessKeyId", "secretAccessKey"):
            value = node.get(field)
            if isinstance(value, dict) and {"name", "key"} <= set(value):
                found.add((value["name"], value["key"]))
    return found


def secret_problems(manifests: Iterable[Doc], examples: Iterable[Doc]) -> list[str]:
    known = {
        doc["metadata"]["name"]: set((doc.get("stringData") or doc.get("data") or {}).keys())
        for doc in examples
        if doc.get("kind") == "Secret"
    }
    problems = []
    for doc in manifests:
        for name, key in sorted(secrets_read(doc)):
            if name not in known:
                problems.append(f"{_name(doc)}: reads Secret {name}, not in examples/secrets.yaml")
            elif key and key not in known[name]:
                problems.append(f"{_name(doc)}: reads key {key} of Secret {name}, not there")
    return problems


def code_variables(root: Path = ROOT) -> set[str]:
    """Every complete ``PULSE_*`` name that appears in the services' source."""
    pattern = re.compile(r"\bPULSE_[A-Z0-9_]*[A-Z0-9]\b")
    names: set[str] = set()
    for path in root.glob("services/*/src/**/*.py"):
        names.update(pattern.findall(path.read_text()))
    # Per-service addresses are built as f"PULSE_{name.upper()}_ADDR".
    names.update(f"PULSE_{s}_ADDR" for s in ("SURVEY", "RESPONSE", "CORRELATION", "WEB"))
    return names


def pulse_variables(doc: Any) -> set[str]:
    """``PULSE_*`` names set in a manifest or compose file (env lists and maps, ConfigMaps)."""
    found: set[str] = set()
    for node in _walk(doc):
        if "name" in node and ("value" in node or "valueFrom" in node):
            found.add(str(node["name"]))
        for key in ("environment", "data"):
            value = node.get(key)
            if isinstance(value, dict):
                found.update(str(k) for k in value)
    return {name for name in found if name.startswith("PULSE_")}


def variable_problems(where: str, doc: Any, known: set[str]) -> list[str]:
    return [
        f"{where}: {name} is not a setting the code reads"
        for name in sorted(pulse_variables(doc) - known)
    ]


def compose_problems(compose: Doc) -> list[str]:
    """What ``docker compose`` would refuse: unknown services in depends_on, undeclared
    named volumes, a service with neither image nor build."""
    services: dict[str, Doc] = compose.get("services") or {}
    volumes = set(compose.get("volumes") or {})
    problems = []
    for name, service in services.items():
        if "image" not in service and "build" not in service:
            problems.append(f"docker-compose.yml: {name} has neither image nor build")
        needs = service.get("depends_on") or []
        for other in needs if isinstance(needs, list) else list(needs):
            if other not in services:
                problems.append(f"docker-compose.yml: {name} depends on unknown {other}")
        for mount in service.get("volumes") or []:
            source = str(mount).split(":")[0]
            if not source.startswith((".", "/")) and source not in volumes:
                problems.append(f"docker-compose.yml: {name} mounts undeclared volume {source}")
    return problems


def deployment_problems(manifests: list[Doc]) -> list[str]:
    problems = []
    config: dict[str, Any] = next(
        (
            d["data"]
            for d in manifests
            if d.get("kind") == "ConfigMap" and _name(d).endswith("pulse-config")
        ),
        {},
    )
    required = {
        "PULSE_PUBLIC_URL": None,
        "PULSE_WEB_SECURE_COOKIES": "true",
        "PULSE_STREAM_REPLICAS": "3",
    }
    for name, value in required.items():
        if name not in config or (value is not None and str(config[name]) != value):
            problems.append(
                f"ConfigMap/pulse-config: {name} must be set{f' to {value}' if value else ''}"
            )
    for doc in manifests:
        if doc.get("kind") not in ("Deployment", "StatefulSet", "Job"):
            continue
        template = doc["spec"]["template"]["spec"]
        for container in template["containers"]:
            image = str(container.get("image", ""))
            if image.endswith(":latest") or ":" not in image:
                problems.append(f"{_name(doc)}: image {image} is not pinned")
            if image.startswith("pulse:") and container.get("imagePullPolicy") == "Always":
                problems.append(f"{_name(doc)}: a locally built image cannot be pulled Always")
        if doc.get("kind") == "Deployment" and int(doc["spec"].get("replicas", 1)) < 2:
            problems.append(f"{_name(doc)}: needs at least 2 replicas")
    return problems


def image_problems(root: Path = ROOT) -> list[str]:
    dockerfile = (root / "deploy" / "Dockerfile").read_text()
    ignore = (root / ".dockerignore").read_text() if (root / ".dockerignore").exists() else ""
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    problems = []
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("Dockerfile: the image must run as a non-root USER")
    if "[dev]" in dockerfile or "requirements.txt" in dockerfile:
        problems.append("Dockerfile: installs the dev extra (embedded PostgreSQL / NATS)")
    if "services/testing" in dockerfile or re.search(r"COPY\s+\S*tests", dockerfile):
        problems.append("Dockerfile: copies test code")
    if "PULSE_DATA_DIR=/data" not in dockerfile or "chown 10001:10001 /data" not in dockerfile:
        problems.append("Dockerfile: needs a data folder the service user can write")
    for pattern in ("services/testing/", "services/*/tests/"):
        if pattern not in ignore:
            problems.append(f".dockerignore: must exclude {pattern}")
    pins = {
        re.sub(r"[-_.]+", "-", line.split("==")[0]).lower()
        for line in (root / "deploy" / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    problems += imported_but_unpinned(root, pins)
    for pyproject in root.glob("services/*/pyproject.toml"):
        if pyproject.parent.name == "testing":
            continue
        for requirement in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
            name = re.sub(
                r"[-_.]+", "-", re.split(r"[ <>=!~\[;]", requirement, maxsplit=1)[0]
            ).lower()
            if not name.startswith("pulse-") and name not in pins:
                problems.append(
                    f"deploy/constraints.txt: {name} (from {pyproject.parent.name}) is not pinned"
                )
    return problems


def imported_but_unpinned(root: Path, pins: set[str]) -> list[str]:
    """Third-party distributions the runtime code imports that the image would lack."""
    import importlib.metadata

    owners = importlib.metadata.packages_distributions()
    pattern = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)
    modules: set[str] = set()
    for path in root.glob("services/*/src/**/*.py"):
        if "/services/testing/" not in path.as_posix():
            modules.update(pattern.findall(path.read_text()))
    problems = []
    for module in sorted(modules):
        if module in sys.stdlib_module_names or module.startswith("pulse"):
            continue
        for dist in owners.get(module, []):
            name = re.sub(r"[-_.]+", "-", dist).lower()
            if not name.startswith("pulse-") and name not in pins | DEV_ONLY:
                problems.append(
                    f"deploy/constraints.txt: {name} (imported as {module}) is not pinned"
                )
    return problems


def run(root: Path = ROOT) -> list[str]:
    problems: list[str] = []
    manifests: list[Doc] = []
    examples: list[Doc] = []
    for path in sorted((root / "deploy" / "k8s").rglob("*.yaml")):
        try:
            docs = load_documents(path)
        except ValueError as error:
            problems.append(str(error))
            continue
        (examples if path.parent.name == "examples" else manifests).extend(docs)
        for doc in docs:
            problems += [f"{path.name}: {p}" for p in schema_problems(doc)]
    known = code_variables(root)
    problems += secret_problems(manifests, examples)
    problems += deployment_problems(manifests)
    for doc in manifests:
        problems += variable_problems(f"deploy/k8s {_name(doc)}", doc, known)
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    problems += variable_problems("docker-compose.yml", compose, known)
    problems += compose_problems(compose)
    problems += image_problems(root)
    return problems


def main() -> int:
    problems = run()
    for problem in problems:
        print(f"deploy-check: {problem}")
    if problems:
        return 1
    count = len(list((ROOT / "deploy" / "k8s").rglob("*.yaml")))
    print(
        f"deploy-check: {count} manifest files valid against Kubernetes {KUBERNETES_VERSION} "
        "(CloudNativePG kinds: checked fields, no schema); compose and image checked"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
