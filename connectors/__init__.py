"""Source connectors of sccm-cep; each subpackage reads one kind of source into canonical records."""
