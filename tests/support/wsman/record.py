"""Recorded script outputs: the directory the loopback endpoint serves, and the builder that makes
one offline from a synthetic site.

A recording holds one JSON document per script and host, in the shape of the script's JSON Schema:
``site/<script>.json`` for the site server, ``client-001/<script>.json``, ... for the clients. It is
the layout ``sccm-cep doctor --winrm HOST --capture DIR`` writes, so a capture from a real site can
be served as it is. Build one by hand with::

    .venv/bin/python -m tests.support.wsman.record SITE.db OUT_DIR [--clients N]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sccm_cep_connectors.winrm.capture import SITE_HOST, client_label
from sccm_cep_connectors.winrm.scripts import CLIENT_SCRIPTS, SITE_SCRIPTS
from tests.support.wsman.site import SimulatedSite

__all__ = ["RecordedSite", "record_site"]


def record_site(site: SimulatedSite, out: Path, *, clients: int | None = None) -> Path:
    """Write every site script's document and each client's (the first ``clients`` only) into ``out``."""
    folder = out / SITE_HOST
    folder.mkdir(parents=True, exist_ok=True)
    for script in SITE_SCRIPTS:
        (folder / f"{script}.json").write_text(site.site_output(script), encoding="utf-8")
    chosen = site.clients if clients is None else site.clients[:clients]
    for index, rid in enumerate(chosen, start=1):
        folder = out / client_label(index)
        folder.mkdir(exist_ok=True)
        for script in CLIENT_SCRIPTS:
            (folder / f"{script}.json").write_text(site.client_output(rid, script), encoding="utf-8")
    return out


class RecordedSite:
    """Serves a recording: a script's document is looked up by the script's name, nothing else.

    A script the recording lacks prints nothing a schema accepts, as a host without that class would.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        if not (folder / SITE_HOST).is_dir():
            raise FileNotFoundError(f"{folder} holds no {SITE_HOST}/ recording")
        self.clients: list[str] = sorted(
            p.name for p in folder.iterdir() if p.is_dir() and p.name.startswith("client-")
        )

    def site_output(self, script: str) -> str:
        return self._read(SITE_HOST, script)

    def client_output(self, client: str, script: str) -> str:
        return self._read(client, script)

    def _read(self, host: str, script: str) -> str:
        path = self.folder / host / f"{script}.json"
        if not path.is_file():
            return f"no recorded output for {script} on {host}"
        return path.read_text(encoding="utf-8")

    def document(self, host: str, script: str) -> list[dict[str, object]]:
        data: list[dict[str, object]] = json.loads(self._read(host, script))
        return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("database", help="a synthetic site's SQLite file (fixtures.synthetic_site)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--clients", type=int, default=None)
    args = parser.parse_args(argv)
    record_site(SimulatedSite(args.database), args.out, clients=args.clients)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
