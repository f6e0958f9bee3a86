"""The API's behaviour beyond what the Postman collection checks: errors, ownership, counts."""

from __future__ import annotations

from conduit.entities import Comment

from tests.realworld.conftest import Conduit


async def test_registration_refuses_a_taken_username_and_email(conduit: Conduit) -> None:
    await conduit.register("jake")
    body = {"user": {"username": "jake", "email": "jake@x.org", "password": "pw"}}
    response = await conduit.call("POST", "/users", json=body)
    assert response.status_code == 422
    assert response.json() == {
        "errors": {"body": ["username has already been taken", "email has already been taken"]}
    }


async def test_invalid_payloads_and_tokens_are_refused_in_the_api_error_shape(
    conduit: Conduit,
) -> None:
    response = await conduit.call("POST", "/users", json={"user": {"username": "x"}})
    assert response.status_code == 422
    assert any("email" in message for message in response.json()["errors"]["body"])

    assert (await conduit.call("GET", "/user")).status_code == 401
    response = await conduit.call("GET", "/user", token="not.a.token")
    assert response.status_code == 401
    assert "invalid token" in response.json()["errors"]["body"][0]

    login = {"user": {"email": "nobody@x.org", "password": "pw"}}
    assert (await conduit.call("POST", "/users/login", json=login)).status_code == 401


async def test_login_and_update_the_current_user(conduit: Conduit) -> None:
    token = await conduit.register("jake")
    login = {"user": {"email": "jake@x.org", "password": "pw"}}
    response = await conduit.call("POST", "/users/login", json=login)
    assert response.status_code == 200
    changes = {"user": {"bio": "I work at statefarm", "password": "new"}}
    response = await conduit.call("PUT", "/user", token=token, json=changes)
    assert response.json()["user"]["bio"] == "I work at statefarm"
    assert (await conduit.call("POST", "/users/login", json=login)).status_code == 401
    login["user"]["password"] = "new"
    assert (await conduit.call("POST", "/users/login", json=login)).status_code == 200


async def test_articles_favorites_and_ownership(conduit: Conduit) -> None:
    jake, anna = await conduit.register("jake"), await conduit.register("anna")
    fields = {"title": "How to train", "description": "d", "body": "b", "tagList": ["z", "a"]}
    new = {"article": fields}
    created = (await conduit.call("POST", "/articles", token=jake, json=new)).json()["article"]
    slug = created["slug"]
    assert slug == "how-to-train" and created["tagList"] == ["a", "z"]
    again = (await conduit.call("POST", "/articles", token=anna, json=new)).json()["article"]
    assert again["slug"].startswith("how-to-train-") and again["slug"] != slug

    response = await conduit.call("POST", f"/articles/{slug}/favorite", token=anna)
    assert response.json()["article"]["favorited"] is True
    assert response.json()["article"]["favoritesCount"] == 1
    response = await conduit.call("POST", f"/articles/{slug}/favorite", token=anna)
    assert response.json()["article"]["favoritesCount"] == 1  # favoriting twice counts once
    listed = (await conduit.call("GET", "/articles?favorited=anna")).json()
    assert [a["slug"] for a in listed["articles"]] == [slug]

    edit = {"article": {"body": "new body"}}
    response = await conduit.call("PUT", f"/articles/{slug}", token=anna, json=edit)
    assert response.status_code == 403
    assert (await conduit.call("DELETE", f"/articles/{slug}", token=anna)).status_code == 403
    response = await conduit.call("PUT", f"/articles/{slug}", token=jake, json=edit)
    assert response.json()["article"]["body"] == "new body"

    comment = {"comment": {"body": "nice"}}
    await conduit.call("POST", f"/articles/{slug}/comments", token=anna, json=comment)
    assert (await conduit.call("DELETE", f"/articles/{slug}", token=jake)).status_code == 204
    assert (await conduit.call("GET", f"/articles/{slug}")).status_code == 404
    # The comment went with its article (ON DELETE CASCADE).
    assert await conduit.fork().count(Comment) == 0


async def test_follow_feed_and_pagination(conduit: Conduit) -> None:
    jake, anna = await conduit.register("jake"), await conduit.register("anna")
    for i in range(3):
        body = {"article": {"title": f"Post {i}", "description": "d", "body": "b"}}
        await conduit.call("POST", "/articles", token=anna, json=body)
    assert (await conduit.call("GET", "/articles/feed", token=jake)).json()["articlesCount"] == 0

    profile = (await conduit.call("POST", "/profiles/anna/follow", token=jake)).json()["profile"]
    assert profile == {"username": "anna", "bio": None, "image": None, "following": True}
    feed = (await conduit.call("GET", "/articles/feed?limit=2&offset=1", token=jake)).json()
    assert feed["articlesCount"] == 3
    assert [a["slug"] for a in feed["articles"]] == ["post-1", "post-0"]
    assert all(a["author"]["following"] for a in feed["articles"])

    response = await conduit.call("DELETE", "/profiles/anna/follow", token=jake)
    assert response.json()["profile"]["following"] is False
    assert (await conduit.call("GET", "/profiles/nobody")).status_code == 404
