"""The pieces of benchmarks/peers.py: the wire proxy, the schema, one module per implementation."""
