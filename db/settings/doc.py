"""docs/CONFIG.md, generated from the settings models: ``make config-doc`` (or
``python -m db.settings.doc > docs/CONFIG.md``); a test keeps the file current."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Any

from pydantic.fields import FieldInfo

from db.settings.sections import SECTIONS
from db.settings.tree import env_name

HEADER = """\
# Configuration reference

<!-- Generated from db/settings/ by `make config-doc`: edit the models, not this file. -->

Every command (`sniff`, `analyze`, `db ...`, and the API and GUI services) reads the same
settings tree, from these sources, highest priority first:

1. command-line flags (`callsift COMMAND --help` names the key each flag sets);
2. environment variables, one flat name per key (`CALLSIFT_DB_URL` for `storage.db_url`);
   lists are comma-separated; an empty value counts as unset;
3. the TOML file given with `--config FILE` (or `CALLSIFT_CONFIG=FILE`), one `[section]`
   table per section (deploy/sensor.example.toml);
4. the defaults below.

A bad value stops the command at start with one line naming the key, its environment variable
and the problem (exit code 1), e.g.
`callsift: sensor.id (CALLSIFT_SENSOR_ID): Input should be less than or equal to 65535`.
Secrets (`storage.db_url`'s password, `api.secret_key`, `gui.secret_key`) are never logged;
keep them in the environment rather than in a file.
"""


def _default(info: FieldInfo) -> str:
    value: Any = info.get_default(call_default_factory=True)
    if value is None or value == "":
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "(empty)"
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render() -> str:
    out = [HEADER]
    for section, model in SECTIONS.items():
        out.append(f"\n## `[{section}]`\n\n{(model.__doc__ or '').strip()}\n")
        out.append("| key | environment | default | meaning |")
        out.append("|---|---|---|---|")
        for name, info in model.model_fields.items():
            key = f"{section}.{name}"
            default = "host name" if key == "sensor.name" else _default(info)
            doc = (info.description or "").replace("|", "\\|")
            out.append(f"| `{name}` | `{env_name(key)}` | {default} | {doc} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
