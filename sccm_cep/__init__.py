"""sccm-cep: Customer Experience Program submissions from Microsoft Configuration Manager sites.

The package root exports the public surface; everything else is an implementation module.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
