"""What the wallboard and the admin console read and do, assembled by the composition root.

`EngineConsole` implements web.wallboard.WallboardSource and web.admin.AdminPort over the
running Engine: queue state, control loop, IVR counters, staffing plan and tickets for the
board; dialplan info, check / diff / reload of a candidate folder, and users for admins.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from config.settings import PROJECT_ROOT
from infra.logs import log_event
from web.admin import AdminRefused

if TYPE_CHECKING:
    from hotline.engine import Engine

log = logging.getLogger("hotline.console")
TZ = ZoneInfo("Asia/Shanghai")
HALF_HOUR = 1800.0
PROFILE = PROJECT_ROOT / "config" / "profiles" / "default.toml"


def staffing_need(profile_path: Path, target: float) -> list[int] | None:
    """Agents the Erlang A planner asks for in each half hour of the profile's day."""
    from agent_queue.simulator import load_profile
    from agent_queue.staffing import required_agents

    try:
        profile = load_profile(profile_path)
    except Exception as exc:  # noqa: BLE001 - the board shows the plan as unavailable
        log_event(log, "staffing profile unreadable", logging.WARNING, path=str(profile_path), error=str(exc))
        return None
    aht = profile.aht_s + profile.wrapup_s
    return [
        required_agents(calls_per_hour=calls * 2, aht_s=aht, patience_s=profile.patience_s,
                        answer_rate=target).agents
        for calls in profile.calls_per_half_hour()
    ]


