"""What collector and receiver share: the submission and deletion schemas, canonical JSON, document ids."""
