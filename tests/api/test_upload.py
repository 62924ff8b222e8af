"""Scoring an uploaded real call, over the API and through the upload page."""

from __future__ import annotations

import json
import re

from tests.api.conftest import Live
from tests.api.test_web_pages import csrf_of, sign_in

TEXT_RU = """Клиент: Алло, «Печатный двор», слушаю.
Менеджер: Добрый день! Меня зовут Игорь, компания «Курьер-Экспресс». Вы отвечаете за доставку?
Клиент: Да, я.
Менеджер: Как вы сейчас отправляете макеты клиентам?
Клиент: Курьерской службой, но они часто опаздывают.
Менеджер: Что происходит, когда макет приходит с опозданием?
Клиент: Клиент пропускает слот в типографии, и мы теряем заказ.
Менеджер: Насколько важно для вас, чтобы макеты доходили за два часа?
Клиент: Очень важно, мы бы сохранили эти заказы.
Менеджер: Давайте встретимся во вторник в 11, посмотрим ваши маршруты?
Клиент: Вторник в 11 подходит.
Менеджер: Отлично, до встречи во вторник! Спасибо!"""


def test_api_scores_plain_text_and_json_the_same_way(live: Live) -> None:
    h = live.auth("tina")
    by_text = live.client.post("/api/score", content=TEXT_RU.encode(), headers={**h, "Content-Type": "text/plain"})
    assert by_text.status_code == 200, by_text.text
    card = by_text.json()
    assert card["lang"] == "ru" and card["checks"]["meeting_secured"] is True
    assert card["criteria"][0]["title"] and re.search("[а-я]", card["criteria"][0]["title"])
    turns = [{"role": "client" if line.startswith("Клиент") else "trainee", "text": line.split(": ", 1)[1]}
             for line in TEXT_RU.splitlines()]
    by_json = live.client.post("/api/score", content=json.dumps({"turns": turns, "lang": "ru"}),
                               headers={**h, "Content-Type": "application/json"})
    assert by_json.json()["total"] == card["total"]


def test_api_explains_bad_uploads(live: Live) -> None:
    h = live.auth("tina")
    bad = live.client.post("/api/score", content=b'{"turns": [{"role": "seller", "text": "hi"}]}', headers=h)
    assert bad.status_code == 422 and "turns[0].role" in bad.json()["detail"]
    huge = live.client.post("/api/score", content=b"Seller: hi\n" * 30_000, headers=h)
    assert huge.status_code == 413
    binary = live.client.post("/api/score", content=b"\xff\xfe\x00junk", headers=h)
    assert binary.status_code == 422 and "UTF-8" in binary.json()["detail"]
    assert live.client.post("/api/score", content=TEXT_RU.encode()).status_code == 401


def test_upload_page_shows_labels_and_scorecard(live: Live) -> None:
    sign_in(live.client, "coach")
    page = live.client.get("/upload")
    assert page.status_code == 200
    res = live.client.post("/upload", data={"text": TEXT_RU, "csrf_token": csrf_of(page.text)})
    assert res.status_code == 200
    assert 'id="scorecard"' in res.text and 'class="badge badge-' in res.text
    empty = live.client.post("/upload", data={"text": "  ", "csrf_token": csrf_of(page.text)})
    assert empty.status_code == 422
    wrong = live.client.post("/upload", data={"text": "Tom: hello\nTom: hi", "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 422 and "line" in wrong.text
