"""Dates and people: business calendars, the SLA policy, the ledger of commitments,
SE load, routing, dates in words, how well promises are kept. Imports the store, core, text."""
