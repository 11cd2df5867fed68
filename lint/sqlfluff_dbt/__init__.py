"""Stand-ins for dbt's Jinja context so sqlfluff's jinja templater can render the dbt project.

sqlfluff loads this package through `library_path` (see .sqlfluff) and puts every public name
below into the template context. With them, models render the SQL they really produce:
project macros (`clientbase.x`, `adapter.dispatch`) resolve to the project's own `duckdb__` /
`default__` implementations, and dbt's cross-database macros render their DuckDB form. Linting
needs no database connection and no manifest, unlike the dbt templater.
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
from collections import ChainMap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2.nodes
import yaml
from jinja2 import pass_context
from jinja2.exceptions import TemplateRuntimeError, UndefinedError
from jinja2.ext import Extension
from jinja2.runtime import Macro
from jinja2.utils import missing

# The target sqlfluff lints for: .sqlfluff sets dialect = duckdb.
ADAPTER_TYPE = "duckdb"


def _lookup_macro(ctx: Any, name: str, *, dispatching: bool = False) -> Any | None:
    """A macro the project defines (loaded by sqlfluff from load_macros_from_path), or None.

    When dispatching, the plain name is the dispatcher itself and must not be returned.
    """
    candidates = [f"{ADAPTER_TYPE}__{name}", f"default__{name}"]
    if not dispatching:
        candidates.insert(0, name)
    for candidate in candidates:
        found = ctx.resolve_or_missing(candidate)
        if found is not missing and callable(found):
            return found
    return None


def _args_sql(args: tuple[Any, ...]) -> str:
    return ", ".join(str(arg) for arg in args)


# dbt's own cross-database macros, in their DuckDB form. Anything missing renders as a plain
# function call of the same name, which parses just as well.
_DBT_MACROS = {
    "type_string": lambda: "varchar",
    "type_int": lambda: "integer",
    "type_bigint": lambda: "bigint",
    "type_float": lambda: "double",
    "type_numeric": lambda: "numeric(28, 6)",
    "type_boolean": lambda: "boolean",
    "type_timestamp": lambda: "timestamp",
    "cast": lambda field, type_: f"cast({field} as {type_})",
    "safe_cast": lambda field, type_: f"try_cast({field} as {type_})",
    "concat": lambda fields: "(" + " || ".join(str(f) for f in fields) + ")",
    "hash": lambda field: f"md5(cast({field} as varchar))",
    "date_trunc": lambda datepart, date: f"date_trunc('{datepart}', {date})",
    "dateadd": lambda datepart, interval, from_date: (
        f"({from_date} + to_{str(datepart).strip(chr(39))}s(cast({interval} as integer)))"
    ),
    "datediff": lambda first, second, datepart: f"date_diff('{datepart}', {first}, {second})",
    "last_day": lambda date, datepart: (
        f"(date_trunc('{datepart}', {date}) + to_{datepart}s(1) - to_days(1))"
    ),
    "generate_series": lambda upper_bound: (
        f"select generate_series as generated_number from generate_series(1, {upper_bound})"
    ),
    "split_part": lambda string, delimiter, part: f"split_part({string}, {delimiter}, {part})",
    "listagg": lambda measure, delimiter=None, order_by=None, limit=None: (
        f"string_agg({measure}, {delimiter or chr(39) + chr(39)}"
        + (f" {order_by}" if order_by else "")
        + ")"
    ),
    "current_timestamp": lambda: "now()",
    "string_literal": lambda value: "'" + str(value).replace("'", "''") + "'",
    "escape_single_quotes": lambda value: str(value).replace("'", "''"),
    "except": lambda: "except",
    "intersect": lambda: "intersect",
    "date": lambda year, month, day: f"make_date({year}, {month}, {day})",
}


def _dbt_default(name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        if name in _DBT_MACROS:
            return _DBT_MACROS[name](*args, **kwargs)
        return f"{name}({_args_sql(args)})"

    return call


def _dbt_macro(name: str) -> Any:
    @pass_context
    def call(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        # The project may override dbt's macro (dispatch search order: clientbase first).
        override = ctx.resolve_or_missing(f"{ADAPTER_TYPE}__{name}")
        if override is not missing and callable(override):
            return override(*args, **kwargs)
        return _dbt_default(name)(*args, **kwargs)

    return call


class _Namespace:
    """`dbt.<macro>` and `<project>.<macro>`: macros called through their package name."""

    def __init__(self, package: str) -> None:
        self._package = package

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._package == "dbt":
            return _dbt_macro(name)

        @pass_context
        def call(ctx: Any, *args: Any, **kwargs: Any) -> Any:
            macro = _lookup_macro(ctx, name)
            if macro is None:
                raise UndefinedError(f"macro {self._package}.{name} is not defined")
            returned = len(_RETURNED)
            rendered = macro(*args, **kwargs)
            if len(_RETURNED) > returned:
                # the macro's own return() is the last one recorded: returns of macros it called
                # through adapter.dispatch (not through this wrapper) come before it
                value = _RETURNED[-1]
                del _RETURNED[returned:]
                # as in dbt, a macro that calls return() gives that value: a list stays a list
                # (SQL text keeps its rendered form, which is what the linter lints)
                if not isinstance(value, str):
                    return value
            return rendered

        return call


class _Adapter:
    """`adapter.dispatch` resolves like dbt on DuckDB: duckdb__x, then default__x."""

    type = ADAPTER_TYPE

    @pass_context
    def dispatch(self, ctx: Any, macro_name: str, macro_namespace: str | None = None) -> Any:
        macro = _lookup_macro(ctx, macro_name, dispatching=True)
        if macro is not None:
            return macro
        if macro_namespace == "dbt":
            return _dbt_default(macro_name)
        raise UndefinedError(f"no {ADAPTER_TYPE}__ or default__ implementation of {macro_name}")

    @staticmethod
    def quote(identifier: str) -> str:
        return f'"{identifier}"'

    @staticmethod
    def get_relation(*args: Any, **kwargs: Any) -> None:
        return None

    @staticmethod
    def get_columns_in_relation(*args: Any, **kwargs: Any) -> list[Any]:
        return []


def _raise_compiler_error(message: str, *args: Any) -> None:
    # A Jinja error, so sqlfluff reports it as a templating violation of the file being linted
    # instead of crashing the whole run.
    raise TemplateRuntimeError(message)


def _project_vars() -> dict[str, Any]:
    project_file = Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml"
    try:
        return yaml.safe_load(project_file.read_text()).get("vars") or {}
    except (OSError, AttributeError, yaml.YAMLError):
        return {}


_VARS = _project_vars()


_NO_DEFAULT = object()


def var(name: str, default: Any = _NO_DEFAULT) -> Any:
    """dbt's var(): the project's defaults from dbt_project.yml, as in a plain `dbt build`."""
    if name in _VARS:
        return _VARS[name]
    if default is not _NO_DEFAULT:
        return default
    raise TemplateRuntimeError(f"var {name!r} is not set in dbt_project.yml and has no default")


def _env_var(name: str, default: str | None = None) -> str:
    return default if default is not None else name


adapter = _Adapter()
dbt = _Namespace("dbt")
clientbase = _Namespace("clientbase")
exceptions = SimpleNamespace(
    raise_compiler_error=_raise_compiler_error, warn=lambda *args, **kwargs: ""
)
target = SimpleNamespace(
    type=ADAPTER_TYPE, name=ADAPTER_TYPE, schema="main", database="warehouse", threads=1
)
modules = SimpleNamespace(datetime=datetime, re=re, itertools=itertools)
env_var = _env_var
log = lambda *args, **kwargs: ""  # noqa: E731
tojson = json.dumps
fromjson = json.loads
# Under `{% if execute %}` dbt runs queries against the warehouse; the linter has none.
execute = False
run_query = lambda *args, **kwargs: None  # noqa: E731
graph = {"nodes": {}, "sources": {}}
# dbt's return() ends the macro with a value of any type. Here it records the value for the
# `<project>.<macro>` call that is running (which then gives it instead of the rendered text)
# and renders it too, for macros called some other way. `return` is a Python keyword, so it
# can only be set through globals().
_RETURNED: list[Any] = []


def _return(value: Any = "") -> Any:
    _RETURNED.append(value)
    return value


globals()["return"] = _return


class _MaterializationExtension(Extension):
    """Parse dbt's `{% materialization name, adapter %}` block as an (unused) macro."""

    tags = {"materialization"}

    def parse(self, parser: Any) -> jinja2.nodes.Macro:
        node = jinja2.nodes.Macro(lineno=next(parser.stream).lineno)
        node.name = "materialization_" + parser.parse_assign_target(name_only=True).name
        node.args, node.defaults = [], []
        while parser.stream.current.type != "block_end":  # `, default` or `, adapter='spark'`
            next(parser.stream)
        node.body = parser.parse_statements(("name:endmaterialization",), drop_needle=True)
        return node


