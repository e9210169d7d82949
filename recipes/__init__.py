"""Typed configs: the bottom layer of weldfusion, and the shipped YAML training recipes.

- :mod:`.config` — the config machinery (dataclasses from YAML, ``--set`` overrides, one merge).
- :mod:`.errors` — the user-error family every layer raises (one line and exit 2 on the CLI).
- :mod:`.taxonomy` — default phases, defects, material pairs; labelled intervals.
- :mod:`.training` — the ``train:`` and ``eval:`` sections; :mod:`.weld` — ``accept:``, ``limits:``, ``seam:``.
- :mod:`.tree` — the whole recipe (``data``, ``model``, ``loss``, ``train``, ``eval``); it imports
  the section configs of the data and model layers, so it sits with the libraries, above them.
- ``*.yaml`` — the recipes, referable by name (``weldfusion train fusion_all``).
"""
