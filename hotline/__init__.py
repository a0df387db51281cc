"""Composition root of the 12345 hotline engine: the `hotline` command and the service wiring."""
