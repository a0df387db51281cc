"""Child process for the group-commit kill -9 test: 16 concurrent callers open tickets forever
through one GroupCommitter, each printing its ticket after its create returned (after COMMIT)."""

from __future__ import annotations

import asyncio
import sys

from infra.db import make_engine, make_sessionmaker
from tickets.calendar import load_calendar
from tickets.group_commit import GroupCommitter
from tickets.policy import load_policy
from tickets.services import TicketService


async def caller(committer: GroupCommitter, lane: int) -> None:
    i = 0
    while True:
        i += 1
        ref = await committer.open_from_call(
            caller=f"139{lane:02d}{i:06d}",
            line_number="12345",
            department="",
            call_id=f"g9-{lane}-{i}",
            route="",
        )
        print(f"COMMITTED {ref.id} {ref.number} g9-{lane}-{i}", flush=True)


async def main(url: str) -> None:
    engine = make_engine(url)
    service = TicketService(
        sessionmaker=make_sessionmaker(engine), policy=load_policy("wuwei"), calendar=load_calendar(None)
    )
    committer = GroupCommitter(service)
    await asyncio.gather(*(caller(committer, lane) for lane in range(16)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
