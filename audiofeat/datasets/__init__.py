"""Dataset builders: the embedded synthetic one-shots and (later) real-data importers."""
