"""The sweep engine: width × depth × LR × seed grids (or an adaptive LR search) on Ray, a durable
store, and the transfer analysis.

Sub-packages by role, in layers (each imports only the ones below it; import-linter enforces it):

    cli          front ends: ``paramz sweep …`` and the ``make demo`` script
    application  what the CLI and REST do with sweeps: launch, run, cancel, report
    run          one trial's training, executors (local, Ray), the lease, the engine loop
    search       which trials next: the grid, the adaptive LR search
    analysis     what a sweep says: curves, optima, the transfer law, the report   ┐
    store        the durable store (SQLAlchemy models, migrations)                  ├ independent
    settings     every setting read from the environment                            ┘
    spec         what a sweep is: the spec, tasks, plugins, a trial's config
    domain       states of sweeps and trials, a trial's result

See docs/architecture.md for the path of a spec from a POST to a dashboard plot.
"""
