"""What `export_model` returns, and the parity table the CLI prints."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from rich.table import Table


@dataclass
class ExportReport:
    out: Path
    files: Dict[str, int]  # file name -> size in bytes, manifest.json included
    parity: List[Dict[str, Any]]
    seconds: float
    padding_invariance: Dict[str, float] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    int8_report: Optional[Dict[str, Any]] = None  # int8_report.json, when --int8


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: Optional[float], fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _ok(value: Optional[bool]) -> str:
    return {True: "[green]yes[/]", False: "[red]NO[/]", None: "-"}[value]


def render_parity(rows: List[Dict[str, Any]],
                  title: str = "Parity vs PyTorch FP32 (ONNX Runtime, CPU)") -> Table:
    """Parity rows (as stored in manifest.json) -> a rich Table; the caption names the files."""
    split = next((r["split"] for r in rows), "test")
    n = next((r["n"] for r in rows), 0)
    table = Table(title=title, caption=_caption(rows))
    for column in ("graphs", "golden max|Δ|", "golden agree", "golden cos mean/min",
                   f"{split} acc", "Δacc pt", "agree", "ok"):
        table.add_column(column, justify="left" if column == "graphs" else "right")
    for row in rows:
        table.add_row(
            row["name"], _num(row["golden_max_abs_diff"], ".1e"), _pct(row["golden_agreement"]),
            _cosines(row), _pct(row["number_acc"]), _num(row["acc_delta_points"], "+.2f"),
            _pct(row["agreement"]), _ok(row["ok"]),
        )
    targets = {r["precision"]: r["target"] for r in rows if r["encoder"]}
    table.caption = (f"{table.caption}; {split} split: {n} sequences; targets: "
                     + "; ".join(f"{p}: {t}" for p, t in targets.items()))
    return table


def _cosines(row: Dict[str, Any]) -> str:
    if row.get("golden_cosine_mean") is None:
        return "-"
    return f"{row['golden_cosine_mean']:.4f}/{row['golden_cosine_min']:.3f}"


def _caption(rows: List[Dict[str, Any]]) -> str:
    return "; ".join(f"{r['name']} = {r['encoder']} + {r['head']}" for r in rows if r["encoder"])
