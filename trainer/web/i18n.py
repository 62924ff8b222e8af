"""UI strings in Russian and English; the language comes from a remembered choice or Accept-Language."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from trainer.spin.labels import Lang

LANG_COOKIE = "spin_lang"

MESSAGES: dict[str, dict[Lang, str]] = {
    "app_name": {"en": "SPIN Trainer", "ru": "SPIN-тренажёр"},
    "sign_in": {"en": "Sign in", "ru": "Войти"},
    "sign_out": {"en": "Sign out", "ru": "Выйти"},
    "user_name": {"en": "User name", "ru": "Имя пользователя"},
    "password": {"en": "Password", "ru": "Пароль"},
    "bad_login": {"en": "Wrong name or password.", "ru": "Неверное имя или пароль."},
    "setup_title": {"en": "Create the first admin", "ru": "Создайте первого администратора"},
    "setup_intro": {"en": "This account can add trainers and trainees later.",
                    "ru": "Эта учётная запись сможет потом добавлять тренеров и стажёров."},
    "setup_need_link": {"en": "No account exists yet. Open the one-time link printed on the server console.",
                        "ru": "Учётных записей ещё нет. Откройте одноразовую ссылку из консоли сервера."},
    "create_account": {"en": "Create account", "ru": "Создать учётную запись"},
    "personas": {"en": "Practise a call", "ru": "Потренироваться"},
    "recent_calls": {"en": "Recent calls", "ru": "Последние звонки"},
    "no_calls": {"en": "No calls yet. Pick a client above.", "ru": "Звонков пока нет. Выберите клиента выше."},
    "start_call": {"en": "Call", "ru": "Позвонить"},
    "language": {"en": "Language", "ru": "Язык"},
    "difficulty": {"en": "Difficulty", "ru": "Сложность"},
    "easy": {"en": "easy", "ru": "лёгкий"},
    "normal": {"en": "normal", "ru": "средний"},
    "hard": {"en": "hard", "ru": "трудный"},
    "your_line": {"en": "Your line", "ru": "Ваша реплика"},
    "send": {"en": "Send", "ru": "Отправить"},
    "hang_up": {"en": "Hang up", "ru": "Положить трубку"},
    "you": {"en": "You", "ru": "Вы"},
    "client": {"en": "Client", "ru": "Клиент"},
    "call_with": {"en": "Call with", "ru": "Звонок:"},
    "call_ended": {"en": "The call has ended.", "ru": "Звонок завершён."},
    "scorecard": {"en": "Scorecard", "ru": "Оценка звонка"},
    "total": {"en": "Total", "ru": "Итого"},
    "passed": {"en": "passed", "ru": "зачёт"},
    "not_passed": {"en": "not passed", "ru": "не зачтено"},
    "outcome": {"en": "Outcome", "ru": "Итог"},
    "checks": {"en": "Checks", "ru": "Проверки"},
    "evidence": {"en": "Evidence", "ru": "Основания"},
    "tip": {"en": "Tip", "ru": "Совет"},
    "turn": {"en": "turn", "ru": "реплика"},
    "score": {"en": "Score", "ru": "Балл"},
    "started": {"en": "Started", "ru": "Начат"},
    "in_progress": {"en": "in progress", "ru": "идёт"},
    "open": {"en": "Open", "ru": "Открыть"},
    "enter_hint": {"en": "Enter sends, Shift+Enter starts a new line.",
                   "ru": "Enter — отправить, Shift+Enter — новая строка."},
    "sending": {"en": "Sending…", "ru": "Отправка…"},
    "error": {"en": "Something went wrong", "ru": "Что-то пошло не так"},
    "not_found": {"en": "Not found", "ru": "Не найдено"},
    "home": {"en": "Home", "ru": "Главная"},
    "switch_lang": {"en": "Русский", "ru": "English"},
    "label_situation": {"en": "Situation", "ru": "Ситуационный"},
    "label_problem": {"en": "Problem", "ru": "Проблемный"},
    "label_implication": {"en": "Implication", "ru": "Извлекающий"},
    "label_need_payoff": {"en": "Need-payoff", "ru": "Направляющий"},
    "label_pitch": {"en": "Pitch", "ru": "Презентация"},
    "label_greeting": {"en": "Greeting", "ru": "Приветствие"},
    "label_routing": {"en": "Routing", "ru": "Переключение"},
    "label_permission": {"en": "Permission", "ru": "Разрешение"},
    "label_meeting_request": {"en": "Meeting request", "ru": "Предложение встречи"},
    "label_confirmation": {"en": "Confirmation", "ru": "Уточнение"},
    "label_objection_response": {"en": "Objection response", "ru": "Ответ на возражение"},
    "label_closing": {"en": "Closing", "ru": "Завершение"},
    "label_other": {"en": "Other", "ru": "Другое"},
    "yes": {"en": "yes", "ru": "да"},
    "no": {"en": "no", "ru": "нет"},
}


def pick_lang(request: Request) -> Lang:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in ("ru", "en"):
        return chosen  # type: ignore[return-value]
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in ("ru", "en"):
            return code  # type: ignore[return-value]
    return "en"


def translate(lang: Lang, key: str) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["en"]


def install_i18n(templates: Jinja2Templates) -> None:
    """Templates call `t('key')`; the page context carries `lang`."""

    def t(context: Any, key: str) -> str:
        lang = context.get("lang", "en")
        return translate(lang, key)

    from jinja2 import pass_context

    templates.env.globals["t"] = pass_context(t)
