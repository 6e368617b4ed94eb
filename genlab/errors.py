"""Errors that reach the user as one short message, never as a traceback."""


class GenlabError(Exception):
    """A problem the user can fix: bad config, missing data, unusable run directory."""


class ConfigError(GenlabError):
    """A config value is out of range or inconsistent with another one."""


class DataError(GenlabError):
    """Data files are missing, unreadable or not what the config says."""
