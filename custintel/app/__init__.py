"""The app layer: the `custintel` CLI, the build pipeline, the benchmark and the SQLMesh
orchestration. The only layer that imports every package (see ARCHITECTURE.md, "Import
rules")."""
