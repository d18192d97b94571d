"""The version of symconv (read by hatchling and by the modules that print it)."""

__version__ = "0.1.0"
