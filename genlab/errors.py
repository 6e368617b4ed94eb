"""Errors that reach the user as one short message, never as a traceback."""


class GenlabError(Exception):
    """A problem the user can fix: bad config, missing data, unusable run directory."""


class ConfigError(GenlabError):
    """A config value is out of range or inconsistent with another one."""


class DataError(GenlabError):
    """Data files are missing, unreadable or not what the config says."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: raised where the command is, so everything on the way out cleans up.

    A KeyboardInterrupt, not an Exception, so that no ``except Exception`` on the way takes it
    for a failure of its own.
    """

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number
        self.exit_code = 128 + signal_number
