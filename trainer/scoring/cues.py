"""Bilingual cue lists the scorer reads client and trainee turns with.

The classifier labels trainee questions; the scorecard also needs to know what the *client* did
(objected, refused, stated a need, agreed to a meeting) and a few things about the trainee's
wording that are not question types (criticising a competitor, a sharp reaction to a "no", a
polite goodbye). Each cue is a regular expression over text normalised the classifier's way
(lowercase, ё -> е, straight apostrophes, single spaces); English and Russian
patterns sit side by side so a call in either language is read the same way.
"""

from __future__ import annotations

import functools
import re

from trainer.spin.classifier import normalize
from trainer.spin.cues import Guarded

#: Client objection kinds, most specific first. A turn that matches several gets the first one.
OBJECTION_KINDS: tuple[str, ...] = (
    "no_time", "send_info", "have_supplier", "too_expensive", "not_decider", "what_about", "not_in",
)

_CLIENT: dict[str, tuple[str, ...]] = {
    "refusal": (
        r"\bnot interested\b", r"\bno,? thanks?\b", r"\bno,? thank you\b", r"\bdon'?t need (it|that|this|anything)",
        r"\bwe need nothing\b", r"\bdon'?t call\b", r"\bstop calling\b", r"\bnot for us\b",
        r"\bwe'?re (fine|good|all set)\b", r"\bwe are (fine|all set)\b", r"\bno need\b", r"\bnot buying\b",
        r"\bnot looking for\b", r"\bremove (me|us)\b", r"^\W*(no|nope)\W*$", r"\bi said no\b",
        r"^\W*(no|nope)[.!]+\s*(good ?bye|bye)\b", r"^\W*нет\W*$", r"^\W*нет[.!]+\s*(до свидания|всего доброго)",
        r"\bя же сказал", r"\bi (said|told you)\W+(clearly\W+)?no\b", r"\bwon'?t put you through\b",
        r"\b(conversation|call) is over\b", r"\bi'?m hanging up\b", r"\bразговор окончен", r"\bкладу трубку\b",
        r"\bне (буду|стану) (вас )?соединять\b", r"\bсоединять не буду\b", r"\bне соединю\b",
        r"не интерес", r"ничего не (нужно|надо)", r"\bнам (это )?не (нужно|надо)", r"\bне нужно\b", r"\bне надо\b",
        r"не звоните", r"\bнет,? спасибо\b", r"не актуальн", r"отказываемся", r"нас (это )?не интересует",
    ),
    "no_time": (
        r"\bno time\b", r"\bdon'?t have (the )?time\b", r"\b(i'?m|we'?re|i am|we are) (really |very |too )?busy\b",
        r"\bnot a good time\b", r"\bbad time\b", r"\bin a meeting\b", r"\bcall (me )?(back )?later\b",
        r"\bcan'?t talk\b",
        r"нет времени", r"\bнекогда\b", r"\bзанят[аы]?\b", r"неудобно (сейчас )?говорить", r"перезвоните позже",
        r"не могу (сейчас )?говорить", r"\bна совещании\b",
    ),
    "send_info": (
        r"\bsend (me |us )?(it |something |your |an? |the )?(offer|brochure|info|information|proposal|details|"
        r"price ?list|presentation|catalog|catalogue)",
        r"\b(e-?mail|fax) (me|us|it)\b", r"\bby (e-?mail|fax)\b", r"\bsend .{0,30}(e-?mail|fax)",
        r"\bпришлите\b", r"\bотправьте\b", r"\bскиньте\b", r"\bвышлите\b", r"на почту", r"по факсу",
        r"на (e-?mail|имейл|емейл|мейл)", r"коммерческое предложение",
    ),
    "have_supplier": (
        r"\balready (have|use|work with)\b", r"\bwe (have|use) (a|our own|another|an?) "
        r"(supplier|provider|courier|partner|vendor|contract|company|firm)\b",
        r"\bhappy with (our|the) current\b", r"\bwe'?re happy with\b", r"\bour (current )?(supplier|provider) is\b",
        r"уже (есть|работаем|сотрудничаем|пользуемся)", r"у нас (есть )?(свой|свои|постоянный|другой) "
        r"(поставщик|подрядчик|партн)", r"нас (все|вс[её]) устраивает", r"нынешн\w+ поставщик",
    ),
    "too_expensive": (
        r"\btoo (expensive|much|costly|pricey)\b", r"\bexpensive\b", r"\bno budget\b", r"\bcan'?t afford\b",
        r"\bдорого\b", r"\bдороговато\b", r"нет бюджета", r"не по карману", r"дешевле",
    ),
    "not_decider": (
        r"\bnot my (decision|call|area)\b", r"\bi don'?t (decide|make)\b", r"\bnot (the right person|in charge|"
        r"responsible)\b", r"\b(talk|speak) to (my|our|the) (boss|manager|director|head)\b",
        r"я (ничего )?не решаю", r"не я решаю", r"это не ко мне", r"не в моей компетенции", r"решает (наш|директор|"
        r"руководител|начальник)", r"это (к|у) (директор|руководител|начальник)",
    ),
    "what_about": (
        r"\bwhat('?s| is) (this|it) (about|regarding)\b", r"\bwhat (company|firm)\b", r"\bwho('?s| is) calling\b",
        r"\bwhat do you want\b", r"\bwhat is the reason\b",
        r"по какому (вопросу|поводу)", r"что вы хотели", r"\bкто (вы|это)\b", r"откуда вы", r"с какой целью",
    ),
    "not_in": (
        r"\b(he|she|they)('?s| is| are) (not (in|here|available)|out|away|on (holiday|vacation|leave))\b",
        r"\bout of (the )?office\b", r"\bnot at (his|her) desk\b",
        r"\b(его|ее|её) нет\b", r"нет на месте", r"\bвышл[аи]?\b", r"в отпуске", r"в командировке",
        r"не может подойти", r"\b(mum|mom|dad|mother|father|parents)('?s| is| are)? not (here|home|in)\b",
        r"\b(мамы|папы|родителей|взрослых) (сейчас )?нет\b", r"\bнет дома\b",
    ),
    "explicit_need": (
        r"\b(we|i) (really )?(need|want)\b", r"\b(we|i)('d| would) (really )?(need|want|like)\b",
        r"\bwe'?re looking for\b", r"\b(it|that|this) would (help|save|be (great|useful|good|nice|ideal))\b",
        r"\b(it|that)'?d (help|save|be (great|useful|good|nice|ideal))\b", r"\bwould be (great|a big help|huge)\b",
        r"\bwe must\b", r"\bwe have to\b", r"\bwe'?d (keep|save|get|win|stop)\b", r"\bwe would (keep|save|get|win)\b",
        r"\bthat'?s (exactly )?what we need\b", r"\bimportant (for|to) us\b",
        r"\b(нам|мне) (очень |просто )?(нужн|нужен|надо|необходим|важн)", r"\b(мы )?хотел[аи]? бы\b", r"\bхотим\b",
        r"было бы (здорово|хорошо|полезно|удобно|отлично|идеально)", r"(это|что) бы помогло", r"помогло бы",
        r"\bмы ищем\b", r"сэкономил[аи]? бы", r"сохранил[аи]? бы", r"не потерял[аи]? бы", r"для нас (это )?важно",
    ),
    "implied_need": (
        r"\blate\b", r"\bdelay", r"\bproblem", r"\bissue", r"\btrouble", r"\bdifficult", r"\bhard to\b", r"\bslow\b",
        r"\bcomplain", r"\bunhappy\b", r"\bnot (happy|satisfied)\b", r"\blos[et]\b", r"\blosing\b", r"\bmiss",
        r"\bbreak", r"\bbroke", r"\bfail", r"\bmistake", r"\berror", r"\bwaste", r"\bheadache", r"\bfrustrat",
        r"\btakes (ages|too long)\b", r"\bcosts? us\b", r"\bpain\b",
        r"опаздыва", r"опозда", r"задерж", r"проблем", r"сложно", r"трудно", r"неудоб", r"жалу", r"жалоб",
        r"недовол", r"не устраива", r"теря", r"потеря", r"срыва", r"сорва", r"лома", r"ошиб", r"\bдолго\b",
        r"медленн", r"бывает", r"не успева", r"штраф",
    ),
    "agreement": (
        r"\byes\b", r"\byeah\b", r"\bsure\b", r"\bok(ay)?\b", r"\bfine\b", r"\bworks\b",
        r"\bsounds (good|great|fine)\b",
        r"\bdeal\b", r"\bagreed\b", r"\ball ?right\b", r"\bsuits\b", r"\bsee you\b", r"\bperfect\b", r"\bwhy not\b",
        r"\bi can do\b", r"\blet'?s do\b", r"\bgood\b", r"\bgreat\b", r"\bno problem\b", r"\bof course\b",
        r"\bда\b", r"\bдавайте\b", r"\bхорошо\b", r"договорились", r"\bподходит\b", r"\bустраивает\b", r"\bгодится\b",
        r"\bладно\b", r"\bконечно\b", r"\bсоглас", r"\bможно\b", r"\bотлично\b", r"\bид[её]т\b", r"буду ждать",
        r"\bжду\b", r"\bок\b", r"\bудобно\b", r"без проблем", r"\bдо встречи\b",
    ),
    "decline": (
        r"\bcan'?t\b", r"\bcannot\b", r"\bdoesn'?t (work|suit)\b", r"\bwon'?t (work|be)\b", r"\bnot available\b",
        r"\bbusy\b", r"\bno\b(?!,? (problem|worries|more|less|later|longer))",
        r"\bnot (then|that day|possible|good|great|ideal|convenient)\b",
        r"\bi'?m away\b", r"\bнеудобно\b",
        r"\bне (могу|смогу|получится|подходит|устраивает|выйдет|удобно)\b", r"^\s*нет\b", r"\bзанят",
    ),
    "final": (
        r"\bgood ?bye\b", r"\bbye\b", r"\bwon'?t discuss\b", r"\bi (said|told you)\b", r"\bis over\b",
        r"\bdon'?t call\b", r"\bhanging up\b", r"\bno means no\b",
        r"\bдо свидания\b", r"\bвсего доброго\b", r"\bя (же |вам )?(ясно )?сказал", r"обсуждать .{0,20}не буду",
        r"не буду .{0,20}обсуждать", r"\bокончен", r"\bкладу трубку\b", r"\bне звоните\b",
    ),
    "transfer": (
        r"\b(i'?m |i am |i'?ll |i will )?(putting|put|transferring|transfer|connecting|connect) you (through|now|to)\b",
        r"\bone moment,? (i'?ll|let me)\b",
        r"\bсоединяю\b", r"\bсоединю\b", r"\bпереключ(у|аю)\b", r"\bперевожу (вас|звонок)\b",
    ),
    "rude": (
        r"\bstop wasting\b", r"\bget lost\b", r"\bidiot", r"\bleave (me|us) alone\b", r"\bdon'?t bother\b",
        r"\bshut up\b", r"\bannoying\b", r"\bscam", r"\bhow did you get (this|my) number\b",
        r"отстаньте", r"надоели", r"достали", r"хватит звонить", r"не морочьте", r"\bидите\b", r"сколько можно",
        r"откуда у вас (мой )?номер",
    ),
    "order": (
        r"\bwe'?ll (take|order|buy) (it|them|that)\b", r"\bplace an order\b",
        r"\bsend (me |us )?the (invoice|contract)\b",
        r"\bsign us up\b", r"\blet'?s (sign|order)\b", r"\bi'?ll buy\b",
        r"\bоформляйте\b", r"выставляйте сч[её]т", r"выставьте сч[её]т", r"\bбер[её]м\b", r"\bзакажем\b",
        r"давайте оформ", r"присылайте договор", r"готовы заказать",
    ),
}

