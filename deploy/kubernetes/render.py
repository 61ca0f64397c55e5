"""Writes deploy/kubernetes/pod.yaml: a ConfigMap holding deploy/prometheus/prometheus.yml and
alerts.yml as they are, then the pod (pod.tail.yaml). Run it after editing any of them:

    python deploy/kubernetes/render.py

(tests/serve/test_monitoring.py fails when pod.yaml is out of date.)
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
PROMETHEUS = HERE.parent / "prometheus"
HEADER = """\
# `dltp serve` and its Prometheus in one pod, for Kubernetes or `podman kube play` (docs/serving.md):
#   docker build -t localhost/dltp-mnist-api:latest .     # after `dltp serve --export model`
#   podman kube play deploy/kubernetes/pod.yaml          # http://127.0.0.1:5000, Prometheus on :9090
#   podman kube down deploy/kubernetes/pod.yaml
# Written by deploy/kubernetes/render.py from deploy/prometheus/*.yml and pod.tail.yaml: edit those.
"""


def render() -> str:
    parts = [HEADER, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dltp-prometheus\ndata:\n"]
    for name in ("prometheus.yml", "alerts.yml"):
        text = (PROMETHEUS / name).read_text()
        parts.append(f"  {name}: |\n" + "".join(f"    {line}" if line.strip() else "\n"
                                               for line in text.splitlines(keepends=True)))
    parts.append("---\n" + (HERE / "pod.tail.yaml").read_text())
    return "".join(parts)


if __name__ == "__main__":
    (HERE / "pod.yaml").write_text(render())
    print(f"wrote {HERE / 'pod.yaml'}")
