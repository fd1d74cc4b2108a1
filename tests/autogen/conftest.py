from __future__ import annotations

import json
from typing import Any

import pytest

from tests.autogen.documents import FIXTURE_FILES, fixture_id


@pytest.fixture(params=FIXTURE_FILES, ids=fixture_id)
def fixture_doc(request: pytest.FixtureRequest) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(request.param.read_text())
    return data
