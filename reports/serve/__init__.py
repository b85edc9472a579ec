"""`custintel serve`: the report site and its live queries on one ASGI app (Starlette on
uvicorn). See app.py."""
