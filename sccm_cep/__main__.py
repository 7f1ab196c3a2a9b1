"""``python -m sccm_cep``: the same command line as the ``sccm-cep`` program."""

from sccm_cep.cli import main

if __name__ == "__main__":
    main()
