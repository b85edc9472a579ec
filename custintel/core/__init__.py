"""The foundation every package imports: settings, the CLI invocation, the Rich console, the
landing contract and loader, the model registry format, the Spark session. Imports nothing else
of the project (see ARCHITECTURE.md, "Import rules")."""
