"""Renders the deploy files from deploy/services.yaml (run `python deploy/generate.py`).

One module per kind of output: `workloads` (Deployments, Services, budgets, the topics Job),
`network` (NetworkPolicies), `scaling` (HPA, KEDA, prod sizing), `monitoring` (ServiceMonitors,
Prometheus' scrape config), `compose` (docker-compose.yml); `render` puts them in their files.
"""
