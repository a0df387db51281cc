"""`hotline prompts render [--out DIR] [--json] [--check]`: every prompt as a caller would hear it.

Renders the dialplan's prompts with the engine's own PromptLibrary (recordings in
<dialplan>/recordings override synthesis), prints id, seconds and file per prompt, and with
`--check` exits 1 when a synthesized prompt's phoneme trace switches language or a prompt is
longer than the dialplan's `settings.limits`, naming the prompt and its YAML FILE:LINE:COL.
`review_prompts` is also what `hotline dialplan check` runs on rendered lengths.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotline_merge.prompts import length_issues, prompt_catalog, prompt_fields
from hotline_merge.source import dialplan_files, read_documents

if TYPE_CHECKING:
    from hotline_merge.models import Dialplan
    from ivr.prompts import RenderReport

# ivr.prompts (pypinyin) is imported by the commands that render, so `hotline --help` stays quick.
VOICE = "cmn-latn-pinyin"


def register(sub: Any) -> None:
    prompts = sub.add_parser("prompts", help="render and check the dialplan's prompts")
    psub = prompts.add_subparsers(dest="prompts_command", metavar="ACTION")
    psub.required = True
    render = psub.add_parser("render", help="render every prompt; id, seconds and file per prompt")
    render.add_argument("--out", help="folder for the WAV files (default <var_dir>/prompts-preview)")
    render.add_argument("--dialplan", help="YAML file or folder (default: settings dialplan.path)")
    render.add_argument("--json", action="store_true", help="a JSON list of {id, seconds, path, source}")
    render.add_argument("--check", action="store_true",
                        help="exit 1 on a language switch in a phoneme trace or a prompt over its limit")
    render.set_defaults(func=cmd_render)


@dataclass(frozen=True)
class PromptProblem:
    where: str  # FILE:LINE:COL of the prompt's text
    prompt_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: prompt {self.prompt_id}: {self.message}"


def _recordings(dialplan_path: Path) -> Path | None:
    return dialplan_path / "recordings" if dialplan_path.is_dir() else None


async def render(plan: Dialplan, dialplan_path: Path, out: Path) -> RenderReport:
    from ivr.prompts import PromptLibrary

    library = PromptLibrary(host_dir=out, pbx_dir=str(out), recordings_dir=_recordings(dialplan_path))
    return await library.render_all(prompt_catalog(plan))


async def review_prompts(plan: Dialplan, dialplan_path: Path, report: RenderReport, *,
                         voice: str = VOICE) -> list[PromptProblem]:
    """Language switches in synthesized prompts and prompts over the dialplan's length limits."""
    from ivr.prompts import language_switches, phoneme_trace

    source = read_documents(dialplan_files(dialplan_path)).source
    fields = prompt_fields(plan)
    texts = prompt_catalog(plan)

    def where(pid: str) -> str:
        return str(source.value(fields[pid])) if pid in fields else str(dialplan_path)

    problems: list[PromptProblem] = []
    synthesized = [p.id for p in report.prompts if p.source == "synthesized"]
    traces = await asyncio.gather(*(phoneme_trace(texts.get(pid, ""), voice=voice) for pid in synthesized))
    for pid, trace in zip(synthesized, traces, strict=True):
        switched = language_switches(trace)
        if switched:
            problems.append(PromptProblem(where(pid), pid, f"phoneme trace switches to {', '.join(switched)}: "
                                                          f"{trace.strip()[:120]}"))
    for issue in length_issues(plan, {p.id: p.seconds for p in report.prompts}):
        problems.append(PromptProblem(where(issue.prompt_id), issue.prompt_id, issue.detail))
    return sorted(problems, key=lambda p: (p.where, p.prompt_id))


def check_cache() -> Path:
    # Cached by text hash like the engine's own folder, so a second check renders only edits.
    return Path(tempfile.gettempdir()) / f"hotline-prompt-check-{os.getuid()}"


async def check_rendered(plan: Dialplan, dialplan_path: Path) -> list[PromptProblem]:
    """Render (cached) and review: what `hotline dialplan check` adds on rendered lengths."""
    report = await render(plan, dialplan_path, check_cache())
    return await review_prompts(plan, dialplan_path, report)


def _settings_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    from config import load_settings

    settings = load_settings(Path(args.config) if getattr(args, "config", None) else None)
    path = Path(args.dialplan) if args.dialplan else settings.dialplan.path
    out = Path(args.out) if args.out else settings.var_dir / "prompts-preview"
    return path, out


async def cmd_render(args: argparse.Namespace) -> int:
    from hotline_merge.loader import validate_dialplan
    from ivr.prompts import PromptError

    path, out = _settings_paths(args)
    if not path.exists():
        print(f"hotline: {path}: no such file or folder", file=sys.stderr)
        return 2
    plan, errors = validate_dialplan(path)
    for issue in errors:
        print(issue, file=sys.stderr)
    if plan is None:
        return 1
    try:
        report = await render(plan, path, out)
        problems = await review_prompts(plan, path, report) if args.check else []
    except PromptError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
    if args.json:
        rows = [{"id": p.id, "seconds": round(p.seconds, 2), "path": str(p.path), "source": p.source}
                for p in report.prompts]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        width = max((len(p.id) for p in report.prompts), default=0)
        for p in report.prompts:
            print(f"{p.id:<{width}}  {p.seconds:6.1f} s  {p.path}" + ("  (recorded)" if p.source == "recorded" else ""))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0
