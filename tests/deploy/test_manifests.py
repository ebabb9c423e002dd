"""The Kubernetes manifests in deploy/ (kustomize base) are valid against the Kubernetes JSON
schemas shipped in the ``kubernetes-validate`` package (strict: unknown fields are errors; no
network), and wired consistently: every file is in the kustomization, the names the
Deployment refers to exist, selectors match the pod labels, the probes and the security
settings are those docs/deploy.md describes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "base"
# oldest Kubernetes minor we support (docs/deploy.md) and the newest the validator knows
VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]


def manifest_files() -> list[Path]:
    return sorted(p for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def resources() -> list[dict[str, Any]]:
    return [doc for path in manifest_files() for doc in documents(path)]


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [r for r in resources() if r["kind"] == kind]


def one(kind: str) -> dict[str, Any]:
    [resource] = by_kind(kind)
    return resource


def validate(resource: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(resource, version, strict=True)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_every_manifest_is_valid(path: Path, version: str) -> None:
    docs = documents(path)
    assert docs, f"{path.name} has no document"
    for doc in docs:
        validate(doc, version)


def _deployment() -> dict[str, Any]:
    return yaml.safe_load((BASE / "deployment.yaml").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (lambda d: d["spec"].__setitem__("replicas", "two"), "wrong type"),
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0].__setitem__(
                "imagePullPolicyy", "Always"
            ),
            "unknown field (typo)",
        ),
        (lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("name"), "required field"),
        (lambda d: d["spec"].pop("selector"), "no selector"),
    ],
)
def test_a_broken_manifest_fails_validation(change: Any, what: str) -> None:
    broken = _deployment()
    validate(broken, VERSIONS[-1])  # the unbroken one passes
    change(broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken, VERSIONS[-1])


def test_an_unknown_kind_is_not_silently_accepted() -> None:
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate(
            {"apiVersion": "apps/v1", "kind": "Deploymnet", "metadata": {"name": "x"}}, VERSIONS[-1]
        )


def test_kustomization_lists_exactly_the_manifests() -> None:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert sorted(kustomization["resources"]) == sorted(p.name for p in manifest_files())
    images = {i["name"] for i in kustomization["images"]}
    containers = [
        c
        for r in by_kind("Deployment") + by_kind("Job")
        for c in r["spec"]["template"]["spec"]["containers"]
    ]
    assert {c["image"] for c in containers} <= images


def test_kinds_the_issue_asks_for_are_there() -> None:
    kinds = {r["kind"] for r in resources()}
    assert {
        "Deployment",
        "Service",
        "Job",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ConfigMap",
        "Secret",
    } <= kinds


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_references_and_selectors_are_consistent() -> None:
    deployment = one("Deployment")
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert _matches(deployment["spec"]["selector"]["matchLabels"], labels)
    assert _matches(one("Service")["spec"]["selector"], labels)
    assert _matches(one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"], labels)
    target = one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    policy = one("NetworkPolicy")["spec"]["podSelector"]["matchLabels"]
    job_labels = one("Job")["spec"]["template"]["metadata"]["labels"]
    assert _matches(policy, labels) and _matches(policy, job_labels)  # both reach PostgreSQL only

    names = {(r["kind"], r["metadata"]["name"]) for r in resources()}
    for workload in (deployment, one("Job")):
        spec = workload["spec"]["template"]["spec"]
        assert ("ServiceAccount", spec["serviceAccountName"]) in names
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in names
                if "secretRef" in source:
                    assert ("Secret", source["secretRef"]["name"]) in names
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in names
            mounts = {m["name"] for c in spec["containers"] for m in c.get("volumeMounts", [])}
            assert volume["name"] in mounts


def test_pod_security_probes_and_spool() -> None:
    deployment = one("Deployment")
    spec = deployment["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["automountServiceAccountToken"] is False
    [container] = spec["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/v1/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/health/ready"
    assert container["command"] == ["python", "-m", "app.serve"]
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])

    [config] = [r for r in by_kind("ConfigMap") if r["metadata"]["name"] == "vcf-cds-settings"]
    spool_dir = config["data"]["VCF_CDS_AUDIT_SPOOL_DIR"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert spool_dir in mounts  # the spool is a volume: the root filesystem is read-only
    [spool] = [v for v in spec["volumes"] if v["name"] == mounts[spool_dir]]
    assert "emptyDir" in spool or "persistentVolumeClaim" in spool
    assert config["data"]["VCF_CDS_HOST"] == "0.0.0.0"
    assert "VCF_CDS_AUDIT_SECRET" in one("Secret")["stringData"]
    assert "VCF_CDS_DATABASE_URL" in one("Secret")["stringData"]


def test_network_policy_allows_only_dns_database_and_fhir_egress() -> None:
    policy = one("NetworkPolicy")["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    ports = sorted({p["port"] for rule in policy["egress"] for p in rule["ports"]})
    assert ports == [53, 443, 5432]
    for rule in policy["egress"]:
        assert rule.get("to"), "an egress rule without 'to' would allow every destination"
