"""Rows from a SQL query against a database named by URL: PostgreSQL (any SQLAlchemy URL) or a DuckDB file.

The URL comes from an environment variable and holds a password: it never appears in a message, only the variable's
name does. With a watermark column, only rows past the highest value already stored are read.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ls_pipeline.errors import UserError

DUCKDB_SCHEME = "duckdb:///"
WRAPPED = "ls_source"  # the alias of the user's query when a watermark narrows it


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def narrowed(query: str, watermark: str | None, after: Any) -> tuple[str, bool]:
    """The query to run, and whether it takes the watermark as its one parameter."""
    query = query.strip().rstrip(";")
    if not watermark or after is None:
        return query, False
    return f"SELECT * FROM ({query}) AS {WRAPPED} WHERE {quoted(watermark)} > ", True


def read_query(url: str, url_env: str, query: str, watermark: str | None = None, after: Any = None) -> pd.DataFrame:
    """The query's rows (those past `after` in column `watermark`, when both are given)."""
    sql, takes_after = narrowed(query, watermark, after)
    try:
        if url.startswith(DUCKDB_SCHEME):
            return _read_duckdb(url[len(DUCKDB_SCHEME) :], sql, after if takes_after else None, takes_after)
        return _read_sqlalchemy(url, sql, after, takes_after)
    except UserError:
        raise
    except Exception as exc:  # a driver's error may quote the URL: say what failed, never the URL itself
        raise UserError(
            f"the source query failed on the database in {url_env} ({type(exc).__name__}: {_redacted(exc, url)}); "
            f"check the query and that {url_env} names a reachable database"
        ) from None


def _read_duckdb(path: str, sql: str, after: Any, takes_after: bool) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(path, read_only=True) as con:
        if takes_after:
            return con.execute(sql + "?", [after]).df()
        return con.execute(sql).df()


def _read_sqlalchemy(url: str, sql: str, after: Any, takes_after: bool) -> pd.DataFrame:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as con:
            if takes_after:
                return pd.read_sql(sqlalchemy.text(sql + ":after"), con, params={"after": after})
            return pd.read_sql(sqlalchemy.text(sql), con)
    finally:
        engine.dispose()


def _redacted(exc: Exception, url: str) -> str:
    line = (str(exc).strip().splitlines() or [""])[0][:200]
    secrets = [url]
    try:
        import sqlalchemy

        password = sqlalchemy.engine.make_url(url).password if not url.startswith(DUCKDB_SCHEME) else None
        if password:
            secrets.append(str(password))
    except Exception:  # an unparseable URL: the whole URL is still hidden
        pass
    for secret in secrets:
        line = line.replace(secret, "***")
    return line
