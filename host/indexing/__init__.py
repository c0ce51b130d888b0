"""Indexing: import the app's script file and build the function registry."""
