"""Scaffolds: ``python -m host init [DIR]`` writes a v2 Python app, ``python -m host new`` adds a
function to one from a template (:mod:`host.scaffold.templates`)."""
