"""Staffing planner: Erlang C (callers wait forever) and Erlang A (callers have patience).

Erlang C: M/M/N. Erlang A: Palm's M/M/N+M, exponential patience with mean `patience_s`.
Erlang A is solved exactly on its birth-death chain (states = calls in system, truncated
where the tail mass is negligible) rather than with incomplete-gamma closed forms: the
chain is simple to check, stable for hundreds of agents, and gives the answered-within-t
probability through the FCFS waiting-time argument below. With patience -> infinity it
reduces to Erlang C, which the tests verify.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability, by the stable recurrence B(n) = A B(n-1) / (n + A B(n-1))."""
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return b


def erlang_c(agents: int, load: float) -> float:
    """Probability an arriving call waits (M/M/N); 1.0 when the queue is unstable."""
    if agents <= load:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1 - b))


def erlang_c_service_level(agents: int, load: float, aht_s: float, within_s: float) -> float:
    if agents <= load:
        return 0.0
    return 1.0 - erlang_c(agents, load) * math.exp(-(agents - load) * within_s / aht_s)


def erlang_c_asa(agents: int, load: float, aht_s: float) -> float:
    if agents <= load:
        return math.inf
    return erlang_c(agents, load) * aht_s / (agents - load)


@dataclass(frozen=True, slots=True)
class ErlangA:
    answered: float  # fraction of offered calls answered (1 - P(abandon))
    abandoned: float
    service_level: float  # fraction of offered calls answered within `within_s`
    waits: float  # P(an arriving call has to wait)
    occupancy: float


def erlang_a(agents: int, calls_per_hour: float, aht_s: float, patience_s: float, within_s: float = 20.0) -> ErlangA:
    """M/M/N+M by its stationary distribution; `service_level` counts only answered calls."""
    lam = calls_per_hour / 3600.0
    mu = 1.0 / aht_s
    theta = 1.0 / patience_s
    # Unnormalised probabilities in log space: p(n) = p(n-1) * lam / rate(n).
    logs = [0.0]
    n = 0
    while True:
        n += 1
        rate = min(n, agents) * mu + max(n - agents, 0) * theta
        logs.append(logs[-1] + math.log(lam) - math.log(rate))
        # Past the mode the terms fall geometrically; stop when negligible.
        if n > agents and rate > lam and logs[-1] < max(logs) - 40:
            break
    top = max(logs)
    p = [math.exp(x - top) for x in logs]
    total = sum(p)
    p = [x / total for x in p]
    waits = sum(p[agents:])
    # Tagged arrival finding n >= N: j = n - N callers ahead. Each step forward happens at
    # rate N mu + k theta (k = callers still ahead); the caller's own patience runs at theta.
    # P(served within t) = sum over n of p(n) * P(hypoexp(rates) <= min(t, own patience)).
    answered = sum(p[:agents])
    answered_within = answered  # served at once
    for n in range(agents, len(p)):
        if p[n] < 1e-15:
            continue
        ahead = n - agents
        rates = [agents * mu + k * theta for k in range(ahead, -1, -1)]
        # Adding the own-abandon race: service needs all steps before patience; with
        # memoryless patience, P(all steps first) = prod r_k / (r_k + theta).
        served = 1.0
        for r in rates:
            served *= r / (r + theta)
        answered += p[n] * served
        answered_within += p[n] * _race_within(rates, theta, within_s)
    occupancy = min(1.0, answered * lam / (agents * mu))
    return ErlangA(
        answered=answered, abandoned=1.0 - answered, service_level=answered_within, waits=waits, occupancy=occupancy
    )


def _race_within(rates: list[float], theta: float, t: float) -> float:
    """P(the steps at `rates` all finish before t and before an Exp(theta) patience).

    Equivalent to the steps finishing before t on a chain where each phase also leaks at
    rate theta: the absorbing-time CDF of a hypoexponential with rates r_k + theta, scaled
    by the success odds of each step. Computed by uniformisation (stable, no 1/(ri-rj)).
    """
    total = [r + theta for r in rates]
    big = max(total)
    # State k = steps done; transition to k+1 with prob r/big, leak (lost) with theta/big.
    m = len(rates)
    lam_t = big * t
    # Poisson weights for the number of uniformised jumps.
    kmax = int(lam_t + 10 * math.sqrt(lam_t + 1) + 20)
    dist = [0.0] * (m + 1)
    dist[0] = 1.0
    prob_done = 0.0
    log_w = -lam_t
    for jumps in range(kmax + 1):
        weight = math.exp(log_w)
        prob_done += weight * dist[m]
        # one uniformised jump
        new = [0.0] * (m + 1)
        new[m] = dist[m]
        for k in range(m):
            if dist[k] == 0.0:
                continue
            new[k + 1] += dist[k] * rates[k] / big
            new[k] += dist[k] * (1 - total[k] / big)
        dist = new
        log_w += math.log(lam_t) - math.log(jumps + 1) if lam_t > 0 else -math.inf
        if lam_t == 0:
            break
    return min(1.0, prob_done)


@dataclass(frozen=True, slots=True)
class StaffingResult:
    agents: int
    load_erlangs: float
    model: str
    answer_rate: float
    service_level: float
    abandon_rate: float
    average_wait_s: float
    occupancy: float
    erlang_c_agents: int

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 4)
        return d


def required_agents(
    *,
    calls_per_hour: float,
    aht_s: float,
    patience_s: float | None = None,
    service_level: float = 0.8,
    within_s: float = 20.0,
    answer_rate: float | None = None,
    max_occupancy: float = 1.0,
) -> StaffingResult:
    """Fewest agents meeting every given target (service level, answer rate, occupancy)."""
    if calls_per_hour < 0 or aht_s <= 0:
        raise ValueError("staffing: calls_per_hour must be >= 0 and aht_s > 0")
    load = calls_per_hour * aht_s / 3600.0
    if calls_per_hour == 0:
        return StaffingResult(0, 0.0, "none", 1.0, 1.0, 0.0, 0.0, 0.0, 0)
    n_c = max(1, math.floor(load) + 1)
    while erlang_c_service_level(n_c, load, aht_s, within_s) < service_level or load / n_c > max_occupancy:
        n_c += 1
    if patience_s is None:
        n = n_c
        # Erlang C has no abandons: an answer-rate target is met by any stable staffing.
        return StaffingResult(
            agents=n, load_erlangs=load, model="erlang_c", answer_rate=1.0,
            service_level=erlang_c_service_level(n, load, aht_s, within_s), abandon_rate=0.0,
            average_wait_s=erlang_c_asa(n, load, aht_s), occupancy=load / n, erlang_c_agents=n_c,
        )
    def meets(n: int) -> tuple[bool, ErlangA]:
        a = erlang_a(n, calls_per_hour, aht_s, patience_s, within_s)
        ok = a.service_level >= service_level and a.occupancy <= max_occupancy
        return (ok and (answer_rate is None or a.answered >= answer_rate)), a

    # Every target improves with more agents, so bisect between a failing and a passing n.
    hi = n_c
    while not meets(hi)[0]:
        hi *= 2
    lo = 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if meets(mid)[0]:
            hi = mid
        else:
            lo = mid
    n = hi
    a = meets(n)[1]
    # Little's law on the waiting room: mean wait = P(abandon) * patience (exponential).
    return StaffingResult(
        agents=n, load_erlangs=load, model="erlang_a", answer_rate=a.answered, service_level=a.service_level,
        abandon_rate=a.abandoned, average_wait_s=a.abandoned * patience_s, occupancy=a.occupancy, erlang_c_agents=n_c,
    )
