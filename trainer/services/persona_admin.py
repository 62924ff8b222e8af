"""The persona library as trainers manage it: create, edit, clone, enable, and compare versions.

Every save is a new PersonaVersion (calls keep pointing at the version they used) and an
audit entry. Validation is the loader's own, so an error names the line of the YAML.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trainer.db.models import PersonaVersion, User
from trainer.personas.loader import PersonaError, PersonaIssue, parse_persona
from trainer.personas.model import Persona
from trainer.services import audit
from trainer.services.personas import add_version, content_hash, latest_version, persona_of

PERSONA_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
_ID_LINE = re.compile(r"^id:.*$", re.MULTILINE)


class PersonaAdminError(ValueError):
    """A refused change; `key` is a UI message key, `detail` names the thing concerned."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(f"{key}: {detail}" if detail else key)
        self.key = key
        self.detail = detail


@dataclass(frozen=True)
class PersonaRow:
    id: str
    name: str
    role: str
    languages: tuple[str, ...]
    difficulty: str
    enabled: bool
    listed: bool
    version: int
    updated_at: datetime


def _newest_rows(db: Session) -> list[PersonaVersion]:
    newest = (select(PersonaVersion.persona_id, func.max(PersonaVersion.version).label("v"))
              .group_by(PersonaVersion.persona_id).subquery())
    return list(db.scalars(select(PersonaVersion).join(
        newest, (PersonaVersion.persona_id == newest.c.persona_id) & (PersonaVersion.version == newest.c.v)
    ).order_by(PersonaVersion.persona_id)))


def library(db: Session, lang: str) -> list[PersonaRow]:
    """Every persona at its newest version, disabled ones included."""
    out = []
    for row in _newest_rows(db):
        p = persona_of(row)
        out.append(PersonaRow(id=row.persona_id, name=p.name_for(lang), role=p.role,
                              languages=tuple(p.languages), difficulty=p.difficulty, enabled=row.enabled,
                              listed=p.listed, version=row.version, updated_at=row.created_at))
    return out


def known_ids(db: Session) -> set[str]:
    return set(db.scalars(select(PersonaVersion.persona_id).distinct()))


def check_id(persona_id: str) -> str:
    cleaned = persona_id.strip()
    if not PERSONA_ID.match(cleaned):
        raise PersonaAdminError("m_err_persona_id", cleaned)
    return cleaned


def validate(db: Session, persona_id: str, text: str) -> Persona:
    """The loader's checks plus one across personas: a gatekeeper must transfer to a persona that exists."""
    source = f"{persona_id}.yaml"
    persona = parse_persona(text, source, persona_id)
    target = persona.gatekeeper.transfer_to if persona.gatekeeper else None
    if target is not None and target not in known_ids(db):
        line = _line_of_key(text, ("gatekeeper", "transfer_to"))
        raise PersonaError([PersonaIssue(source, line, "gatekeeper.transfer_to",
                                         f"no persona {target!r} in the library")])
    return persona


def _line_of_key(text: str, path: tuple[str, ...]) -> int | None:
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    line = None
    for part in path:
        if not isinstance(node, yaml.MappingNode):
            return line
        hit = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        if hit is None:
            return line
        line, node = hit[0].start_mark.line + 1, hit[1]
    return line


def save(db: Session, user: User, persona_id: str, text: str, *, create: bool) -> PersonaVersion:
    """Validate and store the text as the next version; raises PersonaError with located issues."""
    persona_id = check_id(persona_id)
    text = _normalise(text)
    previous = latest_version(db, persona_id)
    if create and previous is not None:
        raise PersonaAdminError("m_err_persona_exists", persona_id)
    if not create and previous is None:
        raise PersonaAdminError("m_err_persona_missing", persona_id)
    validate(db, persona_id, text)
    if previous is not None and previous.content_hash == content_hash(text):
        raise PersonaAdminError("m_err_persona_unchanged", persona_id)
    row = add_version(db, persona_id, text, created_by=user.id)
    row.enabled = previous.enabled if previous is not None else True
    audit.record(db, user, "persona.create" if create else "persona.edit", persona_id,
                 {"version": row.version})
    return row


def clone(db: Session, user: User, source_id: str, new_id: str) -> PersonaVersion:
    source = latest_version(db, source_id)
    if source is None:
        raise PersonaAdminError("m_err_persona_missing", source_id)
    new_id = check_id(new_id)
    if latest_version(db, new_id) is not None:
        raise PersonaAdminError("m_err_persona_exists", new_id)
    text = source.yaml_text
    text = _ID_LINE.sub(f"id: {new_id}", text) if _ID_LINE.search(text) else text
    validate(db, new_id, text)
    row = add_version(db, new_id, text, created_by=user.id)
    audit.record(db, user, "persona.clone", new_id, {"from": source_id, "from_version": source.version})
    return row


def set_enabled(db: Session, user: User, persona_id: str, enabled: bool) -> PersonaVersion:
    """Switch the newest version on or off; a disabled persona leaves the picker and the API."""
    row = latest_version(db, persona_id)
    if row is None:
        raise PersonaAdminError("m_err_persona_missing", persona_id)
    if row.enabled != enabled:
        row.enabled = enabled
        audit.record(db, user, "persona.enable" if enabled else "persona.disable", persona_id,
                     {"version": row.version})
    return row


def history(db: Session, persona_id: str) -> list[PersonaVersion]:
    return list(db.scalars(select(PersonaVersion).where(PersonaVersion.persona_id == persona_id)
                           .order_by(PersonaVersion.version.desc())))


def version_of(db: Session, persona_id: str, version: int) -> PersonaVersion | None:
    return db.scalar(select(PersonaVersion).where(PersonaVersion.persona_id == persona_id,
                                                  PersonaVersion.version == version))


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "head" | "hunk" | "add" | "del" | "same"
    text: str


def diff(old: str, new: str, old_name: str, new_name: str) -> list[DiffLine]:
    """A unified diff as typed lines, for a page to colour (the template escapes the text)."""
    out = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm="", n=3):
        if line.startswith(("---", "+++")):
            kind = "head"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        out.append(DiffLine(kind, line))
    return out


def _normalise(text: str) -> str:
    """Browsers post CRLF; store LF and one final newline so equal content hashes equal."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip() + "\n"
