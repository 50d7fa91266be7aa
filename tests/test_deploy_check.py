"""``make deploy-check`` passes on the shipped files and fails on the mistakes it exists for."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_check", ROOT / "scripts/deploy_check.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["deploy_check"] = module
    spec.loader.exec_module(module)
    return module


def deployment(**container: object) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "x"}},
            "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "x", "image": "pulse:0.1.0", **container}]},
            },
        },
    }


def test_the_shipped_files_pass(check: ModuleType) -> None:
    assert check.run() == []


def test_a_manifest_that_does_not_parse_is_reported(check: ModuleType, tmp_path: Path) -> None:
    broken = tmp_path / "nats.yaml"
    broken.write_text("probe:\n  httpGet: {path: /healthz?js-enabled-only=true, port: 8222}\n")
    with pytest.raises(ValueError, match="does not parse"):
        check.load_documents(broken)


def test_schema_errors_and_unknown_fields_are_reported(check: ModuleType) -> None:
    assert check.schema_problems(deployment()) == []
    wrong_type = deployment()
    wrong_type["spec"]["replicas"] = "two"  # type: ignore[index]
    assert any("replicas" in p for p in check.schema_problems(wrong_type))
    assert check.schema_problems(deployment(envv=[]))  # strict: unknown field
    cluster = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "db"}}
    problems = check.schema_problems({**cluster, "spec": {"instances": 1}})
    assert any("synchronous" in p for p in problems)
    assert any("backup" in p for p in problems)


def test_secret_names_and_keys_must_exist(check: ModuleType) -> None:
    env = [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "pulse-secrets", "key": "nope"}}}]
    examples = [{"kind": "Secret", "metadata": {"name": "pulse-secrets"}, "stringData": {"a": "b"}}]
    problems = check.secret_problems([deployment(env=env)], examples)
    assert problems == ["Deployment/x: reads key nope of Secret pulse-secrets, not there"]
    assert check.secret_problems([deployment(env=env)], [])


def test_unknown_pulse_variables_and_unpinned_images_are_reported(check: ModuleType) -> None:
    known = check.code_variables()
    assert {"PULSE_PUBLIC_URL", "PULSE_WEB_SECURE_COOKIES", "PULSE_STREAM_REPLICAS"} <= known
    compose = {
        "services": {"web": {"environment": {"PULSE_PUBLIC_URL": "x", "PULSE_PUBLC_URL": "y"}}}
    }
    assert check.variable_problems("compose", compose, known) == [
        "compose: PULSE_PUBLC_URL is not a setting the code reads"
    ]
    latest = deployment(image="pulse:latest", imagePullPolicy="Always")
    problems = check.deployment_problems([latest])
    assert any("not pinned" in p for p in problems)
    assert any("pulled Always" in p for p in problems)
    assert any("PULSE_PUBLIC_URL" in p for p in problems)


def test_compose_references_are_checked(check: ModuleType) -> None:
    compose = {
        "services": {"web": {"build": ".", "depends_on": ["survey"], "volumes": ["data:/data"]}}
    }
    assert check.compose_problems(compose) == [
        "docker-compose.yml: web depends on unknown survey",
        "docker-compose.yml: web mounts undeclared volume data",
    ]


def test_a_runtime_import_without_a_pin_is_reported(check: ModuleType) -> None:
    problems = check.imported_but_unpinned(ROOT, set())
    assert "deploy/constraints.txt: asyncpg (imported as asyncpg) is not pinned" in problems
    assert not any("pgserver" in p for p in problems)  # dev extra only
