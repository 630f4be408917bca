"""Carillon from Python: run a local Amazon Chime SDK Identity server in tests.

`Carillon` starts the `carillon` binary installed with this package (or `CARILLON_BIN`) as a child process and
drives it; the pytest plugin (`carillon.pytest_plugin`, loaded automatically) gives tests the `carillon` fixture.
"""

from ._server import Carillon, CarillonError, find_binary

__all__ = ["Carillon", "CarillonError", "find_binary"]
