"""User-facing errors: the CLI prints their message and exits non-zero, never a stack trace."""


class DltpError(Exception):
    """A problem the user can fix (bad option, missing file, corrupt data...)."""


class DatasetUnavailable(DltpError):
    """The dataset's files are not on disk and could not be downloaded."""


class DatasetCorrupt(DltpError):
    """A dataset file exists but is not what its format promises."""
