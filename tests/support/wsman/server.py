"""HTTP server on 127.0.0.1 speaking enough WS-Management for pywinrm (WinRS) and pypsrp (PSRP via psrpcore).

One listener per simulated host; each host answers a script by the name in its header line with a
recorded document (``record.RecordedSite``: a recording built offline, or a real site's capture),
never by reading the script's code, and can be
told to fail: ``auth`` (401), ``fault`` (WS-Man fault), ``hang`` (never finishes), ``drop`` (closes the
connection), ``badjson`` (prints broken JSON).
"""

from __future__ import annotations

import base64
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from psrpcore import ServerPipeline, ServerRunspacePool, StreamType
from psrpcore._payload import PSRPPayload
from psrpcore.types import PSInvocationState

__all__ = ["Host", "Lab", "start_lab"]

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
}
SHELL = NS["rsp"]
FAULTS = ("auth", "fault", "hang", "drop", "badjson")
USER, PASSWORD = "cep-reader", "loopback-Pa55word"


_HEADER = re.compile(r"\A\s*# sccm-cep-script: (\w+)\s*$", re.MULTILINE)


def _script_name(text: str) -> str | None:
    """The script's name from its header line (``# sccm-cep-script: NAME``); the rest is not read."""
    found = _HEADER.match(text)
    return found[1] if found else None


@dataclass
class _Command:
    script: str | None = None
    output: bytes = b""
    done: bool = False
    pipeline: Any = None


@dataclass
class _Shell:
    psrp: bool
    pool: Any = None
    commands: dict[str, _Command] = field(default_factory=dict)


