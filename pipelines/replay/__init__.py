"""Replay apart from the clients: the transport, one server per host, the dataset (``data/``) and its provenance."""
