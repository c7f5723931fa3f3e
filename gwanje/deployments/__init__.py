"""Default deployments: a district's organisations, map layers and inventory, loaded by
`gwanje load-deployment NAME`. Each is a module with `load(log) -> dict` that is idempotent."""

from importlib import import_module

DEPLOYMENTS = {"seongdong": "gwanje.deployments.seongdong.load"}


def load(name: str, log=print) -> dict:
    if name not in DEPLOYMENTS:
        raise KeyError(name)
    return import_module(DEPLOYMENTS[name]).load(log)


def is_loaded(name: str) -> bool:
    return import_module(DEPLOYMENTS[name]).is_loaded()
