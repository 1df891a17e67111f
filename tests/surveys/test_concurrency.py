"""Concurrent resends against a real server and database."""

import json
import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework.authtoken.models import Token

from surveys.models import Response
from tests.surveys.test_responses_api import ANSWERS, URL

PARALLEL = 20


def post_all(url, payload, token, count):
    barrier = threading.Barrier(count)

    def post(_):
        request = urllib.request.Request(
            url,
            data=payload,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        barrier.wait()  # every request leaves at the same moment
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(post, range(count)))


@pytest.mark.postgres
def test_parallel_posts_of_one_new_instance_id_store_exactly_one_row(live_server, graduate_version, respondent):
    token = Token.objects.create(user=respondent).key
    instance_id = str(uuid.uuid4())
    payload = json.dumps({"instance_id": instance_id, "version": 1, "status": "complete", "answers": ANSWERS})
    results = post_all(live_server.url + URL, payload.encode(), token, PARALLEL)
    codes = sorted(code for code, _ in results)
    assert codes == [200] * (PARALLEL - 1) + [201], results[:3]
    assert Response.objects.filter(instance_id=instance_id).count() == 1
    assert {body["instance_id"] for _, body in results} == {instance_id}


@pytest.mark.postgres
def test_parallel_posts_with_different_content_store_one_and_refuse_the_rest(live_server, graduate_version, respondent):
    token = Token.objects.create(user=respondent).key
    instance_id = str(uuid.uuid4())
    barrier = threading.Barrier(2)
    payloads = [
        json.dumps({"instance_id": instance_id, "version": 1, "answers": {**ANSWERS, "barrier_salary": str(n)}})
        for n in (1, 2)
    ]

    def post(payload):
        request = urllib.request.Request(
            live_server.url + URL,
            data=payload.encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(post, payloads))
    assert codes == [201, 409]
    assert Response.objects.filter(instance_id=instance_id).count() == 1
