"""docker-compose.production.yml has the production shape (issue 17): a load balancer routing on
/readyz to two web servers, both workers and one beat, a PostgreSQL primary and its streaming
replica, RabbitMQ as the broker, Redis; healthchecks and restart policies; the replica's URL on
the web servers. Read as YAML (no Docker engine in CI)."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.production.yml"
WEB = ("web-1", "web-2")
LONG_RUNNING = (
    "proxy", *WEB, "worker", "worker-prompt", "beat", "postgres", "postgres-replica",
    "rabbitmq", "redis",
)  # fmt: skip
APP = (*WEB, "worker", "worker-prompt", "beat", "migrate")


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_every_service_of_the_shape_is_there(services):
    assert set(services) == {*LONG_RUNNING, "migrate"}
    assert services["beat"]["deploy"]["replicas"] == 1


def test_long_running_services_restart_and_are_probed(services):
    for name in LONG_RUNNING:
        assert services[name]["restart"] == "unless-stopped", name
        if name not in ("beat", "proxy"):  # beat: no probe; the proxy probes the web servers
            assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["restart"] == "no"


def test_the_web_servers_are_live_on_healthz_and_routed_on_readyz(services):
    for name in WEB:
        assert "/healthz" in " ".join(services[name]["healthcheck"]["test"]), name
    caddyfile = (ROOT / "docker" / "proxy" / "Caddyfile").read_text()
    assert re.search(r"reverse_proxy web-1:8000 web-2:8000", caddyfile)
    assert "health_uri /readyz" in caddyfile
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["proxy"]
    trusted = services["web-1"]["environment"]["PARCOURS_TRUSTED_PROXIES"]
    assert services["proxy"]["networks"]["parcours"]["ipv4_address"] == trusted


def test_the_web_servers_read_reports_from_the_replica_and_queue_on_rabbitmq(services):
    for name in WEB:
        environment = services[name]["environment"]
        assert "@postgres-replica:5432/parcours" in environment["DATABASE_REPLICA_URL"], name
        assert "@postgres:5432/parcours" in environment["DATABASE_URL"], name
    for name in APP:
        environment = services[name]["environment"]
        assert environment["CELERY_BROKER_URL"].startswith("amqp://"), name
        assert environment["PARCOURS_THROTTLE_CACHE_URL"].startswith("redis://redis:"), name
    # Workers and beat never read the replica (nothing they run is replica-eligible).
    for name in ("worker", "worker-prompt", "beat", "migrate"):
        assert "DATABASE_REPLICA_URL" not in services[name]["environment"], name


def test_the_replica_streams_from_the_primary(services):
    replica = services["postgres-replica"]
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "hot_standby=on" in replica["command"]
    script = (ROOT / "docker" / "postgres-replica" / "standby.sh").read_text()
    command = " ".join(script.replace("\\\n", " ").split())  # continued lines joined
    assert re.search(r"pg_basebackup .* -R -X stream -C -S", command)
    init = (ROOT / "docker" / "postgres-init" / "20-replication.sh").read_text()
    assert "REPLICATION" in init and "host replication parcours_replicator" in init