@dataclass
class Host:
    """One simulated host: what its scripts print, and an injected fault (or None)."""

    output: Callable[[str], str]
    fault: str | None = None
    shells: dict[str, _Shell] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def address(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    def result(self, script: str | None) -> str:
        if script is None:
            return "unknown script"
        if self.fault == "badjson":
            return '{"Broken": [1, 2'
        return self.output(script)


def _envelope(action: str, relates: str, body: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" xmlns:w="{NS["w"]}" xmlns:rsp="{SHELL}"'
        f' xmlns:x="{NS["x"]}"><s:Header><a:Action>{action}</a:Action>'
        f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID><a:RelatesTo>{relates}</a:RelatesTo>"
        f"<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def _fault(relates: str, code: int, subcode: str, text: str) -> bytes:
    body = (
        f"<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:{subcode}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{text}</s:Text></s:Reason><s:Detail>'
        f'<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="{code}"'
        f' Machine="loopback"><f:Message>{text}</f:Message></f:WSManFault></s:Detail></s:Fault>'
    )
    return _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates, body)


def _drain(pool: Any) -> bytes:
    out = bytearray()
    while (payload := pool.data_to_send()) is not None:
        out += payload.data
    return bytes(out)


class _Handler(BaseHTTPRequestHandler):
    host: Host
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm on, the body waits for the
    # client's delayed ACK (40 ms on Linux loopback) on every request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.host.fault == "auth" or self.headers.get("Authorization") != expected:
            self._send(401, headers={"WWW-Authenticate": 'Basic realm="WSMAN"'})
            return
        if not raw:
            self._send(200)
            return
        root = ET.fromstring(raw)
        action = root.findtext("s:Header/a:Action", "", NS)
        relates = root.findtext("s:Header/a:MessageID", "", NS)
        body = root.find("s:Body", NS)
        assert body is not None
        verb = action.rsplit("/", 1)[-1]
        handler = getattr(self, f"_{verb.lower()}", None)
        if handler is None:
            self._send(500, _fault(relates, 2150858817, "ActionNotSupported", "not supported"))
            return
        handler(root, body, relates, action)

    def _shell_id(self, root: ET.Element) -> str:
        return root.findtext("s:Header/w:SelectorSet/w:Selector[@Name='ShellId']", "", NS)

    def _create(self, root: ET.Element, body: ET.Element, relates: str, action: str) -> None:
        shell_el = body.find("rsp:Shell", NS)
        uri = root.findtext("s:Header/w:ResourceURI", "", NS)
        psrp = "powershell" in uri
        shell_id = (shell_el.get("ShellId") if shell_el is not None else None) or str(uuid.uuid4()).upper()
        shell = _Shell(psrp=psrp)
        if psrp and shell_el is not None:
            creation = shell_el.find("{http://schemas.microsoft.com/powershell}creationXml")
            shell.pool = ServerRunspacePool()
            shell.pool.receive_data(
                PSRPPayload(base64.b64decode(creation.text or ""), StreamType.default, None)
            )
            while shell.pool.next_event() is not None:
                pass
        with self.host.lock:
            self.host.shells[shell_id.upper()] = shell
        resp = (
            f"<x:ResourceCreated><a:Address>http://127.0.0.1/wsman</a:Address><a:ReferenceParameters>"
            f'<w:ResourceURI>{uri}</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">{shell_id}'
            f"</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"
            f"<rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId><rsp:ResourceUri>{uri}</rsp:ResourceUri>"
            f"<rsp:State>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ShellState/Connected</rsp:State>"
            f"</rsp:Shell>"
        )
        self._send(200, _envelope(f"{NS['x']}/CreateResponse", relates, resp))

    def _command(self, root: ET.Element, body: ET.Element, relates: str, action: str) -> None:
        if self.host.fault == "fault":
            self._send(500, _fault(relates, 2150858843, "InternalError", "The request is not valid."))
            return
        if self.host.fault == "drop":
            self.close_connection = True
            self.connection.close()
            return
        shell = self.host.shells[self._shell_id(root).upper()]
        line = body.find("rsp:CommandLine", NS)
        assert line is not None
        command_id = (line.get("CommandId") or str(uuid.uuid4())).upper()
        args = [a.text or "" for a in line.findall("rsp:Arguments", NS)]
        cmd = _Command()
        if shell.psrp:
            pid = uuid.UUID(command_id)
            pipe = ServerPipeline(shell.pool, pid)
            shell.pool.receive_data(PSRPPayload(base64.b64decode(args[0]), StreamType.default, pid))
            while shell.pool.next_event() is not None:
                pass
            cmd.pipeline = pipe
            cmd.script = _script_name(str(pipe.metadata.commands[0].command_text))
            pipe.start()
            if self.host.fault != "hang":
                pipe.write_output(self.host.result(cmd.script))
                pipe.complete()
        else:
            words = " ".join(args).split()
            encoded = words[words.index("-EncodedCommand") + 1] if "-EncodedCommand" in words else ""
            cmd.script = _script_name(base64.b64decode(encoded).decode("utf-16-le"))
            if self.host.fault != "hang":
                cmd.output = self.host.result(cmd.script).encode()
                cmd.done = True
        shell.commands[command_id] = cmd
        resp = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
        self._send(200, _envelope(f"{SHELL}/CommandResponse", relates, resp))

    def _receive(self, root: ET.Element, body: ET.Element, relates: str, action: str) -> None:
        shell = self.host.shells[self._shell_id(root).upper()]
        stream = body.find("rsp:Receive/rsp:DesiredStream", NS)
        command_id = (stream.get("CommandId") if stream is not None else None) or ""
        cmd = shell.commands.get(command_id.upper())
        running = cmd is not None and (
            not cmd.done if not shell.psrp else cmd.pipeline.state == PSInvocationState.Running
        )
        data = _drain(shell.pool) if shell.psrp else (cmd.output if cmd and cmd.done else b"")
        if running and not data:
            time.sleep(0.2)
            self._send(500, _fault(relates, 2150858793, "TimedOut", "The operation timed out."))
            return
        attr = f' CommandId="{command_id}"' if command_id else ""
        streams = f'<rsp:Stream Name="stdout"{attr}>{base64.b64encode(data).decode()}</rsp:Stream>'
        state = ""
        if cmd is not None and not shell.psrp:
            streams += f'<rsp:Stream Name="stdout"{attr} End="true"></rsp:Stream>'
            streams += f'<rsp:Stream Name="stderr"{attr} End="true"></rsp:Stream>'
            state = (
                f'<rsp:CommandState{attr} State="{SHELL}/CommandState/Done"><rsp:ExitCode>0</rsp:ExitCode>'
                f"</rsp:CommandState>"
            )
        elif cmd is not None:
            kind = "Running" if running else "Done"
            state = f'<rsp:CommandState{attr} State="{SHELL}/CommandState/{kind}"></rsp:CommandState>'
        resp = f"<rsp:ReceiveResponse>{streams}{state}</rsp:ReceiveResponse>"
        self._send(200, _envelope(f"{SHELL}/ReceiveResponse", relates, resp))

    def _signal(self, root: ET.Element, body: ET.Element, relates: str, action: str) -> None:
        self._send(200, _envelope(f"{SHELL}/SignalResponse", relates, "<rsp:SignalResponse/>"))

    def _delete(self, root: ET.Element, body: ET.Element, relates: str, action: str) -> None:
        with self.host.lock:
            self.host.shells.pop(self._shell_id(root).upper(), None)
        self._send(200, _envelope(f"{NS['x']}/DeleteResponse", relates, ""))


@dataclass
class Lab:
    """The running endpoint: the site server and the clients, each on its own loopback port."""

    site_server: Host
    clients: list[Host]
    threads: list[threading.Thread] = field(default_factory=list)

    def hosts(self) -> list[Host]:
        return [self.site_server, *self.clients]

    def stop(self) -> None:
        stoppers = [threading.Thread(target=h.server.shutdown) for h in self.hosts() if h.server]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()
        for h in self.hosts():
            if h.server:
                h.server.server_close()


def _serve(host: Host) -> threading.Thread:
    handler = type("Handler", (_Handler,), {"host": host})
    host.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    host.server.daemon_threads = True
    thread = threading.Thread(target=host.server.serve_forever, args=(0.05,), name="wsman", daemon=True)
    thread.start()
    return thread


def start_lab(site_output: Callable[[str], str], clients: list[Callable[[str], str]]) -> Lab:
    lab = Lab(Host(site_output), [Host(c) for c in clients])
    lab.threads = [_serve(h) for h in lab.hosts()]
    return lab
