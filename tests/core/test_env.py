"""Settings from the environment: a variable set but empty means "not set" (a blank line in an
EnvironmentFile or `VAR= make run` must not become a database URL of '')."""

from gwanje.core.env import env


def test_an_empty_variable_falls_back_to_the_default(monkeypatch):
    monkeypatch.setenv("GWANJE_EXAMPLE", "  ")
    assert env("GWANJE_EXAMPLE", "spatialite:///x") == "spatialite:///x"
    monkeypatch.setenv("GWANJE_EXAMPLE", "postgis://h/db")
    assert env("GWANJE_EXAMPLE", "spatialite:///x") == "postgis://h/db"
    monkeypatch.delenv("GWANJE_EXAMPLE")
    assert env("GWANJE_EXAMPLE", "default") == "default"
