"""System checks that stop the app at start, with one clear message, rather than answer 500 on
every page later."""

import json
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, register


@register()
def front_end_packages_installed(app_configs=None, **kwargs) -> list[Error]:
    """Every package of `package.json` is installed under `node_modules/`: the pages load them
    as static files, and collectstatic would otherwise go on without them."""
    manifest = Path(settings.BASE_DIR) / "package.json"
    if not manifest.exists():
        return []
    wanted = json.loads(manifest.read_text(encoding="utf-8")).get("dependencies", {})
    modules = Path(settings.BASE_DIR) / "node_modules"
    missing = sorted(name for name in wanted if not (modules / name / "package.json").exists())
    if not missing:
        return []
    return [
        Error(
            f"Front-end packages are not installed: {', '.join(missing)}.",
            hint="Run `npm ci` in the project folder (make run and make test do it).",
            id="utilities.E001",
        )
    ]
