"""`hotline staffing` and `hotline simulate`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agent_queue.exceptions import ProfileInvalid, RosterInfeasible
from agent_queue.simulator import (
    POLICIES,
    DayProfile,
    Stress,
    load_profile,
    load_roster_file,
    simulate,
    with_planned_roster,
)
from agent_queue.staffing import required_agents


def register(sub: argparse._SubParsersAction) -> None:
    st = sub.add_parser("staffing", help="agents needed (Erlang C, or Erlang A with --patience); "
                                          "`staffing roster` plans the day's shifts")
    st.add_argument("action", nargs="?", choices=["roster"],
                    help="roster: plan shifts from the profile's forecast and [roster] rules (OR-Tools)")
    st.add_argument("--out", type=Path, help="roster: write the shifts (TOML) here and the chart beside it (.png)")
    st.add_argument("--chart", type=Path, help="roster: PNG of needed vs rostered per half hour")
    st.add_argument("--time-limit", type=float, help="roster: solver time limit in seconds")
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
    sim.add_argument("--seeds", type=int, help="run seeds 1..N and print each day and the worst")
    sim.add_argument("--roster", help="'plan': plan the roster first (as `staffing roster`); or a roster TOML file")
    sim.add_argument("--surge", metavar="QUEUE:+30%@HH:MM-HH:MM", help="extra calls on one queue for a while")
    sim.add_argument("--no-show", type=float, default=0.0, help="fraction of rostered agents who do not come")
    sim.add_argument("--no-virtual-hold", action="store_true", help="never offer a call-back that keeps the place")
    sim.add_argument("--hold-threshold", type=float, help="offer virtual hold past this expected wait (s)")
    sim.add_argument("--no-abandoned-callbacks", action="store_true", help="do not call back callers who hung up")
    sim.add_argument("--overtime-max", type=float, metavar="MIN",
                     help="minutes the control loop may ask an agent to stay past the shift (profile: 60)")
    sim.add_argument("--json", action="store_true")
    sim.set_defaults(func=_simulate)


def _roster(args: argparse.Namespace) -> int:
    import dataclasses

    from agent_queue.roster import roster_table, roster_toml, write_chart

    if not args.profile:
        print("hotline staffing roster: give --profile", file=sys.stderr)
        return 2
    try:
        profile = load_profile(args.profile)
        rules = profile.roster
        if rules is not None and args.time_limit:
            rules = dataclasses.replace(rules, time_limit_s=args.time_limit)
        _, roster = with_planned_roster(profile, rules)
    except (ProfileInvalid, RosterInfeasible) as exc:
        print(f"hotline staffing roster: {exc}", file=sys.stderr)
        return 1
    chart = args.chart or (args.out.with_suffix(".png") if args.out else None)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(roster_toml(roster, profile.name), encoding="utf-8")
    if chart:
        write_chart(roster, chart, profile.name)
    if args.json:
        from agent_queue.roster import clock

        print(json.dumps({**roster.summary(), "need": roster.need, "seats": roster.seats, "shifts": [
            {"group": s.group.name, "start": clock(s.start), "end": clock(s.start + s.pattern.span),
             "kind": s.pattern.name, "agents": s.agents} for s in roster.shifts]}, ensure_ascii=False))
        return 0
    print("\n".join(roster_table(roster)))
    print(f"agents {roster.agents} in {len(roster.shifts)} shifts; paid {roster.paid_hours:g} h, on seat "
          f"{roster.seat_hours:g} h; Erlang A lower bound {roster.bound_hours:g} h: on seat "
          f"{roster.seat_over_bound:+.1%}, paid {roster.paid_over_bound:+.1%} ({roster.solver_status}, "
          f"solver bound {roster.objective_bound_h:g} paid h)")
    print(" ".join(f"{i // 2:02d}:{30 * (i % 2):02d} {n}/{s:g}" for i, (n, s) in
                   enumerate(zip(roster.need, roster.seats, strict=True))))
    for path in (args.out, chart):
        if path:
            print(f"wrote {path}")
    return 0


def _staffing(args: argparse.Namespace) -> int:
    if args.action == "roster":
        return _roster(args)
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
        stress = _stress(args, profile)
        roster_note = ""
        if args.roster == "plan":
            profile, roster = with_planned_roster(profile)
            roster_note = (f"planned roster: {roster.agents} agents, {roster.seat_hours:g} h on seat vs Erlang A "
                           f"bound {roster.bound_hours:g} h ({roster.seat_over_bound:+.1%})")
        elif args.roster:
            profile = load_roster_file(Path(args.roster), profile)
            roster_note = f"roster {args.roster}"
    except (ProfileInvalid, RosterInfeasible) as exc:
        print(f"hotline simulate: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"hotline simulate: {exc}", file=sys.stderr)
        return 2
    if not profile.shifts:
        print(f"hotline simulate: {args.profile}: shifts: no [[shifts]]; give --roster plan (or a roster file)",
              file=sys.stderr)
        return 2
    policies = POLICIES if args.policy == "all" else (args.policy,)
    seeds = list(range(1, args.seeds + 1)) if args.seeds else [args.seed]
    options = dict(stress=stress, virtual_hold=not args.no_virtual_hold, hold_threshold_s=args.hold_threshold,
                   abandoned_callbacks=not args.no_abandoned_callbacks,
                   overtime_max_s=None if args.overtime_max is None else 60 * args.overtime_max)
    results = []
    for seed in seeds:
        for policy in policies:
            with tqdm(total=24 * 60, unit="min", desc=f"{policy} seed {seed}", file=sys.stderr, leave=False) as bar:
                r = simulate(profile, policy=policy, seed=seed, on_progress=lambda s, bar=bar: bar.update(round(s / 60)),
                             **options)
            results.append((seed, r))
    if args.json:
        print(json.dumps([{**r.as_dict(), **({"seed": seed} if seed is not None else {})} for seed, r in results],
                         ensure_ascii=False))
        return 0
    print(f"profile {profile.name}: {profile.calls:.0f} calls, target {profile.target:.0%}; {stress.label()}")
    if roster_note:
        print(roster_note)
    print(f"{'seed':>4} {'policy':10} {'answer':>7} {'SL':>7} {'abandon':>8} {'short':>6} {'wait_s':>7} {'occup':>6}"
          f" {'cb':>5} {'hold':>11} {'OT_h':>5}  worst queue")
    for seed, r in results:
        worst = min(r.per_queue.items(), key=lambda kv: kv[1]["answer_rate"], default=("-", {"answer_rate": 1.0}))
        print(f"{seed if seed is not None else '-':>4} {r.policy:10} {r.answer_rate:7.2%} {r.service_level:7.2%}"
              f" {r.abandoned:8d} {r.short_abandoned:6d} {r.average_wait_s:7.1f} {r.occupancy:6.1%}"
              f" {r.callbacks_reached:>5} {f'{r.hold_offered}/{r.hold_accepted}/{r.hold_reached}':>11}"
              f" {r.overtime_h:5.1f}  {worst[0]} {worst[1]['answer_rate']:.2%}")
    print("cb = call-backs reached (both kinds); hold = virtual hold offered/accepted/reached; a reached hold "
          "counts as answered, one never reached as abandoned; an abandoned caller stays abandoned even when "
          "called back; OT_h = overtime agent-hours the control loop asked for")
    if len(seeds) > 1:
        for policy in policies:
            rates = [r.answer_rate for _, r in results if r.policy == policy]
            below = sum(1 for x in rates if x < profile.target)
            print(f"{policy:10} worst {min(rates):.2%}  mean {sum(rates) / len(rates):.2%}  "
                  f"days below {profile.target:.0%}: {below} of {len(rates)}")
    return 0


def _stress(args: argparse.Namespace, profile: DayProfile) -> Stress:
    """--surge QUEUE:+30%@HH:MM-HH:MM and --no-show F into a Stress (ValueError names the flag)."""
    if not 0 <= args.no_show < 1:
        raise ValueError(f"--no-show: {args.no_show} is not a fraction in [0, 1)")
    if not args.surge:
        return Stress(no_show=args.no_show)
    try:
        queue, rest = args.surge.split(":", 1)
        pct, window = rest.split("@")
        start, end = window.split("-")
        factor = 1 + float(pct.rstrip("%")) / 100
        t0, t1 = (int(h) * 3600 + int(m) * 60 for h, m in (x.split(":") for x in (start, end)))
    except ValueError:
        raise ValueError(f"--surge: {args.surge!r} is not QUEUE:+30%@HH:MM-HH:MM") from None
    if queue not in profile.queues:
        raise ValueError(f"--surge: {queue!r} is not a queue of {profile.name} ({', '.join(profile.queues)})")
    if t1 <= t0 or factor <= 0:
        raise ValueError(f"--surge: {args.surge!r}: the window must end after it starts, the change be > -100%")
    return Stress(surge_queue=queue, surge_from_s=float(t0), surge_to_s=float(t1), surge_factor=factor,
                  no_show=args.no_show)
