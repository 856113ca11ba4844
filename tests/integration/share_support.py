"""One published and shared data home per test session, for the sharing tests.

The quality tests' fixture warehouse (the hand-made raw layer with the real dbt marts on it) is published and
shared once. One change to it: 丙餐饮 becomes an individual business (个体工商户) in the raw drainage permits and in
``discharger_profile``, so a personal value exists that only its owners may see. Tests that write (tokens, requests,
the audit log) work on a copy (:func:`copy_home`).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.home import DataHome
from pipelines.publish.writer import publish
from pipelines.resources import WarehouseResource
from pipelines.share.catalogue import write_catalogue
from pipelines.share.extracts import write_recipient_extracts
from test_quality_support import _once, execute, fixture_warehouse  # noqa: F401  (fixture)

INDIVIDUAL = "丙餐饮"   # the individual business's name: personal, owners only


def reader(home: DataHome):
    return WarehouseResource(path=str(home.warehouse)).reader


def make_shared_home(root: Path, warehouse: Path) -> DataHome:
    home = DataHome(root).ensure()
    shutil.copy(warehouse, home.warehouse)
    execute(home.warehouse, f"UPDATE raw.drainage_permits SET holder_type = 'individual' WHERE holder_name = '{INDIVIDUAL}';"
                            f"UPDATE marts.discharger_profile SET holder_is_individual = true WHERE name = '{INDIVIDUAL}'")
    publish(home, reader(home), run_id="share-fixture")
    write_catalogue(home)
    write_recipient_extracts(home, reader(home))
    return home


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory, fixture_warehouse) -> DataHome:
    """Published, catalogued and shared (read it, never write it: copy it)."""
    return _once("shared_home", lambda: make_shared_home(tmp_path_factory.mktemp("shared") / "home",
                                                        fixture_warehouse))


def copy_home(src: DataHome, dst: Path) -> DataHome:
    shutil.copytree(src.root, dst, symlinks=True)
    return DataHome(dst).ensure()
