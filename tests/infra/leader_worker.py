"""Child process for the leader test: contends for the lock, prints LEADER once it leads, runs on."""

from __future__ import annotations

import asyncio
import sys

from infra.db import make_engine
from infra.leader import AdvisoryLeader


async def main(url: str) -> None:
    leader = AdvisoryLeader(make_engine(url), key=1717, check_s=0.5)
    await leader.start()
    await leader.wait_leading(60)
    print("LEADER", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