def _install_sqlfluff_patches() -> None:
    """Make macro files behave as in dbt when sqlfluff loads them.

    sqlfluff evaluates each macro file with a *copy* of the context as it is at that moment,
    so a macro only sees macros from files loaded before its own, in directory-walk order, and
    `{% materialization %}` is a syntax error. Re-implementing the (small) loader to share the
    live context fixes the first; registering an extension fixes the second. sqlfluff imports
    this package before it loads the macro files, so the patch is in place in time.
    """
    try:
        from sqlfluff.core.templaters.jinja import JinjaTemplater
    except ImportError:  # imported outside sqlfluff
        return
    if getattr(JinjaTemplater, "_clientbase_patched", False):
        return

    def extract_macros(template: str, env: Any, ctx: dict[str, Any]) -> dict[str, Any]:
        if not any("materialization" in ext.tags for ext in env.extensions.values()):
            env.add_extension(_MaterializationExtension)
        macro_template = env.from_string(template, globals=ctx)
        try:
            # shared=True: the module's context *is* the live dict (which later files extend),
            # in front of Jinja's own globals (range, namespace...)
            module = macro_template.make_module(vars=ChainMap(ctx, env.globals), shared=True)
        except UndefinedError:  # as sqlfluff does: real problems surface when models render
            return {}
        return {name: value for name, value in module.__dict__.items() if isinstance(value, Macro)}

    JinjaTemplater._extract_macros_from_template = staticmethod(extract_macros)
    JinjaTemplater._clientbase_patched = True


_install_sqlfluff_patches()
