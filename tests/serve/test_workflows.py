"""The CI/CD workflows are valid YAML with the jobs the project relies on."""

from __future__ import annotations

import yaml

from conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(doc, dict) and doc.get("jobs"), name
    # YAML 1.1 reads the key `on` as True.
    doc["on"] = doc.pop(True, doc.get("on"))
    for job_name, job in doc["jobs"].items():
        assert "runs-on" in job and job.get("steps"), job_name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), (job_name, step)
        for need in [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", []):
            assert need in doc["jobs"], (job_name, need)
    return doc


def test_every_workflow_parses():
    names = sorted(p.name for p in WORKFLOWS.glob("*.y*ml"))
    assert names == ["ci.yml", "release.yml"]
    for name in names:
        load(name)


def test_ci_runs_the_tests_on_push_and_pull_request_for_each_backend():
    ci = load("ci.yml")
    assert "push" in ci["on"] and "pull_request" in ci["on"]
    backends = {entry["backend"] for entry in ci["jobs"]["test"]["strategy"]["matrix"]["include"]}
    assert backends == {"torch", "jax", "tensorflow"}
    steps = " ".join(s.get("run", "") for s in ci["jobs"]["test"]["steps"])
    assert "pytest" in steps and "torch==2.13.0" in steps and "chromium" in steps


def test_ci_builds_the_slim_image_and_checks_what_it_holds():
    steps = load("ci.yml")["jobs"]["docker"]["steps"]
    script = "\n".join(s.get("run", "") for s in steps)
    assert "dltp serve --model models:/mnist-dense@champion --export model" in script
    assert "docker build" in script and "pip list" in script and "300000000" in script
    assert all(name in script for name in ("torch", "jax", "keras", "tensorflow", "mlflow"))
    assert "/ready" in script and "/predict" in script and "healthy" in script


def test_release_builds_pushes_and_deploys_only_with_secrets():
    rel = load("release.yml")
    assert rel["on"]["push"]["tags"] == ["v*"]
    jobs = rel["jobs"]
    assert jobs["image"]["needs"] == "test" and jobs["deploy"]["needs"] == "image"
    push = [s for s in jobs["image"]["steps"] if s.get("uses", "").startswith("docker/build-push-action")]
    assert push and push[0]["with"]["push"] is True
    deploy_steps = [s for s in jobs["deploy"]["steps"] if "uses" in s or "run" in s]
    guarded = [s for s in deploy_steps if "Skip" not in s.get("name", "")]
    assert guarded and all("GCP_SA_KEY != ''" in s.get("if", "") for s in guarded)
