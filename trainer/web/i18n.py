"""UI strings in Russian and English; the language comes from a remembered choice or Accept-Language.

Strings live in `web/locales/*.yaml` (key -> {en, ru}), one file per area of the UI, so
each area's pages and their words change together. All files are read once when the app
starts; a key defined twice, or missing a language, stops the start with a clear message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from trainer.spin.labels import LANGS, Lang

LANG_COOKIE = "spin_lang"

Messages = dict[str, dict[Lang, str]]


class LocaleError(ValueError):
    pass


def load_messages(directory: Path) -> Messages:
    messages: Messages = {}
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
        if not isinstance(data, dict):
            raise LocaleError(f"{path}: expected a mapping of key -> {{en, ru}}")
        for key, entry in data.items():
            if key in messages:
                raise LocaleError(f"{path}: key {key!r} is already defined in another locale file")
            if not isinstance(entry, dict) or any(not isinstance(entry.get(lang), str) for lang in LANGS):
                raise LocaleError(f"{path}: key {key!r} needs a text for each of {', '.join(LANGS)}")
            messages[str(key)] = {lang: entry[lang] for lang in LANGS}
    return messages


def pick_lang(request: Request) -> Lang:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in ("ru", "en"):
        return chosen  # type: ignore[return-value]
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in ("ru", "en"):
            return code  # type: ignore[return-value]
    return "en"


def translate(messages: Messages, lang: Lang, key: str) -> str:
    entry = messages.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["en"]


def install_i18n(templates: Jinja2Templates, messages: Messages) -> None:
    """Templates call `t('key')`; the page context carries `lang`."""

    def t(context: Any, key: str) -> str:
        return translate(messages, context.get("lang", "en"), key)

    templates.env.globals["t"] = pass_context(t)
    templates.env.globals["messages"] = messages
