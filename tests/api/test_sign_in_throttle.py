"""Failed passwords lock an account for a while; the lock is kept in the database."""

from __future__ import annotations

from tests.api.conftest import PASSWORD, Live
from tests.api.test_web_pages import csrf_of


def attempt(live: Live, name: str, password: str, lang: str = "en") -> int:
    page = live.client.get("/login", headers={"Accept-Language": lang})
    res = live.client.post("/login", data={"name": name, "password": password, "csrf_token": csrf_of(page.text)},
                           headers={"Accept-Language": lang}, follow_redirects=False)
    live.last = res  # type: ignore[attr-defined]
    return res.status_code


def test_five_wrong_passwords_lock_the_account_not_others(live: Live) -> None:
    assert [attempt(live, "tina", f"wrong {n}") for n in range(5)] == [401] * 5
    assert attempt(live, "tina", PASSWORD) == 429, "locked even with the right password"
    res = live.last  # type: ignore[attr-defined]
    assert int(res.headers["Retry-After"]) > 60 and "Try again in" in res.text
    assert attempt(live, "tina", PASSWORD, "ru") == 429
    assert "Повторите через" in live.last.text  # type: ignore[attr-defined]
    assert attempt(live, "tom", PASSWORD) == 303, "other accounts are not affected"


def test_a_success_resets_the_count(live: Live) -> None:
    assert [attempt(live, "tina", "wrong") for _ in range(4)] == [401] * 4
    assert attempt(live, "tina", PASSWORD) == 303
    live.client.cookies.clear()
    assert [attempt(live, "tina", "wrong") for _ in range(4)] == [401] * 4
    assert attempt(live, "tina", PASSWORD) == 303
