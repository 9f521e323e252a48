"""Protobuf text format, as Triton reads `config.pbtxt`, from plain dicts and lists."""

from typing import Dict


class Enum(str):
    """A protobuf enum value: written bare in text format, not quoted."""


Message = Dict[str, object]


def render(message: Message, indent: int = 0) -> str:
    """`message` in protobuf text format: dicts are messages, lists of dicts repeated
    messages (and map entries), lists of scalars repeated scalars."""
    pad = "  " * indent
    lines = []
    for name, value in message.items():
        if isinstance(value, dict):
            lines += [f"{pad}{name} {{", render(value, indent + 1), f"{pad}}}"]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            items = [f"{pad}  {{\n{render(item, indent + 2)}\n{pad}  }}" for item in value]
            lines += [f"{pad}{name} [", ",\n".join(items), f"{pad}]"]
        elif isinstance(value, list):
            lines.append(f"{pad}{name}: [{', '.join(_scalar(v) for v in value)}]")
        else:
            lines.append(f"{pad}{name}: {_scalar(value)}")
    return "\n".join(lines) + ("\n" if indent == 0 else "")


def _scalar(value: object) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)
