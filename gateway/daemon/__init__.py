"""The running service: lifecycle (app), ingest, the processor, the scheduler, the
sender, metrics, systemd. Imports everything below it; nothing imports it but the cli."""