_TRAINEE: dict[str, tuple[str, ...]] = {
    "right_person": (
        r"\bare you (the|in charge|responsible|the right person|the one)\b",
        r"\bwho('?s| is) (responsible|in charge)\b",
        r"\bwho (decides|handles|deals with|looks after|manages|makes|takes care of|is the right)\b",
        r"\bdecision[- ]maker\b", r"\b(speak|talk) (to|with) (the person|someone|whoever|the (head|manager|director|"
        r"owner))\b", r"\bput me through\b", r"\bconnect me\b", r"\b(may|could|can) i (speak|talk)\b",
        r"\bвы отвечаете\b", r"\bвы занимаетесь\b", r"\bвы (принимаете|решаете)\b", r"\bкто (у вас )?(отвечает|"
        r"занимается|решает|принимает решени|ведает)", r"\bс кем (я )?(могу|можно) (поговорить|обсудить)",
        r"\bсоедин", r"\bпереключ", r"\bмогу (ли я )?(поговорить|услышать)", r"\bк вам (ли )?(можно )?обратиться",
        r"в вашей компетенции", r"\bвы (ответственн|руководите|директор)",
        r"\b(решаете|принимаете|отвечаете|занимаетесь|ведаете) (ли )?вы\b",
    ),
    "pitch": (
        r"\bwe offer\b", r"\bwe provide\b", r"\bwe can offer\b", r"\bwe'?d like to offer\b", r"\bi'?d like to offer\b",
        r"\bwant to offer\b", r"\bour (product|service|solution|company offers)\b", r"\bwe are the best\b",
        r"\bspecial offer\b", r"\bdiscount\b", r"\bbest (price|prices|rates)\b",
        r"\bмы предлагаем\b", r"\bпредлагаем вам\b", r"\b(хотим|хочу|хотел[аи]? бы) (вам )?предложить\b",
        r"\bнаша компания предлагает\b", r"\bнаш (продукт|сервис)\b", r"\bспецпредложени", r"\bскидк",
        r"\bлучшие (цены|условия)\b",
    ),
    "competitor_ref": (
        r"\b(your|their|the) (current |present |old )?(supplier|provider|courier|vendor|partner|company|firm)s?\b",
        r"\bthey\b", r"\bthem\b", r"\bcompetitor", r"\bother (firms|companies|couriers|suppliers)\b",
        r"\bваш\w* (нынешн\w+ |текущ\w+ )?(поставщик|подрядчик|курьер|партн|компани)", r"\bони\b", r"\bих\b",
        r"\bконкурент", r"\bдруги[ех] (компани|поставщик|фирм)",
    ),
    "criticism": (
        r"\b(bad|terrible|awful|useless|unreliable|incompetent|hopeless|rubbish|crooks?|cheat\w*)\b",
        r"\brip(ping)? you off\b", r"\boverchar", r"\bworse\b", r"\bscam", r"\bamateurs?\b", r"\bdishonest\b",
        r"\bплох", r"\bужасн", r"\bненад[её]жн", r"\bобманыва", r"\bхуже\b", r"\bнекомпетентн", r"\bдерут\b",
        r"\bжулик", r"\bдилетант", r"\bнедобросовестн", r"\bотстой",
    ),
    "negative_reaction": (
        r"\bwhy not\b", r"\bdon'?t you (care|want|understand|see)\b", r"\byou don'?t (understand|get it)\b",
        r"\byou'?re (making a mistake|wrong)\b", r"\bhow can you\b", r"\bare you serious\b", r"\bseriously\b",
        r"\byou'?ll regret\b", r"\bbig mistake\b", r"\bcome on\b", r"\bwhat'?s wrong with you\b",
        r"\bпочему (же )?нет\b", r"\bразве вы не\b", r"\bвы не понимаете\b", r"\bвы (же )?не хотите\b",
        r"\bкак (это|так) не", r"\bвы ошибаетесь\b", r"\bзря\b", r"\bпожалеете\b", r"\bнеужели вам\b", r"\bвам что\b",
        r"\bда ладно\b", r"\bне может быть\b",
    ),
    "polite_close": (
        r"\bthanks?\b", r"\bthank you\b", r"\bhave a (good|great|nice|lovely)\b", r"\bgood ?bye\b", r"\bbye\b",
        r"\btake care\b", r"\ball the best\b", r"\bsee you\b", r"\bappreciate\b", r"\benjoy (your|the)\b",
        r"\bспасибо\b", r"\bблагодар", r"\bвсего (доброго|хорошего)\b", r"\bхорошего (дня|вечера)\b",
        r"\bдо свидания\b", r"\bдо встречи\b", r"\bудачи\b", r"\bрад[а]? был", r"\bприятно было\b",
    ),
    "satisfaction_question": (
        r"\b(fully|completely|totally) (satisfied|happy)\b", r"\banything (you'?d|you would|to) improve\b",
        r"\bwhat do you (like|value)\b", r"\bwhat matters most\b", r"\bcould be better\b",
        r"полностью (довольны|устраивает)", r"\bчто (бы )?(можно|хотелось бы) улучшить", r"что вам (нравится|важно)",
        r"что для вас (важно|главное)", r"могло бы быть лучше",
    ),
    "when_question": (
        r"\bwhen (would|will|is|could)\b", r"\bwhat time\b", r"\bwhich day\b", r"\bwhen('?s| is) (a )?(good|better)\b",
        r"\bкогда (вам )?(удобно|удобнее|можно|лучше)", r"\bв какое время\b", r"\bкакой день\b",
    ),
}

