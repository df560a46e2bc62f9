"""Fuzz Api routes (``/{api}/{stage}/...``) and the admin API (``/_kumo/``, bearer token)."""

from __future__ import annotations

from urllib.parse import quote

from fuzz_oracle import SEED, check_admin, check_api, fuzz_settings
from hypothesis import given, seed
from hypothesis import strategies as st
from model_requests import any_json, encode, raw_mutations

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
segment = st.one_of(
    st.sampled_from(["items", "files", "1", "a b", "%00", "%ff", "%0A", "x" * 3000, "", "_kumo", "dev"]),
    st.text(min_size=1, max_size=8).map(lambda t: quote(t.replace(".", "") or "z", safe="")),
)
header_value = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.strip)
headers = st.dictionaries(
    st.sampled_from(["Content-Type", "Cookie", "X-Api-Key", "Authorization", "Origin", "Content-Encoding", "X-Custom"]),
    header_value,
    max_size=3,
)
bodies = st.one_of(st.just(b""), any_json.map(encode)).flatmap(raw_mutations)


@seed(SEED)
@fuzz_settings()
@given(
    method=st.sampled_from(METHODS),
    api=st.sampled_from(["fuzzapi", "nope", "FUZZAPI"]),
    stage=st.sampled_from(["dev", "prod", "$default"]),
    rest=st.lists(segment, max_size=4),
    query=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    extra=headers,
    body=bodies,
)
def test_api_routes_answer_bad_requests_without_5xx(target, method, api, stage, rest, query, extra, body) -> None:
    path = "/" + "/".join([api, stage, *rest])
    response = target.send(method, path, body, extra, params=query)
    check_api(response.status_code, dict(response.headers), response.content)


ADMIN_PATHS = (
    "/_kumo/credentials",
    "/_kumo/credentials/KUMONOSUCHKEY0000000",
    "/_kumo/apis/fuzzapi/stages/dev",
    "/_kumo/apis/fuzzapi/stages/dev/promote",
    "/_kumo/apis/fuzzapi/keys",
    "/_kumo/apis/nope/keys/xyz",
    "/_kumo/",
    "/_kumo/nothing/here",
)


@seed(SEED)
@fuzz_settings()
@given(
    method=st.sampled_from(METHODS),
    path=st.one_of(st.sampled_from(ADMIN_PATHS), st.lists(segment, max_size=4).map(lambda s: "/_kumo/" + "/".join(s))),
    token=st.sampled_from(["valid", "none", "wrong", "malformed"]),
    body=st.one_of(
        bodies,
        st.builds(lambda n, p: encode({"name": n, "policy": p}), any_json, any_json),
        st.builds(lambda p, n: encode({"plan": p, "name": n}), any_json, any_json),
    ),
)
def test_admin_api_answers_bad_requests_with_4xx_errors(target, method, path, token, body) -> None:
    if method == "DELETE" and path.startswith("/_kumo/credentials/") and token == "valid":
        path = "/_kumo/credentials/KUMONOSUCHKEY0000000"  # keep the fuzzer's own key
    auth = {
        "valid": f"Bearer {target.up.admin_token}",
        "wrong": "Bearer not-the-token",
        "malformed": "Basic Zm9vOmJhcg==",
        "none": "",
    }[token]
    response = target.send(method, path, body, {"Authorization": auth} if auth else {})
    if method != "HEAD":  # a HEAD answer has no body
        check_admin(response.status_code, dict(response.headers), response.content)
    assert response.status_code < 500
    if token != "valid":
        assert response.status_code == 401, response.text


def test_routes_and_admin_still_work_after_fuzzing(target) -> None:
    assert target.send("GET", "/fuzzapi/dev/items/1").text == "ok"
    admin = target.send(
        "GET", "/_kumo/apis/fuzzapi/stages/dev", headers={"Authorization": f"Bearer {target.up.admin_token}"}
    )
    assert admin.status_code == 200 and admin.json()["stage"]["name"] == "dev"
    assert target.healthy()
