"""Coaching tips in both languages: what the call showed, then a better question or phrase to say.

Each tip is a template keyed "criterion.case"; the criteria fill in quotes and numbers from the
call. Every tip ends in something the trainee can say word for word next time, because "ask
more implication questions" does not help at 9 a.m. before the next call.
"""

from __future__ import annotations

from trainer.spin.labels import Lang

_TIPS: dict[str, tuple[str, str]] = {  # key -> (en, ru)
    # spin_sequence
    "spin_sequence.none": (
        "No SPIN questions yet. Start with one fact, then a difficulty: \"How do you handle deliveries today?\" "
        "and \"What do you find hardest about that?\"",
        "Вопросов SPIN не было. Начните с одного факта, затем трудность: «Как вы сейчас организуете доставку?» "
        "и «Что в этом сложнее всего?»"),
    "spin_sequence.no_problem": (
        "You stayed with facts and never asked about a difficulty. Ask a problem question: "
        "\"Are you satisfied with how fast that works?\"",
        "Вы остались на фактах и не спросили о трудностях. Задайте проблемный вопрос: "
        "«Вас устраивает, насколько быстро это происходит?»"),
    "spin_sequence.no_implication": (
        "A problem came up ({problem}) but you did not explore what it leads to. Ask: "
        "\"What happens when that occurs, and what does it cost you?\"",
        "Проблема прозвучала ({problem}), но вы не выяснили, к чему она ведёт. Спросите: "
        "«Что происходит, когда так случается, и во что это вам обходится?»"),
    "spin_sequence.no_implication_plain": (
        "You touched a problem but did not explore what it leads to. Ask: \"What happens when that occurs, and "
        "what does it cost you?\"",
        "Вы коснулись проблемы, но не выяснили, к чему она ведёт. Спросите: «Что происходит, когда так "
        "случается, и во что это вам обходится?»"),
    "spin_sequence.no_need_payoff": (
        "You explored the consequences but did not let the client name the value of a fix. Ask: "
        "\"How would it help you if that never happened again?\"",
        "Вы разобрали последствия, но не дали клиенту самому назвать ценность решения. Спросите: "
        "«Чем бы вам помогло, если бы такого больше не случалось?»"),
    "spin_sequence.order": (
        "The order slipped ({issues}): you went back to facts or asked about effects before a problem was on "
        "the table. After a consequence question, go forward: \"How important would it be to solve this?\"",
        "Порядок сбился ({issues}): вы вернулись к фактам или спросили о последствиях раньше, чем прозвучала "
        "проблема. После извлекающего вопроса идите дальше: «Насколько важно для вас это решить?»"),
    "spin_sequence.good": (
        "Clean sequence from facts to value. Next time, repeat the cycle for a second problem: "
        "\"Apart from that, is there anything else that slows you down?\"",
        "Чёткая последовательность от фактов к ценности. В следующий раз пройдите цикл по второй проблеме: "
        "«Кроме этого, есть ли ещё что-то, что вам мешает?»"),
    # question_count
    "question_count.none": (
        "No questions in this call. A cold call is won by listening: ask at least {min} questions, starting with "
        "\"How do you handle this today?\"",
        "В звонке не было вопросов. Холодный звонок выигрывают слушая: задайте хотя бы {min}, начиная с "
        "«Как вы решаете это сейчас?»"),
    "question_count.few": (
        "Questions: {count} of at least {min} ({rate} per minute). Add one more problem question before you "
        "propose a meeting: \"What is the most frustrating part of that for you?\"",
        "Вопросов: {count} из минимум {min} ({rate} в минуту). Добавьте ещё один проблемный вопрос перед "
        "предложением встречи: «Что в этом раздражает вас больше всего?»"),
    "question_count.front_loaded": (
        "Questions: {count}, but {share}% came in the first third of the call. Keep asking after each answer: "
        "\"You mentioned that — how does it affect the rest of your week?\"",
        "Вопросов: {count}, но {share}% пришлись на первую треть звонка. Продолжайте спрашивать после каждого "
        "ответа: «Вы упомянули это — как это влияет на остальную работу?»"),
    "question_count.slow": (
        "Questions: {count}, only {rate} per minute. Talk less between questions and follow each answer with "
        "\"And how does that affect you?\"",
        "Вопросов: {count}, всего {rate} в минуту. Говорите меньше между вопросами и после каждого ответа "
        "спрашивайте: «А как это сказывается на вас?»"),
    "question_count.good": (
        "Questions: {count} ({rate} per minute), spread through the call. Keep it up and ask one more "
        "need-payoff question: \"What would that change for you?\"",
        "Вопросов: {count} ({rate} в минуту), равномерно по звонку. Так держать; добавьте ещё один "
        "направляющий вопрос: «Что бы это для вас изменило?»"),
    # situation_overuse
    "situation_overuse.none": (
        "No SPIN questions to judge. Find the facts before you call and open with a problem question: "
        "\"I read you opened a second site — has that made deliveries harder?\"",
        "Нечего оценить: вопросов SPIN не было. Узнайте факты до звонка и начните с проблемного вопроса: "
        "«Я читал, что вы открыли второй склад, — доставка от этого не усложнилась?»"),
    "situation_overuse.few": (
        "SPIN questions: {total}, too few to show a balance (points grow up to {enough}). Ask about a difficulty, "
        "not only facts: \"What makes that difficult for you today?\"",
        "Вопросов SPIN: {total}, слишком мало, чтобы оценить баланс (баллы растут до {enough}). Спрашивайте о "
        "трудностях, а не только о фактах: «Что в этом сейчас вызывает сложности?»"),
    "situation_overuse.too_many": (
        "Situation questions: {count} of {total} ({share}%), up to {run} in a row: that feels like an "
        "interrogation. Look up the facts before the call and replace one with \"What makes that difficult?\"",
        "Ситуационных вопросов: {count} из {total} ({share}%), до {run} подряд: это похоже на допрос. "
        "Узнайте факты заранее и замените один из них на «Что в этом вызывает трудности?»"),
    "situation_overuse.good": (
        "Situation questions: {count} of {total}, just enough. Prepare facts in advance so you can open with "
        "\"I saw that you ... — how is that going?\"",
        "Ситуационных вопросов: {count} из {total}, ровно столько, сколько нужно. Готовьте факты заранее, "
        "чтобы начать с «Я видел, что вы ... — как это у вас идёт?»"),
    # implication_share
    "implication_share.none": (
        "No implication or need-payoff questions. Once a problem comes up, ask \"What does that cost you?\" "
        "and then \"How would it help if it were solved?\"",
        "Не было извлекающих и направляющих вопросов. Когда прозвучит проблема, спросите «Во что это вам "
        "обходится?», а затем «Чем бы помогло её решение?»"),
    "implication_share.low": (
        "Implication and need-payoff: {count} of {total} SPIN questions ({share}%, aim for {target}%). "
        "Turn a problem into its effect: \"When that happens, what does it do to your deadlines?\"",
        "Извлекающих и направляющих: {count} из {total} вопросов SPIN ({share}%, цель {target}%). "
        "Переведите проблему в последствия: «Когда так бывает, как это отражается на сроках?»"),
    "implication_share.few": (
        "Implication and need-payoff: {count} of only {total} SPIN questions; points grow with the questions up to "
        "{enough}. After each problem, ask: \"And what does that lead to?\"",
        "Извлекающих и направляющих: {count} из всего {total} вопросов SPIN; баллы растут с числом вопросов до "
        "{enough}. После каждой проблемы спрашивайте: «И к чему это приводит?»"),
    "implication_share.good": (
        "Implication and need-payoff: {count} of {total} SPIN questions ({share}%). Strong. Try a sharper "
        "one next time: \"If nothing changes, what will that mean by the end of the year?\"",
        "Извлекающих и направляющих: {count} из {total} вопросов SPIN ({share}%). Сильно. В следующий раз "
        "попробуйте острее: «Если ничего не менять, к чему это приведёт к концу года?»"),
    # needs
    "needs.none": (
        "The client never described a problem or a want. Ask a problem question first: "
        "\"Is there anything about your current deliveries you would like to improve?\"",
        "Клиент так и не назвал ни проблемы, ни желания. Сначала задайте проблемный вопрос: "
        "«Есть ли что-то в нынешней доставке, что вы хотели бы улучшить?»"),
    "needs.pitch_first": (
        "You presented the offer (turn {turn}) before the client said what they need. Hold the pitch and ask: "
        "\"How would it help you if we could solve that?\" — then present only what answers it.",
        "Вы перешли к предложению (реплика {turn}) раньше, чем клиент сказал, что ему нужно. Придержите "
        "презентацию и спросите: «Чем бы вам помогло, если бы это удалось решить?» — и говорите только об этом."),
    "needs.implied_only": (
        "The client described a problem ({problem}) but never said they want it solved. Ask: "
        "\"How important is it for you to fix that?\"",
        "Клиент описал проблему ({problem}), но не сказал, что хочет её решить. Спросите: "
        "«Насколько для вас важно это исправить?»"),
    "needs.good": (
        "The client stated the need in their own words ({need}) before any offer. Use those exact words when you "
        "propose the meeting: \"You said ... — let's look at that together.\"",
        "Клиент сам назвал потребность ({need}) до любого предложения. Повторите его слова, предлагая встречу: "
        "«Вы сказали ... — давайте посмотрим на это вместе»."),
    # objection_handling
    "objection_handling.none": (
        "No turns to judge. When you hear \"I have no time\", offer a concrete slot: "
        "\"I understand. Would Tuesday at 3 pm suit you for fifteen minutes?\"",
        "Нечего оценить. На «у меня нет времени» предложите конкретное время: "
        "«Понимаю. Вам удобно во вторник в 15:00, минут на пятнадцать?»"),
    "objection_handling.no_objections": (
        "No objections came up: asking before pitching prevents them. If you hear \"send it by email\", answer: "
        "\"Gladly. So that I send exactly what you need, may I ask one thing?\"",
        "Возражений не было: вопросы до презентации их предупреждают. Если услышите «пришлите на почту», "
        "ответьте: «С удовольствием. Чтобы прислать именно то, что вам нужно, позвольте уточнить…»"),
    "objection_handling.untested": (
        "No objections came up, but with fewer than {enough} SPIN questions the call did not get far enough to "
        "test it. When you hear \"I have no time\", answer: \"I understand. Would Tuesday at 3 pm suit you?\"",
        "Возражений не было, но при менее чем {enough} вопросах SPIN разговор до них просто не дошёл. На «у меня "
        "нет времени» отвечайте: «Понимаю. Вам удобно во вторник в 15:00?»"),
    "objection_handling.good": (
        "You handled every objection calmly and kept the call moving. Keep a list of your best answers, e.g. "
        "\"I understand. Are you fully satisfied, or is there something that could be better?\"",
        "Вы спокойно ответили на все возражения и продвинули разговор. Запишите лучшие ответы, например: "
        "«Понимаю. Вы полностью довольны, или что-то можно улучшить?»"),
    "objection_handling.negative": (
        "After \"{client}\" you argued back (\"{reply}\"). Accept the no calmly and ask one question: "
        "\"I understand. May I ask what matters most to you in this?\"",
        "На «{client}» вы стали спорить («{reply}»). Примите отказ спокойно и задайте один вопрос: "
        "«Понимаю. Можно узнать, что для вас в этом самое важное?»"),
    "objection_handling.criticism": (
        "You ran down the current supplier (\"{reply}\"). Respect the client's choice and ask: "
        "\"Are you fully satisfied, or is there something you would like to improve?\"",
        "Вы покритиковали нынешнего поставщика («{reply}»). Уважайте выбор клиента и спросите: "
        "«Вы полностью довольны, или что-то хотелось бы улучшить?»"),
    "objection_handling.no_time": (
        "\"{client}\" is an objection, not a refusal: offer a concrete slot. \"I understand. I could come over "
        "for fifteen minutes — would Tuesday at 3 pm suit you?\"",
        "«{client}» — это возражение, а не отказ: предложите конкретное время. «Понимаю. Давайте я подъеду "
        "на пятнадцать минут — вас устроит вторник в три часа дня?»"),
    "objection_handling.send_info": (
        "To \"{client}\" you agreed without asking anything. Clarify first: \"Gladly. So that I send exactly what "
        "you need, which matters more to you — speed or price?\"",
        "На «{client}» вы согласились, ничего не уточнив. Сначала уточните: «С удовольствием. Чтобы прислать "
        "именно то, что нужно, скажите, что для вас важнее — скорость или цена?»"),
    "objection_handling.have_supplier": (
        "To \"{client}\" ask about satisfaction, not features: \"That's good to hear. Are you fully satisfied, "
        "or is there something that could be better?\"",
        "На «{client}» спросите об удовлетворённости, а не о своих преимуществах: «Это хорошо. Вы полностью "
        "довольны, или что-то могло бы быть лучше?»"),
    "objection_handling.too_expensive": (
        "To \"{client}\" ask what the price is measured against: \"Compared with what you pay now, or with what "
        "the delays cost you?\"",
        "На «{client}» уточните, с чем сравнивается цена: «По сравнению с тем, что вы платите сейчас, или с тем, "
        "во что обходятся задержки?»"),
    "objection_handling.not_decider": (
        "To \"{client}\" ask who decides and to be put through: \"Who in your company decides on this? "
        "Could you connect me with them?\"",
        "На «{client}» спросите, кто решает, и попросите соединить: «Кто у вас принимает решение по этому "
        "вопросу? Соедините меня, пожалуйста»."),
    "objection_handling.what_about": (
        "To \"{client}\" name the topic in one line and ask to be put through: \"It's about faster deliveries. "
        "Who handles that? Could you connect me?\"",
        "На «{client}» назовите тему одной фразой и попросите соединить: «По вопросу ускорения доставки. "
        "Кто у вас этим занимается? Соедините, пожалуйста»."),
    "objection_handling.not_in": (
        "To \"{client}\" ask when to call back, with a time: \"When is the best time to reach them — would "
        "tomorrow at 10 work?\"",
        "На «{client}» уточните, когда перезвонить: «Когда его лучше застать — удобно завтра в 10:00?»"),
    "objection_handling.gave_up": (
        "You left after the first \"{client}\". The first no is rarely final: ask one more question, \"I "
        "understand. May I ask how you handle this today?\"",
        "Вы закончили после первого «{client}». Первый отказ редко окончательный: задайте ещё один вопрос, "
        "«Понимаю. Можно узнать, как вы решаете это сейчас?»"),
    "objection_handling.pushy": (
        "After {refusals} refusals you kept pushing (\"{reply}\"). End politely and leave the door open: "
        "\"Thank you for your time. May I call again in a few months?\"",
        "После {refusals} отказов вы продолжили настаивать («{reply}»). Завершите вежливо и оставьте дверь "
        "открытой: «Спасибо за время. Можно я позвоню через пару месяцев?»"),
    # right_person
    "right_person.none": (
        "No turns to judge. Open by checking you have the right person: \"Are you the person who decides on "
        "deliveries?\"",
        "Нечего оценить. Начните с проверки собеседника: «Вы отвечаете за доставку в компании?»"),
    "right_person.missing": (
        "You never checked that you were talking to the decision-maker. Ask early: \"Are you the person who "
        "decides on this, or should I speak with someone else?\"",
        "Вы не проверили, что говорите с тем, кто принимает решение. Спросите в начале: «Вы принимаете решение "
        "по этому вопросу, или мне лучше поговорить с кем-то ещё?»"),
    "right_person.late": (
        "You checked who decides only at turn {turn}, after you had started selling. Ask before the first "
        "problem question: \"Are you the one who handles this?\"",
        "Вы уточнили, кто решает, только в реплике {turn}, когда уже начали продавать. Спросите до первого "
        "проблемного вопроса: «Этим вопросом занимаетесь вы?»"),
    "right_person.good": (
        "You checked early that you had the right person. With a gatekeeper use: \"Could you put me through "
        "to whoever handles deliveries?\"",
        "Вы сразу проверили, что говорите с нужным человеком. С секретарём используйте: «Соедините, "
        "пожалуйста, с тем, кто отвечает за доставку»."),
    # next_step
    "next_step.none": (
        "No turns to judge. The goal of a cold call is a meeting: \"Could we meet on Tuesday at 11 or Thursday "
        "at 3?\"",
        "Нечего оценить. Цель холодного звонка — встреча: «Можем встретиться во вторник в 11 или в четверг в 15?»"),
    "next_step.meeting": (
        "Meeting agreed: {slot}. Confirm it in one line before you hang up: \"So, {slot} at your office — "
        "I'll send a calendar invite.\"",
        "Встреча назначена: {slot}. Подтвердите одной фразой перед завершением: «Итак, {slot} у вас в "
        "офисе — я пришлю приглашение»."),
    "next_step.call": (
        "A call is agreed ({slot}), not a meeting. Aim higher next time: \"Rather than another call, could I "
        "come over for fifteen minutes instead, say {slot}?\"",
        "Договорились о звонке ({slot}), а не о встрече. В следующий раз цельтесь выше: «Вместо звонка "
        "давайте я подъеду на пятнадцать минут — {slot} удобно?»"),
    "next_step.proposed": (
        "You proposed {slot}, but the client did not take it. Offer a choice of two: \"Would Tuesday at 11 or "
        "Thursday at 3 be better for you?\"",
        "Вы предложили встречу {slot}, но клиент не согласился. Дайте выбор из двух: «Вам удобнее во вторник в 11 или "
        "в четверг в 15?»"),
    "next_step.vague": (
        "You suggested a next step but without a day and time. Make it concrete: \"Would Tuesday at 11 or "
        "Thursday at 3 suit you better?\"",
        "Вы предложили следующий шаг, но без дня и времени. Сделайте его конкретным: «Вам удобнее во вторник "
        "в 11 или в четверг в 15?»"),
    "next_step.missing": (
        "The call ended without a next step. Before you hang up, book it: \"Could we meet on Tuesday at 11 to "
        "look at this together?\"",
        "Звонок закончился без следующего шага. До завершения договоритесь: «Давайте встретимся во вторник "
        "в 11 и посмотрим на это вместе?»"),
    # call_length
    "call_length.none": (
        "No turns to judge. Aim for two to five minutes: find one need, then book the meeting with \"Let's look at "
        "this in person — would Tuesday at 11 suit you?\"",
        "Нечего оценить. Ориентируйтесь на две–пять минут: выявите одну потребность и назначьте встречу: "
        "«Давайте обсудим это лично — вам удобно во вторник в 11?»"),
    "call_length.good": (
        "About {minutes} min ({source}): within {low}–{high} min. Keep the meeting as the goal: "
        "\"Let's discuss the details in person — would Tuesday at 11 suit you?\"",
        "Около {minutes} мин ({source}): в пределах {low}–{high} мин. Держите цель — встречу: «Детали давайте "
        "обсудим лично — вам удобно во вторник в 11?»"),
    "call_length.short_booked": (
        "About {minutes} min ({source}): short, but the meeting is booked. One more question would have made it "
        "stronger: \"What is the most important thing for you to see at our meeting?\"",
        "Около {minutes} мин ({source}): коротко, но встреча назначена. Ещё один вопрос усилил бы её: "
        "«Что для вас важнее всего обсудить на встрече?»"),
    "call_length.short": (
        "About {minutes} min ({source}): under {low} min, too short to find a need. Ask one more problem "
        "question before you close: \"What would you most like to change about that?\"",
        "Около {minutes} мин ({source}): меньше {low} мин, слишком мало, чтобы выявить потребность. Задайте ещё "
        "один проблемный вопрос: «Что бы вы больше всего хотели в этом изменить?»"),
    "call_length.long": (
        "About {minutes} min ({source}): over {high} min; long cold calls rarely end in a meeting. Move to the "
        "meeting sooner: \"Let's go through this properly in person — would Tuesday at 11 suit you?\"",
        "Около {minutes} мин ({source}): больше {high} мин; долгие холодные звонки редко заканчиваются "
        "встречей. Переходите к встрече раньше: «Давайте обсудим это подробно лично — вторник в 11 удобно?»"),
    # polite_close
    "polite_close.none": (
        "No turns to judge. Always end warmly: \"Thank you for your time — have a good day!\"",
        "Нечего оценить. Всегда завершайте тепло: «Спасибо за время — хорошего дня!»"),
    "polite_close.good": (
        "A polite, positive close. Add the agreed step to it: \"Thank you — see you on Tuesday at 11!\"",
        "Вежливое, позитивное завершение. Добавьте в него договорённость: «Спасибо — до встречи во вторник в 11!»"),
    "polite_close.good_rude": (
        "You stayed polite although the client was rude — exactly right. Keep the door open: \"Thank you for "
        "your time. May I call again in spring?\"",
        "Вы остались вежливы, хотя клиент грубил, — это правильно. Оставьте дверь открытой: «Спасибо за время. "
        "Можно я позвоню весной?»"),
    # criteria a call cut short by the client could not show (scorer._DISCOVERY)
    "not_applicable.refusal": (
        "Not scored: the client refused outright before any selling began, and ending there was right. Next "
        "time, leave the door open as you go: \"Thank you for your time. May I call again in a few months?\"",
        "Не оценивается: клиент категорически отказал ещё до начала продажи, и завершить звонок было верно. "
        "В следующий раз оставьте дверь открытой: «Спасибо за время. Можно я позвоню через пару месяцев?»"),
    "not_applicable.absent": (
        "Not scored: the person you need was not on the line, so there was nobody to sell to yet. Find out "
        "when to reach them: \"When is the best time to call back — would tomorrow at 10 work?\"",
        "Не оценивается: нужного человека на линии не было, продавать было некому. Узнайте, когда его "
        "застать: «Когда лучше перезвонить — удобно завтра в 10:00?»"),
    "not_applicable.transfer": (
        "Not scored here: you were put through to someone else, and the selling part goes on with them. Open "
        "that talk with your reason: \"I'm calling about your new warehouse; may I ask how you plan the fleet "
        "for it?\"",
        "Здесь не оценивается: вас переключили на другого человека, продажа продолжится с ним. Начните тот "
        "разговор с повода: «Звоню по поводу вашего нового склада; можно спросить, как вы планируете под него парк?»"),
    "polite_close.missing": (
        "The call did not end with thanks or a goodbye. Close warmly, whatever happened: \"Thank you for your "
        "time — have a good day!\"",
        "Звонок не закончился благодарностью или прощанием. Завершайте тепло в любом случае: «Спасибо за "
        "уделённое время, хорошего дня!»"),
}

_DURATION_SOURCE: dict[str, tuple[str, str]] = {
    "given": ("measured", "по записи"),
    "timestamps": ("from timestamps", "по отметкам времени"),
    "words": ("estimated from the words", "оценка по числу слов"),
}


def tip(key: str, lang: Lang, **values: object) -> str:
    """The tip `key` in `lang`, with the call's quotes and numbers filled in."""
    en, ru = _TIPS[key]
    return (ru if lang == "ru" else en).format(**values)


def decimal(value: float, lang: Lang) -> str:
    """One decimal place, with a decimal comma in Russian."""
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "ru" else text


def duration_source(source: str, lang: Lang) -> str:
    en, ru = _DURATION_SOURCE[source]
    return ru if lang == "ru" else en


def tip_keys() -> tuple[str, ...]:
    """Every tip key (for tests that check both languages take the same values)."""
    return tuple(_TIPS)