#: Phrases that name a meeting (in person or video) or a phone call as the next step.
_MEETING = (
    r"\bmeet", r"\bvisit\b", r"\b(drop|come|stop|pop) (by|over|round)\b", r"\bvideo( call)?\b", r"\bzoom\b",
    r"\bteams call\b", r"\bdemo\b", r"\bappointment\b", r"\bin person\b",
    r"\bвстреч", r"\bвстрет", r"\bподъед", r"\bзаед", r"\bприед", r"\bподъех", r"\bзаех", r"\bприех",
    r"\bвидео", r"\bзум\b", r"\bдемонстрац", r"\bувидимся\b", r"\bлично\b",
)
_CALL = (
    r"\bcall (you|me|us|back|again)\b", r"\bphone call\b", r"\bring (you|me)\b", r"\bspeak (again|then)\b",
    r"\bперезвон", r"\bсозвон", r"\bпозвон", r"\bзвонок\b", r"\bнаберу\b",
)


@functools.cache
def _compiled(group: str, name: str) -> tuple[Guarded, ...]:
    """The cue list's patterns, each guarded by the text every match of it contains (as the label's cues).

    One pattern each rather than one alternation of them all: a regex search tries every alternative
    at every position of the line, and the lists' alternation was half of scoring a call; most
    patterns' words are absent from a given line, and a substring test finds that in C. Whether any
    pattern matches is what the alternation answered (no pattern refers to another's groups).
    """
    if group == "client":
        table = _CLIENT[name]
    elif group == "trainee":
        table = _TRAINEE[name]
    else:
        table = _MEETING if name == "meeting" else _CALL
    return tuple(map(Guarded.of, table))


