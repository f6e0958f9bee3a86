"""Conduit, the RealWorld example backend, on FastAPI and orm."""
