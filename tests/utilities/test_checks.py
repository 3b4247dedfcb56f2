"""The app refuses to start without its front-end packages, with one clear message."""

import json

from utilities.checks import front_end_packages_installed


def test_installed_front_end_packages_pass(settings):
    assert front_end_packages_installed() == []


def test_missing_front_end_packages_are_a_system_check_error(settings, tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": {"htmx.org": "2.0.4", "world-atlas": "2"}}))
    (tmp_path / "node_modules" / "htmx.org").mkdir(parents=True)
    (tmp_path / "node_modules" / "htmx.org" / "package.json").write_text("{}")
    settings.BASE_DIR = tmp_path

    errors = front_end_packages_installed()

    assert [error.id for error in errors] == ["utilities.E001"]
    assert "world-atlas" in errors[0].msg and "htmx.org" not in errors[0].msg
    assert "npm ci" in errors[0].hint
