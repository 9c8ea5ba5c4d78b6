"""Schemathesis against the OpenAPI document: generated requests, valid by the document
and not, to every operation never get a server error, and every answer has a status
code, content type and body the document declares. (Its pytest plugin does not load
under pytest 9, so the operations' strategies are run with hypothesis directly.)"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from twin_resources.api.app import create_app

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
EXAMPLES = 25


def operations(published):
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(published))
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_no_server_error_and_answers_as_documented(published, mode):
    found = operations(published)
    assert len(found) == 5
    nothing_invalid = set()
    for operation in found:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(checks=CHECKS)

        try:
            check()
        except Unsatisfiable:
            nothing_invalid.add(operation.path)
    # no body, and no parameter a request can get wrong (any string names a portfolio)
    allowed = {"/api/v1/health", "/api/v1/optimization/{portfolio_id}/latest"}
    assert nothing_invalid <= (allowed if mode == schemathesis.GenerationMode.NEGATIVE else set())
