"""Turning rows into entities: hydration, populate planning and the dataloader."""
