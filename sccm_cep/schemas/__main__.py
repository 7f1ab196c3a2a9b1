"""Regenerate the committed submission schema from the model: ``python -m sccm_cep.schemas``."""

from __future__ import annotations

import json
from pathlib import Path

from sccm_cep.submission import SCHEMA_FILE, build_schema

if __name__ == "__main__":
    target = Path(__file__).with_name(SCHEMA_FILE)
    target.write_text(json.dumps(build_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(target)
