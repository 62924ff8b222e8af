"""Persona versions in the database, fed from the YAML files in personas/.

Files are the authoring source; the database keeps every version a call may
point at. A changed file becomes a new version at start-up; an unchanged one
adds nothing. Parsed personas are cached by version id: a version never changes.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trainer.db import statements
from trainer.db.models import PersonaVersion
from trainer.personas.loader import PersonaError, parse_persona
from trainer.personas.model import Persona

log = logging.getLogger(__name__)


class UnknownPersona(LookupError):
    pass


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sync_persona_files(db: Session, directory: Path) -> list[str]:
    """Store each valid persona file whose text was never stored as the next version (keeping the
    persona enabled or disabled as it was). Returns the problems found in invalid files."""
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        try:
            parse_persona(text, str(path), path.stem)
        except PersonaError as exc:
            problems.extend(str(issue) for issue in exc.issues)
            continue
        digest = content_hash(text)
        seen = db.scalar(select(PersonaVersion.id).where(PersonaVersion.persona_id == path.stem,
                                                         PersonaVersion.content_hash == digest).limit(1))
        if seen is not None:
            continue  # this text is stored already: a trainer's later edit in the app stays in force
        latest = latest_version(db, path.stem)
        row = add_version(db, path.stem, text, created_by=None)
        row.enabled = latest.enabled if latest is not None else True
    return problems


def add_version(db: Session, persona_id: str, text: str, created_by: int | None) -> PersonaVersion:
    current = db.scalar(select(func.max(PersonaVersion.version)).where(PersonaVersion.persona_id == persona_id))
    row = PersonaVersion(persona_id=persona_id, version=(current or 0) + 1, yaml_text=text,
                         content_hash=content_hash(text), enabled=True, created_by=created_by)
    db.add(row)
    db.flush()
    return row


def latest_version(db: Session, persona_id: str) -> PersonaVersion | None:
    return db.scalar(statements.latest_persona_version(), {"persona_id": persona_id})


def latest_versions(db: Session) -> list[PersonaVersion]:
    """The newest version of every persona, enabled ones only, ordered by id."""
    newest = (
        select(PersonaVersion.persona_id, func.max(PersonaVersion.version).label("v"))
        .group_by(PersonaVersion.persona_id).subquery()
    )
    rows = db.scalars(
        select(PersonaVersion).join(
            newest, (PersonaVersion.persona_id == newest.c.persona_id) & (PersonaVersion.version == newest.c.v)
        ).order_by(PersonaVersion.persona_id)
    )
    return [row for row in rows if row.enabled]


# Parsed personas by (persona id, content hash): the text under a hash never changes. Bounded; a
# process that meets more versions than this simply parses again.
_PARSED: dict[tuple[str, str], Persona] = {}
_PARSED_MAX = 512


def persona_of(version: PersonaVersion) -> Persona:
    """The parsed persona of a stored version. The YAML text is deferred on the model, so it is read
    from the database only the first time this process meets that content."""
    key = (version.persona_id, version.content_hash)
    found = _PARSED.get(key)
    if found is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        found = parse_persona(version.yaml_text, f"persona {version.persona_id} (version id {version.id})",
                              version.persona_id)
        _PARSED[key] = found
    return found


def current_persona(db: Session, persona_id: str) -> tuple[PersonaVersion, Persona]:
    version = latest_version(db, persona_id)
    if version is None or not version.enabled:
        raise UnknownPersona(persona_id)
    return version, persona_of(version)


# The persona each id last resolved to in this process, for a guess of a turn's next request
# (trainer.web.ahead) that involves a transfer target: a guess only, since the turn resolves it again.
_RESOLVED: dict[str, Persona] = {}


def last_resolved(persona_id: str) -> Persona | None:
    """The persona `persona_id` resolved to when a turn in this process last looked it up (None: never)."""
    return _RESOLVED.get(persona_id)


def resolver(db: Session) -> PersonaResolver:
    return PersonaResolver(db)


class PersonaResolver:
    """Looks up another persona (a transfer target) at its current version, once per request."""

    def __init__(self, db: Session) -> None:
        self._db = db
        self._seen: dict[str, Persona] = {}

    def __call__(self, persona_id: str) -> Persona:
        found = self._seen.get(persona_id)
        if found is None:
            found = self._seen[persona_id] = current_persona(self._db, persona_id)[1]
            if len(_RESOLVED) >= _PARSED_MAX and persona_id not in _RESOLVED:
                _RESOLVED.clear()
            _RESOLVED[persona_id] = found
        return found


def listed_personas(db: Session) -> list[Persona]:
    """Personas for the picker: enabled, newest version, and not reachable only by a transfer."""
    return [p for p in (persona_of(v) for v in latest_versions(db)) if p.listed]
