"""The Unit of Work: identity map, change detection, cascades, commit order and flush."""
