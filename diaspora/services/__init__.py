"""Write use cases of the registry, one module per sub-domain."""
