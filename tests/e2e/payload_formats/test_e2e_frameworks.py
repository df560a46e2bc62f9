"""Apps written for AWS run unchanged behind ``kumo up``: Powertools' REST (payload 1.0) and HTTP (2.0)
resolvers, and one FastAPI app behind Mangum on both formats."""

from __future__ import annotations

import httpx
import pytest

#: Api name -> what serves it (all on the $default stage).
APIS = ["pt-rest", "pt-http", "mangum-v1", "mangum-v2"]


def base(kumo, api: str) -> str:
    return f"{kumo.url}/{api}/$default"


@pytest.mark.parametrize("api", APIS)
def test_path_params_query_strings_and_multi_value_headers(formats_kumo, api):
    response = httpx.get(
        f"{base(formats_kumo, api)}/items/1",
        params=[("tag", "a"), ("tag", "b"), ("size", "L")],
        headers=[("X-Multi", "one"), ("X-Multi", "two")],
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "id": "1",
        "name": "hat",
        "tags": ["a", "b"],
        "size": "L",
        "multi": ["one", "two"],
        "method": "GET",
    }


@pytest.mark.parametrize("api", APIS)
def test_post_status_json_body_headers_and_cookies(formats_kumo, api):
    response = httpx.post(f"{base(formats_kumo, api)}/items", json={"name": "cap"})
    assert response.status_code == 201, response.text
    assert response.json() == {"created": "cap"}
    assert response.headers["location"] == "/items/3"
    cookies = [cookie.split(";")[0] for cookie in response.headers.get_list("set-cookie")]
    assert cookies == ["session=abc", "theme=dark"]


@pytest.mark.parametrize("api", APIS)
def test_app_not_found(formats_kumo, api):
    response = httpx.get(f"{base(formats_kumo, api)}/items/9")
    assert response.status_code == 404
    assert "no item 9" in response.text
    assert httpx.get(f"{base(formats_kumo, api)}/nothing/here").status_code == 404
