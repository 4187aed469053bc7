"""photoorg: a local, offline photo organizer with CLIP search and named clusters."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("photoorg")
except PackageNotFoundError:  # running from a source tree that is not installed (or frozen)
    __version__ = "0.1.0"
