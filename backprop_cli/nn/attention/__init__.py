"""The transformer's parts: token embedding, positional embedding, multi-head self-attention."""
