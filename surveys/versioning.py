"""Compatibility rules between consecutive published versions.

A field keeps its name across versions, so exports key columns by name; its
type may change only toward text (any answer can be read as text, not the
reverse), and it stays inside the same repeat group, or outside any (a repeat's name
stays a repeat). Removing a question is allowed: old answers keep their meaning.
"""

from .instrument import Instrument

TEXT = "text"


def incompatibilities(previous: Instrument, new: Instrument) -> list[str]:
    """Reasons why `new` cannot follow `previous`; empty when it can."""
    reasons = []
    for name, old_field in previous.fields.items():
        new_field = new.fields.get(name)
        if new_field is None or new_field.type == old_field.type:
            continue
        if not old_field.takes_answer or not new_field.takes_answer:
            continue
        if new_field.type != TEXT:
            reasons.append(
                f"field '{name}' changes type from {old_field.type} to {new_field.type}: a field may change "
                f"type only to text; give the new question another name"
            )
    for name, new_field in new.fields.items():
        old_field = previous.fields.get(name)
        if old_field is not None and old_field.takes_answer != new_field.takes_answer and old_field.type != "calculate":
            reasons.append(f"field '{name}' was a {old_field.type} and is now a {new_field.type}; use another name")
        if old_field is not None and old_field.repeat != new_field.repeat:
            # answered once per response, or once per entry: stored (and exported) in different places
            where = {None: "outside any repeat"}
            reasons.append(
                f"field '{name}' moves from {where.get(old_field.repeat, f'repeat {old_field.repeat!r}')} to "
                f"{where.get(new_field.repeat, f'repeat {new_field.repeat!r}')}; use another name"
            )
    for name in new.repeats:
        if name in previous.fields or (name in previous.groups and not previous.groups[name].is_repeat):
            reasons.append(f"'{name}' becomes a repeat, but earlier answers use the name otherwise; use another name")
    for name in previous.repeats:
        if name in new.fields or (name in new.groups and not new.groups[name].is_repeat):
            reasons.append(
                f"repeat '{name}' is no longer a repeat; its entries would lose their place; use another name"
            )
    return reasons


def changes(previous: Instrument, new: Instrument) -> list[str]:
    """What a new version changes, for the publish report (not refusals)."""
    notes = []
    removed = [n for n in previous.fields if n not in new.fields]
    added = [n for n in new.fields if n not in previous.fields]
    if removed:
        notes.append(f"removed fields (answers given to earlier versions are kept): {', '.join(removed)}")
    if added:
        notes.append(f"added fields: {', '.join(added)}")
    for name, old_field in previous.fields.items():
        new_field = new.fields.get(name)
        if new_field is None or not old_field.list_name or not new_field.list_name:
            continue
        old_choices = {c.name for c in previous.choices_for(old_field)}
        new_choices = {c.name for c in new.choices_for(new_field)}
        if old_choices - new_choices:
            gone = ", ".join(sorted(old_choices - new_choices))
            notes.append(f"field '{name}' no longer offers: {gone} (kept in codebooks for earlier answers)")
    return notes
