"""Training rows with a client turn before them, so the model reads what the client said, not that they spoke.

In the corpus only implications, objection responses and a few meeting requests come with a client
turn, but in a real call almost every trainee turn follows one. A model trained on the corpus as
it is learns "a client turn is there, so it is an implication", and flips "How often does it
break?" to implication after "We have three sites.". So training also sees each line that has
no context once more after a client turn: a plain fact (hand-written below, no difficulty in it)
for any label but implication and objection response, and for every third situation or need-payoff
line a client turn admitting a difficulty taken from the corpus's own implication contexts (a
situation question stays one after a complaint). The choice is fixed by a
CRC of the line, so training stays deterministic and a line and its copy share a cross-validation fold.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from trainer.spin.corpus import CorpusItem
from trainer.spin.labels import Label, Lang
from trainer.spin.types import ContextTurn

#: Client turns that state facts, agree or answer, and admit no difficulty.
CLIENT_FACTS: dict[Lang, tuple[str, ...]] = {
    "en": (
        "We're about two hundred people across three offices.",
        "Yes, we handle that in-house for now.",
        "Mostly through our own website, some by phone.",
        "Our finance director signs off anything over ten thousand.",
        "We run forty trucks out of two depots.",
        "We switched to this system two years ago.",
        "It's me and one colleague in procurement.",
        "We work with three suppliers at the moment.",
        "Sure, go ahead.",
        "Around five hundred orders a day in season.",
        "We're a family business, founded in 1998.",
        "The contract renews every January.",
        "Yes, that's right.",
        "We use SAP for the accounts and Excel for the rest.",
        "Two shifts, six days a week.",
        "I'm the operations manager, so that's on me.",
        "The kitchen opens at six and we serve until eleven.",
        "We have a cleaning crew of twelve.",
        "It depends on the client, usually a few weeks.",
        "Our IT is outsourced to a local company.",
        "We opened the new warehouse in March.",
        "About sixty percent of sales are online.",
        "The board meets once a quarter.",
        "We print the catalogues ourselves.",
        "OK, I have a few minutes.",
        "Our policies are with two insurers.",
        "We hire around thirty people a year.",
        "Mainly small clinics and a couple of hospitals.",
        "The fleet is mostly leased.",
        "Yes, we've been with them for five years.",
    ),
    "ru": (
        "У нас около двухсот сотрудников в трёх офисах.",
        "Да, пока делаем это своими силами.",
        "В основном через наш сайт, часть по телефону.",
        "Всё, что дороже ста тысяч, подписывает финансовый директор.",
        "У нас сорок машин на двух базах.",
        "Мы перешли на эту систему два года назад.",
        "В закупках нас двое: я и коллега.",
        "Сейчас работаем с тремя поставщиками.",
        "Да, спрашивайте.",
        "В сезон около пятисот заказов в день.",
        "Мы семейная компания, с девяносто восьмого года.",
        "Договор продлеваем каждый январь.",
        "Да, всё верно.",
        "Бухгалтерия в 1С, остальное в таблицах.",
        "Две смены, шесть дней в неделю.",
        "Я руковожу операционным отделом, так что это на мне.",
        "Кухня открывается в шесть, работаем до одиннадцати.",
        "В клининговой бригаде двенадцать человек.",
        "Зависит от клиента, обычно несколько недель.",
        "ИТ у нас на аутсорсе у местной компании.",
        "Новый склад открыли в марте.",
        "Примерно шестьдесят процентов продаж идёт онлайн.",
        "Совет директоров собирается раз в квартал.",
        "Каталоги печатаем сами.",
        "Хорошо, пара минут есть.",
        "Страхуемся в двух компаниях.",
        "Нанимаем человек тридцать в год.",
        "В основном небольшие клиники и пара больниц.",
        "Машины в основном в лизинге.",
        "Да, работаем с ними уже пять лет.",
    ),
}

#: Every n-th situation or need-payoff line is also trained after a client turn admitting a difficulty.
DIFFICULTY_EVERY = 3
_NO_FACT = frozenset({Label.IMPLICATION, Label.OBJECTION_RESPONSE})
_AFTER_DIFFICULTY = frozenset({Label.SITUATION, Label.NEED_PAYOFF})


def _crc(item: CorpusItem, salt: str) -> int:
    return zlib.crc32(f"{salt}\x00{item.lang}\x00{item.text}".encode())


def difficulty_turns(items: Sequence[CorpusItem]) -> dict[Lang, list[str]]:
    """The client turns that come before implication lines of the corpus, per language, in a fixed order."""
    out: dict[Lang, list[str]] = {"en": [], "ru": []}
    for item in items:
        if item.label is Label.IMPLICATION:
            for turn in item.context:
                if turn.role == "client" and turn.text not in out[item.lang]:
                    out[item.lang].append(turn.text)
    return out


def with_client_turns(item: CorpusItem, difficulties: dict[Lang, list[str]]) -> list[CorpusItem]:
    """The copies of one corpus line to train on after a client turn (none for lines that have context)."""
    if item.context:
        return []
    copies = []
    if item.label not in _NO_FACT:
        facts = CLIENT_FACTS[item.lang]
        fact = facts[_crc(item, "fact") % len(facts)]
        copies.append(CorpusItem(item.text, item.lang, item.label, item.note, (ContextTurn("client", fact),)))
    pool = difficulties.get(item.lang, [])
    if item.label in _AFTER_DIFFICULTY and pool and DIFFICULTY_EVERY and _crc(item, "pick") % DIFFICULTY_EVERY == 0:
        turn = ContextTurn("client", pool[_crc(item, "difficulty") % len(pool)])
        copies.append(CorpusItem(item.text, item.lang, item.label, item.note, (turn,)))
    return copies
