"""Every curl command of docs/examples.md (and any in README.md) runs through the ASGI app with
the documented body and answers 200: the examples a newcomer copies really work.

Placeholders the text asks the reader to replace (CARD_UUID, SUGGESTION_UUID, CONSULT_ID) are
filled from the answers of the earlier commands, as a reader would."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.cds_hooks.card_rules import validate_cds_response

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "docs" / "examples.md", ROOT / "README.md")
BASE = "http://127.0.0.1:8000"
CONSULT_EXTENSION = "http://fhir.org/argonaut/Extension/pama-rating-consult-id"
FENCE = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)


def curl_commands(path: Path) -> list[list[str]]:
    """The curl commands of the bash blocks of ``path``, continuation lines joined."""
    commands = []
    for block in FENCE.findall(path.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "curl":
                commands.append(words)
    return commands


def parse_curl(words: list[str]) -> tuple[str, str, dict[str, str], bytes | None]:
    """(method, URL, headers, body) of one curl command; unknown options fail the test."""
    method, url, headers, body = None, None, {}, None
    args = iter(words[1:])
    for word in args:
        if word in ("-s", "--silent", "-S", "-f", "--fail"):
            continue
        if word in ("-X", "--request"):
            method = next(args)
        elif word in ("-H", "--header"):
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif word in ("-d", "--data", "--data-binary", "--data-raw"):
            data = next(args)
            body = (ROOT / data[1:]).read_bytes() if data.startswith("@") else data.encode()
        elif word.startswith("http"):
            url = word
        else:
            pytest.fail(f"curl option not understood by this test: {word!r} in {words}")
    assert url is not None and url.startswith(BASE), words
    return method or ("POST" if body is not None else "GET"), url, headers, body


def test_examples_cover_every_endpoint_family() -> None:
    paths = {urlsplit(parse_curl(c)[1]).path for d in DOCS for c in curl_commands(d)}
    for family in (
        "/api/v1/scores/",
        "/api/v1/acr/",
        "/api/v1/assessments",
        "/cds-services",
        "/cds-services/vcf-order-select",
        "/feedback",
        "/api/v1/audit/",
        "/api/v1/analytics",
        "/fhir/CodeSystem/",
    ):
        assert any(family in p for p in paths), (family, sorted(paths))
    # the examples' JSON bodies are JSON
    for doc in DOCS:
        for command in curl_commands(doc):
            body = parse_curl(command)[3]
            if body is not None:
                json.loads(body)


def test_every_example_answers_200(client: Any) -> None:
    filled: dict[str, str] = {}
    ran = 0
    for doc in DOCS:
        for command in curl_commands(doc):
            method, url, headers, body = parse_curl(command)
            for token, value in filled.items():
                url = url.replace(token, value)
                body = body.replace(token.encode(), value.encode()) if body else body
            assert not re.search(r"CARD_UUID|SUGGESTION_UUID|CONSULT_ID", url + str(body)), (
                f"placeholder used before a command that answers it: {command}"
            )
            if "/feedback" in url or "/api/v1/audit/" in url:
                assert client.app.state.audit.wait_idle(10.0)  # the consult is recorded
            r = client.request(method, url.removeprefix(BASE), headers=headers, content=body)
            assert r.status_code == 200, (command, r.status_code, r.text[:2000])
            answer = r.json()
            ran += 1
            path = urlsplit(url).path
            if path.startswith("/cds-services/") and not path.endswith("/feedback"):
                assert validate_cds_response(answer) == []
                [card] = [c for c in answer["cards"] if c.get("suggestions")]
                filled["CARD_UUID"] = card["uuid"]
                filled["SUGGESTION_UUID"] = card["suggestions"][0]["uuid"]
                [consult] = {
                    e["valueUri"]
                    for a in answer["systemActions"]
                    for e in a["resource"]["extension"]
                    if e["url"] == CONSULT_EXTENSION
                }
                filled["CONSULT_ID"] = consult
            if path == "/api/v1/audit/" + filled.get("CONSULT_ID", "-"):
                assert answer["consult_id"] == filled["CONSULT_ID"]
            if path == "/api/v1/analytics":
                assert answer["overall"]["accepted_count"] == 1, answer  # the feedback above
    assert ran == sum(len(curl_commands(d)) for d in DOCS) >= 15
