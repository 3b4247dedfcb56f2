from tests.imports.conftest import uploads_in_tmp, world  # noqa: F401 - the import tests' world and upload folder
