"""One naming rule for our exceptions: `...Error`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

PACKAGES = ("gateway", "resolvers", "schema", "sources", "sandboxes")
# The source error tree's names predate the rule; clients read their `code`, not the name,
# and renaming them is a change of its own.
LEGACY = {"SourceUnavailable", "SourceTimeout", "RateLimited", "SourceRejected"}


def _our_exceptions() -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module_info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if ".migrations." in module_info.name:
                continue
            module = importlib.import_module(module_info.name)
            for value in vars(module).values():
                if (
                    inspect.isclass(value)
                    and issubclass(value, BaseException)
                    and value.__module__.split(".")[0] in PACKAGES
                ):
                    found.add(value)
    return found


def test_every_exception_of_ours_is_named_error() -> None:
    exceptions = _our_exceptions()
    assert len(exceptions) > 10
    offenders = sorted(
        f"{cls.__module__}.{cls.__name__}"
        for cls in exceptions
        if not cls.__name__.endswith("Error") and cls.__name__ not in LEGACY
    )
    assert offenders == []
