"""Find a concrete day and time in a trainee's line ("Tuesday at 3 pm", "во вторник в 15:00").

A meeting counts as proposed only when both a day and a clock time are named:
"let's meet next week" or "Tuesday afternoon" is not concrete. The canonical
form is "<day> HH:MM" where day is mon..sun, today, tomorrow, after_tomorrow
or a date "MM-DD"; `describe_timeslot` says it back in either language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trainer.spin.labels import Lang

_WEEKDAYS_EN = {
    "mon": "mon", "monday": "mon", "tue": "tue", "tues": "tue", "tuesday": "tue", "wed": "wed",
    "wednesday": "wed", "thu": "thu", "thur": "thu", "thurs": "thu", "thursday": "thu", "fri": "fri",
    "friday": "fri", "sat": "sat", "saturday": "sat", "sun": "sun", "sunday": "sun",
}
_WEEKDAYS_RU = {
    "понедельник": "mon", "вторник": "tue", "сред": "wed", "четверг": "thu", "пятниц": "fri",
    "суббот": "sat", "воскресень": "sun",
}
_RELATIVE = {
    "today": "today", "tomorrow": "tomorrow", "day after tomorrow": "after_tomorrow",
    "сегодня": "today", "завтра": "tomorrow", "послезавтра": "after_tomorrow",
}
_MONTHS_EN = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_MONTHS_RU = {m: i + 1 for i, m in enumerate(
    ["январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр"])}
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
    "час": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7, "восемь": 8,
    "девять": 9, "десять": 10, "одиннадцать": 11, "двенадцать": 12,
}
_NUM = r"(\d{1,2}|" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + r")"

_DAY_EN = re.compile(
    r"\b(day after tomorrow|today|tomorrow|" + "|".join(sorted(_WEEKDAYS_EN, key=len, reverse=True)) + r")\b")
_DAY_RU = re.compile(r"(?<!\w)(послезавтра|сегодня|завтра|"
                     + "|".join(_WEEKDAYS_RU) + r")\w*")
_DATE_NUM = re.compile(r"(?<![\d.:/])(?<!в )(?<!к )(?<!at )(\d{1,2})[./](\d{1,2})(?![\d:])")
_DATE_EN = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + "|".join(_MONTHS_EN) + r")[a-z]*\b"
                      r"|\b(" + "|".join(_MONTHS_EN) + r")[a-z]*\s+(\d{1,2})(?:st|nd|rd|th)?\b")
_DATE_RU = re.compile(r"(?<!\w)(\d{1,2})(?:-?го)?\s+(" + "|".join(_MONTHS_RU) + r")[а-я]*")

_TIME_CLOCK = re.compile(r"(?<![\d./])([01]?\d|2[0-3])[:.]([0-5]\d)(?!\d)\s*(a\.?m\.?|p\.?m\.?)?")
_TIME_AMPM = re.compile(r"\b" + _NUM + r"\s*(a\.?m\.?|p\.?m\.?|o'?clock)(?=\W|$)")
_UNITS = (r"(?!\s*(?:%|[./:]\d|people|person|minute|min\b|hour|site|store|shop|truck|car|unit|time|year|"
          r"percent|day|week|month|человек|минут|процент|смен|раз\b|раза|склад|магазин|машин|рубл|тыс|"
          r"год|лет|месяц|недел|штук|сотрудник|" + "|".join(_MONTHS_RU) + r"))")
_TIME_EN_AT = re.compile(r"\b(?:at|around|by)\s+" + _NUM + r"\b" + _UNITS)
_TIME_RU = re.compile(r"(?<!\w)(?:в|к|около)\s+" + _NUM + r"(?:\s*(час\w*))?(?:\s+(утра|дня|вечера|ночи))?"
                      r"(?!\w)" + _UNITS)
_TIME_RU_BARE = re.compile(r"(?<!\w)" + _NUM + r"\s+час\w*\s+(утра|дня|вечера|ночи)(?!\w)")
_NOON = re.compile(r"\b(noon|midday)\b|(?<!\w)(в\s+)?полдень")

_RU_DAY_NAMES = {"mon": "в понедельник", "tue": "во вторник", "wed": "в среду", "thu": "в четверг",
                 "fri": "в пятницу", "sat": "в субботу", "sun": "в воскресенье", "today": "сегодня",
                 "tomorrow": "завтра", "after_tomorrow": "послезавтра"}
_EN_DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
                 "sat": "Saturday", "sun": "Sunday", "today": "today", "tomorrow": "tomorrow",
                 "after_tomorrow": "the day after tomorrow"}
_RU_MONTHS_GEN = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
                  "октября", "ноября", "декабря"]
_EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"]


@dataclass(frozen=True, slots=True)
class Timeslot:
    day: str
    hour: int
    minute: int

    @property
    def canonical(self) -> str:
        return f"{self.day} {self.hour:02d}:{self.minute:02d}"


def _num(token: str) -> int:
    return int(token) if token.isdigit() else _NUMBERS[token]


def _business_hour(hour: int, marker: str | None) -> int | None:
    """Hours given without am/pm: 1-7 mean afternoon, as people say them on the phone."""
    marker = (marker or "").replace(".", "")
    if hour > 23:
        return None
    if marker in ("pm", "дня", "вечера") and hour < 12:
        return hour + 12
    if marker in ("am", "утра", "ночи"):
        return 0 if hour == 12 else hour
    if not marker and 1 <= hour <= 7:
        return hour + 12
    return hour


def _is_date(m: re.Match[str]) -> bool:
    return 1 <= int(m.group(1)) <= 31 and 1 <= int(m.group(2)) <= 12


def _find_day(text: str) -> str | None:
    for pattern in (_DATE_EN, _DATE_RU):
        m = pattern.search(text)
        if m:
            groups = [g for g in m.groups() if g]
            day_s, month_s = (groups[0], groups[1]) if groups[0].isdigit() else (groups[1], groups[0])
            months = _MONTHS_EN if pattern is _DATE_EN else _MONTHS_RU
            month = next((v for k, v in months.items() if month_s.startswith(k)), None)
            if month and 1 <= int(day_s) <= 31:
                return f"{month:02d}-{int(day_s):02d}"
    for m in _DATE_NUM.finditer(text):
        if _is_date(m):
            return f"{int(m.group(2)):02d}-{int(m.group(1)):02d}"
    m = _DAY_EN.search(text)
    if m:
        word = m.group(1)
        return _RELATIVE.get(word) or _WEEKDAYS_EN[word]
    m = _DAY_RU.search(text)
    if m:
        word = m.group(1)
        return _RELATIVE.get(word) or _WEEKDAYS_RU[word]
    return None


def _find_time(text: str) -> tuple[int, int] | None:
    scrubbed = _DATE_NUM.sub(lambda m: " " if _is_date(m) else m.group(0), text)
    m = _TIME_CLOCK.search(scrubbed)
    if m:
        hour = _business_hour(int(m.group(1)), m.group(3)) if m.group(3) else int(m.group(1))
        return (hour, int(m.group(2))) if hour is not None else None
    m = _TIME_AMPM.search(scrubbed)
    if m:
        marker = None if "o" in m.group(2) else m.group(2)
        hour = _business_hour(_num(m.group(1)), marker)
        return (hour, 0) if hour is not None else None
    if _NOON.search(scrubbed):
        return (12, 0)
    m = _TIME_RU.search(scrubbed)
    if m:
        hour = _business_hour(_num(m.group(1)), m.group(3))
        return (hour, 0) if hour is not None else None
    m = _TIME_RU_BARE.search(scrubbed)
    if m:
        hour = _business_hour(_num(m.group(1)), m.group(2))
        return (hour, 0) if hour is not None else None
    m = _TIME_EN_AT.search(scrubbed)
    if m:
        hour = _business_hour(_num(m.group(1)), None)
        return (hour, 0) if hour is not None else None
    return None


def parse_timeslot(text: str, lang: Lang | None = None) -> Timeslot | None:
    """The day and time named in `text`, or None when either is missing.

    Both languages are tried whatever `lang` says: trainees mix them.
    """
    del lang  # both languages are always tried; kept for a stable signature
    low = text.lower().replace("ё", "е")
    day = _find_day(low)
    time = _find_time(low)
    if day is None or time is None:
        return None
    return Timeslot(day=day, hour=time[0], minute=time[1])


def find_timeslot(text: str, lang: Lang) -> str | None:
    """The canonical "<day> HH:MM" of a concrete day and time in `text`, or None."""
    slot = parse_timeslot(text, lang)
    return slot.canonical if slot else None


def describe_timeslot(canonical: str, lang: Lang) -> str:
    """Say a canonical slot back: "во вторник в 15:00", "Tuesday at 15:00"."""
    day, _, clock = canonical.partition(" ")
    if re.fullmatch(r"\d{2}-\d{2}", day):
        month, date = int(day[:2]), int(day[3:])
        day_text = f"{date} {_RU_MONTHS_GEN[month - 1]}" if lang == "ru" else f"{_EN_MONTHS[month - 1]} {date}"
    else:
        day_text = (_RU_DAY_NAMES if lang == "ru" else _EN_DAY_NAMES).get(day, day)
    return f"{day_text} в {clock}" if lang == "ru" else f"{day_text} at {clock}"