class EngineConsole:
    def __init__(self, engine: Engine, *, clock: Any = time.time) -> None:
        self.engine, self.clock = engine, clock
        self._need: list[int] | None = None
        self._need_ready = False
        self._logged_in: dict[tuple[str, int], int] = {}  # (day, half hour) -> most agents seen logged in

    # -- wallboard --------------------------------------------------------------------------
    def _day_start(self, now: float) -> float:
        local = datetime.fromtimestamp(now, TZ)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    async def snapshot(self) -> dict[str, Any]:
        from agent_queue.snapshot import queue_snapshot
        from agent_queue.state import AgentState

        eng, now = self.engine, self.clock()
        day_start = self._day_start(now)
        out: dict[str, Any] = {"at": now, "day_start": day_start}
        qm = eng.queue_manager
        if qm is not None:
            out.update(queue_snapshot(qm.core, now, day_start=day_start))
            out["control"] = {
                "counts": dict(qm.decision_counts),
                "recent": [{"at": at, "decision": type(d).__name__, "reason": d.reason,
                            "queue": getattr(d, "queue", "") or getattr(getattr(d, "request", None), "queue", "")}
                           for at, d in reversed(qm.recent)][:12],
            }
            logged_in = sum(1 for a in qm.core.board.agents.values() if a.state is not AgentState.LOGGED_OUT)
            slot = (time.strftime("%Y-%m-%d", time.localtime(day_start)), int((now - day_start) // HALF_HOUR))
            self._logged_in[slot] = max(self._logged_in.get(slot, 0), logged_in)
            out["staffing"] = await self._staffing(day_start, qm.core.policy.target)
        if eng.calls is not None:
            st = eng.calls.stats
            out["ivr"] = {k: getattr(st, k) for k in ("calls", "queued", "transferred", "emergencies", "not_accepted",
                                                       "selfservice", "voicemail", "abandoned", "engine_failures")}
        if eng.ticket_metrics is not None:
            try:
                out["tickets"] = (await asyncio.wait_for(eng.ticket_metrics.refresh(), 2.0)).as_dict()
            except Exception as exc:  # noqa: BLE001 - the board shows the rest
                out["tickets"] = {"error": str(exc)}
        return out

    async def _staffing(self, day_start: float, target: float) -> list[dict[str, Any]]:
        if not self._need_ready:
            self._need = await asyncio.to_thread(staffing_need, PROFILE, target)
            self._need_ready = True
        day = time.strftime("%Y-%m-%d", time.localtime(day_start))
        return [{"start": f"{i // 2:02d}:{30 * (i % 2):02d}",
                 "need": self._need[i] if self._need and i < len(self._need) else None,
                 "logged_in": self._logged_in.get((day, i))}
                for i in range(48)]

    # -- admin ------------------------------------------------------------------------------
    def dialplan_info(self) -> dict[str, Any]:
        from hotline_merge.registry import registry_of

        holder = self.engine.dialplan
        assert holder is not None
        plan = holder.current
        reg = registry_of(plan)
        lines = [{"number": line.number, "name": line.name, "mode": line.mode, "department": line.department,
                  "queue": reg.line_queue(line), "hours": line.hours or plan.settings.default_hours,
                  "level": line.level}
                 for line in plan.lines]
        paths = self.engine.paths
        return {"version": holder.version, "loaded_at": holder.loaded_at, "loaded_by": holder.loaded_by,
                "path": str(holder.path), "lines": lines, "numbers": len({line["number"] for line in lines}),
                "asterisk": paths.as_dict() if paths else None,
                "history": [r.as_dict() for r in reversed(holder.history)][:20]}

    def _allowed(self, given: str) -> Path:
        """The running folder, the configured one, or a folder under var/dialplan-candidates."""
        holder = self.engine.dialplan
        assert holder is not None
        if not given.strip():
            return holder.path
        path = Path(given.strip())
        if not path.is_absolute():
            raise AdminRefused(f"path: {given!r} must be an absolute folder path")
        resolved = path.resolve()
        candidates = (self.engine.settings.var_dir / "dialplan-candidates").resolve()
        fixed = {holder.path.resolve(), self.engine.settings.dialplan.path.resolve()}
        if resolved not in fixed and not resolved.is_relative_to(candidates):
            raise AdminRefused(f"path: {given} is neither the running dialplan folder nor under {candidates}")
        if not resolved.exists():
            raise AdminRefused(f"path: {given}: no such file or folder")
        return resolved

    async def check(self, path: str) -> dict[str, Any]:
        from hotline_merge.loader import validate_dialplan

        folder = self._allowed(path)
        plan, issues = await asyncio.to_thread(validate_dialplan, folder)
        out: dict[str, Any] = {"path": str(folder), "ok": plan is not None,
                               "errors": [{"file": i.file, "line": i.line, "col": i.col, "message": i.message,
                                           "text": str(i)} for i in issues]}
        if plan is not None:
            out["summary"] = {"lines": len(plan.lines), "numbers": len({line.number for line in plan.lines}),
                              "menus": len(plan.menus), "queues": len(plan.queues)}
        return out

    async def diff(self, path: str) -> dict[str, Any]:
        from hotline_merge.compiler import routing_table
        from hotline_merge.diff import routing_changes
        from hotline_merge.loader import validate_dialplan

        folder = self._allowed(path)
        holder = self.engine.dialplan
        assert holder is not None

        def compare() -> dict[str, Any]:
            plan, issues = validate_dialplan(folder)
            if plan is None:
                return {"path": str(folder), "ok": False, "errors": [str(i) for i in issues], "changes": []}
            return {"path": str(folder), "ok": True, "errors": [],
                    "changes": routing_changes(routing_table(holder.current), routing_table(plan))}

        return await asyncio.to_thread(compare)

    async def reload(self, path: str, *, actor: str) -> dict[str, Any]:
        folder = self._allowed(path)
        ok = await self.engine.reload_dialplan(actor=actor, path=folder)
        holder = self.engine.dialplan
        assert holder is not None
        return {"ok": ok, "version": holder.version, "record": holder.history[-1].as_dict()}

    async def users(self) -> list[dict[str, Any]]:
        """People who sign in (accounts) and machines holding API tokens, with their roles."""
        from accounts.store import AccountStore
        from tickets.tokens import list_principals

        people = [{"name": a.label if a.label == a.username else f"{a.label} ({a.username})", "role": a.role,
                   "department": a.department, "kind": "account", "disabled": a.disabled, "seat": a.seat}
                  for a in await AccountStore(self.engine.tickets.sessionmaker).list()]
        tokens = [{**t, "kind": "token"} for t in await list_principals(self.engine.tickets.sessionmaker)]
        return people + tokens
