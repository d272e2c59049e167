"""`python worker.py [--queues ...] [--burst]`: an RQ worker over the hub's queues, as `hub worker`."""

from hub.runtime.cli import worker_script

if __name__ == "__main__":
    worker_script()
