"""Pipeline steps, one per module (the older steps still live in gateway/pipeline/order.py,
gateway/automated.py and gateway/pipeline/acting.py; new ones go here)."""
