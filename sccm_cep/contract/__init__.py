"""What collector and receiver share: the submission and deletion schemas, canonical JSON, document ids.

``submission`` (schema version and file, envelope, canonical JSON, submission ids), ``deletion``
(the deletion request: constants, builder, schema), ``upload`` (document kinds and the upload
path) and ``validation`` (what a valid document is). Nothing here imports the rest of sccm_cep.
"""
