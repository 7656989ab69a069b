"""API processes sharing a database (replicas) take turns refreshing the hourly statistics."""

from api.statsrefresh import StatsRefresher
from db.connect import connect
from db.migrate import migrate
from db.pool import DbPool
from db.queries.statsummary import try_lock_refresh, unlock_refresh, watermark
from db.url import parse_db_url
from tests.db.mariadb import url_of


async def test_a_round_skips_while_another_process_refreshes(fresh_db: str) -> None:
    url = url_of(fresh_db)
    await migrate(url)
    other = await connect(parse_db_url(url))  # another replica, in the middle of its round
    try:
        async with DbPool(url) as pool:
            refresher = StatsRefresher(pool, period_s=3600)
            assert await try_lock_refresh(other)
            assert await refresher.run_once() == 0
            assert (refresher.rounds, refresher.skipped) == (0, 1)
            assert await watermark(other) is None  # nothing was done
            await unlock_refresh(other)
            assert await refresher.run_once() == 0  # no calls: no hours, but a round
            assert (refresher.rounds, refresher.skipped) == (1, 1)
            await other.rollback()  # a new snapshot
            assert await watermark(other) is not None
            assert await try_lock_refresh(other)  # the round let go of the lock
            await unlock_refresh(other)
    finally:
        other.close()
