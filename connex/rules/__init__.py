"""The rules engine: mappings (Jinja templates over source records) and rules (conditions and actions) that turn
a source record into a canonical document, with a trace of every decision."""
