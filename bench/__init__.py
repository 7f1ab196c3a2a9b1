"""Scale benchmarks for sccm-cep: run with ``make bench`` or ``python -m bench``."""
