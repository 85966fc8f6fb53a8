"""Text generators behind one interface; `make_generator` picks one from settings."""

from generation.engines.base import Generator, GeneratorSettings
from generation.engines.factory import import_engine, make_generator

__all__ = ["Generator", "GeneratorSettings", "import_engine", "make_generator"]
