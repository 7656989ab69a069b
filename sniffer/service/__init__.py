"""The live sensor service: ``callsift sniff``."""
