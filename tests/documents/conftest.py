import pytest

from tests import factories


@pytest.fixture(autouse=True)
def uploads_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(root) -> list:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


@pytest.fixture
def records(city_a, city_b):
    """An agreement and an engagement of each visibility in city A, and a restricted one in B."""
    made = {}
    for visibility in ("public", "internal", "restricted"):
        made[f"agreement-{visibility}"] = factories.AgreementFactory(
            city=city_a, visibility=visibility, title=f"Agreement {visibility}"
        )
        made[f"engagement-{visibility}"] = factories.EngagementFactory(
            city=city_a, visibility=visibility, title=f"Engagement {visibility}"
        )
    made["engagement-b-restricted"] = factories.EngagementFactory(city=city_b, visibility="restricted", title="B's own")
    return made
