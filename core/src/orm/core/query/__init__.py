"""The filter language and the dialect-agnostic query tree."""
