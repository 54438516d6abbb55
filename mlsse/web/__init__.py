"""``mlsse serve``: a local web app (server-rendered pages, no JavaScript) and a JSON API over one loaded model.

Layer: the top, beside the CLI; it goes through the same doors (:mod:`mlsse.query`, :func:`mlsse.doping.scan`,
:func:`mlsse.rank`, :mod:`mlsse.workspace.registry`) and never reads a path from a request.
"""
