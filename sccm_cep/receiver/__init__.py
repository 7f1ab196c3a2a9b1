"""The vendor side: the reference receiver (app, store, report). Imports only sccm_cep.contract."""
