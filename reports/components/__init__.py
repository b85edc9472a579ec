"""HTML for the report components: charts, KPI tiles, data tables, query blocks, catalogue."""
