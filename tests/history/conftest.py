import itertools

import pytest

from tests.support.postgres import PostgresServer

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server():
    """One real server for the session; tests that stop it start their own (`own_postgres`)."""
    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture
def shared_url(postgres_server) -> str:
    """A fresh, empty database on the session's server."""
    return postgres_server.create_database(f"tsuf_test_{next(_databases)}")


@pytest.fixture
def own_postgres():
    server = PostgresServer()
    yield server
    server.close()
