"""`hotline staffing` and `hotline simulate`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agent_queue.exceptions import ProfileInvalid
from agent_queue.simulator import POLICIES, load_profile, simulate
from agent_queue.staffing import required_agents


def register(sub: argparse._SubParsersAction) -> None:
    st = sub.add_parser("staffing", help="agents needed (Erlang C, or Erlang A with --patience)")
    st.add_argument("--calls-per-hour", type=float, help="offered calls per hour")
    st.add_argument("--aht", type=float, help="average handle time in seconds (talk + wrap-up)")
    st.add_argument("--patience", type=float, help="mean caller patience in seconds: Erlang A")
    st.add_argument("--service-level", type=float, default=0.8)
    st.add_argument("--within", type=float, default=20.0, help="seconds for the service level")
    st.add_argument("--answer-rate", type=float, help="answered/offered target, e.g. 0.95 (needs --patience)")
    st.add_argument("--profile", type=Path, help="day profile: plan every half-hour of the day")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=_staffing)

    sim = sub.add_parser("simulate", help="run a 24-hour day through the queue control code")
    sim.add_argument("--profile", type=Path, default=Path("config/profiles/default.toml"))
    sim.add_argument("--policy", choices=[*POLICIES, "all"], default="all", help="'all' compares on the same day")
    sim.add_argument("--seed", type=int)
    sim.add_argument("--json", action="store_true")
    sim.set_defaults(func=_simulate)


def _staffing(args: argparse.Namespace) -> int:
    if args.answer_rate is not None and args.patience is None and not args.profile:
        print("hotline staffing: --answer-rate needs --patience (Erlang C has no abandons)", file=sys.stderr)
        return 2
    targets = dict(patience_s=args.patience, service_level=args.service_level, within_s=args.within,
                   answer_rate=args.answer_rate)
    if args.profile:
        try:
            profile = load_profile(args.profile)
        except ProfileInvalid as exc:
            print(f"hotline staffing: {exc}", file=sys.stderr)
            return 1
        aht = args.aht or profile.aht_s + profile.wrapup_s
        if targets["patience_s"] is None:
            targets["patience_s"] = profile.patience_s
        plan = []
        for i, calls in enumerate(profile.calls_per_half_hour()):
            r = required_agents(calls_per_hour=calls * 2, aht_s=aht, **targets)
            plan.append({"start": f"{i // 2:02d}:{30 * (i % 2):02d}", "calls": round(calls, 1),
                         "agents": r.agents, "rostered": profile.staffed(i * 1800.0)})
        out = {"agents": max(p["agents"] for p in plan), "agent_hours": sum(p["agents"] for p in plan) / 2,
               "half_hours": plan}
    else:
        if args.calls_per_hour is None or args.aht is None:
            print("hotline staffing: give --calls-per-hour and --aht, or --profile", file=sys.stderr)
            return 2
        try:
            out = required_agents(calls_per_hour=args.calls_per_hour, aht_s=args.aht, **targets).as_dict()
        except ValueError as exc:
            print(f"hotline {exc}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        for k, v in out.items():
            if k != "half_hours":
                print(f"{k}: {v}")
        for p in out.get("half_hours", []):
            print(f"  {p['start']}  calls {p['calls']:6.1f}  need {p['agents']:3d}  rostered {p['rostered']:3d}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    try:
        profile = load_profile(args.profile)
    except ProfileInvalid as exc:
        print(f"hotline simulate: {exc}", file=sys.stderr)
        return 1
    policies = POLICIES if args.policy == "all" else (args.policy,)
    results = []
    for policy in policies:
        with tqdm(total=24 * 60, unit="min", desc=policy, file=sys.stderr, leave=False) as bar:
            results.append(simulate(profile, policy=policy, seed=args.seed,
                                    on_progress=lambda s, bar=bar: bar.update(round(s / 60))))
    if args.json:
        print(json.dumps([r.as_dict() for r in results], ensure_ascii=False))
        return 0
    print(f"profile {profile.name}: {profile.calls:.0f} calls, target {profile.target:.0%}")
    print(f"{'policy':10} {'answer':>7} {'SL':>7} {'abandon':>8} {'short':>6} {'wait_s':>7} {'occup':>6} {'cb':>5}")
    for r in results:
        print(f"{r.policy:10} {r.answer_rate:7.2%} {r.service_level:7.2%} {r.abandoned:8d} {r.short_abandoned:6d}"
              f" {r.average_wait_s:7.1f} {r.occupancy:6.1%} {r.callbacks_reached:>5}")
    return 0
