"""Shared fixtures: a PostgreSQL server for the session and a fresh schema per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import NoReturn

import psycopg
import pytest
from kafka_broker import Broker, BrokerUnavailable
from postgres_server import embedded_postgres
from psycopg import sql

DATABASE_URL_ENV = "OKRGOV_TEST_DATABASE_URL"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI but unavailable: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """libpq URL of a PostgreSQL server: $OKRGOV_TEST_DATABASE_URL, else an embedded one."""
    with ExitStack() as stack:
        url = os.environ.get(DATABASE_URL_ENV)
        source = DATABASE_URL_ENV if url else "embedded-postgres"
        try:
            if not url:
                url = stack.enter_context(embedded_postgres())
            psycopg.connect(url, connect_timeout=10).close()
        except Exception as exc:
            _unavailable(f"{source}: {exc}")
        yield url


@pytest.fixture
def pg_env(postgres_url: str) -> Iterator[dict[str, str]]:
    """A fresh schema in the test database, dropped (CASCADE) after the test."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield {"url": postgres_url, "schema": schema}
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '30s'")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[Broker]:
    """A tansu broker (tests/kafka_broker.py) for the session; tests use topics of their own.
    In CI a broker that cannot start fails the tests, never skips them."""
    broker = Broker()
    try:
        broker.start()
    except BrokerUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Kafka broker is required in CI but unavailable: {exc}", pytrace=False)
        pytest.skip(f"Kafka broker unavailable: {exc}")
    try:
        yield broker
    finally:
        broker.stop()
        broker.log.unlink(missing_ok=True)
