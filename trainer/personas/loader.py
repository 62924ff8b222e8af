"""Read persona YAML files and report every problem as file:line: field: message.

Pydantic reports where a value sits in the data ("pains.0.need"); the YAML
node tree still knows on which line that value was written, so each error is
mapped back to its line. A typo'd field name is reported at the line of the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from trainer.personas.model import FieldPath, Persona, PersonaLintError

MAX_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class PersonaIssue:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.field}: {self.message}"


class PersonaError(ValueError):
    """One or more personas are invalid; `issues` lists every problem found."""

    def __init__(self, issues: list[PersonaIssue]) -> None:
        super().__init__("\n".join(str(i) for i in issues))
        self.issues: list[PersonaIssue] = issues


def _line_of(root: yaml.Node | None, path: FieldPath) -> int | None:
    """The 1-based line of the deepest node along `path` (a missing key: its parent mapping)."""
    node = root
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)),
                       None)
            if hit is None:
                continue  # a pydantic-internal step ("function-after[...]") or a missing key
            line = hit[0].start_mark.line + 1
            node = hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
    return line


def _clean_path(loc: Sequence[str | int]) -> FieldPath:
    return tuple(p for p in loc if p != "[key]" and not (isinstance(p, str) and "[" in p and "]" in p))


def _dotted(path: FieldPath) -> str:
    return ".".join(str(p) for p in path) or "(persona)"


def parse_persona(text: str, source: str, persona_id: str) -> Persona:
    """Validate one persona's YAML text; `source` names it in messages, `persona_id` is its file stem."""
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        limit = f"a persona file may be at most {MAX_BYTES // 1024} KiB"
        raise PersonaError([PersonaIssue(source, None, "(file)", f"is {size // 1024} KiB; {limit}")])
    try:
        data = yaml.load(text, Loader=_FAST_LOADER)  # a safe loader, C-accelerated when libyaml is present
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PersonaError([PersonaIssue(source, line, "(yaml)", f"not valid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise PersonaError([PersonaIssue(source, 1, "(persona)", "must be a mapping of fields (id, name, role, ...)")])
    declared = data.get("id")
    if declared is not None and declared != persona_id:
        message = f"is {declared!r} but the file says {persona_id!r}; id must equal the file name"
        raise PersonaError([PersonaIssue(source, _line_of(_compose(text), ("id",)), "id", message)])
    data["id"] = persona_id
    try:
        return Persona.model_validate(data)
    except ValidationError as exc:
        # Line numbers are needed only to explain an error: compose the node tree just then.
        raise PersonaError(_issues(exc, _compose(text), source)) from None


_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str) -> yaml.Node | None:
    return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _issues(exc: ValidationError, root: yaml.Node | None, source: str) -> list[PersonaIssue]:
    issues: list[PersonaIssue] = []
    for err in exc.errors():
        lint = (err.get("ctx") or {}).get("error")
        if isinstance(lint, PersonaLintError):
            for path, message in lint.problems:
                issues.append(PersonaIssue(source, _line_of(root, path), _dotted(path), message))
            continue
        path = _clean_path(err["loc"])
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = f"unknown field {path[-1]!r} (a typo?)" if path else message
        elif err["type"] == "missing":
            message = "is required but missing"
        elif err["type"] == "literal_error":
            message = f"{message}, not {err.get('input')!r}"
        issues.append(PersonaIssue(source, _line_of(root, path), _dotted(path), message))
    return issues


def load_persona_file(path: Path) -> Persona:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PersonaError([PersonaIssue(str(path), None, "(file)", f"cannot read: {exc}")]) from None
    return parse_persona(text, str(path), path.stem)


def _files(paths: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    return out


def load_personas(directory: Path) -> dict[str, Persona]:
    """Every persona in the folder; all problems (also transfers to unknown ids) raised together."""
    personas: dict[str, Persona] = {}
    issues: list[PersonaIssue] = []
    for path in _files([directory]):
        try:
            personas[path.stem] = load_persona_file(path)
        except PersonaError as exc:
            issues.extend(exc.issues)
    issues.extend(_transfer_issues(personas, directory))
    if issues:
        raise PersonaError(issues)
    return personas


def _transfer_issues(personas: dict[str, Persona], directory: Path) -> list[PersonaIssue]:
    out: list[PersonaIssue] = []
    for pid, persona in personas.items():
        rules = persona.gatekeeper
        if rules is None or rules.transfer_to in personas:
            continue
        path = directory / f"{pid}.yaml"
        try:
            line = _line_of(yaml.compose(path.read_text(encoding="utf-8")), ("gatekeeper", "transfer_to"))
        except (OSError, yaml.YAMLError):
            line = None
        out.append(PersonaIssue(str(path), line, "gatekeeper.transfer_to",
                                f"no persona {rules.transfer_to!r} in {directory}"))
    return out


def check_paths(paths: Sequence[Path]) -> list[PersonaIssue]:
    """Every problem in the given files and folders (folders are also checked for transfer targets)."""
    issues: list[PersonaIssue] = []
    for p in paths:
        if p.is_dir():
            try:
                load_personas(p)
            except PersonaError as exc:
                issues.extend(exc.issues)
        elif not p.exists():
            issues.append(PersonaIssue(str(p), None, "(file)", "does not exist"))
        else:
            try:
                load_persona_file(p)
            except PersonaError as exc:
                issues.extend(exc.issues)
    return issues