@functools.lru_cache(maxsize=4096)
def _normal(text: str) -> str:
    return normalize(text)


@functools.cache
def _scan(group: str, name: str) -> tuple[tuple[tuple[str, re.Pattern[str]], ...],
                                          tuple[tuple[tuple[str, ...], re.Pattern[str]], ...]]:
    """`_compiled` laid out for `_hit`'s loop: the patterns guarded by one text, then the others (each with
    its texts, none for an unguarded one). A turn is asked about every list, a list holds up to fifty
    patterns and most are skipped by their guard: calling `Guarded.search` for each cost more than the
    substring tests themselves (hang-ups scored in the server, bench/instructions.py)."""
    cues = _compiled(group, name)
    return (tuple((cue.needs[0], cue.pattern) for cue in cues if len(cue.needs) == 1),
            tuple((cue.needs, cue.pattern) for cue in cues if len(cue.needs) != 1))


@functools.lru_cache(maxsize=32768)
def _hit(group: str, name: str, text: str) -> bool:
    """Whether cue list `name` matches `text` (any of its patterns, as `Guarded.search` finds them); cached
    because one call asks the same turn many questions."""
    norm = _normal(text)
    single, other = _scan(group, name)
    for need, pattern in single:
        if need in norm and pattern.search(norm) is not None:
            return True
    for needs, pattern in other:
        if (not needs or any(n in norm for n in needs)) and pattern.search(norm) is not None:
            return True
    return False


