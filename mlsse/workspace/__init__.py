"""The user's workspace under ``$MLSSE_HOME``: the data store of lab batches, the model versions and which one is
active, and the transactions that change them (train, retrain).

Layer: above ``mlsse.models``; below the query API (``mlsse.api``), doping, explanations and the command line.
"""
