"""All Cypher of the server lives in this package: parameterised, one module per concern."""
