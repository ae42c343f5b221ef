"""The MkDocs plugin that turns control documents and an evidence run into a site.

``plugin`` contains the MkDocs hooks, ``pages`` decides which pages exist and
what Markdown they start from, ``blocks`` renders the evidence as escaped
HTML, ``changes`` renders the run history, and ``downloads`` writes the
per-control findings files.
"""
