"""The channel-variable contract (ivr/channel_vars.py) against the dialplan template and the
engine: a variable read on one side and not set on the other would silently do nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from ivr.channel_vars import ChannelVar

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "asterisk" / "templates" / "extensions.conf"
CONTRACT = {v.value for v in ChannelVar}
_READ = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
_WRITE = re.compile(r"Set\(([A-Z][A-Z0-9_]*)=")


def _ours(name: str) -> bool:
    return name.startswith("IVR_") or name in CONTRACT


def template_problems(text: str) -> list[str]:
    code = "\n".join(line.split(";", 1)[0] for line in text.splitlines())  # drop comments
    reads = {n for n in _READ.findall(code) if _ours(n)}
    writes = {n for n in _WRITE.findall(code) if _ours(n)}
    problems = [f"template reads {n}, which the contract does not define" for n in sorted(reads - CONTRACT)]
    problems += [f"template sets {n}, which the contract does not define" for n in sorted(writes - CONTRACT)]
    for var in ChannelVar:
        if var.reader == "dialplan" and var.value not in reads:
            problems.append(f"the engine sets {var.value} for the dialplan, but the template never reads it")
        if var.reader == "record" and var.value in reads:
            problems.append(f"the template branches on {var.value}: mark it reader='dialplan'")
    return problems


def engine_sets() -> tuple[set[str], list[str]]:
    """ChannelVar members passed to set_variable in ivr/, and every other first argument."""
    members: set[str] = set()
    others: list[str] = []
    for path in sorted((ROOT / "ivr").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "set_variable" and node.args:
                names = [n for n in ast.walk(node.args[0]) if isinstance(n, ast.Attribute)]
                members |= {ChannelVar[n.attr].value for n in names
                            if isinstance(n.value, ast.Name) and n.value.id == "ChannelVar"}
                if not any(isinstance(n.value, ast.Name) and n.value.id == "ChannelVar" for n in names):
                    others.append(f"{path.name}: {ast.unparse(node.args[0])}")
    return members, others


def test_the_template_reads_only_contract_variables_and_every_dialplan_one() -> None:
    assert template_problems(TEMPLATE.read_text(encoding="utf-8")) == []


def test_a_template_reading_an_unknown_or_missing_variable_fails() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    broken = text.replace("Queue(${IVR_QUEUE},t)", "Queue(${IVR_QUEUE},t,,,${IVR_QUEUE_TIMEOUT})")
    assert template_problems(broken) == ["template reads IVR_QUEUE_TIMEOUT, which the contract does not define"]
    no_dial = text.replace("Dial(${IVR_DIAL},60)", "Dial(PJSIP/x,60)")
    assert template_problems(no_dial) == [
        "the engine sets IVR_DIAL for the dialplan, but the template never reads it"]


def test_the_engine_sets_every_contract_variable_and_only_those() -> None:
    members, others = engine_sets()
    assert members == CONTRACT
    # The one dynamic name: the dialplan YAML's sub-center ticket variable (validated there as
    # ^[A-Z][A-Z0-9_]*$), which the sub-center's own dialplan reads.
    assert others == ["services.py: d.ticket_variable"]
