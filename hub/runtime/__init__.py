"""What runs the hub: the `hub` command, the RQ worker, the scheduler, `hub up`'s supervisor,
migrations and demo data. It may import everything."""
