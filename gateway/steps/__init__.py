"""Pipeline steps, one per module (the older steps still live in gateway/pipeline.py,
gateway/automated.py and gateway/engineer.py; new ones go here)."""
