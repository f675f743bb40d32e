"""Reading and writing mail (pure): bytes to InboundMessage, what people wrote (reading,
points, tone, deadlines, language), the SE's reply, MIME building and templates.
Imports promise, store, core, text; never the pipeline, daemon, web or cli."""
