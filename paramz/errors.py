"""The paramz error hierarchy: every error paramz raises derives from `ParamzError`.

Messages name the offending field and say how to fix the call, so that the CLI and the REST
service can show them to a user unchanged.
"""

from __future__ import annotations


class ParamzError(Exception):
    """Base of every error raised by paramz."""


class ConfigError(ParamzError, ValueError):
    """A setting is out of range, unknown, or inconsistent with another one."""


class RoleError(ParamzError):
    """A parameter has no role, or a role that the rules do not know."""


class AlreadyParameterizedError(ParamzError):
    """`parameterize` was called on a model that already carries a parameterization."""


class ParamzWarning(UserWarning):
    """Something paramz was asked to do works, but is probably not what was meant."""


def unknown_name(field: str, value: object, known: list[str] | tuple[str, ...]) -> ConfigError:
    """Builds the error for an unknown name, listing the known ones.

    Args:
        field: the name of the setting, as the user wrote it (e.g. ``"parameterization"``).
        value: what the user gave.
        known: the accepted names.

    Returns:
        A `ConfigError` whose message names the field, the value and the choices.
    """
    return ConfigError(f"{field}: unknown value {value!r}; choose one of {', '.join(map(str, known))}")
