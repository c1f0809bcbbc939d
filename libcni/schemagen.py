"""Write the call path's decoding tables (`schema.py` modules) from the pydantic models.

    python -m libcni.schemagen          # rewrite every schema module (make schemas)
    python -m libcni.schemagen --check  # exit 1 when a committed module is stale

Each entry of SCHEMAS names an output module, the pydantic module it is generated from, the models
to emit, and for some models the pure record class (with methods) that `libcni.lean.decode`
builds; other models get a plain record class. Nested models are emitted where first needed, or
imported from the schema module that owns them. Field validators must be plain functions attached
with `Annotated[T, AfterValidator(fn)]`, so the generated table calls the very same function.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import types
import typing
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel
from pydantic.functional_validators import AfterValidator
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parent.parent

# output module: (models module, [model names], {model name: "module:RecordClass"})
SCHEMAS: dict[str, tuple[str, list[str], dict[str, str]]] = {
    "libcni.types.result_schema": (
        "libcni.types.result_models",
        ["Interface", "IPConfig", "Route", "DNS", "Result", "IP020", "Result020"],
        {
            name: f"libcni.types.results:{name}"
            for name in ("Interface", "IPConfig", "Route", "DNS", "Result", "IP020", "Result020")
        },
    ),
    "libcni.types.netconf_schema": (
        "libcni.types.config",
        ["Attachment", "NetConf"],
        {"NetConf": "libcni.types.netconf:NetConfRecord"},
    ),
    "plugins.bridge.schema": (
        "plugins.bridge.models",
        ["BridgeConf"],
        {"BridgeConf": "plugins.bridge.config:BridgeRecord"},
    ),
    "plugins.tuning.schema": (
        "plugins.tuning.models",
        ["TuningConf", "SavedLink"],
        {"TuningConf": "libcni.types.netconf:NetConfRecord", "SavedLink": "plugins.tuning.backup:SavedLink"},
    ),
    "plugins.portmap.schema": (
        "plugins.portmap.models",
        ["PortMapConf"],
        {"PortMapConf": "libcni.types.netconf:NetConfRecord"},
    ),
    "plugins.firewall.schema": (
        "plugins.firewall.models",
        ["FirewallNetConf"],
        {"FirewallNetConf": "libcni.types.netconf:NetConfRecord"},
    ),
    "plugins.bandwidth.schema": (
        "plugins.bandwidth.models",
        ["BandwidthConf"],
        {"BandwidthConf": "libcni.types.netconf:NetConfRecord"},
    ),
    "ipam.host_local.schema": (
        "ipam.host_local.models",
        ["HostLocalNetConf"],
        {
            "HostLocalNetConf": "libcni.types.netconf:NetConfRecord",
            "RangeConf": "ipam.host_local.config:RangeRecord",
            "IPAMConf": "ipam.host_local.config:IPAMRecord",
        },
    ),
}

_SCALARS = {str: "str", bool: "bool", int: "int", float: "float"}


class _Writer:
    def __init__(self, out_module: str, owners: dict[type, str]) -> None:
        self.out_module = out_module
        self.owners = owners  # model class -> schema module that emits it
        self.imports: dict[str, set[str]] = {}
        self.blocks: list[str] = []
        self.done: set[type] = set()

    def need(self, module: str, name: str) -> str:
        if module != self.out_module:
            self.imports.setdefault(module, set()).add(name)
        return name

    def ref(self, fn: Any) -> str:
        module, name = fn.__module__, fn.__qualname__
        if "." in name or "<" in name:
            raise SystemExit(f"schemagen: validator {module}.{name} must be a module-level function")
        return self.need(module, name)

    def kind(self, tp: Any, records: dict[str, str]) -> str:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            inner, *meta = typing.get_args(tp)
            return self.checks(self.kind(inner, records), meta)
        if tp is Any:
            return '("any",)'
        if tp in _SCALARS:
            return f'("{_SCALARS[tp]}",)'
        if origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1 or len(typing.get_args(tp)) != 2:
                raise SystemExit(f"schemagen: only `T | None` unions are supported, not {tp}")
            return f'("opt", {self.kind(args[0], records)})'
        if origin is list:
            return f'("list", {self.kind(typing.get_args(tp)[0], records)})'
        if origin is dict:
            key, value = typing.get_args(tp)
            if key is not str:
                raise SystemExit(f"schemagen: dict keys must be str, not {key}")
            return f'("dict", {self.kind(value, records)})'
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return f'("model", {self.model(tp, records)})'
        raise SystemExit(f"schemagen: unsupported type {tp!r}")

    def checks(self, kind: str, meta: list[Any]) -> str:
        for item in meta:
            if not isinstance(item, AfterValidator):
                raise SystemExit(f"schemagen: unsupported field metadata {item!r} (use AfterValidator)")
            kind = f'("check", {kind}, {self.ref(item.func)})'
        return kind

    def default(self, field: Any, records: dict[str, str]) -> str:
        if field.default_factory is not None:
            factory = field.default_factory
            if isinstance(factory, type) and issubclass(factory, BaseModel):
                return f'("new", {self.model(factory, records)}.record)'
            if factory in (list, dict):
                return f'("new", {factory.__name__})'
            raise SystemExit(f"schemagen: unsupported default_factory {factory!r}")
        value = field.default
        if value is PydanticUndefined:
            return '("required",)'
        if isinstance(value, BaseModel):
            if value != type(value)():
                raise SystemExit(f"schemagen: a model default must be the model's own default: {value!r}")
            return f'("new", {self.model(type(value), records)}.record)'
        if isinstance(value, list | dict):
            if value:
                raise SystemExit(f"schemagen: non-empty mutable default {value!r}")
            return f'("new", {type(value).__name__})'
        if value is None or isinstance(value, str | int | float | bool):
            return f'("value", {value!r})'
        raise SystemExit(f"schemagen: unsupported default {value!r}")

    def field_line(self, name: str, field: Any, records: dict[str, str]) -> str:
        kind = self.checks(self.kind(field.annotation, records), list(field.metadata))
        return f"        ({name!r}, {field.alias or name!r}, {kind}, {self.default(field, records)}),"

    def field_lines(self, cls: type[BaseModel], records: dict[str, str]) -> list[str]:
        """The fields' table lines; the runs a registered base model already has are taken from
        its table (`*NetConf.fields[0:9]`), so the base's keys are written once."""
        base: type[BaseModel] | None = next((b for b in cls.__mro__[1:] if b in self.owners), None)
        if base is None:
            return [self.field_line(name, field, records) for name, field in cls.model_fields.items()]
        base_name = self.model(base, records)
        scratch = _Writer(self.out_module, self.owners)  # renders for comparing, imports nothing here
        inherited = {
            name: (i, scratch.field_line(name, field, records))
            for i, (name, field) in enumerate(base.model_fields.items())
        }
        lines: list[str] = []
        run: list[int] = []  # consecutive base fields taken as they are

        def flush() -> None:
            if run:
                lines.append(f"        *{base_name}.fields[{run[0]}:{run[-1] + 1}],")
                run.clear()

        for name, field in cls.model_fields.items():
            index, base_line = inherited.get(name, (-1, ""))
            if scratch.field_line(name, field, records) == base_line:
                if run and index != run[-1] + 1:
                    flush()
                run.append(index)
                continue
            flush()
            lines.append(self.field_line(name, field, records))
        flush()
        return lines

    def model(self, cls: type[BaseModel], records: dict[str, str]) -> str:
        owner = self.owners.get(cls, self.out_module)
        if owner != self.out_module:
            return self.need(owner, cls.__name__)
        if cls in self.done:
            return cls.__name__
        self.done.add(cls)
        if cls.__pydantic_decorators__.field_validators or cls.__pydantic_decorators__.model_validators:
            own = [v for v in cls.__pydantic_decorators__.model_validators if v != "_go_json_keys"]
            if cls.__pydantic_decorators__.field_validators or own:
                raise SystemExit(f"schemagen: {cls.__name__} has validator methods; use Annotated functions")
        body = "\n".join(self.field_lines(cls, records))
        name, record = cls.__name__, records.get(cls.__name__)
        fields = f"    (\n{body}\n    ),\n"
        if record is None:
            self.blocks.append(f'{name} = model(\n    "{name}",\n{fields})\n')
        else:
            module, _, record_name = record.partition(":")
            if record_name == name:  # the record class keeps the model's name: import it aside
                alias = self.need(module, f"{record_name} as {record_name}Record").split(" as ")[1]
                self.blocks.append(f'{name} = Model(\n    "{name}",\n    {alias},\n{fields})\n')
            else:
                self.need(module, record_name)
                self.blocks.append(f'{name} = model(\n    "{name}",\n{fields}    {record_name},\n)\n')
        return cls.__name__

    def render(self, source: str) -> str:
        uses_model = any(b.split(" = ", 1)[1].startswith("Model(") for b in self.blocks)
        uses_plain = any(b.split(" = ", 1)[1].startswith("model(") for b in self.blocks)
        lean = ", ".join(n for n, used in (("Model", uses_model), ("model", uses_plain)) if used)
        head = [
            f'"""Decoding tables for the call path, generated from {source} by `make schemas`.',
            "",
            "Do not edit: change the pydantic models and regenerate (a test checks this file is current).",
            '"""',
            "",
            f"from libcni.lean import {lean}",
        ]
        for module in sorted(self.imports):
            head.append(f"from {module} import {', '.join(sorted(self.imports[module]))}")
        return "\n".join(head) + "\n\n" + "\n".join(self.blocks)


def generate() -> dict[str, str]:
    """{output module: source text} for every schema module."""
    owners: dict[type, str] = {}
    for out_module, (source, names, _records) in SCHEMAS.items():
        models = importlib.import_module(source)
        for name in names:
            owners[getattr(models, name)] = out_module
    texts = {}
    for out_module, (source, names, records) in SCHEMAS.items():
        models = importlib.import_module(source)
        writer = _Writer(out_module, owners)
        for name in names:
            writer.model(getattr(models, name), records)
        texts[out_module] = writer.render(source)
    return texts


def module_path(module: str) -> Path:
    return ROOT / (module.replace(".", "/") + ".py")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale modules")
    options = parser.parse_args(argv)
    stale = []
    for module, text in generate().items():
        path = module_path(module)
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(module)
        if not options.check:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if options.check and stale:
        print("stale schema modules (run `make schemas`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
