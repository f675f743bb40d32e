"""What every layer may use: the config schema, the clock, the nouns and kinds
(models), logging, real-time waits. Imports only gateway.text."""
