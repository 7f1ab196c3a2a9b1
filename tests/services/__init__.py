"""Tests against real servers started by the tests (OpenLDAP slapd)."""
