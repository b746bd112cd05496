"""The models: their configs, the registry and the builders."""
