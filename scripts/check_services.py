"""Exit 0 when PostgreSQL and Redis answer at the given URLs; say which one is down otherwise."""

import sys

import psycopg
import redis


def main(pg_url: str, redis_url: str) -> int:
    ok = True
    try:
        # Connect to the maintenance database: the test database is created by the tests.
        with psycopg.connect(pg_url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3):
            pass
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        print(f"PostgreSQL is not reachable at {pg_url}: {exc}", file=sys.stderr)
        ok = False
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        print(f"Redis is not reachable at {redis_url}: {exc}", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
