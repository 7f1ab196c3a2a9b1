"""The shipped JEA endpoint (winrm/jea/) against the collection scripts it is meant to run.

The scripts were checked against ConstrainedLanguage (about_Language_Modes: only the allowed
types may be named, converted to or have methods called; no Add-Type of code, no New-Object
outside those types, no COM beyond three objects). These tests parse the .pssc/.psrc data files
and the .ps1 scripts with tree-sitter-powershell and check that the session configuration and the
role capability let every script call do what it does, and nothing the role does not name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import pytest
import tree_sitter
import tree_sitter_powershell

from sccm_cep_connectors.winrm.scripts import load_script, script_names

#: The language mode the scripts were reviewed against; the session configuration must set it.
LANGUAGE_MODE = "ConstrainedLanguage"

#: Types ConstrainedLanguage permits (about_Language_Modes, Windows PowerShell 5.1 and 7.x),
#: lower-cased as PowerShell compares them. Anything else is refused at run time.
CLM_ALLOWED_TYPES = frozenset(
    t.lower()
    for t in [
        "adsi",
        "adsisearcher",
        "Alias",
        "AllowEmptyCollection",
        "AllowEmptyString",
        "AllowNull",
        "ArgumentCompleter",
        "ArgumentCompletions",
        "array",
        "bigint",
        "bool",
        "byte",
        "char",
        "cimclass",
        "cimconverter",
        "ciminstance",
        "CimSession",
        "cimtype",
        "CmdletBinding",
        "cultureinfo",
        "datetime",
        "decimal",
        "double",
        "DscLocalConfigurationManager",
        "DscProperty",
        "DscResource",
        "ExperimentAction",
        "Experimental",
        "ExperimentalFeature",
        "float",
        "guid",
        "hashtable",
        "int",
        "int16",
        "int32",
        "int64",
        "ipaddress",
        "IPEndpoint",
        "long",
        "mailaddress",
        "Microsoft.PowerShell.Commands.ModuleSpecification",
        "NullString",
        "Object[]",
        "ObjectSecurity",
        "ordered",
        "OutputType",
        "Parameter",
        "PhysicalAddress",
        "pscredential",
        "pscustomobject",
        "PSDefaultValue",
        "pslistmodifier",
        "psobject",
        "psprimitivedictionary",
        "PSTypeNameAttribute",
        "ref",
        "regex",
        "sbyte",
        "securestring",
        "semver",
        "short",
        "single",
        "string",
        "SupportsWildcards",
        "switch",
        "timespan",
        "uint",
        "uint16",
        "uint32",
        "uint64",
        "ulong",
        "uri",
        "ushort",
        "ValidateCount",
        "ValidateDrive",
        "ValidateLength",
        "ValidateNotNull",
        "ValidateNotNullOrEmpty",
        "ValidatePattern",
        "ValidateRange",
        "ValidateScript",
        "ValidateSet",
        "ValidateTrustedData",
        "ValidateUserDrive",
        "version",
        "void",
        "WildcardPattern",
        "wmi",
        "wmiclass",
        "wmisearcher",
        "X500DistinguishedName",
        "X509Certificate",
        "xml",
    ]
)

#: Commands that defeat ConstrainedLanguage or JEA, or change the host; none may appear.
DENIED_COMMANDS = frozenset(
    c.lower()
    for c in [
        "Add-Type",
        "New-Object",
        "Invoke-Expression",
        "iex",
        "Invoke-Command",
        "icm",
        "Start-Process",
        "Start-Job",
        "Invoke-Item",
        "Invoke-CimMethod",
        "Invoke-WmiMethod",
        "Import-Module",
        "Set-Variable",
        "Set-PSBreakpoint",
        "Register-ObjectEvent",
    ]
)
#: Nodes of language features ConstrainedLanguage refuses or that load code.
DENIED_NODES = frozenset({"class_statement", "enum_statement", "using_statement"})
#: Variables that reach the engine's internals.
DENIED_VARIABLES = frozenset({"$executioncontext", "$host"})
#: Method calls ConstrainedLanguage allows on the receivers the scripts use: ToString() on any
#: object; ContainsKey() only on a variable the same script assigns a hashtable literal to.
ALLOWED_ANY_METHODS = frozenset({"tostring"})
ALLOWED_HASHTABLE_METHODS = frozenset({"containskey"})

#: What SessionType RestrictedRemoteServer replaces with constrained proxy functions; a script
#: calling one of these by its bare name gets the proxy (functions win over cmdlets), so it must
#: use the module-qualified name, which the role capability makes visible.
RESTRICTED_PROXIES = frozenset(
    c.lower()
    for c in [
        "Get-Command",
        "Get-FormatData",
        "Select-Object",
        "Get-Help",
        "Measure-Object",
        "Exit-PSSession",
        "Out-Default",
    ]
)

_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
_JEA = resources.files("sccm_cep_connectors.winrm").joinpath("jea")


# -- a PowerShell data-file reader (the .pssc/.psrc/.psd1 subset: literals, arrays, hashtables) ----


class NotStatic(ValueError):
    """The expression is not a constant (a variable, a call, an expandable string with `$`)."""


_PASS_THROUGH = {
    "program",
    "statement_list",
    "pipeline",
    "pipeline_chain",
    "logical_expression",
    "bitwise_expression",
    "comparison_expression",
    "multiplicative_expression",
    "format_expression",
    "range_expression",
    "unary_expression",
    "argument_expression",
    "logical_argument_expression",
    "bitwise_argument_expression",
    "comparison_argument_expression",
    "additive_argument_expression",
    "multiplicative_argument_expression",
    "format_argument_expression",
    "range_argument_expression",
    "parenthesized_expression",
    "sub_expression",
}


def _named(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [c for c in node.named_children if c.type != "comment"]


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8")


def _string(node: tree_sitter.Node) -> str:
    raw = _text(node)
    if raw.startswith("'") and raw.endswith("'"):
        return raw[1:-1].replace("''", "'")
    if raw.startswith('"') and raw.endswith('"') and "$" not in raw and "`" not in raw:
        return raw[1:-1]
    raise NotStatic(raw)


def value(node: tree_sitter.Node, env: dict[str, Any] | None = None) -> Any:
    """The constant a data-file or argument expression denotes; NotStatic when it has none.

    ``env`` maps lower-cased variable names to values already known (for script arguments).
    """
    kind = node.type
    kids = _named(node)
    if kind == "member_access" and env is not None and _text(node).lower() in env:
        return env[_text(node).lower()]
    if kind == "string_literal":
        return _string(node)
    if kind in ("integer_literal", "decimal_integer_literal"):
        return int(_text(node))
    if kind == "variable":
        name = _text(node).lower()
        if name in ("$true", "$false", "$null"):
            return {"$true": True, "$false": False, "$null": None}[name]
        if env is not None and name in env:
            return env[name]
        raise NotStatic(name)
    if kind == "hash_literal_expression":
        out: dict[str, Any] = {}
        body = next((c for c in kids if c.type == "hash_literal_body"), None)
        for entry in _named(body) if body is not None else []:
            key_node, val_node = _named(entry)[0], _named(entry)[-1]
            key = _text(key_node)
            if key.startswith(("'", '"')):
                key = _string(_named(key_node)[0]) if _named(key_node) else _string(key_node)
            out[key] = value(val_node, env)
        return out
    if kind == "array_expression":
        items: list[Any] = []
        for stmt in kids:
            for pipe in _named(stmt) if stmt.type == "statement_list" else [stmt]:
                v = value(pipe, env)
                items.extend(v if isinstance(v, list) else [v])
        return items
    if kind == "array_literal_expression":
        parts = [value(c, env) for c in kids]
        has_comma = any(c.type == "," for c in node.children)
        return parts if has_comma or len(parts) != 1 else parts[0]
    if kind == "additive_expression" and len(kids) == 2:
        left, right = value(kids[0], env), value(kids[1], env)
        if isinstance(left, str) and isinstance(right, str) and _text(node).count("+"):
            return left + right
        raise NotStatic(_text(node))
    if (kind in _PASS_THROUGH or kind == "additive_expression") and len(kids) == 1:
        return value(kids[0], env)
    raise NotStatic(f"{kind}: {_text(node)[:60]}")


def parse(text: str) -> tree_sitter.Node:
    tree = _PARSER.parse(text.encode("utf-8"))
    assert not tree.root_node.has_error
    return tree.root_node


def data_file(*parts: str) -> dict[str, Any]:
    root = parse(_JEA.joinpath(*parts).read_text(encoding="utf-8"))
    data = value(root)
    assert isinstance(data, dict)
    return data


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


# -- the role capability, read as JEA reads it --------------------------------------------------


@dataclass(frozen=True)
class VisibleCmdlet:
    name: str  # as written, possibly Module\Name
    #: parameter name (lower) -> ValidatePattern (None: any value); None: every parameter allowed
    parameters: dict[str, str | None] | None

    @property
    def bare(self) -> str:
        return self.name.rsplit("\\", 1)[-1].lower()

    @property
    def qualified(self) -> bool:
        return "\\" in self.name


def visible_cmdlets(role: dict[str, Any]) -> list[VisibleCmdlet]:
    out = []
    for entry in _as_list(role.get("VisibleCmdlets", [])):
        if isinstance(entry, str):
            out.append(VisibleCmdlet(entry, None))
            continue
        params: dict[str, str | None] | None = None
        if "Parameters" in entry:
            params = {}
            for p in _as_list(entry["Parameters"]):
                assert "ValidateSet" not in p, "use ValidatePattern only: JEA lets a pattern override a set"
                params[p["Name"].lower()] = p.get("ValidatePattern")
        out.append(VisibleCmdlet(entry["Name"], params))
    return out


@cache
def role() -> dict[str, Any]:
    return data_file("RoleCapabilities", "SccmCep.psrc")


@cache
def session() -> dict[str, Any]:
    return data_file("sccm-cep.pssc")


def resolve(called: str, cmdlets: list[VisibleCmdlet]) -> VisibleCmdlet | None:
    """The role entry that makes ``called`` (bare or Module\\Name) visible, if any."""
    low = called.lower()
    bare = low.rsplit("\\", 1)[-1]
    for c in cmdlets:
        if low == c.name.lower() or (not c.qualified and bare == c.bare):
            return c
        if "\\" not in low and c.qualified and bare == c.bare and bare not in RESTRICTED_PROXIES:
            return c  # a visible cmdlet is found by its bare name unless a proxy shadows it
    return None


# -- the scripts, as command calls with their arguments ---------------------------------------


@dataclass(frozen=True)
class Call:
    name: str
    #: parameter (lower) -> argument value, or NotStatic when it is only known at run time
    named: dict[str, Any]
    positional: int
    line: int


def _walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    yield node
    for c in node.children:
        yield from _walk(c)


#: Values known only on the host, replaced by a representative one: the site code the scripts
#: read from SMS_ProviderLocation (three letters or digits) and a baseline's CI_ID (baselines.ps1
#: reads compliance one baseline at a time).
HOST_VALUES = {"$provider.sitecode": "PS1", "$b.ci_id": "16777655"}


def calls(text: str) -> list[Call]:
    """Every command call, arguments resolved through earlier constant assignments.

    A ``foreach ($x in $list)`` binds ``$x`` to the whole list, so a pattern is checked against
    every element the loop can take.
    """
    root = parse(text)
    env: dict[str, Any] = dict(HOST_VALUES)
    out: list[Call] = []
    for node in _walk(root):
        if node.type == "foreach_statement":
            loop_var, source = _named(node)[0], _named(node)[1]
            try:
                env[_text(loop_var).lower()] = value(source, env)
            except NotStatic as exc:
                env[_text(loop_var).lower()] = exc
        if node.type == "assignment_expression":
            target = _text(_named(node)[0]).strip().lower()
            try:
                env[target] = value(_named(node)[-1], env)
            except NotStatic as exc:
                env[target] = exc
        if node.type != "command":
            continue
        name_node = next((c for c in node.named_children if c.type == "command_name"), node)
        elements = next((c for c in node.named_children if c.type == "command_elements"), None)
        named: dict[str, Any] = {}
        positional = 0
        current: str | None = None
        for el in _named(elements) if elements is not None else []:
            if el.type == "command_argument_sep":
                continue
            if el.type == "command_parameter":
                current = _text(el).lstrip("-").rstrip(":").lower()
                named[current] = True  # a switch until an argument follows
                continue
            try:
                arg: Any = value(el, env)
            except NotStatic as exc:
                arg = exc
            if current is None:
                positional += 1
            else:
                named[current] = arg
                current = None
        out.append(Call(_text(name_node), named, positional, name_node.start_point[0] + 1))
    return out


#: Parameters every cmdlet has; JEA always allows them.
COMMON_PARAMETERS = frozenset(
    p.lower()
    for p in [
        "Verbose",
        "Debug",
        "ErrorAction",
        "WarningAction",
        "InformationAction",
        "ErrorVariable",
        "WarningVariable",
        "InformationVariable",
        "OutVariable",
        "OutBuffer",
        "PipelineVariable",
    ]
)


def rule_violations(call: Call, cmdlets: list[VisibleCmdlet]) -> list[str]:
    """Why JEA would refuse this call under the role capability (empty: it would run)."""
    entry = resolve(call.name, cmdlets)
    if entry is None:
        return [f"line {call.line}: {call.name} is not visible"]
    if entry.parameters is None:
        return []
    problems = []
    if call.positional:
        problems.append(f"line {call.line}: {call.name} has positional arguments; name them")
    for param, arg in call.named.items():
        if param in COMMON_PARAMETERS:
            continue
        if param not in entry.parameters:
            problems.append(f"line {call.line}: {call.name} -{param} is not allowed")
            continue
        pattern = entry.parameters[param]
        if pattern is None or isinstance(arg, NotStatic):
            continue
        for item in _as_list(arg):
            if not re.search(pattern, str(item), re.IGNORECASE):
                problems.append(f"line {call.line}: {call.name} -{param} {item!r} fails {pattern!r}")
    return problems


def clm_violations(text: str) -> list[str]:
    """Constructs ConstrainedLanguage refuses (or that this project denies) in one script."""
    root = parse(text)
    hashtables = set()
    for node in _walk(root):
        if node.type == "assignment_expression":
            rhs = _text(_named(node)[-1]).strip()
            if rhs.startswith("@{"):
                hashtables.add(_text(_named(node)[0]).strip().lower())
    problems = []
    for node in _walk(root):
        line = node.start_point[0] + 1
        if node.type in DENIED_NODES:
            problems.append(f"line {line}: {node.type}")
        elif node.type == "command":
            name_node = next((c for c in node.named_children if c.type == "command_name"), None)
            if name_node is None:  # & or . followed by an expression: runs whatever it names
                problems.append(f"line {line}: call operator {_text(node)[:1]}")
            elif _text(name_node).rsplit("\\", 1)[-1].lower() in DENIED_COMMANDS:
                problems.append(f"line {line}: {_text(name_node)}")
        elif node.type == "variable" and _text(node).lower() in DENIED_VARIABLES:
            problems.append(f"line {line}: {_text(node)}")
        elif node.type == "type_literal":
            spec = _text(node)[1:-1].strip().lower()
            if spec not in CLM_ALLOWED_TYPES:
                problems.append(f"line {line}: type [{spec}]")
        elif node.type == "invokation_expression":
            receiver = _named(node)[0]
            member = next(c for c in node.named_children if c.type == "member_name")
            method = _text(member).lower()
            if receiver.type == "type_literal":
                continue  # the type itself is checked above
            if method in ALLOWED_ANY_METHODS:
                continue
            if method in ALLOWED_HASHTABLE_METHODS and _text(receiver).lower() in hashtables:
                continue
            problems.append(f"line {line}: method {_text(receiver)}.{_text(member)}()")
    return problems


# -- the session configuration ------------------------------------------------------------------


def test_session_configuration_is_a_restricted_jea_endpoint_in_the_reviewed_language_mode() -> None:
    pssc = session()
    assert pssc["SessionType"] == "RestrictedRemoteServer"
    assert pssc["LanguageMode"] == LANGUAGE_MODE
    assert pssc["SchemaVersion"] == "2.0.0.0"
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", pssc["GUID"])
    assert pssc["TranscriptDirectory"].startswith("C:\\ProgramData\\")


def test_session_runs_as_exactly_one_jea_identity() -> None:
    pssc = session()
    identities = [k for k in ("RunAsVirtualAccount", "GroupManagedServiceAccount") if pssc.get(k)]
    assert len(identities) == 1


def test_role_definitions_name_the_shipped_role_capability_only() -> None:
    definitions = session()["RoleDefinitions"]
    assert definitions
    for principal, grant in definitions.items():
        assert "\\" in principal
        assert set(grant) == {"RoleCapabilities"}
        assert _as_list(grant["RoleCapabilities"]) == ["SccmCep"]


def test_role_capability_sits_in_a_module_jea_can_find() -> None:
    # JEA finds a role capability as <module folder on PSModulePath>\RoleCapabilities\<Name>.psrc;
    # the module folder needs a file named like itself: the shipped manifest.
    assert _JEA.joinpath("RoleCapabilities", "SccmCep.psrc").is_file()
    manifest = data_file("SccmCep.psd1")
    assert manifest["ModuleVersion"]
    assert manifest["FunctionsToExport"] == [] and manifest["CmdletsToExport"] == []


def test_session_configuration_grants_no_command_itself() -> None:
    # Commands come from the role capability alone, so one file says what the endpoint allows.
    pssc = session()
    granting = {
        "VisibleCmdlets",
        "VisibleFunctions",
        "VisibleAliases",
        "VisibleExternalCommands",
        "VisibleProviders",
        "FunctionDefinitions",
        "ScriptsToProcess",
        "ModulesToImport",
        "AssembliesToLoad",
        "MountUserDrive",
    }
    assert not granting & set(pssc)


# -- the role capability --------------------------------------------------------------------------


def test_role_capability_exposes_only_reading_commands() -> None:
    psrc = role()
    assert not {
        "VisibleFunctions",
        "FunctionDefinitions",
        "VisibleExternalCommands",
        "VisibleAliases",
        "ScriptsToProcess",
        "AssembliesToLoad",
        "ModulesToImport",
    } & set(psrc)
    assert _as_list(psrc["VisibleProviders"]) == ["Registry"]
    verbs = {c.bare.split("-", 1)[0] for c in visible_cmdlets(psrc)}
    assert verbs <= {"get", "test", "select", "where", "foreach", "group", "sort", "convertto"}
    assert not any("*" in c.name for c in visible_cmdlets(psrc))


def test_commands_that_touch_the_host_are_limited_by_parameter() -> None:
    limited = {c.bare: c for c in visible_cmdlets(role())}
    for name in ("get-ciminstance", "get-itemproperty", "test-path"):
        params = limited[name].parameters
        assert params, name
        assert all(p and p.startswith("^") and p.endswith("$") for p in params.values()), name


def test_parameter_patterns_refuse_what_the_scripts_do_not_need() -> None:
    cmdlets = visible_cmdlets(role())

    def refused(name: str, **named: Any) -> bool:
        return bool(rule_violations(Call(name, {k.lower(): v for k, v in named.items()}, 0, 1), cmdlets))

    assert not refused("Get-CimInstance", Namespace="root\\SMS\\site_PS1", ClassName="SMS_Site")
    assert refused("Get-CimInstance", Namespace="root\\cimv2\\security")
    assert refused("Get-CimInstance", ClassName="Win32_Product")
    assert refused("Get-CimInstance", Query="SELECT * FROM Win32_UserAccount")
    assert refused("Get-CimInstance", Namespace="root\\SMS\\site_PS1", Query="SELECT * FROM SMS_Admin")
    assert refused("Get-ItemProperty", Path="HKLM:\\SYSTEM\\CurrentControlSet\\Services\\*")
    assert refused("Get-ItemProperty", LiteralPath="HKLM:\\SAM")
    assert refused("Invoke-CimMethod", ClassName="Win32_Process")
    assert refused("Select-Object", Property="Caption")  # the bare name is the constrained proxy


# -- the scripts under the endpoint ----------------------------------------------------------------


@pytest.mark.parametrize("name", script_names())
def test_every_command_a_script_calls_is_allowed_by_the_role_capability(name: str) -> None:
    cmdlets = visible_cmdlets(role())
    found = calls(load_script(name))
    assert found
    problems = []
    for call in found:
        if call.name.lower() in RESTRICTED_PROXIES:
            continue  # reported by the next test
        problems += rule_violations(call, cmdlets)
    assert problems == []


# In a RestrictedRemoteServer session a bare Select-Object is a proxy that accepts only
# -Property from a fixed list of command-metadata names (and no -First); the scripts call the
# module-qualified cmdlet, which the role capability makes visible.
@pytest.mark.parametrize("name", script_names())
def test_no_script_calls_a_constrained_proxy_by_its_bare_name(name: str) -> None:
    bare = [
        f"line {c.line}: {c.name}" for c in calls(load_script(name)) if c.name.lower() in RESTRICTED_PROXIES
    ]
    assert bare == []


@pytest.mark.parametrize("name", script_names())
def test_script_uses_only_what_constrained_language_allows(name: str) -> None:
    assert clm_violations(load_script(name)) == []


def test_resolved_arguments_are_checked_not_skipped() -> None:
    # Most script arguments are constants or constant concatenations; if resolution broke,
    # the pattern checks above would pass vacuously.
    checked = 0
    for name in script_names():
        for call in calls(load_script(name)):
            if call.name.lower() in ("get-ciminstance", "get-itemproperty", "test-path"):
                checked += sum(1 for v in call.named.values() if not isinstance(v, NotStatic))
    assert checked >= 40


def test_constrained_language_check_catches_what_the_mode_refuses() -> None:
    bad = (
        "Add-Type -TypeDefinition 'public class X {}'\n"
        "$o = New-Object -ComObject 'Shell.Application'\n"
        "[System.IO.File]::ReadAllText('C:\\x')\n"
        "$p = [System.Diagnostics.Process]$x\n"
        "$s.Kill()\n"
        "$ExecutionContext.SessionState.LanguageMode\n"
        "class C { }\n"
        "& $cmd\n"
        ". .\\other.ps1\n"
    )
    found = clm_violations(bad)
    for needle in (
        "Add-Type",
        "New-Object",
        "system.io.file",
        "system.diagnostics.process",
        "Kill",
        "$ExecutionContext",
        "class_statement",
        "call operator &",
        "call operator .",
    ):
        assert any(needle in p for p in found), needle
    ok = "$h = @{}\n$h.ContainsKey(1)\n$d.ToString('s')\n[int]$x + [pscustomobject]@{ A = [string]1 }\n"
    assert clm_violations(ok) == []


def test_argument_resolution_follows_constant_assignments() -> None:
    text = "$q = 'SELECT A ' +\n    'FROM SMS_Package'\nGet-CimInstance -Namespace $ns -Query $q\n"
    (call,) = calls(text)
    assert call.named["query"] == "SELECT A FROM SMS_Package"
    assert isinstance(call.named["namespace"], NotStatic)