def clear_caches() -> None:
    """Forget cached cue results (for a benchmark that must not time the cache)."""
    _normal.cache_clear()
    _hit.cache_clear()


def _search(group: str, name: str, text: str) -> bool:
    return _hit(group, name, text)


def client_has(name: str, text: str) -> bool:
    """Whether a client turn matches the cue list `name` (see _CLIENT)."""
    return _search("client", name, text)


def trainee_has(name: str, text: str) -> bool:
    """Whether a trainee turn matches the cue list `name` (see _TRAINEE)."""
    return _search("trainee", name, text)


def mentions_meeting(text: str) -> bool:
    return _search("next", "meeting", text)


def mentions_call(text: str) -> bool:
    return _search("next", "call", text)


def objection_kind(text: str) -> str | None:
    """The most specific objection a client turn raises, or None."""
    for kind in OBJECTION_KINDS:
        if client_has(kind, text):
            return kind
    return None


def is_acceptance(text: str) -> bool:
    """A client (or trainee) line that says yes to a proposal and does not turn it down."""
    return client_has("agreement", text) and not client_has("decline", text) and not client_has("refusal", text)


def criticises_competitor(text: str) -> bool:
    """A statement (not a question) that runs down the client's current supplier or a competitor."""
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if sentence.rstrip().endswith("?"):
            continue
        if trainee_has("competitor_ref", sentence) and trainee_has("criticism", sentence):
            return True
    return False
