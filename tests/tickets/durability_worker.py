"""Child process for the kill -9 test: opens tickets forever, printing each one after it is committed."""

from __future__ import annotations

import asyncio
import sys

from infra.db import make_engine, make_sessionmaker
from tickets.calendar import load_calendar
from tickets.policy import load_policy
from tickets.services import TicketService
from tickets.state import Dispatch


async def main(url: str) -> None:
    engine = make_engine(url)
    service = TicketService(
        sessionmaker=make_sessionmaker(engine), policy=load_policy("wuwei"), calendar=load_calendar(None)
    )
    i = 0
    while True:
        i += 1
        ref = await service.open_from_call(
            caller=f"139{i:08d}", line_number="12345", department="", call_id=f"k9-{i}", route="menu"
        )
        # Reported only after open_from_call returned, i.e. after COMMIT.
        print(f"COMMITTED {ref.id} {ref.number}", flush=True)
        if i % 3 == 0:
            await service.act(ref.id, Dispatch(department="住建局"), actor="worker")
            print(f"DISPATCHED {ref.id}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
