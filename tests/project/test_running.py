"""How the app is run: health, production settings, the compose file and the README's commands."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def production_env(**extra):
    # Test-only switches (browser tests allow sync database calls) must not reach production checks.
    excluded = {"DJANGO_SETTINGS_MODULE", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {key: value for key, value in os.environ.items() if key not in excluded}
    env.update(
        DEBUG="0",
        SECRET_KEY="x" * 30 + "production-like-secret-0123456789",
        ALLOWED_HOSTS="diplomacy.example.gov",
        ENV_FILE="",  # a checkout's .env (make run writes one) is not production
    )
    env.update(extra)
    return env


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["SECRET_KEY"]
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_a_served_worker_loads_every_view_then_freezes_what_loading_made():
    """gunicorn imports `diplomacy.wsgi`: by then the URLconf and its views are loaded, and kept
    out of the collector's generations, so no full collection walks them again."""
    script = (
        "import gc, sys; import diplomacy.wsgi; "
        "print(gc.get_freeze_count(), 'engagements.api.views' in sys.modules, len(gc.get_objects()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=production_env(), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    frozen, views_loaded, still_collected = result.stdout.split()
    assert views_loaded == "True"
    assert int(frozen) > 10 * int(still_collected)


def test_compose_file_parses_and_runs_one_beat():
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (.ci/run installs Debian's package)")
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SECRET_KEY": "s", "ALLOWED_HOSTS": "example.gov"},
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"db", "redis", "web", "worker", "beat"} <= set(services)
    beats = [name for name, spec in services.items() if "beat" in " ".join(map(str, spec.get("command", [])))]
    assert beats == ["beat"]
    assert "noeviction" in services["redis"]["command"]


def test_compose_runs_migrations_first_behind_a_proxy_with_shared_uploads():
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (.ci/run installs Debian's package)")
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SECRET_KEY": "s", "ALLOWED_HOSTS": "example.gov"},
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    assert services["migrate"]["command"][-2:] == ["migrate", "--no-input"]
    # Only the proxy is published; gunicorn is reached through it alone.
    published = {name for name, spec in services.items() if spec.get("ports")}
    assert published == {"proxy"}
    assert "reverse_proxy web:8000" in (ROOT / "deploy" / "Caddyfile").read_text()

    # The web process and the workers see the same uploaded files.
    def sources(name):  # docker-compose 1 prints "source:target:mode", 2 a mapping
        return {v["source"] if isinstance(v, dict) else v.split(":")[0] for v in services[name].get("volumes", [])}

    mounts = {name: sources(name) for name in ("web", "worker")}
    assert "media" in mounts["web"] & mounts["worker"]


def test_each_compose_service_command_exists_in_the_project():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    web = services["web"]["command"]
    assert web[0] == "gunicorn" and web[1] == "diplomacy.wsgi"
    assert (ROOT / "diplomacy" / "wsgi.py").exists()
    for name in ("worker", "beat"):
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "diplomacy"]
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "diplomacy", "inspect", "--help"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert subprocess.run([sys.executable, "-c", "import gunicorn"], capture_output=True).returncode == 0


def test_readme_starts_with_the_two_commands():
    first_lines = (ROOT / "README.md").read_text().splitlines()[:6]
    commands = [line.strip().split("#")[0].strip() for line in first_lines if line.startswith("    ")]
    assert commands == ["make run", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert "\nrun:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
