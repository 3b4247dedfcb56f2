"""The OpenAPI schema: it builds, validates, covers every route, and the running API keeps to it
under schemathesis' generated (valid and invalid) requests for a partner, staff and a liaison."""

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from accounts.services import issue_token
from diplomacy.api_urls import router
from tests import factories

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCHEMATHESIS = Path(sys.executable).with_name("st")
# Routes other apps own and test against their own contract; the matrix still covers them.
OTHER_TEAMS_PATHS = r"^/api/v1/(imports|notifications)"


@pytest.fixture
def schema(db):
    return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_builds_and_validates(schema):
    validate_schema(schema)


def test_every_router_route_is_in_the_schema(schema):
    paths = set(schema["paths"])
    for prefix, _viewset, _basename in router.registry:
        assert f"/api/v1/{prefix}/" in paths or any(p.startswith(f"/api/v1/{prefix}/") for p in paths), prefix


def test_every_operation_documents_its_errors(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert {"400", "401", "403", "404", "429"} <= set(operation["responses"]), (method, path)


def test_versioned_writes_document_if_match_and_412(schema):
    for path in ("/api/v1/engagements/{id}/", "/api/v1/agreements/{id}/"):
        for method in ("put", "patch", "delete"):
            operation = schema["paths"][path][method]
            assert "412" in operation["responses"]
            assert any(p["name"] == "If-Match" and p["in"] == "header" for p in operation["parameters"])


def fuzz_world():
    city_a = factories.CityFactory(name="Los Angeles", subdivision="US-CA")
    factories.CityFactory(name="São Paulo", country=factories.country("BR"), subdivision="")
    staff = factories.UserFactory(username="fuzz-staff", role="staff", home_cities=[city_a])
    liaison = factories.UserFactory(username="fuzz-liaison", role="liaison", portfolio_all=True)
    partner = factories.UserFactory(username="fuzz-partner", role="partner")
    factories.topic("climate")
    factories.NetworkFactory(slug="c40")
    for visibility in ("public", "internal", "restricted"):
        engagement = factories.EngagementFactory(city=city_a, visibility=visibility, title=f"Zürich {visibility}")
        factories.AgreementFactory(city=city_a, visibility=visibility)
        factories.FollowUpFactory(engagement=engagement)
    factories.OfficeFactory(city=city_a)
    factories.MembershipFactory(city=city_a)
    factories.OrganizationFactory()
    return {"partner": partner, "staff": staff, "liaison": liaison}


def run_schemathesis(base_url: str, token: str) -> tuple[int, str]:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{base_url}/api/v1/schema/",
        "-H",
        f"Authorization: Token {token}",
        "--mode",
        "all",  # valid and invalid requests
        "--checks",
        "all",
        # Valid-looking ids of records that do not exist are refused with 400: referential
        # validity is not something an OpenAPI schema can express.
        "--exclude-checks",
        "positive_data_acceptance",
        "--phases",
        "examples,fuzzing,stateful",
        "--max-examples",
        "5",
        "--seed",
        "1",
        "--exclude-path-regex",
        OTHER_TEAMS_PATHS,
        "--generation-database",
        "none",
        "--no-color",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=170, check=False)  # noqa: S603
    return result.returncode, result.stdout + result.stderr


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is not installed in this virtualenv")
def test_schemathesis_finds_no_server_errors_or_schema_violations(live_server, transactional_db):
    users = fuzz_world()
    tokens = {role: issue_token(user=user) for role, user in users.items()}
    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        runs = dict(zip(tokens, pool.map(lambda t: run_schemathesis(live_server.url, t), tokens.values()), strict=True))
    counts = {}
    for role, (exit_code, output) in runs.items():
        generated = re.search(r"(\d+) generated", output)
        counts[role] = int(generated[1]) if generated else 0
        assert exit_code == 0, f"schemathesis as {role}:\n{output[-6000:]}"
        assert counts[role] > 0, output
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "schemathesis-requests.json").write_text(json.dumps({**counts, "total": sum(counts.values())}))
