"""`make chaos`: the kill -9 and database-restart experiments of issue 13, repeatable.

Bounded in time and count, loopback only, on a PostgreSQL cluster of its own (and a SQLite
file); see tests/chaos/__main__.py for the phases and docs/troubleshooting.md for what it checks."""
